"""The CJIT supplementary guidance FAQ (seed 000), recorded end to end in the window.

Each test drives the real window offscreen: the worker fills the contact, makes the
caseload decision with its buttons, closes or refers, and saves; the store then holds
what NDTMS expects for that situation.
"""

from __future__ import annotations

from datetime import date, timedelta

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox, QDialog, QMessageBox
from pytestqt.qtbot import QtBot

from desktop.domain.spec import RefData
from desktop.domain.synthetic import records
from desktop.domain.workflow import LAST_SEEN, TRANSFER_TO, Decision
from desktop.export.submission import check
from desktop.storage.store import Store
from desktop.ui.main_window import MainWindow

TODAY = date.today()
DECIDED = ("CPLANDT", "NALOXISS", "NALOXAD", "DISD", "CJDISRSN", "referrals")


def _contact(refdata: RefData, seed: int) -> dict[str, object]:
    """A contact as a worker would have typed it so far: triaged, no decision yet."""
    rec = next(iter(records(refdata, "cjit-q", 1, seed=seed)))
    for key in ("CLIENTID", "EPISODID", "AGNCY", "CMSID", *DECIDED):
        rec.pop(key, None)
    rec["CONSENT"] = "Y"
    rec["TRIAGED"] = (TODAY.replace(day=1)).strftime("%d/%m/%Y")
    rec["REFLD"] = rec["TRIAGED"]
    return rec


def _start(window: MainWindow, refdata: RefData, seed: int = 3) -> None:
    window.new_episode()
    window.sheet.apply(_contact(refdata, seed))


def _choose(window: MainWindow, qtbot: QtBot, decision: Decision) -> None:
    assert window.guidance is not None
    button = window.guidance.decision.buttons[decision]
    assert button.isEnabled(), button.toolTip()
    qtbot.mouseClick(button, Qt.MouseButton.LeftButton)


def _type_code(window: MainWindow, header: str, code: str) -> None:
    combo = window.sheet.editors[header].input
    assert isinstance(combo, QComboBox)
    combo.setEditText(code)


def _errors(window: MainWindow) -> list[str]:
    return [
        f"{f.field}:{f.rule_id}" for f in window.sheet.current_findings if f.severity == "error"
    ]


def _saved(window: MainWindow, store: Store) -> dict[str, object]:
    assert window.editing.save()
    assert window.editing.episode_id is not None
    return store.episodes.load(window.editing.episode_id).raw


def test_assessed_but_did_not_engage(
    window: MainWindow, qtbot: QtBot, store: Store, refdata: RefData
) -> None:
    """FAQ: 'attends an assessment but does not engage further' — caseload start date left
    blank, closed straight away, dated at the assessment, with a 'prior to caseload'
    reason (dataset Q appendix E)."""
    _start(window, refdata)
    _choose(window, qtbot, Decision.NOT_TAKEN_ON)
    sheet = window.sheet
    assert sheet.editors["DISD"].value() == sheet.editors["TRIAGED"].value()
    assert sheet.editors["CPLANDT"].value() == ""
    reason = sheet.editors["CJDISRSN"].input
    assert isinstance(reason, QComboBox)
    offered = {reason.itemData(i) for i in range(reason.count())} - {""}
    assert offered == set(refdata.lists["CJDISRSN_PRIOR"].codes)
    _type_code(window, "CJDISRSN", "1")  # did not want to engage
    assert _errors(window) == []
    raw = _saved(window, store)
    assert raw["CJDISRSN"] == "1"
    assert "CPLANDT" not in raw
    assert store.episodes.load(str(window.editing.episode_id)).state == "closed"


def test_taken_on_and_referred_to_structured_treatment(
    window: MainWindow, qtbot: QtBot, store: Store, refdata: RefData
) -> None:
    """FAQ 'what constitutes taken on to caseload' and 'if a client goes into structured
    treatment': a caseload start date (default today, never before triage), then a
    referral to structured treatment inside the caseload period (dataset Q REFDATE)."""
    _start(window, refdata)
    # seed 001 NALOXISS: naloxone at episode start is asked of every episode
    assert window.sheet.editors["NALOXISS"].input.isEnabled()
    _choose(window, qtbot, Decision.TAKEN_ON)
    sheet = window.sheet
    assert sheet.editors["CPLANDT"].value() == TODAY.strftime("%d/%m/%Y")
    assert sheet.editors["NALOXISS"].input.isEnabled()
    _type_code(window, "NALOXISS", sorted(refdata.lists["NALOXISS"].codes)[0])
    _type_code(window, "NALOXAD", sorted(refdata.lists["NALOXAD"].codes)[0])
    sheet.items.add_row({"REFDATE": TODAY.strftime("%d/%m/%Y")})
    sheet.revalidate()
    assert _errors(window) == []
    raw = _saved(window, store)
    assert raw["CPLANDT"] == TODAY.strftime("%d/%m/%Y")
    assert len(raw["referrals"]) == 1  # type: ignore[arg-type]
    assert store.episodes.load(str(window.editing.episode_id)).state == "on_caseload"


def test_taken_on_is_not_offered_before_consent_and_substance(
    window: MainWindow, refdata: RefData
) -> None:
    """Dataset Q workflow: the caseload decision needs consent and problem substance 1."""
    window.new_episode()
    window.sheet.apply({"TRIAGED": TODAY.strftime("%d/%m/%Y")})
    assert window.guidance is not None
    taken = window.guidance.decision.buttons[Decision.TAKEN_ON]
    assert not taken.isEnabled()
    assert "consent" in taken.toolTip()


def test_transferred_to_another_cjit_before_the_caseload(
    window: MainWindow, qtbot: QtBot, store: Store, refdata: RefData
) -> None:
    """FAQ 'a further appointment with ANOTHER CJIT': caseload start left blank, closed as
    transferred prior to caseload, and where to (a DAT code) recorded — kept on this
    laptop only, never in the submission file."""
    _start(window, refdata)
    _choose(window, qtbot, Decision.NOT_TAKEN_ON)
    _type_code(window, "CJDISRSN", "14")  # transferred to another CJIT area
    assert window.guidance is not None
    where = window.guidance.closure.where
    assert where.isEnabled()
    codes = {where.itemData(i) for i in range(where.count())} - {None, ""}
    assert codes == set(refdata.lists["DAT"].codes)
    where.setEditText("A12B")
    raw = _saved(window, store)
    assert raw[TRANSFER_TO] == "A12B"
    assert raw["CJDISRSN"] == "14"
    # in custody → a prison is asked for instead
    _type_code(window, "CJDISRSN", "13")
    codes = {where.itemData(i) for i in range(where.count())} - {None, ""}
    assert codes == set(refdata.lists["PRISON"].codes)


def test_no_consent_is_recorded_but_never_submitted(
    window: MainWindow, qtbot: QtBot, store: Store, refdata: RefData
) -> None:
    """FAQ 'attend but don't consent to data sharing': entered, consent recorded as No,
    never submitted; the refusal is a dated consent event."""
    _start(window, refdata)
    assert window.guidance is not None
    asked = TODAY - timedelta(days=2)
    window.guidance.consent.recorded_on.set_text(asked.strftime("%d/%m/%Y"))
    _type_code(window, "CONSENT", "N")
    assert window.sheet.banner.isVisible()
    _choose(window, qtbot, Decision.NOT_TAKEN_ON)
    _type_code(window, "CJDISRSN", "1")
    _saved(window, store)
    assert window.editing.client_id is not None
    events = store.consent.history(window.editing.client_id)
    assert [(e.kind, e.value, e.recorded_on) for e in events] == [("ndtms", "refused", asked)]
    assert "refused" in window.guidance.consent.history.text()
    period = TODAY.strftime("%Y-%m")
    result = check(store, "cjit-q", period)
    assert result.records == 0


def test_alcohol_only_client(
    window: MainWindow, qtbot: QtBot, store: Store, refdata: RefData
) -> None:
    """FAQ 'alcohol only users': recorded with no second and no third substance."""
    _start(window, refdata)
    alcohol = min(refdata.tagged("DRUG", "alcohol"))
    _type_code(window, "DRUG1", alcohol)
    _type_code(window, "DRUG2", "9996")
    _type_code(window, "DRUG3", "9997")
    window.sheet.apply({"ALCDDAYS": "20", "ALCUNITS": "12"})
    assert not [
        f
        for f in window.sheet.current_findings
        if f.field.startswith("DRUG") and f.severity == "error"
    ]
    _choose(window, qtbot, Decision.TAKEN_ON)
    raw = _saved(window, store)
    assert (raw["DRUG1"], raw["DRUG2"], raw["DRUG3"]) == (alcohol, "9996", "9997")
    # and 'no second substance' in the third place is marked at once
    _type_code(window, "DRUG3", "9996")
    assert any(f.field == "DRUG3" for f in window.sheet.current_findings)
    assert window.sheet.editors["DRUG3"].marker.text() != ""


def test_consent_changes_are_dated_events(
    window: MainWindow, qtbot: QtBot, store: Store, refdata: RefData
) -> None:
    """Seed 001 CONSENT may change later; each change is a dated consent event."""
    _start(window, refdata)
    assert window.editing.save()
    _type_code(window, "CONSENT", "N")
    assert window.editing.save()
    _type_code(window, "CONSENT", "Y")
    assert window.editing.save()
    assert window.editing.client_id is not None
    values = [e.value for e in store.consent.history(window.editing.client_id) if e.kind == "ndtms"]
    assert values == ["given", "refused", "given"]
    assert window.guidance is not None
    assert "given" in window.guidance.consent.history.text()


def test_continuity_of_care_sharing_is_separate_and_can_be_withdrawn(
    window: MainWindow, qtbot: QtBot, store: Store, refdata: RefData
) -> None:
    """DIR briefing (seed 004): sharing for continuity of care needs its own informed
    consent naming the agencies, and the client may withdraw it."""
    _start(window, refdata)
    assert window.guidance is not None
    consent = window.guidance.consent
    assert not consent.give.isEnabled()
    qtbot.keyClicks(consent.agencies, "HMP Leeds healthcare")
    qtbot.mouseClick(consent.give, Qt.MouseButton.LeftButton)
    assert window.editing.client_id is not None
    sharing = [e for e in store.consent.history(window.editing.client_id) if e.kind == "sharing"]
    assert [(e.value, e.agencies) for e in sharing] == [("given", "HMP Leeds healthcare")]
    assert "HMP Leeds" in consent.sharing.text()
    assert consent.take.isEnabled()
    qtbot.mouseClick(consent.take, Qt.MouseButton.LeftButton)
    sharing = [e for e in store.consent.history(window.editing.client_id) if e.kind == "sharing"]
    assert [e.value for e in sharing] == ["given", "withdrawn"]
    assert "Withdrawn" in consent.sharing.text()
    assert not consent.take.isEnabled()


def test_questions_that_do_not_apply_are_shut_with_the_reason(
    window: MainWindow, refdata: RefData
) -> None:
    """Dataset Q PRNTSTAT (appendix C): asked only with parental responsibility; EHCS (seed
    001 appendix C) also when children under 18 live with the client."""
    window.new_episode()
    window.sheet.apply({"PARENT": "N", "CHILDWTH": "0"})
    editor = window.sheet.editors["PRNTSTAT"]
    help_ = window.sheet.editors["EHCS"]
    assert not editor.input.isEnabled()
    assert "parental responsibility" in editor.input.toolTip()
    assert not help_.input.isEnabled()
    window.sheet.apply({"CHILDWTH": "2"})
    assert help_.input.isEnabled()  # children at home, no parental responsibility
    assert not editor.input.isEnabled()
    window.sheet.apply({"PARENT": "Y"})
    assert editor.input.isEnabled()


def test_two_months_without_contact_offers_to_close_as_dropped_out(
    window: MainWindow, qtbot: QtBot, refdata: RefData
) -> None:
    """Dataset Q DISD / appendix E code 8: after two months without face-to-face contact,
    close as 'incomplete – dropped out' dated at the last contact."""
    _start(window, refdata)
    window.sheet.apply(
        {"TRIAGED": "01/01/2025", "REFLD": "01/01/2025", "CPLANDT": "02/01/2025",
         LAST_SEEN: "03/02/2025"}
    )  # fmt: skip
    assert window.guidance is not None
    closure = window.guidance.closure
    assert closure.suggestion.isVisibleTo(window)
    assert "03/02/2025" in closure.notice.text()
    qtbot.mouseClick(closure.close_dropped, Qt.MouseButton.LeftButton)
    assert window.sheet.editors["DISD"].value() == "03/02/2025"
    assert window.sheet.editors["CJDISRSN"].value() == "8"
    assert not closure.suggestion.isVisibleTo(window)


def test_caseload_flags_come_from_the_domain(
    window: MainWindow, store: Store, refdata: RefData
) -> None:
    """Review due after six months on the caseload; no consent; errors (issue flags)."""
    rec = _contact(refdata, 5)
    rec.update({"TRIAGED": "01/01/2025", "REFLD": "01/01/2025", "CPLANDT": "02/01/2025"})
    store.episodes.save(rec, last_contact=TODAY)
    refused = _contact(refdata, 6)
    refused["CONSENT"] = "N"
    store.episodes.save(refused, last_contact=TODAY)
    window.caseload.model.reload()
    flags = {window.caseload.model.flags_of(window.caseload.model.row_at(i)) for i in range(2)}
    assert any("review due" in f for f in flags)
    assert any("no consent" in f for f in flags)


def test_the_lock_wins_over_an_open_dialog(window: MainWindow, qtbot: QtBot) -> None:
    """Idle lock (issue 4 item 7): a modal dialog left open does not keep data on screen."""
    dialog = QMessageBox(
        QMessageBox.Icon.Question,
        "Pathway",
        "Close this episode?",
        QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
        window,
    )
    other = QDialog(window)
    other.setModal(True)
    other.show()
    dialog.show()
    with qtbot.waitSignal(window.locked, timeout=10_000):
        window.lock()
    assert not dialog.isVisible()
    assert not other.isVisible()
