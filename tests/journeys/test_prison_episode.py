"""A prison episode from reception to release, typed in the window (dataset R), never saved
with Ctrl+S, and read back from the month's NDTMS file (issue 13 item 4)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QListWidget
from pytestqt.qtbot import QtBot

from desktop.storage.store import Store
from desktop.ui.main_window import MainWindow
from tests.domain.prisonkit import LOCAL_AUTHORITY, OST, PSYCHOSOCIAL
from tests.journeys import kit


def tick_by_keyboard(qtbot: QtBot, choices: QListWidget, *codes: str) -> None:
    """Click each wanted line of the list and press Space to tick it."""
    for i in range(choices.count()):
        item = choices.item(i)
        if item.data(Qt.ItemDataRole.UserRole) in codes:
            choices.scrollToItem(item)
            rect = choices.visualItemRect(item)
            qtbot.mouseClick(choices.viewport(), Qt.MouseButton.LeftButton, pos=rect.center())
            qtbot.keyClick(choices, Qt.Key.Key_Space)


def test_reception_to_release_left_without_ctrl_s_is_in_the_file(
    qtbot: QtBot,
    prison_store: Store,
    open_window: Callable[[Store], MainWindow],
    out: Path,
) -> None:
    """Dataset R: reception (INTRCPTD, RECPDT), triage, two interventions (MODAL), discharge
    (DISD, DISRSN) and release (EXITD, EXITRSN with the appendix G answers): the exited
    episode is in this month's file with its two intervention rows."""
    today = date.today()
    first = today.replace(day=1).strftime("%d/%m/%Y")
    day = today.strftime("%d/%m/%Y")
    window = open_window(prison_store)
    assert window.prison is not None
    kit.shortcut(qtbot, window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    for header, text in {
        "FINITIAL": "j", "SINITIAL": "b", "DOB": "07/03/1984", "SEX": "1",
        "CLIENT": "A1234BC", "CONSENT": "Y", "PC": "NR14 7UJ", "UTLA": LOCAL_AUTHORITY,
        "INTRCPTD": first, "RECPDT": first, "TRIAGED": first, "DRUG1": "1101",
    }.items():  # fmt: skip
        kit.type_into(qtbot, window, header, text)
    part = window.prison.interventions
    kit.click(qtbot, part.add)
    dialog = part.dialog
    assert dialog is not None and dialog.isVisible()
    tick_by_keyboard(qtbot, dialog.choices, OST, PSYCHOSOCIAL)
    kit.type_into_line(qtbot, dialog.start, first)
    kit.click(qtbot, dialog.ok)
    assert [i["MODAL"] for i in window.sheet.items.items()] == [OST, PSYCHOSOCIAL]
    kit.type_into(qtbot, window, "DISD", day)
    kit.click(qtbot, window.prison.interventions.end_all)  # end both on the discharge date
    for header, text in {
        "DISRSN": "83", "NPSUSE": "N", "CLINREV": "Y", "EXITD": day, "EXITRSN": "R",
        "RTOAGNCY": "1", "EXITDEST": LOCAL_AUTHORITY, "RECONNECT": "Y", "THNALOX": "Y",
        "HOMELESSEXIT": "N", "MHTXEXIT": "N", "SENTENCED": "Y", "REFHEPCTX": "N",
        "LIVSCRN": "N",
    }.items():  # fmt: skip
        kit.type_into(qtbot, window, header, text)
    assert kit.errors_on_screen(window) == []
    kit.saved_as_you_go(qtbot, window)
    episode = window.editing.episode_id
    window.close()

    manager = open_window(prison_store)
    checked = kit.month_end_check(qtbot, manager).checked
    assert checked is not None and (checked.records, checked.with_errors) == (1, 0)
    written = kit.month_end_export(qtbot, manager)
    rows = kit.rows(written.path)
    assert {r["EPISODID"] for r in rows} == {episode}
    assert sorted(r["MODAL"] for r in rows) == sorted([OST, PSYCHOSOCIAL])
    assert {(r["EXITD"], r["EXITRSN"], r["DISRSN"]) for r in rows} == {(day, "R", "83")}
