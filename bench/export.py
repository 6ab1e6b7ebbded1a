"""NDTMS submission export speed and memory on demo stores of two sizes.

For each size (``--small`` and ``--episodes`` synthetic CJIT episodes, made with
``python -m desktop demo``):

1. The export: ``desktop.export.submission.export`` of one month into a temporary folder,
   timed from the call to its return (the store is already unlocked). Run in a child
   process, which reports its peak resident memory (``ru_maxrss``); a second child
   exports another month under ``tracemalloc`` for the peak of Python allocations.
2. The floor, measured in the same run on the same rows: a bare keyed ``sqlcipher3``
   connection (``raw_connect`` with the key from ``keys.unwrap_key``) that scans the same
   episodes with their clients and referrals, decodes the JSON fields and writes the same
   columns with ``csv.writer`` to a file it then fsyncs. Run twice, around the export;
   the faster run counts. Target: export <= 3x the floor.
3. The pre-upload check of the same month (every record validated), for information.

Memory should stay flat from the small store to the large one: the export streams
batches of episodes and never holds the whole extract.

The export is timed with errors included, which writes every selected record and skips
validating again (the check's time is shown separately).

Everything happens in a temporary folder. Set PATHWAY_BENCH_JSON=path to also write
every figure as JSON.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

TARGET_RATIO = 3.0
USER = PASSWORD = "demo"
DATASET = "cjit-q"


def _maxrss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


# ---------------------------------------------------------------------- children


def child_floor(store: Path, out: Path, period: str) -> dict[str, Any]:
    from desktop.app import paths
    from desktop.domain.datasets import profile
    from desktop.export.submission import Period
    from desktop.storage.engine import raw_connect
    from desktop.storage.keys import read_keyfile, unwrap_key, zero
    from desktop.storage.store import keys_path

    spec = paths.load().datasets[DATASET]
    month = Period.parse(period)
    key, _wrap = unwrap_key(read_keyfile(keys_path(store)), USER, PASSWORD)
    conn = raw_connect(store, key)
    zero(key)
    headers = spec.headers
    item_headers = {f.header for f in spec.item_fields}
    id_header = spec.item_fields[0].header
    start, end = month.start.isoformat(), month.end.isoformat()
    # The same rows the export sends: CJIT episodes waiting for the caseload decision stay out.
    waiting = sorted(profile(DATASET).awaiting_decision)
    began = time.perf_counter()
    cur = conn.execute(
        "SELECT e.id, c.fields, e.fields FROM episodes e JOIN clients c ON c.id = e.client_id"
        " WHERE e.dataset = ? AND ((e.opened_on <= ? AND (e.closed_on IS NULL"
        " OR e.closed_on >= ?)) OR (e.closed_on >= ? AND e.closed_on <= ?))"
        f" AND e.state NOT IN ({','.join('?' * len(waiting))})"
        " ORDER BY e.rowid",
        (DATASET, end, start, start, end, *waiting),
    )
    rows = episodes = 0
    target = out / "floor.csv"
    with open(target, "w", newline="", encoding="utf-8") as fh:
        writer = csv.writer(fh, lineterminator="\r\n")
        writer.writerow(headers)
        while batch := cur.fetchmany(1000):
            ids = [r[0] for r in batch]
            items: dict[str, list[dict[str, object]]] = {}
            for item_id, episode_id, fields in conn.execute(
                "SELECT id, episode_id, fields FROM referrals"
                f" WHERE episode_id IN ({','.join('?' * len(ids))})"
                " ORDER BY episode_id, position",
                ids,
            ):
                items.setdefault(episode_id, []).append({id_header: item_id, **json.loads(fields)})
            for episode_id, client_fields, episode_fields in batch:
                rec = {**json.loads(client_fields), **json.loads(episode_fields)}
                for item in items.get(episode_id) or [{}]:
                    writer.writerow(
                        [item.get(h, "") if h in item_headers else rec.get(h, "") for h in headers]
                    )
                    rows += 1
                episodes += 1
        fh.flush()
        os.fsync(fh.fileno())
    seconds = time.perf_counter() - began
    conn.close()
    return {
        "seconds": seconds,
        "rows": rows,
        "episodes": episodes,
        "bytes": target.stat().st_size,
        "maxrss_mb": _maxrss_mb(),
    }


def child_export(store: Path, out: Path, period: str, traced: bool) -> dict[str, Any]:
    import tracemalloc

    from desktop.app import paths
    from desktop.export.submission import export
    from desktop.storage.store import Store

    refdata = paths.load()
    opened = Store.open(store, USER, PASSWORD, refdata=refdata)
    try:
        if traced:
            tracemalloc.start()
        began = time.perf_counter()
        result = export(opened, DATASET, period, out, include_errors=True)
        seconds = time.perf_counter() - began
        peak = tracemalloc.get_traced_memory()[1] / 2**20 if traced else None
        if traced:
            tracemalloc.stop()
    finally:
        opened.close(backup_reason=None)
    return {
        "seconds": seconds,
        "rows": result.rows,
        "episodes": result.episodes,
        "bytes": result.path.stat().st_size,
        "neutralised": result.neutralised,
        "maxrss_mb": _maxrss_mb(),
        "tracemalloc_peak_mb": peak,
    }


def child_check(store: Path, period: str) -> dict[str, Any]:
    from desktop.app import paths
    from desktop.export.submission import check
    from desktop.storage.store import Store

    refdata = paths.load()
    opened = Store.open(store, USER, PASSWORD, refdata=refdata)
    try:
        began = time.perf_counter()
        result = check(opened, DATASET, period)
        seconds = time.perf_counter() - began
    finally:
        opened.close(backup_reason=None)
    return {
        "seconds": seconds,
        "records": result.records,
        "load_pct": result.load_pct,
        "dq_pct": result.dq_pct,
        "maxrss_mb": _maxrss_mb(),
    }


# ---------------------------------------------------------------------- parent


def _child(*args: str) -> dict[str, Any]:
    proc = subprocess.run(
        [sys.executable, __file__, "--child", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        env={**os.environ, "PATHWAY_PASSWORD": PASSWORD},
    )
    if proc.returncode != 0:
        raise SystemExit(f"child {args[0]} failed ({proc.returncode}): {proc.stderr.strip()}")
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def _demo(tmp: Path, episodes: int) -> tuple[Path, float]:
    path = tmp / f"demo-{episodes}.store"
    began = time.perf_counter()
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "desktop",
            "demo",
            "--episodes",
            str(episodes),
            "--store",
            str(path),
        ],
        cwd=ROOT,
        env={**os.environ, "PATHWAY_PASSWORD": PASSWORD},
        capture_output=True,
        text=True,
    )
    if proc.returncode != 0:
        raise SystemExit(f"demo failed ({proc.returncode}): {proc.stderr.strip()}")
    return path, time.perf_counter() - began


def bench_size(tmp: Path, episodes: int, period: str, other: str) -> dict[str, Any]:
    store, demo_s = _demo(tmp, episodes)
    folder = tmp / f"out-{episodes}"
    folder.mkdir()
    floors = [_child("floor", str(store), str(folder), period)]
    exported = _child("export", str(store), str(folder), period)
    floors.append(_child("floor", str(store), str(folder), period))
    traced = _child("export-traced", str(store), str(folder), other)
    checked = _child("check", str(store), period)
    floor = min(floors, key=lambda f: f["seconds"])
    if (floor["rows"], floor["episodes"]) != (exported["rows"], exported["episodes"]):
        raise SystemExit(
            f"the floor read {floor['episodes']} episodes / {floor['rows']} rows but the export"
            f" wrote {exported['episodes']} / {exported['rows']}: not the same rows"
        )
    return {
        "store_episodes": episodes,
        "demo_s": demo_s,
        "period": period,
        "export": exported,
        "export_traced": traced,
        "floors": floors,
        "floor": floor,
        "ratio": exported["seconds"] / floor["seconds"],
        "check": checked,
    }


def report(results: list[dict[str, Any]]) -> bool:
    ok = True
    print(f"export: NDTMS file ({DATASET}) from demo stores, one month, errors included")
    print(
        "  store eps  month    episodes    rows |  export   µs/ep |   floor   µs/ep | ratio"
        " | export RSS  traced peak | floor RSS | check (validates)"
    )
    for r in results:
        e, f, c = r["export"], r["floor"], r["check"]
        good = bool(r["ratio"] <= TARGET_RATIO)
        ok &= good
        print(
            f"  {r['store_episodes']:>9}  {r['period']}  {e['episodes']:>8} {e['rows']:>7}"
            f" | {e['seconds']:6.2f} s {e['seconds'] / e['episodes'] * 1e6:6.0f}"
            f" | {f['seconds']:6.2f} s {f['seconds'] / f['episodes'] * 1e6:6.0f}"
            f" | {r['ratio']:4.1f}x"
            f" | {e['maxrss_mb']:7.0f} MB {r['export_traced']['tracemalloc_peak_mb']:8.1f} MB"
            f" | {f['maxrss_mb']:6.0f} MB"
            f" | {c['seconds']:5.1f} s for {c['records']} records"
            f" ({c['seconds'] / max(c['records'], 1) * 1e6:.0f} µs each)"
        )
    print(f"  target: export <= {TARGET_RATIO:.0f}x the floor: {'ok' if ok else 'OVER TARGET'}")
    if len(results) >= 2:
        small, large = results[0], results[-1]
        grow = large["store_episodes"] / small["store_episodes"]
        rss = large["export"]["maxrss_mb"] / small["export"]["maxrss_mb"]
        traced = (
            large["export_traced"]["tracemalloc_peak_mb"]
            / small["export_traced"]["tracemalloc_peak_mb"]
        )
        print(
            f"  memory as the store grows {grow:.0f}x: export RSS x{rss:.2f},"
            f" Python peak (tracemalloc) x{traced:.2f}"
        )
    return ok


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=100_000, help="the large demo store")
    parser.add_argument("--small", type=int, default=20_000, help="the small demo store")
    parser.add_argument("--period", default="2026-10", help="the month exported (YYYY-MM)")
    parser.add_argument("--other", default="2026-09", help="the month of the traced export")
    parser.add_argument("--child", nargs="+", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        kind, *rest = args.child
        if kind == "floor":
            out = child_floor(Path(rest[0]), Path(rest[1]), rest[2])
        elif kind in ("export", "export-traced"):
            out = child_export(Path(rest[0]), Path(rest[1]), rest[2], kind == "export-traced")
        else:
            out = child_check(Path(rest[0]), rest[1])
        print(json.dumps(out))
        return 0
    if args.episodes < 1 or args.small < 1:
        parser.error("--episodes and --small must be 1 or more")
    sizes = sorted({args.small, args.episodes})
    with tempfile.TemporaryDirectory(prefix="pathway-bench-") as name:
        tmp = Path(name)
        os.environ["PATHWAY_DATA_DIR"] = str(tmp)
        results = [bench_size(tmp, n, args.period, args.other) for n in sizes]
    ok = report(results)
    from bench.report import emit, figure

    emit("export", f"NDTMS file ({DATASET}) of one month from demo stores", [
        fig
        for r in results
        for fig in (
            figure(f"export of {r['export']['episodes']:,} episodes (store of "
                   f"{r['store_episodes']:,})", r["export"]["seconds"], "s",
                   floor=r["floor"]["seconds"], floor_is="bare scan + csv.writer",
                   target=f"<= {TARGET_RATIO:g}x floor", met=bool(r["ratio"] <= TARGET_RATIO)),
            figure(f"export peak memory (store of {r['store_episodes']:,})",
                   r["export"]["maxrss_mb"], "MB", floor=r["floor"]["maxrss_mb"],
                   floor_is="bare scan"),
        )
    ])  # fmt: skip
    target = os.environ.get("PATHWAY_BENCH_JSON")
    if target:
        Path(target).write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
