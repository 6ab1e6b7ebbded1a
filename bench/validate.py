"""Whole-record validation speed: 10,000 synthetic records per dataset.

Prints the median and p99 time per record, and their ratio to a floor measured in the
same run on the same records: a loop that only reads every field (and every referral or
intervention field) of each record. Target: p99 <= 2 ms per record, so that validating
the whole sheet on every keystroke costs nothing a worker could notice.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from datetime import date
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import emit, figure
from desktop.domain.record import Context
from desktop.domain.refdata import load_refdata
from desktop.domain.synthetic import records
from desktop.domain.validation import Validator

TARGET_P99_MS = 2.0


def _percentile(values: list[int], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))
    return float(ordered[index])


def _floor(recs: list[dict[str, object]], items_key: str) -> list[int]:
    times = []
    for rec in recs:
        start = time.perf_counter_ns()
        sink = 0
        for key, value in rec.items():
            if key == items_key and isinstance(value, list):
                for item in value:
                    for _k, v in item.items():
                        sink ^= id(v)
            else:
                sink ^= id(value)
        times.append(time.perf_counter_ns() - start)
    return times


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--records", type=int, default=10_000)
    args = parser.parse_args()
    refdata = load_refdata(Path(__file__).resolve().parent.parent / "refdata")
    ctx = Context(today=date(2026, 11, 24), agency_dat="A12B")
    ok = True
    figures = []
    print(f"validate: {args.records} synthetic records per dataset")
    for dataset in ("cjit-q", "secure-r"):
        validator = Validator(refdata, dataset)
        recs = list(records(refdata, dataset, args.records, seed=11))
        for rec in recs[:200]:  # warm up
            validator.validate(rec, ctx)
        times = []
        for rec in recs:
            start = time.perf_counter_ns()
            validator.validate(rec, ctx)
            times.append(time.perf_counter_ns() - start)
        floor = _floor(recs, validator.spec.items_key)
        median, p99 = statistics.median(times), _percentile(times, 99)
        f_median, f_p99 = statistics.median(floor), _percentile(floor, 99)
        verdict = "ok" if p99 / 1e6 <= TARGET_P99_MS else "OVER TARGET"
        ok &= verdict == "ok"
        figures.append(
            figure(f"{dataset} whole-record validation, p99", p99 / 1e6, "ms", floor=f_p99 / 1e6,
                   floor_is="read every field", target=f"p99 <= {TARGET_P99_MS:g} ms",
                   met=verdict == "ok")
        )  # fmt: skip
        print(
            f"  {dataset:<9} median {median / 1e3:7.1f} µs  p99 {p99 / 1e3:7.1f} µs  "
            f"| floor median {f_median / 1e3:5.2f} µs p99 {f_p99 / 1e3:5.2f} µs  "
            f"| ratio median {median / f_median:6.0f}x p99 {p99 / f_p99:6.0f}x  "
            f"| target p99 <= {TARGET_P99_MS:.0f} ms: {verdict}"
        )
    emit("validate", f"{args.records} synthetic records per dataset", figures)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
