"""The window's test stores: a CJIT team store (user amy) and the main window on it."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pytestqt.qtbot import QtBot

from desktop.domain.spec import RefData
from desktop.storage.store import Store
from desktop.ui.main_window import MainWindow

PASSWORD = "worker password"


@pytest.fixture
def store(tmp_path: Path, refdata: RefData) -> Iterator[Store]:
    """An empty CJIT store (agency CJ123, DAT A12B) whose manager is amy."""
    s = Store.create(
        tmp_path / "team.store", agency="CJ123", kind="cjit", user="amy", password=PASSWORD,
        refdata=refdata, dat="A12B",
    )  # fmt: skip
    yield s
    if s.is_open:
        s.close(backup_reason=None)


@pytest.fixture
def window(store: Store, qtbot: QtBot) -> MainWindow:
    """The main window on ``store``, at the size of a 1366x768 laptop screen."""
    w = MainWindow(store)
    qtbot.addWidget(w)
    w.resize(1366, 740)
    w.show()
    return w
