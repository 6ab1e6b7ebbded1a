"""The window's speed, offscreen: keystroke to marker, caseload on a large store, start-up.

Figures, each beside what it is compared with in the same run:
- keystroke → updated marker (median, p99) on the CJIT sheet; target p99 <= 16 ms (a frame);
- caseload first rows and a filter on a demo store (default 100,000 episodes); targets
  <= 0.5 s and <= 100 ms;
- peak memory of this process (target <= 300 MB);
- cold start to the unlock window, against a bare PySide6 window started the same way
  (a subprocess each, median of 3); target <= 1.5x.

``--dataset secure-r`` (or PATHWAY_BENCH_DATASET=secure-r) repeats the figures on a prison
demo store and the prison sheet, adding the prison caseload groups (in treatment now,
discharged not exited, released this month) to the filters.
"""

from __future__ import annotations

import argparse
import compileall
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from bench.report import emit, figure
from desktop.app import paths
from desktop.domain.prison import caseload_groups
from desktop.storage.store import CaseloadQuery, Store
from desktop.ui.caseload import CaseloadModel
from desktop.ui.main_window import MainWindow

BARE = (
    "from PySide6.QtWidgets import QApplication, QWidget; import sys;"
    "a = QApplication(sys.argv); w = QWidget(); w.show(); a.processEvents()"
)
OURS = (
    "import sys; sys.path.insert(0, {root!r});"
    "from desktop.app.launch import main; main(['--self-test', 'start'])"
)


def _pct(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(pct / 100 * (len(ordered) - 1)))]


def _starts(bare_code: str, our_code: str, runs: int = 11) -> tuple[float, float]:
    """Cold starts of the bare window and of ours, taken in turn (so that a busy moment
    of the machine falls on both), one untimed start each first; the medians."""
    times: dict[str, list[float]] = {bare_code: [], our_code: []}
    for run in range(runs + 1):
        for code in (bare_code, our_code):
            started = time.perf_counter()
            subprocess.run([sys.executable, "-c", code], check=True, capture_output=True)
            if run:
                times[code].append(time.perf_counter() - started)
    return statistics.median(times[bare_code]), statistics.median(times[our_code])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--episodes", type=int, default=100_000)
    parser.add_argument("--keys", type=int, default=300)
    parser.add_argument(
        "--dataset",
        choices=("cjit-q", "secure-r"),
        default=os.environ.get("PATHWAY_BENCH_DATASET", "cjit-q"),
    )
    args = parser.parse_args()
    dataset = args.dataset
    kind = "secure" if dataset == "secure-r" else "cjit"
    app = QApplication.instance() or QApplication([])
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        os.environ["PATHWAY_DATA_DIR"] = tmp
        store_path = Path(tmp) / "demo.store"
        env = {**os.environ, "PATHWAY_PASSWORD": "demo"}
        subprocess.run(
            [sys.executable, "-m", "desktop", "demo", "--episodes", str(args.episodes),
             "--store", str(store_path), "--type", kind],
            check=True, cwd=ROOT, env=env, capture_output=True,
        )  # fmt: skip
        refdata = paths.load()
        store = Store.open(store_path, "demo", "demo", refdata=refdata)
        try:
            started = time.perf_counter()
            model = CaseloadModel(store, CaseloadQuery(dataset=dataset))
            first_rows = time.perf_counter() - started
            filters = []
            for text in ("R0001", "AB", "1980-01-01", "R09", "A12", ""):
                started = time.perf_counter()
                model.set_query(CaseloadQuery(dataset=dataset, search=text or None))
                filters.append(time.perf_counter() - started)
            spec = refdata.datasets[dataset]
            groups = caseload_groups(spec, refdata, date.today()) if kind == "secure" else ()
            for group in groups:
                started = time.perf_counter()
                model.set_query(
                    CaseloadQuery(
                        dataset=dataset,
                        states=group.states,
                        closed_from=group.closed_from,
                        closed_to=group.closed_to,
                        fields_in=group.fields_in,
                    )
                )
                filters.append(time.perf_counter() - started)
            model.set_query(CaseloadQuery(dataset=dataset))
            started = time.perf_counter()
            for row in range(min(30, model.rowCount())):  # a screenful of flags
                model.flags_of(model.row_at(row))
            flags_ms = (time.perf_counter() - started) * 1000
            window = MainWindow(store)
            window.resize(1366, 740)
            window.show()
            window.new_episode()
            app.processEvents()
            editor = window.sheet.editors["ALCUNITS"].input
            keys = []
            for i in range(args.keys):
                started = time.perf_counter()
                QTest.keyClicks(editor, str(i % 10))
                app.processEvents()
                keys.append(time.perf_counter() - started)
            window.editing.stop()
            window.idle.stop()
        finally:
            store.close(backup_reason=None)
        peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        # As installed: pip and PyInstaller compile the bytecode once, so compile it here too
        # (this machine sets PYTHONDONTWRITEBYTECODE, which would otherwise recompile every
        # module on every start).
        compileall.compile_dir(ROOT / "desktop", quiet=1)
        bare, ours = _starts(BARE, OURS.format(root=str(ROOT)))
    key_med, key_p99 = statistics.median(keys) * 1000, _pct(keys, 99) * 1000
    filt_med, filt_max = statistics.median(filters) * 1000, max(filters) * 1000
    print(f"ui: offscreen, {dataset} demo store of {args.episodes} episodes")
    checks = [
        ("keystroke → marker", f"median {key_med:.2f} ms, p99 {key_p99:.2f} ms", key_p99 <= 16,
         "p99 <= 16 ms"),
        ("caseload first rows", f"{first_rows * 1000:.0f} ms", first_rows <= 0.5, "<= 0.5 s"),
        ("caseload filter", f"median {filt_med:.0f} ms, worst {filt_max:.0f} ms",
         filt_max <= 100, "<= 100 ms"),
        ("caseload flags, 30 rows", f"{flags_ms:.0f} ms", flags_ms <= 100, "<= 100 ms"),
        ("peak memory", f"{peak_mb:.0f} MB", peak_mb <= 300, "<= 300 MB"),
        ("start to unlock window", f"{ours:.2f} s vs bare window {bare:.2f} s"
         f" = {ours / bare:.2f}x", ours / bare <= 1.5, "<= 1.5x"),
    ]  # fmt: skip
    for name, text, good, target in checks:
        ok &= good
        print(f"  {name:<24}{text:<48} target {target}: {'ok' if good else 'MISSED'}")
    met = [good for _, _, good, _ in checks]
    name, what = ("ui", "demo store") if kind == "cjit" else ("ui-prison", "prison demo store")
    emit(name, f"offscreen window, {what} of {args.episodes:,} episodes", [
        figure("keystroke to marker, p99", key_p99, "ms", target="<= 16 ms", met=met[0]),
        figure("caseload first rows", first_rows * 1000, "ms", target="<= 500 ms", met=met[1]),
        figure("caseload filter, worst", filt_max, "ms", target="<= 100 ms", met=met[2]),
        figure("caseload flags, a screenful (30 rows)", flags_ms, "ms", target="<= 100 ms",
               met=met[3]),
        figure("peak memory", peak_mb, "MB", target="<= 300 MB", met=met[4]),
        figure("cold start to the unlock window (source)", ours, "s", floor=bare,
               floor_is="bare PySide6 window", target="<= 1.5x floor", met=met[5]),
    ])  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
