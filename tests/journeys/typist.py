"""The window in a process of its own, typing a custody contact, for the kill -9 journey.

``python -m tests.journeys.typist STORE PASSWORD`` opens the window on the store, types a
contact with key and mouse clicks (QTest), takes the client on, waits until the window has
saved as it goes, prints ``SAVED <episode id> <initials>``, then types into another field
and prints ``TYPING``, and waits to be killed.
"""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtTest import QTest
from PySide6.QtWidgets import QApplication

from desktop.app import paths
from desktop.domain.workflow import Decision
from desktop.storage.store import Store
from desktop.ui.main_window import MainWindow
from tests.journeys import kit

LEAVE = ("CPLANDT", "DISD", "CJDISRSN", "NALOXISS", "NALOXAD", "ALCUNITS")


def _until(app: QApplication, done: Callable[[], bool]) -> None:
    """Let the window run (at most about 30 s) until ``done()``."""
    for _ in range(3000):
        if done():
            return
        app.processEvents()
        time.sleep(0.01)


def main() -> int:
    path, password = Path(sys.argv[1]), sys.argv[2]
    app = QApplication(sys.argv[:1])
    refdata = paths.load()
    store = Store.open(path, "amy", password, refdata=refdata)
    window = MainWindow(store)
    window.resize(1366, 740)
    window.show()
    QTest.keyClick(window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    values = {**kit.answers(refdata, "cjit-q", 41, LEAVE), "CONSENT": "Y"}
    kit.type_all(QTest, window, values)  # type: ignore[arg-type]
    assert window.guidance is not None
    QTest.mouseClick(window.guidance.decision.buttons[Decision.TAKEN_ON], Qt.MouseButton.LeftButton)
    _until(app, lambda: window.editing.episode_id is not None and not window.editing.dirty)
    initials = values["FINITIAL"].upper() + values["SINITIAL"].upper()
    saved = window.editing.episode_id
    print("SAVED", saved, initials, flush=True)  # noqa: T201 - read by the test
    kit.type_into(QTest, window, "ALCUNITS", "1")  # type: ignore[arg-type]
    print("TYPING", flush=True)  # noqa: T201
    while True:
        app.processEvents()
        time.sleep(0.01)


if __name__ == "__main__":
    sys.exit(main())
