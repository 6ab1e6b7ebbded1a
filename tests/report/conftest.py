"""Fixtures for the monthly report and the printable sheet (month-end issue 6, items 5-8)."""

from __future__ import annotations

import pytest
from PySide6.QtWidgets import QApplication


@pytest.fixture(autouse=True)
def _qt_application(qapp: QApplication) -> QApplication:
    """The PDFs are drawn by Qt, which needs an application object.

    pytest-qt's QApplication is made first, so that widget tests later in the same run
    still find a QApplication rather than the bare QGuiApplication the PDF code makes
    when it runs alone (on the command line).
    """
    return qapp
