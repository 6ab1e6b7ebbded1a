"""The window's test stores: a CJIT team store (user amy) and the main window on it."""

from __future__ import annotations

import pytest
from pytestqt.qtbot import QtBot

from desktop.storage.store import Store
from desktop.ui.main_window import MainWindow
from tests.fixtures import MakeStore


@pytest.fixture
def store(make_store: MakeStore) -> Store:
    """An empty CJIT store (agency CJ123, DAT A12B) whose manager is amy."""
    return make_store(name="team.store")


@pytest.fixture
def window(store: Store, qtbot: QtBot) -> MainWindow:
    """The main window on ``store``, at the size of a 1366x768 laptop screen."""
    w = MainWindow(store)
    qtbot.addWidget(w)
    w.resize(1366, 740)
    w.show()
    return w
