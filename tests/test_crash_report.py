"""Crash reports: where it happened, never what with (no messages, no values, no client data)."""

from __future__ import annotations

import subprocess
import sys
import threading
from pathlib import Path
from types import TracebackType

import pytest

from desktop import CMSID
from desktop.app import crash, paths
from tests.conftest import REPO

MARKER = "ZQXMARK"


def _failing_save(initials: str) -> None:
    client = {"FINITIAL": initials, "note": f"{MARKER} lives at NR14 7UJ"}
    raise ValueError(f"{MARKER} could not save {client}")


def _caught() -> tuple[type[BaseException], BaseException, TracebackType | None]:
    try:
        try:
            _failing_save(f"{MARKER}-J")
        except ValueError as exc:
            raise RuntimeError(f"{MARKER} while saving") from exc
    except RuntimeError as exc:
        return type(exc), exc, exc.__traceback__
    raise AssertionError("unreachable")


def test_report_holds_kinds_frames_and_versions_but_no_message_or_value(tmp_path: Path) -> None:
    """Privacy: no client data in logs (a crash report is a log file)."""
    path = crash.write_report(*_caught(), folder=tmp_path)
    assert path is not None and path.parent == tmp_path
    text = path.read_text(encoding="utf-8")
    assert MARKER not in text and "NR14" not in text and "Bloggs" not in text
    assert "Error: RuntimeError" in text
    assert "Raised while handling: ValueError" in text
    assert "in _failing_save" in text and "in _caught" in text
    assert "test_crash_report.py:" in text
    assert CMSID in text and "Python: " in text and "Platform: " in text
    assert "client = " not in text and "raise ValueError" not in text  # no source lines


def test_frames_are_named_from_the_package_not_the_folders_above_it() -> None:
    assert crash._short(str(REPO / "desktop" / "ui" / "app.py")) == "desktop/ui/app.py"
    site = "/home/jo/.venv/lib/python3.11/site-packages/sqlalchemy/orm/session.py"
    assert crash._short(site) == "sqlalchemy/orm/session.py"
    assert crash._short("/home/jo/private/thing.py") == "thing.py"


def test_only_the_newest_reports_are_kept(tmp_path: Path) -> None:
    for _ in range(crash.KEEP + 5):
        assert crash.write_report(*_caught(), folder=tmp_path) is not None
    assert len(list(tmp_path.glob("crash-*.txt"))) == crash.KEEP


def test_installed_hooks_report_main_thread_and_worker_thread_errors(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    before = sys.excepthook, threading.excepthook
    uninstall = crash.install(tmp_path, faults=False)
    assert sys.excepthook is not before[0] and threading.excepthook is not before[1]
    try:
        sys.excepthook(*_caught())

        def worker() -> None:
            _failing_save("J")

        thread = threading.Thread(target=worker, name="export")
        thread.start()
        thread.join()
    finally:
        uninstall()
    assert (sys.excepthook, threading.excepthook) == before
    reports = sorted(tmp_path.glob("crash-*.txt"))
    assert len(reports) == 2
    texts = [r.read_text(encoding="utf-8") for r in reports]
    assert any("Thread: main thread" in t and "Error: RuntimeError" in t for t in texts)
    assert any("Thread: thread export" in t and "Error: ValueError" in t for t in texts)
    err = capsys.readouterr().err
    assert MARKER not in err
    assert "stopped after an unexpected RuntimeError; a report without client data" in err


def test_reports_go_to_the_users_log_folder_by_default() -> None:
    path = crash.write_report(*_caught())
    assert path is not None and path.parent == paths.log_dir()


def test_a_fatal_error_is_written_to_faults_log_without_values(tmp_path: Path) -> None:
    code = (
        "import sys, faulthandler; from pathlib import Path; from desktop.app import crash\n"
        "crash.install(Path(sys.argv[1]))\n"
        f"def save_client(name='{MARKER}'):\n"
        "    faulthandler._sigsegv()\n"
        "save_client()\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)], cwd=REPO, capture_output=True, text=True
    )
    assert proc.returncode != 0
    faults = (tmp_path / crash.FAULTS).read_text(encoding="utf-8")
    assert "Fatal Python error" in faults
    assert "save_client" in faults
    assert MARKER not in faults


def test_the_window_error_handler_writes_a_report_and_tells_the_worker_plainly(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from desktop.ui import app

    said: list[str] = []

    class Box:
        @staticmethod
        def critical(parent: object, title: str, text: str) -> None:
            said.append(text)

    monkeypatch.setattr(app, "QMessageBox", Box)
    app._safe_excepthook(*_caught())
    assert said == ["Something went wrong. Your record is saved. Carry on, or close Pathway."]
    reports = list(paths.log_dir().glob("crash-*.txt"))
    assert len(reports) == 1
    assert MARKER not in reports[0].read_text(encoding="utf-8")


def test_an_error_off_the_window_thread_is_reported_without_a_window(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A dialog may only be shown from the window's thread: a worker's error is reported only."""
    from desktop.ui import app

    said: list[str] = []

    class Box:
        @staticmethod
        def critical(parent: object, title: str, text: str) -> None:
            said.append(text)

    monkeypatch.setattr(app, "QMessageBox", Box)
    worker = threading.Thread(target=lambda: app._safe_excepthook(*_caught()))
    worker.start()
    worker.join()
    assert said == []
    assert len(list(paths.log_dir().glob("crash-*.txt"))) == 1
