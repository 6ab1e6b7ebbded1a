"""The built application (``make dist``): its size and its start, against a bare PySide6 window.

Measured only when ``dist/<APP_NAME>/`` exists (``make bench`` builds it first).

- size of the folder, against the floor: a bare PySide6 window (QApplication + QWidget)
  built by the same PyInstaller into ``build/bench-bare/``;
- start: ``<app> --self-test start`` (Qt, reference data, the unlock window drawn, quit),
  against the bare window built alike; each a fresh process, offscreen, median of 5 after
  one untimed start. Target: <= 1.5x the bare window, as for the start from source.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.report import emit, figure
from desktop import APP_NAME

DIST = ROOT / "dist" / APP_NAME
BARE_DIR = ROOT / "build" / "bench-bare"
BARE = (
    "import sys\n"
    "from PySide6.QtWidgets import QApplication, QWidget\n"
    "a = QApplication(sys.argv); w = QWidget(); w.show(); a.processEvents()\n"
)
RUNS = 5
TARGET_START_RATIO = 1.5


def _exe(folder: Path, name: str) -> Path:
    return folder / (f"{name}.exe" if sys.platform == "win32" else name)


def _size_mb(folder: Path) -> tuple[float, int]:
    files = [p for p in folder.rglob("*") if p.is_file() and not p.is_symlink()]
    return sum(p.stat().st_size for p in files) / 1e6, len(files)


def _bare_app() -> Path:
    """A bare PySide6 window built by the same PyInstaller (reused once built)."""
    exe = _exe(BARE_DIR / "dist" / "bare", "bare")
    if exe.exists():
        return exe
    BARE_DIR.mkdir(parents=True, exist_ok=True)
    script = BARE_DIR / "bare.py"
    script.write_text(BARE, encoding="utf-8")
    subprocess.run(
        [sys.executable, "-m", "PyInstaller", "--noconfirm", "--log-level", "WARN",
         "--name", "bare", "--distpath", str(BARE_DIR / "dist"),
         "--workpath", str(BARE_DIR / "work"), "--specpath", str(BARE_DIR),
         "--exclude-module", "tkinter", str(script)],
        check=True, cwd=BARE_DIR,
    )  # fmt: skip
    return exe


def _start(command: list[str], env: dict[str, str]) -> float:
    subprocess.run(command, check=True, capture_output=True, env=env)  # untimed
    times = []
    for _ in range(RUNS):
        started = time.perf_counter()
        subprocess.run(command, check=True, capture_output=True, env=env)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    app = _exe(DIST, APP_NAME)
    if not app.exists():
        print(f"dist: no built application at {app.relative_to(ROOT)}; run 'make dist' first")
        return 0
    bare = _bare_app()
    size, files = _size_mb(DIST)
    bare_size, _ = _size_mb(bare.parent)
    with tempfile.TemporaryDirectory(prefix="pathway-bench-") as tmp:
        env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PATHWAY_DATA_DIR": tmp}
        ours = _start([str(app), "--self-test", "start"], env)
        floor = _start([str(bare)], env)
    good = ours / floor <= TARGET_START_RATIO
    print(f"dist: {app.relative_to(ROOT)}")
    print(f"  size   {size:7.1f} MB in {files} files | bare PySide6 window {bare_size:6.1f} MB")
    print(
        f"  start  {ours:7.3f} s to the unlock window | bare window {floor:.3f} s"
        f" = {ours / floor:.2f}x | target <= {TARGET_START_RATIO:g}x: {'ok' if good else 'MISSED'}"
    )
    emit("dist", f"the built application ({sys.platform}), median of {RUNS} starts", [
        figure("size of the built folder", size, "MB", floor=bare_size,
               floor_is="bare PySide6 window, built alike"),
        figure("start to the unlock window (built)", ours, "s", floor=floor,
               floor_is="bare PySide6 window, built alike",
               target=f"<= {TARGET_START_RATIO:g}x floor", met=good),
    ])  # fmt: skip
    return 0 if good else 1


if __name__ == "__main__":
    sys.exit(main())
