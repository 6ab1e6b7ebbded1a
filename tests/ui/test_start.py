"""Starting the window: nothing but Qt and the unlock window before the worker types."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop import CMSID
from desktop.app import launch
from desktop.domain.refdata import RefDataError
from desktop.domain.spec import RefData
from desktop.ui.dialogs import UnlockDialog

REPO = Path(__file__).resolve().parents[2]


def test_the_window_path_loads_neither_the_store_nor_the_code_lists() -> None:
    """The unlock window is on screen before SQLAlchemy, the command line or the reference
    data are loaded (they come when the password is typed)."""
    code = (
        "import sys; import desktop.app.launch, desktop.ui.app, desktop.ui.dialogs;"
        "heavy = [m for m in ('sqlalchemy', 'alembic', 'desktop.cli', 'desktop.storage.store',"
        " 'desktop.domain.refdata') if m in sys.modules]; print(','.join(heavy))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == ""


def test_version_is_answered_without_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert launch.main(["--version"]) == 0
    assert capsys.readouterr().out.strip() == CMSID


def test_a_command_goes_to_the_command_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert launch.main(["spec", "--dataset", "cjit-q", "--json"]) == 0
    assert '"CONSENT"' in capsys.readouterr().out


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit):
        launch.main(["--help"])
    out = capsys.readouterr().out
    assert "export" in out and "--demo" in out


def test_code_lists_that_do_not_load_are_told_plainly_at_unlock(
    tmp_path: Path, qtbot: QtBot
) -> None:
    """Bad input gets a clear message: a broken imported code list is named, not a crash."""

    def broken() -> RefData:
        raise RefDataError(tmp_path / "DRUG.csv", 3, "duplicate code 1101")

    dialog = UnlockDialog(tmp_path / "team.store", broken, user="amy")
    qtbot.addWidget(dialog)
    dialog.password.setText("whatever password")
    dialog.unlock()
    assert dialog.store is None
    assert "code lists could not be loaded" in dialog.message.text()
    assert "DRUG.csv:3" in dialog.message.text()
    assert dialog.password.text() == ""
