"""The episode workflow: which state an episode is in and what the sheet offers next."""

from __future__ import annotations

from datetime import date

import pytest

from desktop.domain.record import Record
from desktop.domain.spec import RefData
from desktop.domain.workflow import (
    Action,
    CjitState,
    SecureState,
    can_reopen_discharge,
    cjit_disengaged,
    cjit_step,
    consent_given,
    offered_lists,
    secure_step,
)

D = date.fromisoformat
TODAY = date(2026, 11, 24)


def test_cjit_contact_then_triaged(refdata: RefData) -> None:
    assert cjit_step(Record(), refdata).state is CjitState.CONTACT
    step = cjit_step(Record({"TRIAGED": D("2026-11-01")}), refdata)
    assert step.state is CjitState.TRIAGED
    assert (
        Action.TAKE_ONTO_CASELOAD,
        "record consent and problem substance 1 first",
    ) in step.blocked


def test_cjit_caseload_decision_offers_prior_to_caseload_reasons_only(refdata: RefData) -> None:
    """Dataset Q v4.2 CPLANDT / appendix E: not taken on → a 'prior to caseload' reason."""
    rec = Record({"TRIAGED": D("2026-11-01"), "CONSENT": "Y", "DRUG1": "1101"})
    step = cjit_step(rec, refdata)
    assert step.state is CjitState.CASELOAD_DECISION
    assert step.actions == (Action.TAKE_ONTO_CASELOAD, Action.CLOSE_PRIOR_TO_CASELOAD)
    assert step.closure_list == "CJDISRSN_PRIOR"


def test_cjit_on_caseload_offers_referrals_and_from_caseload_reasons(refdata: RefData) -> None:
    rec = Record(
        {"TRIAGED": D("2026-11-01"), "CONSENT": "Y", "DRUG1": "1101", "CPLANDT": D("2026-11-03")}
    )
    step = cjit_step(rec, refdata)
    assert step.state is CjitState.ON_CASELOAD
    assert Action.ADD_REFERRAL in step.actions and step.closure_list == "CJDISRSN_CASELOAD"


def test_cjit_closed(refdata: RefData) -> None:
    rec = Record({"TRIAGED": D("2026-11-01"), "DISD": D("2026-11-01"), "CJDISRSN": "73"})
    assert cjit_step(rec, refdata).state is CjitState.CLOSED


def test_cjit_two_months_without_contact_is_disengaged() -> None:
    """Dataset Q v4.2 DISD: no contact for 2 months → closed at the last contact."""
    assert cjit_disengaged(D("2026-09-20"), TODAY)
    assert not cjit_disengaged(D("2026-10-20"), TODAY)


def _secure(**values: object) -> Record:
    items = values.pop("items", [])
    return Record(dict(values), list(items))  # type: ignore[arg-type]


def test_secure_received_triaged_in_treatment(refdata: RefData) -> None:
    assert (
        secure_step(_secure(RECPDT=D("2026-10-01")), refdata, TODAY).state is SecureState.RECEIVED
    )
    triaged = _secure(RECPDT=D("2026-10-01"), TRIAGED=D("2026-10-02"))
    assert secure_step(triaged, refdata, TODAY).state is SecureState.TRIAGED
    open_item = _secure(
        RECPDT=D("2026-10-01"),
        TRIAGED=D("2026-10-02"),
        items=[{"MODAL": "8", "MODST": D("2026-10-02")}],
    )
    step = secure_step(open_item, refdata, TODAY)
    assert step.state is SecureState.IN_TREATMENT
    assert Action.DISCHARGE not in step.actions
    assert (Action.DISCHARGE, "end every intervention first") in step.blocked


def test_secure_discharge_offered_once_interventions_end(refdata: RefData) -> None:
    """Dataset R v1.2 DISD: prior to discharge all interventions must have end dates."""
    rec = _secure(
        TRIAGED=D("2026-10-02"), items=[{"MODST": D("2026-10-02"), "MODEND": D("2026-10-20")}]
    )
    assert Action.DISCHARGE in secure_step(rec, refdata, TODAY).actions


@pytest.mark.parametrize(("gap", "ok"), [(0, True), (20, True), (21, False), (40, False)])
def test_secure_reopen_within_21_days(refdata: RefData, gap: int, ok: bool) -> None:
    """Dataset R v1.2 DISD: re-open only when re-presenting less than 21 calendar days after."""
    discharged = date(2026, 11, 1)
    assert can_reopen_discharge(discharged, date.fromordinal(discharged.toordinal() + gap)) is ok
    rec = _secure(TRIAGED=D("2026-10-02"), DISD=discharged, DISRSN="85")
    step = secure_step(rec, refdata, date.fromordinal(discharged.toordinal() + gap))
    assert (Action.REOPEN_EPISODE in step.actions) is ok


def test_secure_exit_reopened_only_after_court_transfer(refdata: RefData) -> None:
    """Dataset R v1.2 appendix D: a court-appearance transfer (84 + T) may be re-opened;
    a release may not."""
    court = _secure(DISD=D("2026-11-01"), DISRSN="84", EXITD=D("2026-11-01"), EXITRSN="T")
    assert secure_step(court, refdata, TODAY).actions == (Action.REOPEN_AFTER_COURT,)
    released = _secure(DISD=D("2026-11-01"), DISRSN="83", EXITD=D("2026-11-01"), EXITRSN="R")
    step = secure_step(released, refdata, TODAY)
    assert step.state is SecureState.EXITED and step.actions == ()


def test_consent_given_follows_the_yes_tag_dataset_q_consent(refdata: RefData) -> None:
    """Dataset Q CONSENT: only a 'yes' code lets a record be sent (seed 001)."""
    spec = refdata.datasets["cjit-q"]
    assert consent_given(refdata, spec, "Y")
    for code in ("N", "", None, "maybe"):
        assert not consent_given(refdata, spec, code)


def test_closure_reasons_offered_follow_the_caseload_start_appendix_e(refdata: RefData) -> None:
    """Dataset Q appendix E: prior-to-caseload reasons until a caseload start date exists."""
    spec = refdata.datasets["cjit-q"]
    before = Record({"TRIAGED": date(2026, 1, 5)})
    after = Record({"TRIAGED": date(2026, 1, 5), "CPLANDT": date(2026, 1, 9)})
    assert offered_lists(before, refdata, spec) == {"CJDISRSN": "CJDISRSN_PRIOR"}
    assert offered_lists(after, refdata, spec) == {"CJDISRSN": "CJDISRSN_CASELOAD"}
    assert offered_lists(after, refdata, refdata.datasets["secure-r"]) == {}


def test_consent_decision_follows_the_tags_not_the_codes(refdata: RefData) -> None:
    """Seed 001/002 CONSENT: the 'yes' tag is consent given, the 'no' tag refused; a blank
    or unknown answer records no consent event."""
    from desktop.domain.workflow import consent_decision

    for dataset in ("cjit-q", "secure-r"):
        spec = refdata.datasets[dataset]
        assert consent_decision(refdata, spec, "Y") == "given"
        assert consent_decision(refdata, spec, "N") == "refused"
        assert consent_decision(refdata, spec, "") is None
        assert consent_decision(refdata, spec, "Q") is None
