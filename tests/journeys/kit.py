"""What a worker's hands do, for the journeys: click into a field and type, press a
button, choose a menu entry. Nothing here reaches the store; only the window does.

The answers typed come from the synthetic generator (a valid record of the dataset), in
the sheet's order, as the worker reads them off the custody record: dates as dd/mm/yyyy,
codes as their code.
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterable, Mapping
from datetime import date
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QAbstractButton,
    QApplication,
    QComboBox,
    QLineEdit,
    QWidget,
)
from pytestqt.qtbot import QtBot

from desktop.domain.spec import FieldType, RefData
from desktop.domain.synthetic import records
from desktop.domain.values import as_date
from desktop.export.submission import ExportResult
from desktop.ui.main_window import MainWindow
from desktop.ui.month_end import CheckWindow, MonthEnd, month_end_of

# What the system fills, or the worker decides with the sheet's own buttons.
NOT_TYPED = ("CLIENTID", "EPISODID", "AGNCY", "CMSID")


def answers(refdata: RefData, dataset: str, seed: int, leave: Iterable[str] = ()) -> dict:
    """A valid record's answers, as a worker would type them (no ids, no items)."""
    rec = next(iter(records(refdata, dataset, 1, seed=seed)))
    spec = refdata.datasets[dataset]
    out: dict[str, str] = {}
    for f in spec.record_fields:
        if f.header in NOT_TYPED or f.header in leave or f.system:
            continue
        value = rec.get(f.header)
        if value is None or value == "":
            continue
        day = as_date(value) if f.type in (FieldType.DATE, FieldType.PARTIAL_DATE) else None
        out[f.header] = day.strftime("%d/%m/%Y") if day is not None else str(value)
    return out


def _line(widget: QWidget) -> QLineEdit:
    if isinstance(widget, QComboBox):
        edit = widget.lineEdit()
        assert edit is not None
        return edit
    assert isinstance(widget, QLineEdit)
    return widget


def type_into(qtbot: QtBot, window: MainWindow, header: str, text: str) -> None:
    """Click into the field, select what is there, type, and leave any completion list."""
    editor = window.sheet.editors[header]
    assert editor.input.isEnabled(), f"{header} is shut: {editor.toolTip()}"
    line = _line(editor.input)
    qtbot.mouseClick(line, Qt.MouseButton.LeftButton)
    qtbot.keyClick(line, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    if text:
        qtbot.keyClicks(line, text)
    else:
        qtbot.keyClick(line, Qt.Key.Key_Delete)
    popup = editor.input.completer().popup() if isinstance(editor.input, QComboBox) else None
    if popup is not None and popup.isVisible():
        qtbot.keyClick(popup, Qt.Key.Key_Escape)


def type_into_line(qtbot: QtBot, line: QLineEdit, text: str) -> None:
    """Click into a box outside the sheet (a dialog's date), select all, type."""
    qtbot.mouseClick(line, Qt.MouseButton.LeftButton)
    qtbot.keyClick(line, Qt.Key.Key_A, Qt.KeyboardModifier.ControlModifier)
    qtbot.keyClicks(line, text)


def type_all(qtbot: QtBot, window: MainWindow, values: Mapping[str, str]) -> list[str]:
    """Type each answer in the sheet's order; returns the fields the sheet kept shut."""
    shut = []
    for header in window.sheet.editors:
        if header not in values:
            continue
        if not window.sheet.editors[header].input.isEnabled():
            shut.append(header)
            continue
        type_into(qtbot, window, header, values[header])
    return shut


def saved_as_you_go(qtbot: QtBot, window: MainWindow) -> None:
    """Wait, as a worker pausing would, until the window has saved what was typed."""
    editing = window.editing
    qtbot.waitUntil(lambda: editing.episode_id is not None and not editing.dirty, timeout=5000)


def click(qtbot: QtBot, button: QAbstractButton) -> None:
    assert button.isEnabled(), f"{button.text()}: {button.toolTip()}"
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def shortcut(qtbot: QtBot, window: MainWindow, key: Qt.Key, mod: Qt.KeyboardModifier) -> None:
    """A key press in the main window (brought to the front first, as a click on it would)."""
    window.activateWindow()
    qtbot.waitUntil(window.isActiveWindow, timeout=5000)
    qtbot.keyClick(window.focusWidget() or window, key, mod)


def menu(window: MainWindow, title: str, entry: str) -> None:
    """Choose a menu entry (as a click on it would)."""
    (top,) = [m for m in window.menuBar().actions() if m.text() == title]
    (action,) = [a for a in top.menu().actions() if a.text() == entry]  # type: ignore[attr-defined]
    action.trigger()


def errors_on_screen(window: MainWindow) -> list[str]:
    return [
        f"{f.field}:{f.message}" for f in window.sheet.current_findings if f.severity == "error"
    ]


def settle(me: MonthEnd) -> None:
    while me.jobs.running:
        for job in me.jobs.active:
            job.wait()
        QApplication.processEvents()


def this_month(qtbot: QtBot, picker: QComboBox) -> None:
    """The month list starts at this month: Home picks it."""
    picker.setFocus()
    qtbot.keyClick(picker, Qt.Key.Key_Home)
    assert picker.currentData() == date.today().strftime("%Y-%m")


def month_end_check(qtbot: QtBot, window: MainWindow) -> CheckWindow:
    """Month end → Check…, this month, Check."""
    menu(window, "&Month end", "&Check…")
    me = month_end_of(window)
    assert me is not None and me.check_window is not None
    settle(me)
    shown = me.check_window
    this_month(qtbot, shown.period)  # choosing the month checks it
    settle(me)
    click(qtbot, shown.run_button)  # and "Check again" checks what is stored now
    settle(me)
    assert shown.checked is not None, shown.status.text()
    assert shown.checked.period == date.today().strftime("%Y-%m")
    return shown


def month_end_export(qtbot: QtBot, window: MainWindow) -> ExportResult:
    """Month end → Export…, this month, Export (the folder chooser answers with the folder
    the test set up), then Close."""
    menu(window, "&Month end", "&Export…")
    me = month_end_of(window)
    assert me is not None and me.export_dialog is not None
    dialog = me.export_dialog
    this_month(qtbot, dialog.period)
    click(qtbot, dialog.export_button)
    settle(me)
    assert dialog.written is not None, dialog.outcome.text()
    click(qtbot, dialog.close_button)
    assert not dialog.isVisible()
    return dialog.written


def rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def answer_dialogs(qtbot: QtBot, *steps: Callable[[QWidget], None]) -> list[str]:
    """Answer the modal windows that will come up, in order, as the worker would (each
    step gets the window on top). Returns the titles or texts seen, for the test to read."""
    from PySide6.QtCore import QTimer

    pending = list(steps)
    seen: list[str] = []

    def poll() -> None:
        top = QApplication.activeModalWidget()
        if top is not None and top.isVisible() and pending and top.objectName() != "answered":
            top.setObjectName("answered")
            seen.append(getattr(top, "text", top.windowTitle)())
            pending.pop(0)(top)
        if pending:
            QTimer.singleShot(20, poll)

    QTimer.singleShot(20, poll)
    return seen


def unlock_with(qtbot: QtBot, password: str) -> Callable[[QWidget], None]:
    """Type the password into the unlock window and press Enter."""

    def step(dialog: QWidget) -> None:
        from desktop.ui.dialogs import UnlockDialog

        assert isinstance(dialog, UnlockDialog), type(dialog)
        qtbot.keyClicks(dialog.password, password)
        qtbot.keyClick(dialog.password, Qt.Key.Key_Return)

    return step


def cancel(qtbot: QtBot) -> Callable[[QWidget], None]:
    def step(dialog: QWidget) -> None:
        qtbot.keyClick(dialog, Qt.Key.Key_Escape)

    return step


def say_no(qtbot: QtBot) -> Callable[[QWidget], None]:
    def step(box: QWidget) -> None:
        from PySide6.QtWidgets import QMessageBox

        assert isinstance(box, QMessageBox), type(box)
        button = box.button(QMessageBox.StandardButton.No)
        assert button is not None
        qtbot.mouseClick(button, Qt.MouseButton.LeftButton)

    return step
