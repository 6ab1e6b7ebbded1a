"""Crash reports that hold no client data.

An unexpected error (in the main thread, a worker thread, or a fatal one that kills the
process) leaves a report in the user's log folder (``paths.log_dir()``) for IT or the
developers. A report says *where* it happened, never *what with*: the kind of error (and of
the errors that led to it), each frame's file, line and function, Pathway's, Python's and
Qt's versions and the platform. It never holds an error's message, a source line or any
variable, since those can hold what a worker typed.

Fatal errors (a crash inside Qt or SQLCipher) are written by :mod:`faulthandler` to
``faults.log`` in the same folder: it too prints only files, lines and functions.
"""

from __future__ import annotations

import contextlib
import faulthandler
import os
import sys
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType
from typing import IO

from desktop import APP_NAME, CMSID

PREFIX = "crash-"
SUFFIX = ".txt"
FAULTS = "faults.log"
KEEP = 20  # newest reports kept
FAULTS_MAX = 256 * 1024  # faults.log is started afresh (the old one kept as .1) past this
_MAX_FRAMES = 60

_faults_file: IO[str] | None = None


def _log_dir() -> Path:
    from desktop.app import paths

    return paths.log_dir()


def _short(filename: str) -> str:
    """A frame's file without the folders above the package or library it belongs to."""
    parts = Path(filename).parts
    for anchor in ("desktop", "site-packages", "_internal"):
        if anchor in parts:
            idx = len(parts) - 1 - parts[::-1].index(anchor)
            start = idx if anchor == "desktop" else idx + 1
            return "/".join(parts[start:]) or Path(filename).name
    return Path(filename).name


def _qualified(kind: type[BaseException]) -> str:
    module = kind.__module__
    return kind.__qualname__ if module == "builtins" else f"{module}.{kind.__qualname__}"


def _versions() -> list[str]:
    import platform  # when a report is written, not at every start

    lines = [
        f"Pathway: {CMSID} ({'built application' if getattr(sys, 'frozen', False) else 'source'})",
        f"Python: {platform.python_version()} ({platform.python_implementation()})",
        f"Platform: {platform.platform()} ({platform.machine() or 'unknown machine'})",
    ]
    if "PySide6" in sys.modules:
        with contextlib.suppress(Exception):
            import PySide6
            from PySide6 import QtCore

            lines.append(f"Qt: PySide6 {PySide6.__version__}, Qt {QtCore.qVersion()}")
    return lines


def _frames(tb: TracebackType | None) -> list[str]:
    import traceback

    frames = list(traceback.extract_tb(tb))
    lines = ["Frames (most recent call last):"]
    if len(frames) > _MAX_FRAMES:
        lines.append(f"  ... {len(frames) - _MAX_FRAMES} earlier frames left out")
        frames = frames[-_MAX_FRAMES:]
    lines.extend(f"  {_short(f.filename)}:{f.lineno} in {f.name}" for f in frames)
    return lines


def format_report(
    kind: type[BaseException],
    exc: BaseException | None,
    tb: TracebackType | None,
    *,
    thread: str = "main thread",
    when: datetime | None = None,
) -> str:
    """The report's text: kinds, frames (file, line, function), versions. No values."""
    stamp = (when or datetime.now(UTC)).strftime("%Y-%m-%d %H:%M:%S UTC")
    lines = [f"{APP_NAME} crash report", f"When: {stamp}", *_versions(), f"Thread: {thread}"]
    lines.append(f"Error: {_qualified(kind)}")
    lines.extend(_frames(tb))
    seen: set[int] = set()
    link = exc
    while link is not None and id(link) not in seen:
        seen.add(id(link))
        following = link.__cause__ or (None if link.__suppress_context__ else link.__context__)
        if following is not None:
            lines.append(f"Raised while handling: {_qualified(type(following))}")
            lines.extend(_frames(following.__traceback__))
        link = following
    lines.append("This report holds no error message, no values and no client data.")
    return "\n".join(lines) + "\n"


def _prune(folder: Path) -> None:
    reports = sorted(folder.glob(f"{PREFIX}*{SUFFIX}"))
    for old in reports[:-KEEP]:
        with contextlib.suppress(OSError):
            old.unlink()


def write_report(
    kind: type[BaseException],
    exc: BaseException | None,
    tb: TracebackType | None,
    *,
    thread: str = "main thread",
    folder: Path | None = None,
) -> Path | None:
    """Write one report; its path, or None when even that failed (this never raises)."""
    try:
        folder = folder or _log_dir()
        folder.mkdir(parents=True, exist_ok=True)
        now = datetime.now(UTC)
        name = f"{PREFIX}{now:%Y%m%d-%H%M%S-%f}-{os.getpid()}{SUFFIX}"
        path = folder / name
        path.write_text(format_report(kind, exc, tb, thread=thread, when=now), encoding="utf-8")
        _prune(folder)
        return path
    except Exception:  # a crash handler that crashes helps nobody
        return None


def _tell(kind: type[BaseException], path: Path | None) -> None:
    if sys.stderr is None:
        return
    where = f"; a report without client data is in {path}" if path else ""
    with contextlib.suppress(Exception):
        sys.stderr.write(f"{APP_NAME} stopped after an unexpected {kind.__name__}{where}.\n")


def _open_faults(folder: Path) -> IO[str]:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / FAULTS
    with contextlib.suppress(OSError):
        if path.stat().st_size > FAULTS_MAX:
            os.replace(path, path.with_name(FAULTS + ".1"))
    return open(path, "a", encoding="utf-8")


def install(folder: Path | None = None, *, faults: bool = True) -> Callable[[], None]:
    """Report unexpected errors from now on (``sys.excepthook``, ``threading.excepthook``)
    and, with ``faults``, fatal ones through :mod:`faulthandler` into ``faults.log``.

    Returns a function that puts the previous hooks back.
    """
    global _faults_file
    where = folder
    previous_sys, previous_thread = sys.excepthook, threading.excepthook

    def on_error(kind: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(kind, KeyboardInterrupt):
            previous_sys(kind, exc, tb)
            return
        _tell(kind, write_report(kind, exc, tb, folder=where))

    def on_thread_error(args: threading.ExceptHookArgs) -> None:
        if args.exc_type is SystemExit:
            return
        name = "worker thread" if args.thread is None else f"thread {args.thread.name}"
        path = write_report(args.exc_type, args.exc_value, args.exc_traceback, thread=name,
                            folder=where)  # fmt: skip
        _tell(args.exc_type, path)

    sys.excepthook = on_error
    threading.excepthook = on_thread_error
    if faults:
        with contextlib.suppress(OSError, ValueError, RuntimeError):
            handle = _open_faults(folder or _log_dir())
            faulthandler.enable(file=handle, all_threads=True)
            if _faults_file is not None:
                _faults_file.close()
            _faults_file = handle

    def uninstall() -> None:
        sys.excepthook, threading.excepthook = previous_sys, previous_thread

    return uninstall
