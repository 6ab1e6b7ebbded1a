"""Keyboard first and accessible (issue: CJIT sheet, item 8): names, tab order, high
contrast and the system font size."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtGui import QColor, QFont, QPalette
from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit, QWidget
from pytestqt.qtbot import QtBot

from desktop.domain.findings import Severity
from desktop.storage.store import Store
from desktop.ui.main_window import MainWindow
from desktop.ui.sheet import DARK_MARK, Sheet

REPO = Path(__file__).resolve().parents[2]


def _inputs(widget: QWidget) -> list[QWidget]:
    found: list[QWidget] = []
    for kind in (QLineEdit, QComboBox):
        found += [w for w in widget.findChildren(kind) if not isinstance(w.parent(), QComboBox)]
    return found


def test_every_control_on_the_sheet_has_an_accessible_name(window: MainWindow) -> None:
    unnamed = [w for w in _inputs(window.sheet) if not w.accessibleName()]
    assert unnamed == []


def test_tab_order_follows_the_sheet(window: MainWindow) -> None:
    """Tab moves through the fields in the order the sheet reads (columns top to bottom)."""
    sheet: Sheet = window.sheet
    expected = [e.input for e in sheet.editors.values() if e.input.isEnabled()]
    seen: list[QWidget] = []
    widget: QWidget = expected[0]
    for _ in range(500):
        if widget in expected and widget not in seen:
            seen.append(widget)
        widget = widget.nextInFocusChain()
        if widget is expected[0]:
            break
    assert seen == expected


def test_markers_stay_readable_in_high_contrast(
    window: MainWindow, qtbot: QtBot, screenshots: Path
) -> None:
    """A dark high-contrast palette: markers switch to light colours; symbol and words
    still say what is wrong (never colour alone)."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    old = app.palette()
    dark = QPalette()
    for role, colour in (
        (QPalette.ColorRole.Window, "#000000"), (QPalette.ColorRole.WindowText, "#ffffff"),
        (QPalette.ColorRole.Base, "#000000"), (QPalette.ColorRole.Text, "#ffffff"),
        (QPalette.ColorRole.Button, "#000000"), (QPalette.ColorRole.ButtonText, "#ffffff"),
        (QPalette.ColorRole.Highlight, "#ffff00"), (QPalette.ColorRole.HighlightedText, "#000000"),
        (QPalette.ColorRole.Light, "#ffffff"), (QPalette.ColorRole.Midlight, "#c0c0c0"),
        (QPalette.ColorRole.Mid, "#c0c0c0"), (QPalette.ColorRole.Dark, "#ffffff"),
        (QPalette.ColorRole.Shadow, "#ffffff"), (QPalette.ColorRole.PlaceholderText, "#c0c0c0"),
    ):  # fmt: skip
        dark.setColor(role, QColor(colour))
    app.setPalette(dark)
    qtbot.wait(20)  # the palette change reaches the widgets through the event loop
    try:
        window.new_episode()
        window.sheet.apply({"DOB": "31/02/1990", "CONSENT": "N"})
        marker = window.sheet.editors["DOB"].marker
        assert marker.text() == "✖"
        # marked before the palette changed, and marked again in the new one
        assert DARK_MARK[Severity.ERROR] in window.sheet.editors["FINITIAL"].marker.styleSheet()
        assert DARK_MARK[Severity.ERROR] in marker.styleSheet()
        assert "Error" in marker.accessibleDescription()
        qtbot.wait(50)
        out = screenshots
        out.mkdir(parents=True, exist_ok=True)
        assert window.grab().save(str(out / "cjit-high-contrast.png"))
    finally:
        app.setPalette(old)


def test_text_follows_the_system_font_size(store: Store, qtbot: QtBot) -> None:
    """No fixed font sizes: a larger system font makes the sheet's text larger."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    old = app.font()
    big = QFont(old)
    big.setPointSizeF(old.pointSizeF() * 1.5)
    app.setFont(big)
    try:
        w = MainWindow(store)
        qtbot.addWidget(w)
        label = w.sheet.labels["DOB"]
        assert label.font().pointSizeF() == pytest.approx(big.pointSizeF())
        assert w.sheet.editors["DOB"].input.font().pointSizeF() == pytest.approx(big.pointSizeF())
    finally:
        app.setFont(old)
