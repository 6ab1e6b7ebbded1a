"""Collect every benchmark's figures into bench/RESULTS.md (and the README's table).

Each benchmark script ends by calling :func:`emit`, which writes ``bench/out/<name>.json``:

    {"bench": "validate", "title": "...", "when": "...", "figures": [
        {"name": "...", "value": 0.41, "unit": "ms", "floor": 0.02, "floor_is": "...",
         "ratio": 20.5, "target": "p99 <= 2 ms", "met": true}, ...]}

A figure compared with a floor measured in the same run carries ``floor`` and ``ratio``;
one with a fixed budget only has ``target``; ``met`` is true, false, or null when there is
no target. This script reads whatever ``bench/out/*.json`` holds, so a new benchmark
needs nothing here.

    python bench/report.py            # bench/RESULTS.md
    python bench/report.py --readme   # and the table between the README's bench markers
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "bench" / "out"
RESULTS = ROOT / "bench" / "RESULTS.md"
README = ROOT / "README.md"
START, END = "<!-- bench:start -->", "<!-- bench:end -->"
ORDER = ("validate", "store", "ui", "export", "dist")  # others follow, by name


def figure(
    name: str,
    value: float,
    unit: str,
    *,
    floor: float | None = None,
    floor_is: str = "",
    target: str = "",
    met: bool | None = None,
) -> dict[str, Any]:
    """One figure; the ratio to the floor is worked out here when there is one."""
    ratio = value / floor if floor else None
    return {
        "name": name,
        "value": value,
        "unit": unit,
        "floor": floor,
        "floor_is": floor_is,
        "ratio": ratio,
        "target": target,
        "met": met,
    }


def emit(bench: str, title: str, figures: list[dict[str, Any]]) -> Path:
    """Write ``bench/out/<bench>.json`` for :func:`main` to collect."""
    OUT.mkdir(parents=True, exist_ok=True)
    path = OUT / f"{bench}.json"
    data = {
        "bench": bench,
        "title": title,
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "figures": figures,
    }
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    return path


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "ms" and value >= 1000:
        value, unit = value / 1000, "s"
    if abs(value) >= 100:
        text = f"{value:,.0f}"
    elif abs(value) >= 10:
        text = f"{value:.1f}"
    else:
        text = f"{value:.3g}" if abs(value) >= 0.01 else f"{value:.2g}"
    return f"{text} {unit}".strip()


def _met(met: bool | None) -> str:
    return {True: "yes", False: "**no**", None: "—"}[met]


def collect(folder: Path = OUT) -> list[dict[str, Any]]:
    runs = []
    for path in sorted(folder.glob("*.json")):
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(data, dict) and isinstance(data.get("figures"), list):
            runs.append(data)
    rank = {name: i for i, name in enumerate(ORDER)}
    runs.sort(key=lambda r: (rank.get(r.get("bench", ""), len(ORDER)), r.get("bench", "")))
    return runs


def table(runs: list[dict[str, Any]]) -> str:
    lines = [
        "| benchmark | figure | value | floor (same run) | ratio | target | met |",
        "|---|---|---|---|---|---|---|",
    ]
    for run in runs:
        for f in run["figures"]:
            floor = _number(f.get("floor"), f["unit"])
            if f.get("floor") is not None and f.get("floor_is"):
                floor = f"{floor} ({f['floor_is']})"
            ratio = f"{f['ratio']:.2f}×" if f.get("ratio") is not None else "—"
            lines.append(
                f"| {run['bench']} | {f['name']} | {_number(f['value'], f['unit'])} | {floor}"
                f" | {ratio} | {f.get('target') or '—'} | {_met(f.get('met'))} |"
            )
    return "\n".join(lines)


def _machine() -> str:
    return (
        f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores,"
        f" Python {platform.python_version()}"
    )


def results_markdown(runs: list[dict[str, Any]]) -> str:
    missed = [
        f"{r['bench']}: {f['name']}" for r in runs for f in r["figures"] if f.get("met") is False
    ]
    parts = [
        "# Benchmark results",
        "",
        "Written by `make bench` (`bench/report.py` from `bench/out/*.json`); do not edit.",
        f"Machine: {_machine()}.",
        "",
        "Each figure stands beside the floor it is compared with, measured in the same run "
        "on the same machine, and its target. A ratio is value ÷ floor.",
        "",
        table(runs),
        "",
        f"Targets missed: {', '.join(missed)}." if missed else "Every target was met.",
        "",
        "## Runs",
        "",
    ]
    for run in runs:
        parts.append(f"- **{run['bench']}** ({run.get('when', '?')}): {run.get('title', '')}")
    return "\n".join(parts) + "\n"


def update_readme(text: str, runs: list[dict[str, Any]]) -> str:
    """The README with the table between its bench markers replaced."""
    if START not in text or END not in text:
        raise SystemExit(f"README.md has no {START} ... {END} markers")
    head, rest = text.split(START, 1)
    _, tail = rest.split(END, 1)
    block = f"{START}\n{table(runs)}\n\n(Machine: {_machine()}; details in bench/RESULTS.md.)\n"
    return f"{head}{block}{END}{tail}"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--readme", action="store_true", help="update the README's table too")
    args = parser.parse_args()
    runs = collect()
    if not runs:
        print("report: no results in bench/out/; run the benchmarks first", file=sys.stderr)
        return 1
    RESULTS.write_text(results_markdown(runs), encoding="utf-8")
    print(f"report: {sum(len(r['figures']) for r in runs)} figures from {len(runs)} runs"
          f" -> {RESULTS.relative_to(ROOT)}")  # fmt: skip
    if args.readme:
        README.write_text(update_readme(README.read_text(encoding="utf-8"), runs), "utf-8")
        print("report: README.md table updated")
    return 0


if __name__ == "__main__":
    sys.exit(main())
