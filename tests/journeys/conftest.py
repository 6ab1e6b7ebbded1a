"""Journeys: a store made empty, the real window on it, and a folder for the month's file.

Creating the store is the only thing done behind the window's back; every record in a
journey is typed through the window.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog
from pytestqt.qtbot import QtBot

from desktop.storage.store import Store
from desktop.ui.main_window import MainWindow
from tests.fixtures import MakeStore


@pytest.fixture
def cjit_store(make_store: MakeStore) -> Store:
    """An empty CJIT team store; amy is its manager."""
    return make_store("cjit", name="cjit.store")


@pytest.fixture
def prison_store(make_store: MakeStore) -> Store:
    """An empty prison (secure setting) team store; amy is its manager."""
    return make_store("secure", name="secure.store", agency="P1234")


@pytest.fixture
def open_window(qtbot: QtBot) -> Iterator[Callable[[Store], MainWindow]]:
    """Open the main window on a store, at a 1366x768 laptop's size."""
    made: list[MainWindow] = []

    def open_on(store: Store) -> MainWindow:
        w = MainWindow(store)
        qtbot.addWidget(w)
        w.resize(1366, 740)
        w.show()
        made.append(w)
        return w

    yield open_on
    for w in made:
        w.jobs.stop_all()
        w.editing.stop()
        w.idle.stop()


@pytest.fixture
def out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder the manager picks in the system's folder chooser."""
    folder = tmp_path / "out"
    folder.mkdir()
    monkeypatch.setattr(
        QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(folder))
    )
    return folder
