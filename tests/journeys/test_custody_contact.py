"""A custody contact from the worker's hands to the month's NDTMS file (dataset Q).

Issue 13: what is saved as the worker goes is the record. Each journey types through the
real window (key and mouse clicks), never presses Ctrl+S unless it says so, and ends by
reading Check and the month's exported CSV.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt
from pytestqt.qtbot import QtBot

from desktop.domain.spec import RefData
from desktop.domain.workflow import Decision
from desktop.storage.store import Store
from desktop.ui.main_window import MainWindow
from tests.journeys import kit

DECIDED_LATER = ("CPLANDT", "DISD", "CJDISRSN", "NALOXISS", "NALOXAD")


def record_contact(
    qtbot: QtBot, window: MainWindow, refdata: RefData, seed: int, **changed: str
) -> dict[str, str]:
    """Ctrl+N, then every answer typed in the sheet's order (consent yes by default)."""
    kit.shortcut(qtbot, window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    assert window.editing.episode_id is None and window.sheet.raw().get("FINITIAL") is None
    values = {**kit.answers(refdata, "cjit-q", seed, DECIDED_LATER), "CONSENT": "Y", **changed}
    shut = kit.type_all(qtbot, window, values)
    assert not shut, f"fields the sheet kept shut: {shut}"
    return values


def take_on(qtbot: QtBot, window: MainWindow) -> None:
    """Choose "Taken on", then carry on as a worker does: the sheet saves as it goes."""
    assert window.guidance is not None
    kit.click(qtbot, window.guidance.decision.buttons[Decision.TAKEN_ON])
    kit.saved_as_you_go(qtbot, window)


def test_a_contact_taken_on_and_never_saved_with_ctrl_s_is_in_the_file(
    qtbot: QtBot,
    cjit_store: Store,
    refdata: RefData,
    open_window: Callable[[Store], MainWindow],
    out: Path,
) -> None:
    """Dataset Q episode, consent yes, taken onto the caseload (CPLANDT): typed, the
    window closed without Ctrl+S; the manager's Check counts it and the file sends it."""
    window = open_window(cjit_store)
    values = record_contact(qtbot, window, refdata, seed=41)
    take_on(qtbot, window)
    assert kit.errors_on_screen(window) == []
    window.close()

    manager = open_window(cjit_store)
    checked = kit.month_end_check(qtbot, manager)
    assert checked.checked is not None
    assert (checked.checked.records, checked.checked.with_errors) == (1, 0)
    assert checked.checked.undecided == ()
    written = kit.month_end_export(qtbot, manager)
    assert written is not None
    (row,) = kit.rows(written.path)
    assert row["CONSENT"] == "Y"
    assert (row["FINITIAL"], row["SINITIAL"], row["DOB"]) == (
        values["FINITIAL"].upper(),
        values["SINITIAL"].upper(),
        values["DOB"],
    )
    assert row["CPLANDT"] != ""
    assert written.episodes == checked.checked.records


def _line_of(path: Path, episode_id: str) -> bytes:
    (line,) = [row for row in path.read_bytes().splitlines() if episode_id.encode() in row]
    return line


def test_a_returning_client_is_linked_and_the_first_episode_is_untouched(
    qtbot: QtBot,
    cjit_store: Store,
    refdata: RefData,
    open_window: Callable[[Store], MainWindow],
    out: Path,
) -> None:
    """One client, many episodes (dataset Q CLIENTID links a client's episodes; the
    attributors FINITIAL, SINITIAL, DOB and SEX find them): the worker types the returning
    client's initials, date of birth and sex, chooses Use this client, and records the new
    contact. The file then holds two episodes of one client, and the first episode's row
    is byte for byte what it was."""
    window = open_window(cjit_store)
    first = record_contact(qtbot, window, refdata, seed=41)
    take_on(qtbot, window)
    first_id = window.editing.episode_id
    assert first_id is not None
    before = kit.month_end_export(qtbot, window)
    assert before is not None

    kit.shortcut(qtbot, window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    for header in ("FINITIAL", "SINITIAL", "DOB", "SEX"):
        kit.type_into(qtbot, window, header, first[header])
    other = next(c for c in ("A", "B", "C") if c != first["ETHNIC"].upper())
    kit.type_into(qtbot, window, "ETHNIC", other)  # not what the client's record says
    qtbot.waitUntil(window.use_match.isVisible, timeout=5000)
    kit.click(qtbot, window.use_match)
    said = window.statusBar().currentMessage()
    assert "Kept as recorded for the client: Ethnicity" in said, said
    for header in ("ETHNIC", "NATION", "CLIENT"):  # filled from the client, not retyped
        if header in first:
            assert window.sheet.editors[header].value() == first[header].upper(), header
    later = kit.answers(refdata, "cjit-q", 42, DECIDED_LATER)
    spec = refdata.datasets["cjit-q"]
    episode_level = {h: v for h, v in later.items() if spec.by_header[h].level.value == "episode"}
    kit.type_all(qtbot, window, {**episode_level, "CONSENT": "Y"})
    take_on(qtbot, window)
    second_id = window.editing.episode_id
    assert second_id not in (None, first_id)

    after = kit.month_end_export(qtbot, window)
    assert after is not None
    by_episode = {r["EPISODID"]: r for r in kit.rows(after.path)}
    assert set(by_episode) == {first_id, second_id}
    assert by_episode[first_id]["CLIENTID"] == by_episode[second_id]["CLIENTID"]
    for header in ("ETHNIC", "NATION"):
        assert by_episode[second_id][header] == by_episode[first_id][header] != ""
    assert _line_of(after.path, first_id) == _line_of(before.path, first_id)


def test_a_client_who_refuses_consent_is_counted_as_left_out_and_never_sent(
    qtbot: QtBot,
    cjit_store: Store,
    refdata: RefData,
    open_window: Callable[[Store], MainWindow],
    out: Path,
) -> None:
    """Seed 000 FAQ (no consent) and dataset Q CONSENT: a client who says no is recorded
    on the laptop and nothing about them is in the file; Check says one was left out. A
    contact with no caseload decision yet waits (seed 000 FAQ) and Check names it; the
    file's rows are exactly the records Check counted."""
    window = open_window(cjit_store)
    yes = record_contact(qtbot, window, refdata, seed=41)
    take_on(qtbot, window)
    no = record_contact(qtbot, window, refdata, seed=43, CONSENT="N")
    assert "never submitted" in window.sheet.banner.text()
    take_on(qtbot, window)
    record_contact(qtbot, window, refdata, seed=44)  # no decision yet
    kit.saved_as_you_go(qtbot, window)
    waiting = window.editing.episode_id

    shown = kit.month_end_check(qtbot, window)
    result = shown.checked
    assert result is not None
    assert (result.records, result.left_out_no_consent) == (1, 1)
    assert [h.episode_id for h in result.undecided] == [waiting]
    assert "1 episode whose client has not (now) consented" in shown.notes.text()
    assert "waiting for the caseload decision" in shown.notes.text()
    written = kit.month_end_export(qtbot, window)
    assert written is not None
    rows = kit.rows(written.path)
    assert len(rows) == result.records == written.episodes
    assert [(r["FINITIAL"], r["DOB"]) for r in rows] == [(yes["FINITIAL"].upper(), yes["DOB"])]
    text = written.path.read_text(encoding="utf-8")
    assert no["DOB"] not in text or no["DOB"] == yes["DOB"]
