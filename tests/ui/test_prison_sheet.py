"""The prison sheet as a worker uses it (offscreen): a secure setting's store, the real
window, typing into the fields, the interventions table, discharge, exit, appendix G, the
re-open action and the prison caseload (dataset R v1.2, seed 002)."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path

import pytest
from PySide6.QtWidgets import QComboBox, QLineEdit
from pytestqt.qtbot import QtBot
from sqlalchemy import select

from desktop.domain.spec import RefData
from desktop.storage.models import AuditEvent
from desktop.storage.store import Store
from desktop.ui.main_window import MainWindow
from desktop.ui.prison import PrisonMode
from tests.domain.prisonkit import (
    LOCAL_AUTHORITY,
    OST,
    PRISON,
    PSYCHOSOCIAL,
    TODAY,
    discharged,
    exited,
    in_treatment,
    received,
    released,
    treated,
    triaged,
)
from tests.fixtures import MakeStore

REPO = Path(__file__).resolve().parents[2]
RELEASE_ONLY = ("RECONNECT", "THNALOX", "HOMELESSEXIT", "RTOAGNCY")


@pytest.fixture
def store(make_store: MakeStore) -> Store:
    return make_store(
        "secure",
        name="prison.store",
        agency="Z1234",
        dat=None,
        clock=lambda: datetime(2026, 11, 24, 10, 0),
    )


@pytest.fixture
def window(store: Store, qtbot: QtBot) -> MainWindow:
    w = MainWindow(store)
    qtbot.addWidget(w)
    w.sheet.today = TODAY
    w.resize(1366, 768)
    w.show()
    return w


def mode(window: MainWindow) -> PrisonMode:
    assert window.prison is not None
    return window.prison


def put(qtbot: QtBot, window: MainWindow, header: str, text: str) -> None:
    """Type into a field as a worker would (a code, or a date as dd/mm/yyyy)."""
    field = window.sheet.editors[header].input
    assert field.isEnabled(), f"{header} is shut: {field.toolTip()}"
    if isinstance(field, QComboBox):
        field.setEditText("")
        line = field.lineEdit()
        assert line is not None
        qtbot.keyClicks(line, text)
    else:
        assert isinstance(field, QLineEdit)
        field.clear()
        qtbot.keyClicks(field, text)


def fill(qtbot: QtBot, window: MainWindow, values: dict[str, str]) -> None:
    for header, text in values.items():
        put(qtbot, window, header, text)


def add_interventions(qtbot: QtBot, window: MainWindow, start: str, *codes: str) -> None:
    part = mode(window).interventions
    part.add.click()
    dialog = part.dialog
    assert dialog is not None and dialog.isVisible()
    dialog.tick(*codes)
    dialog.start.setText(start)
    dialog.ok.click()
    assert part.dialog is None


def rule_ids(window: MainWindow) -> set[tuple[str, str]]:
    return {(f.field, f.rule_id) for f in window.sheet.current_findings}


def open_saved(window: MainWindow, store: Store, record: dict[str, object]) -> str:
    saved = store.episodes.save(record, today=TODAY)
    window.caseload.model.reload()
    window.editing.open(saved.episode_id)
    return saved.episode_id


CLIENT = {
    "FINITIAL": "J",
    "SINITIAL": "B",
    "DOB": "07/03/1984",
    "SEX": "1",
    "CLIENT": "A1234BC",
    "CONSENT": "Y",
    "PC": "NR14 7UJ",
    "UTLA": LOCAL_AUTHORITY,
}


def test_the_secure_store_gets_the_prison_sheet(window: MainWindow) -> None:
    """Issue 5 item 1: a secure setting gets reception, triage, interventions, discharge
    and exit; the CJIT consent and caseload-decision parts are not there."""
    assert window.prison is not None and window.guidance is None
    for section in ("reception", "triage", "interventions", "discharge", "exit"):
        assert section in window.sheet.section_boxes
    assert window.sheet.editors["CLIENT"].spec.label == "Client reference (NOMS number)"


def test_reception_to_release_with_onward_referral(
    window: MainWindow, qtbot: QtBot, store: Store
) -> None:
    """Reception → triage → two concurrent interventions → discharge (with the offer to end
    them on its date) → released, referred to structured treatment: appendix G scenario 1."""
    window.new_episode()
    fill(qtbot, window, CLIENT)
    fill(qtbot, window, {"INTRCPTD": "01/06/2026", "RECPDT": "01/06/2026"})
    progress = mode(window).progress
    assert "Record the triage date" in progress.next_step.text()
    fill(qtbot, window, {"TRIAGED": "02/06/2026", "DRUG1": "1101"})
    assert "Add the interventions" in progress.next_step.text()
    add_interventions(qtbot, window, "02/06/2026", OST, PSYCHOSOCIAL)
    items = window.sheet.items.items()
    assert [i["MODAL"] for i in items] == [OST, PSYCHOSOCIAL]
    assert "2 interventions open" in progress.next_step.text()
    exit_date = window.sheet.editors["EXITD"]
    assert not exit_date.input.isEnabled()
    assert "Discharge the client from treatment first" in exit_date.toolTip()

    put(qtbot, window, "DISD", "30/10/2026")
    offer = mode(window).interventions
    assert offer.offer_row.isVisibleTo(window)
    assert "2 interventions are still open" in offer.offer.text()
    assert ("MODEND", "secure_interventions_ended_before_discharge") in rule_ids(window)
    offer.end_all.click()
    assert [i["MODEND"] for i in window.sheet.items.items()] == ["30/10/2026"] * 2
    assert not offer.offer_row.isVisibleTo(window)
    fill(qtbot, window, {"DISRSN": "83", "NPSUSE": "N", "CLINREV": "Y"})
    assert progress.state.text() == "Discharged"
    assert exit_date.input.isEnabled()
    assert progress.hint.isVisibleTo(window)
    assert progress.hint.text().startswith("ℹ On release, appendix G scenario 1")

    for header in RELEASE_ONLY:
        assert not window.sheet.editors[header].input.isEnabled()
    fill(qtbot, window, {"EXITD": "02/11/2026", "EXITRSN": "R"})
    for header in RELEASE_ONLY:
        assert window.sheet.editors[header].input.isEnabled(), header
    fill(
        qtbot,
        window,
        {
            "RTOAGNCY": "1",
            "EXITDEST": LOCAL_AUTHORITY,
            "RECONNECT": "Y",
            "THNALOX": "Y",
            "HOMELESSEXIT": "N",
            "MHTXEXIT": "N",
            "SENTENCED": "Y",
            "REFHEPCTX": "N",
            "LIVSCRN": "N",
        },
    )
    assert progress.hint.text().startswith("✔ Fits appendix G scenario 1")
    assert not progress.new_episode.isVisibleTo(window)  # no client saved yet
    assert window.editing.save()
    assert progress.new_episode.isVisibleTo(window)
    stored = store.episodes.load(str(window.editing.episode_id))
    assert stored.state == "exited"
    assert [f for f in window.sheet.current_findings if f.severity.value == "error"] == []
    row = window.caseload.model.row_at(0)
    assert window.caseload.model.flags_of(row) == ""


def test_end_several_selected_interventions_on_one_date(
    window: MainWindow, qtbot: QtBot, store: Store
) -> None:
    """Dataset R v1.2 MODEND: interventions end on their own dates; several at once."""
    three = ((OST, "2026-06-02"), (PSYCHOSOCIAL, "2026-06-05"), ("15", "2026-06-05"))
    open_saved(window, store, treated(triaged(received()), *three))
    part = mode(window).interventions
    assert part.end_selected() == 0
    assert "Select the interventions" in part.problem.text()
    table = part.table
    table.selectRow(1)
    table.setSelectionMode(table.SelectionMode.MultiSelection)
    table.selectRow(2)
    part.end_on.setText("01/09/2026")
    assert part.end.isEnabled()
    part.end.click()
    ends = [i.get("MODEND") for i in window.sheet.items.items()]
    assert ends == [None, "01/09/2026", "01/09/2026"]
    assert "1 intervention open" in mode(window).progress.next_step.text()


def test_the_intervention_column_names_the_intervention_and_edits_with_the_list(
    window: MainWindow, store: Store, refdata: RefData
) -> None:
    """Dataset R v1.2 MODAL (appendix E): the table shows each code with its name, dates as
    dd/mm/yyyy and an end not yet given as 'open'; the intervention is chosen from the list."""
    from PySide6.QtWidgets import QStyleOptionViewItem

    open_saved(window, store, in_treatment())
    part = mode(window).interventions
    table, delegate = part.table, part.delegate
    shown = []
    for column in range(3):
        option = QStyleOptionViewItem()
        delegate.initStyleOption(option, table.model().index(0, column))
        shown.append(option.text)
    name = refdata.lists["MODAL"].codes[OST].label
    assert shown == [f"{OST} – {name}", "02/06/2026", "open"]
    index = table.model().index(1, 0)
    editor = delegate.createEditor(table.viewport(), QStyleOptionViewItem(), index)
    assert isinstance(editor, QComboBox)
    editor.setCurrentIndex(editor.findData("15"))
    delegate.setModelData(editor, table.model(), index)
    assert window.sheet.items.items()[1]["MODAL"] == "15"


def test_transfer_to_another_prison(window: MainWindow, qtbot: QtBot, store: Store) -> None:
    """Appendix D: 'transferred – in custody', exit 'transferred' to another secure setting;
    the release questions stay shut, saying why."""
    open_saved(window, store, discharged(in_treatment(), reason="84"))
    fill(qtbot, window, {"EXITD": "02/11/2026", "EXITRSN": "T", "EXITDEST": PRISON})
    for header in RELEASE_ONLY:
        editor = window.sheet.editors[header]
        assert not editor.input.isEnabled()
        assert "the exit reason is 'Transferred'" in editor.input.toolTip()
    assert not mode(window).progress.hint.isVisibleTo(window)
    assert "re-open this episode" in mode(window).progress.next_step.text()


def test_court_appearance_and_return_reopens_the_episode(
    window: MainWindow, qtbot: QtBot, store: Store
) -> None:
    """Appendix D: back from court within days the episode is re-opened (discharge and exit
    removed, an audit event with the reason); the old interventions stay closed and new
    ones are opened."""
    closed = exited(
        discharged(in_treatment(), on="2026-11-16", reason="84"),
        on="2026-11-16",
        reason="T",
        EXITDEST=PRISON,
    )
    episode = open_saved(window, store, closed)
    progress = mode(window).progress
    assert progress.reopen.isVisibleTo(window)
    progress.reopen.click()
    dialog = mode(window).dialog
    assert dialog is not None
    assert dialog.reason() is not None and dialog.reason().value == "court"
    dialog.returned.setText("19/11/2026")
    dialog.returned.textEdited.emit("19/11/2026")
    assert dialog.ok.isEnabled(), dialog.verdict.text()
    dialog.ok.click()
    assert window.editing.episode_id == episode
    assert window.sheet.editors["DISD"].value() == ""
    assert window.sheet.editors["EXITRSN"].value() == ""
    assert all(i.get("MODEND") for i in window.sheet.items.items())
    assert progress.reopened.isVisibleTo(window)
    assert "add the new interventions" in progress.reopened.text()
    add_interventions(qtbot, window, "19/11/2026", PSYCHOSOCIAL)
    assert not progress.reopened.isVisibleTo(window)
    assert window.editing.save()
    with store.reading() as s:
        actions = s.execute(
            select(AuditEvent.action, AuditEvent.changes).where(AuditEvent.entity_id == episode)
        ).all()
    assert ("reopen", '{"reason":[null,"court"]}') in [tuple(a) for a in actions]


def test_released_and_received_again_is_a_new_episode(
    window: MainWindow, qtbot: QtBot, store: Store
) -> None:
    """Appendix D: a client released to the community, even briefly, gets a new episode:
    re-opening is refused in plain words and a new episode is started for the same client."""
    episode = open_saved(window, store, released(discharged(in_treatment())))
    old_client = window.editing.client_id
    progress = mode(window).progress
    progress.reopen.click()
    dialog = mode(window).dialog
    assert dialog is not None
    for reason, button in dialog.buttons.items():
        button.setChecked(True)
        assert not dialog.ok.isEnabled(), reason
        assert "open a new episode" in dialog.verdict.text()
    dialog.reject()
    assert progress.new_episode.isVisibleTo(window)
    progress.new_episode.click()
    assert window.editing.episode_id is None and window.editing.client_id == old_client
    assert window.sheet.editors["CLIENT"].value() == "A1234BC"
    assert window.sheet.editors["INTRCPTD"].value() == ""
    fill(qtbot, window, {"INTRCPTD": "20/11/2026", "RECPDT": "20/11/2026"})
    fill(qtbot, window, {"TRIAGED": "21/11/2026", "DRUG1": "1101"})
    assert window.editing.save()
    assert window.editing.episode_id != episode and window.editing.client_id == old_client
    assert store.caseload.count() == 2


@pytest.mark.parametrize(("disrsn", "exitrsn", "word"), [("98", "R", None), ("89", "D", "Died")])
def test_deported_and_died(
    window: MainWindow, qtbot: QtBot, store: Store, disrsn: str, exitrsn: str, word: str | None
) -> None:
    """Appendix D: 'incomplete – client deported' is released to 'outside the UK';
    'incomplete – client died' exits as 'died', when nothing is asked about release."""
    open_saved(window, store, discharged(in_treatment(), reason=disrsn))
    fill(qtbot, window, {"EXITD": "02/11/2026", "EXITRSN": exitrsn})
    release = window.sheet.editors["RTOAGNCY"].input
    if word is None:
        assert release.isEnabled()
        put(qtbot, window, "EXITDEST", LOCAL_AUTHORITY)
        assert ("EXITDEST", "secure_continuity_of_care_on_release") in rule_ids(window)
        put(qtbot, window, "EXITDEST", "Z99999999")
        assert ("EXITDEST", "secure_continuity_of_care_on_release") not in rule_ids(window)
    else:
        assert not release.isEnabled()
        assert f"the exit reason is '{word}'" in release.toolTip()
        assert not mode(window).progress.new_episode.isVisibleTo(window)
    assert not mode(window).progress.hint.isVisibleTo(window)


@pytest.mark.parametrize(
    ("disrsn", "referral", "number"),
    [("83", "1", 1), ("71", "4", 2), ("82", "3", 3), ("80", "4", 4), ("99", "4", 5)],
)
def test_each_appendix_g_scenario_on_the_sheet(
    window: MainWindow, qtbot: QtBot, store: Store, disrsn: str, referral: str, number: int
) -> None:
    """Appendix G: each scenario is named on the sheet; changing the referral on release
    to one that does not fit says what the scenario expects."""
    open_saved(window, store, released(discharged(in_treatment(), reason=disrsn), referral))
    hint = mode(window).progress.hint
    assert hint.text().startswith(f"✔ Fits appendix G scenario {number}")
    other = "4" if referral != "4" else "1"
    put(qtbot, window, "RTOAGNCY", other)
    assert hint.text().startswith(f"▲ Appendix G scenario {number}")
    assert "expects the referral on release to be" in hint.text()


def test_exit_waits_for_every_episode_of_the_stay(
    window: MainWindow, qtbot: QtBot, store: Store
) -> None:
    """Dataset R v1.2 EXITD: "prior to exit all episodes must have discharge dates and
    discharge reasons" (the episodes of the same stay, found in the store)."""
    first = store.episodes.save(discharged(in_treatment()), today=TODAY)
    second = treated(triaged(received(), on="2026-11-10"), (PSYCHOSOCIAL, "2026-11-10"))
    second["CLIENTID"] = first.client_id
    store.episodes.save(second, today=TODAY)
    window.caseload.model.reload()
    window.editing.open(first.episode_id)
    editor = window.sheet.editors["EXITD"]
    assert not editor.input.isEnabled()
    assert "Another episode of this stay (triaged 10/11/2026)" in editor.input.toolTip()
    assert "episode 1 of 2" in mode(window).progress.next_step.text()


def test_partial_test_dates_are_shown_as_typed(
    window: MainWindow, qtbot: QtBot, store: Store
) -> None:
    """Dataset R v1.2 HEPCTSTD, HIVTESTDT: month and year, or year only, recorded as the
    1st of the month or 1 January, and shown as they were typed."""
    episode = open_saved(window, store, in_treatment())
    put(qtbot, window, "HEPCTSTD", "05/2024")
    put(qtbot, window, "HIVTESTDT", "2023")
    hep = window.sheet.editors["HEPCTSTD"]
    assert hep.weekday.text() == ""
    assert "recorded as 1 May 2024" in hep.weekday.toolTip()
    assert window.sheet.record.values["HEPCTSTD"] == date(2024, 5, 1)
    assert window.sheet.record.values["HIVTESTDT"] == date(2023, 1, 1)
    notes = {f.field for f in window.sheet.current_findings if f.rule_id == "partial_date_recorded"}
    assert notes == {"HEPCTSTD", "HIVTESTDT"}
    assert window.editing.save()
    window.new_episode()
    window.editing.open(episode)
    assert window.sheet.editors["HEPCTSTD"].value() == "05/2024"
    assert window.sheet.editors["HIVTESTDT"].value() == "2023"


def client(ref: str, dob: str, initials: str) -> dict[str, str]:
    return {"CLIENT": ref, "DOB": dob, "FINITIAL": initials[0], "SINITIAL": initials[1]}


def caseload_store(store: Store) -> None:
    """One client per prison caseload group and flag."""
    store.episodes.save(in_treatment(), today=TODAY)  # OST for 25 weeks: review due
    later = triaged(received(**client("C3456DE", "1979-02-02", "MK")))
    store.episodes.save(treated(later, (PSYCHOSOCIAL, "2026-11-01")), today=TODAY)
    waiting = triaged(received(**client("D4567EF", "1991-09-09", "SP")))
    store.episodes.save(discharged(waiting, reason="85"), today=TODAY)
    still_open = triaged(received(**client("E5678FG", "1988-04-04", "RT")))
    store.episodes.save(
        discharged(treated(still_open, (PSYCHOSOCIAL, "2026-06-03")), end_interventions=False),
        today=TODAY,
    )
    home = in_treatment()
    home.update(client("G7890HJ", "1969-05-05", "DW"))
    store.episodes.save(released(discharged(home, reason="83"), on="2026-11-02"), today=TODAY)
    missing = triaged(received(**client("F6789GH", "1975-12-12", "AN")))
    store.episodes.save(
        exited(discharged(missing, reason="80"), on="2026-11-20", reason="R"), today=TODAY
    )
    moved = in_treatment()
    moved.update(client("H8901JK", "1993-08-08", "LC"))
    store.episodes.save(
        exited(discharged(moved, reason="84"), reason="T", EXITDEST=PRISON), today=TODAY
    )


def test_prison_caseload_groups_and_flags(window: MainWindow, store: Store) -> None:
    """Issue 5 item 5: in treatment now, discharged not exited, released this month; flags
    for the 13-week review (CLINREV), interventions open at discharge (DISD) and exit
    answers missing (EXITD and the fields required at exit or release)."""
    caseload_store(store)
    window.caseload.model.reload()
    part = mode(window)
    shown = {}
    for key in ("in_treatment", "discharged", "released", "all"):
        part.group.setCurrentIndex(part.group.findData(key))
        shown[key] = window.caseload.model.rowCount()
        assert window.caseload.count.text().startswith(str(window.caseload.model.total))
    assert shown == {"all": 7, "in_treatment": 2, "discharged": 2, "released": 2}
    part.group.setCurrentIndex(part.group.findData("all"))
    model = window.caseload.model
    flags = [model.flags_of(model.row_at(i)) for i in range(model.rowCount())]
    assert sum("13-week review due (OST since 02/06/2026)" in f for f in flags) == 1
    assert sum("1 intervention open at discharge" in f for f in flags) == 1
    # the release answers, and the destination every appendix G release expects (seed 002)
    assert sum("5 exit answers missing" in f for f in flags) == 1
    window.caseload.only_open.setChecked(True)  # the window's own filters keep the group
    part.group.setCurrentIndex(part.group.findData("discharged"))
    assert window.caseload.model.rowCount() == 2


def test_screenshots_of_the_prison_sheet_and_caseload(
    window: MainWindow, qtbot: QtBot, store: Store, screenshots: Path
) -> None:
    """Saved for people to look at (build/test-screenshots), window 1366x768; synthetic clients."""
    out = screenshots
    out.mkdir(parents=True, exist_ok=True)
    caseload_store(store)
    shown = in_treatment()
    shown.update(client("K9012LM", "1986-10-10", "TH"))
    episode = store.episodes.save(
        discharged(shown, reason="71", end_interventions=False), today=TODAY
    )
    window.caseload.reload()
    window.editing.open(episode.episode_id)
    put(qtbot, window, "HEPCTSTD", "05/2024")
    window.editing.stop()
    qtbot.wait(50)
    assert window.grab().save(str(out / "prison-sheet.png"))
    window.splitter.setSizes([1000, 366])
    window.caseload.table.resizeColumnsToContents()
    qtbot.wait(50)
    assert window.caseload.grab().save(str(out / "prison-caseload.png"))
    assert mode(window).interventions.offer_row.isVisibleTo(window)
