"""The Qt binding must not corrupt Python's reference counts.

PySide6 6.12.0 on Python 3.11 released a reference to ``None`` on every call returning
nothing, so a long shift at the sheet ended in "Fatal Python error: none_dealloc". The
pinned binding is checked here so that an upgrade cannot bring that back unnoticed.
"""

from __future__ import annotations

import gc
import sys

from PySide6.QtWidgets import QLabel, QLineEdit
from pytestqt.qtbot import QtBot


def test_qt_calls_keep_none_alive(qtbot: QtBot) -> None:
    label, line = QLabel(), QLineEdit()
    qtbot.addWidget(label)
    qtbot.addWidget(line)
    gc.collect()
    before = sys.getrefcount(None)
    for i in range(500):
        label.setText(str(i))
        label.setToolTip(str(i))
        line.setStyleSheet("" if i % 2 else "border: 1px solid #b00020;")
    gc.collect()
    assert sys.getrefcount(None) - before > -50
