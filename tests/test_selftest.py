"""``pathway --self-test`` from source: in this process and as a command.

The built application runs the same self-test in ``make dist-test``.
"""

from __future__ import annotations

import io
import os
import subprocess
import sys
from pathlib import Path

import pytest
from PySide6.QtWidgets import QApplication

from desktop import CMSID
from desktop.app import selftest
from desktop.cli import main
from tests.conftest import REPO


def _run(folder: Path) -> tuple[int, str]:
    out = io.StringIO()
    status = selftest.run(out, folder=folder)
    return status, out.getvalue()


def test_self_test_passes_and_leaves_nothing_behind(qapp: QApplication, tmp_path: Path) -> None:
    status, text = _run(tmp_path)
    assert status == 0, text
    lines = text.splitlines()
    assert lines[-1].startswith("self-test passed")
    checks = [line for line in lines[1:-1]]
    assert checks and all(line.startswith("ok ") for line in checks)
    for title in ("dataset Q", "dataset R"):
        for step in ("passes validation", "saved and read back", "exported and read back"):
            assert any(title in line and step in line for line in checks), (title, step)
    assert any("main window drawn" in line for line in checks)
    assert list(tmp_path.iterdir()) == []  # the temporary stores, files and backups are gone


def test_a_failed_check_is_named_and_the_others_still_run(
    qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The postcode check (NDTMS receives the postcode less its last two characters) fails
    when the expectation is wrong; the later checks are still reported."""
    monkeypatch.setattr(selftest, "SENT_POSTCODE", "XX1 1")
    status, text = _run(tmp_path)
    assert status == 1
    failed = [line for line in text.splitlines() if line.startswith("FAILED")]
    assert len(failed) == 2  # one per dataset
    assert all("the postcode was not cut to its district" in line for line in failed)
    assert "audit trail intact" in text.split(failed[0])[1]
    checks = len(text.splitlines()) - 2  # the title and the summary are not checks
    assert text.splitlines()[-1] == f"self-test FAILED: 2 of {checks} checks failed"


def test_an_unexpected_error_shows_its_kind_and_place_never_its_text(
    qapp: QApplication, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """No client data printed: an error's message could hold a value, so only its kind and
    the place it happened are shown."""
    from desktop.export import pdf

    def broken(*args: object, **kwargs: object) -> None:
        raise ValueError("ZQXMARK J. Bloggs 1985-05-17")

    monkeypatch.setattr(pdf, "write_sheet_pdf", broken)
    status, text = _run(tmp_path)
    assert status == 1
    assert "ZQXMARK" not in text and "Bloggs" not in text
    assert "sheet PDF written: ValueError at selftest.py:" in text


def test_self_test_command_from_source() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "desktop", "--self-test"],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, "QT_QPA_PLATFORM": "offscreen"},
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert proc.stdout.splitlines()[0].startswith(f"Pathway self-test ({CMSID}, from source")
    assert proc.stdout.splitlines()[-1].startswith("self-test passed")


def test_version_prints_the_cmsid(capsys: pytest.CaptureFixture[str]) -> None:
    """CMSID (seed 000: the name and version of the recording system) is what --version says."""
    with pytest.raises(SystemExit) as ended:
        main(["--version"])
    assert ended.value.code == 0
    assert capsys.readouterr().out.strip() == CMSID
