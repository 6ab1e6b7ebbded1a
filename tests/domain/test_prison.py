"""Prison mode in the domain (dataset R v1.2, seed 002): the stay, what the sheet offers next,
appendix G, re-opening, partial test dates and the prison caseload.

The seed-002 field rules themselves are tested in test_rules_secure.py; here each scenario
of issue 5 is walked through the domain functions the prison sheet and caseload use.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest

from desktop.domain import prison
from desktop.domain.findings import Finding, Severity
from desktop.domain.prison import (
    EpisodeBrief,
    ReopenReason,
    can_reopen,
    caseload_groups,
    continuity_hint,
    exit_missing,
    offer,
    prison_flags,
    reopen_changes,
    reopen_guidance,
    stay_of,
    stays,
)
from desktop.domain.record import Context, Record
from desktop.domain.spec import DatasetSpec, RefData
from desktop.domain.validation import Validator
from desktop.domain.workflow import Flag, SecureState
from tests.domain.prisonkit import (
    LOCAL_AUTHORITY,
    OST,
    OUTSIDE_UK,
    PRISON,
    PSYCHOSOCIAL,
    SECURE_HOSPITAL,
    TODAY,
    Raw,
    discharged,
    exited,
    in_treatment,
    received,
    released,
    treated,
    triaged,
    with_ids,
)

CTX = Context(today=TODAY)


@pytest.fixture(scope="module")
def spec(refdata: RefData) -> DatasetSpec:
    return refdata.datasets["secure-r"]


def check(secure: Validator, rec: Raw) -> tuple[Record, list[Finding]]:
    return secure.check(with_ids(rec), CTX)


def problems(findings: list[Finding]) -> list[tuple[str, str]]:
    return [(f.field, f.rule_id) for f in findings if f.severity is not Severity.INFO]


def brief(eid: str, rec: Raw) -> EpisodeBrief:
    return EpisodeBrief.of(eid, rec)


def flags_of(
    record: Record,
    findings: list[Finding],
    spec: DatasetSpec,
    refdata: RefData,
    *,
    consented: bool = True,
    errors: int = 0,
) -> tuple[Flag, ...]:
    """The caseload flags of a checked record, on TODAY."""
    return prison_flags(
        record, spec, refdata, findings=findings, consented=consented, errors=errors, today=TODAY
    )


# ------------------------------------------------------------------------------ the stay


def test_stay_groups_episodes_by_initial_reception_and_reception_date() -> None:
    """Dataset R v1.2 episode details: several episodes may be recorded in one custodial
    stay (same INTRCPTD and RECPDT); a new reception starts a new stay."""
    first = discharged(in_treatment())
    second = treated(triaged(received(), on="2026-11-10"), (PSYCHOSOCIAL, "2026-11-10"))
    later = received(INTRCPTD="2027-01-05", RECPDT="2027-01-05")
    unknown = received(INTRCPTD=None, RECPDT=None)
    found = stays([brief("b", second), brief("a", first), brief("c", later), brief("d", unknown)])
    assert [tuple(e.episode_id for e in s.episodes) for s in found] == [("a", "b"), ("c",), ("d",)]
    stay = stay_of("b", [brief("a", first), brief("b", second)])
    assert stay is not None
    assert [e.episode_id for e in stay.not_discharged] == ["b"]


# --------------------------------------------------------------------- what comes next


def test_reception_then_triage_then_interventions_are_offered_in_order(
    secure: Validator, spec: DatasetSpec, refdata: RefData
) -> None:
    """Workflow received → triaged → in treatment (dataset R v1.2 RECPDT, TRIAGED, MODST)."""
    record, _ = check(secure, received())
    step = offer(record, spec, refdata, TODAY)
    assert step.state == SecureState.RECEIVED
    assert "triage" in step.next_step
    record, _ = check(secure, triaged(received()))
    step = offer(record, spec, refdata, TODAY)
    assert step.state == SecureState.TRIAGED
    assert "Add the interventions" in step.next_step
    record, _ = check(secure, in_treatment())
    step = offer(record, spec, refdata, TODAY)
    assert step.state == SecureState.IN_TREATMENT
    assert step.open_interventions == (0, 1)
    assert "2 interventions open" in step.next_step


def test_discharge_waits_for_every_intervention_and_offers_to_end_them_on_its_date(
    secure: Validator, spec: DatasetSpec, refdata: RefData
) -> None:
    """Dataset R v1.2 DISD/DISRSN: "prior to discharge all interventions must have end
    dates"; the sheet offers to end the open ones on the discharge date."""
    rec = in_treatment()
    record, _ = check(secure, rec)
    step = offer(record, spec, refdata, TODAY)
    assert step.discharge_blocked is not None and "2 interventions" in step.discharge_blocked
    assert step.end_interventions_on is None
    typed = discharged(rec, end_interventions=False)
    record, findings = check(secure, typed)
    step = offer(record, spec, refdata, TODAY)
    assert step.end_interventions_on == date(2026, 10, 30)
    assert ("MODEND", "secure_interventions_ended_before_discharge") in problems(findings)
    record, findings = check(secure, discharged(rec))
    step = offer(record, spec, refdata, TODAY)
    assert step.discharge_blocked is None and step.end_interventions_on is None
    assert step.state == SecureState.DISCHARGED
    assert problems(findings) == []


def test_exit_is_offered_only_when_every_episode_of_the_stay_is_discharged(
    secure: Validator, spec: DatasetSpec, refdata: RefData
) -> None:
    """Dataset R v1.2 EXITD/EXITRSN: "prior to exit all episodes must have discharge dates
    and discharge reasons"."""
    record, _ = check(secure, in_treatment())
    step = offer(record, spec, refdata, TODAY)
    assert set(prison.EXIT_FIELDS) <= set(step.shut)
    assert "Discharge the client from treatment first" in step.shut["EXITD"]

    done = discharged(in_treatment())
    other = treated(triaged(received(), on="2026-11-10"), (PSYCHOSOCIAL, "2026-11-10"))
    stay = stay_of("a", [brief("a", done), brief("b", other)])
    record, _ = check(secure, done)
    step = offer(record, spec, refdata, TODAY, stay, "a")
    assert step.exit_blocked is not None
    assert "Another episode of this stay (triaged 10/11/2026)" in step.exit_blocked
    assert "EXITD" in step.shut

    stay = stay_of("a", [brief("a", done), brief("b", discharged(other, on="2026-11-20"))])
    step = offer(record, spec, refdata, TODAY, stay, "a")
    assert step.exit_blocked is None
    assert not set(prison.EXIT_FIELDS) & set(step.shut)


def test_release_only_questions_are_asked_only_when_the_exit_reason_is_a_release(
    secure: Validator, spec: DatasetSpec, refdata: RefData
) -> None:
    """Dataset R v1.2 RECONNECT, THNALOX, HOMELESSEXIT, RTOAGNCY: "populated if the
    client's exit reason is 'released'" (found by the 'released' tag, not the code)."""
    release_only = prison.release_only_fields(spec)
    assert set(release_only) == {"RECONNECT", "THNALOX", "HOMELESSEXIT", "RTOAGNCY"}
    record, _ = check(secure, discharged(in_treatment()))
    shut = offer(record, spec, refdata, TODAY).shut
    assert all("exit reason 'Released'" in shut[h] for h in release_only)
    record, _ = check(secure, exited(discharged(in_treatment(), reason="84"), reason="T"))
    shut = offer(record, spec, refdata, TODAY).shut
    assert all("the exit reason is 'Transferred'" in shut[h] for h in release_only)
    record, _ = check(secure, exited(discharged(in_treatment()), reason="R"))
    assert not set(release_only) & set(offer(record, spec, refdata, TODAY).shut)


def test_a_field_already_answered_is_never_shut(
    secure: Validator, spec: DatasetSpec, refdata: RefData
) -> None:
    """Nothing typed is hidden: a release answer given before the exit reason stays open
    (the rule secure_release_answers_only_on_release marks it instead)."""
    rec = discharged(in_treatment())
    rec["RTOAGNCY"] = "1"
    record, _ = check(secure, rec)
    assert "RTOAGNCY" not in offer(record, spec, refdata, TODAY).shut


# ----------------------------------------------------------- the scenarios of issue 5


def test_reception_to_release_with_onward_referral_passes_every_rule(
    secure: Validator, spec: DatasetSpec, refdata: RefData
) -> None:
    """Reception → triage → two concurrent interventions → discharge 'transferred – not
    in custody' → released, referred to structured treatment (appendix G scenario 1)."""
    rec = released(discharged(in_treatment(), reason="83"), referral="1")
    record, findings = check(secure, rec)
    assert problems(findings) == []
    step = offer(record, spec, refdata, TODAY)
    assert step.state == SecureState.EXITED
    assert "open a new episode" in step.next_step
    hint = prison.record_hint(record, spec, refdata)
    assert hint is not None and hint.scenario.number == 1 and hint.fits
    assert flags_of(record, findings, spec, refdata) == ()


def test_transfer_to_another_prison(secure: Validator, spec: DatasetSpec, refdata: RefData) -> None:
    """Appendix D: 'transferred – in custody' with exit 'transferred' to another secure
    setting; appendix G does not apply and the release questions are not asked."""
    rec = exited(discharged(in_treatment(), reason="84"), reason="T", EXITDEST=PRISON)
    record, findings = check(secure, rec)
    assert problems(findings) == []
    assert prison.record_hint(record, spec, refdata) is None
    assert exit_missing(findings, spec) == ()
    no_destination = exited(discharged(in_treatment(), reason="84"), reason="T")
    record, findings = check(secure, no_destination)
    assert exit_missing(findings, spec) == ("EXITDEST",)


def test_released_to_the_community_and_received_again_is_a_new_episode(
    secure: Validator, spec: DatasetSpec, refdata: RefData
) -> None:
    """Appendix D: "if the client is released to the community, even if only for a short
    time, and then re-presents ... a new episode of treatment should be opened"."""
    old = released(discharged(in_treatment(), reason="83"))
    record, _ = check(secure, old)
    for reason in ReopenReason:
        decision = can_reopen(record, spec, refdata, reason, date(2026, 11, 5))
        assert not decision.allowed
        assert "open a new episode" in decision.message
    fresh = prison.new_episode_values(with_ids(old), spec)
    assert fresh["CLIENT"] == "A1234BC" and fresh["DOB"] == "1984-03-07"
    assert not {"EPISODID", "INTRCPTD", "DISD", "EXITD", "interventions", "CLIENTID"} & set(fresh)
    again = triaged(received(INTRCPTD="2026-11-05", RECPDT="2026-11-05"), on="2026-11-05")
    found = stays([brief("old", old), brief("new", again)])
    assert len(found) == 2


def test_a_new_episode_is_offered_after_an_exit_unless_the_client_died(
    secure: Validator, spec: DatasetSpec, refdata: RefData
) -> None:
    """Appendix D: a client received again after leaving (released, even for a short time,
    transferred or absconded) gets a new episode under the same client; a client whose
    exit reason is 'died' does not."""
    record, _ = check(secure, released(discharged(in_treatment(), reason="83")))
    assert offer(record, spec, refdata, TODAY).new_episode
    record, _ = check(secure, exited(discharged(in_treatment(), reason="84"), reason="A"))
    assert offer(record, spec, refdata, TODAY).new_episode
    record, _ = check(secure, exited(discharged(in_treatment(), reason="89"), reason="D"))
    assert not offer(record, spec, refdata, TODAY).new_episode
    record, _ = check(secure, discharged(in_treatment()))
    assert not offer(record, spec, refdata, TODAY).new_episode


def test_deported_client(secure: Validator, spec: DatasetSpec, refdata: RefData) -> None:
    """Appendix D 'incomplete – client deported' with destination 'outside the UK'
    (EXITDEST); not an appendix G release, so no scenario is suggested."""
    rec = released(discharged(in_treatment(), reason="98"), referral="4", EXITDEST=OUTSIDE_UK)
    record, findings = check(secure, rec)
    assert problems(findings) == []
    assert prison.record_hint(record, spec, refdata) is None
    wrong = released(discharged(in_treatment(), reason="98"), referral="4")
    _, findings = check(secure, wrong)
    assert ("EXITDEST", "secure_continuity_of_care_on_release") in problems(findings)


def test_client_who_died(secure: Validator, spec: DatasetSpec, refdata: RefData) -> None:
    """Appendix D: discharge 'incomplete – client died' with exit 'died'; nothing asked on
    release; the episode cannot be re-opened."""
    rec = exited(discharged(in_treatment(), reason="89"), reason="D")
    record, findings = check(secure, rec)
    assert problems(findings) == []
    shut = offer(record, spec, refdata, TODAY).shut
    assert "the exit reason is 'Died'" in shut["RECONNECT"]
    assert prison.record_hint(record, spec, refdata) is None
    assert not can_reopen(record, spec, refdata, ReopenReason.COURT, TODAY).allowed
    _, findings = check(secure, exited(discharged(in_treatment(), reason="85"), reason="D"))
    assert ("DISRSN", "secure_continuity_of_care_on_release") in problems(findings)


# -------------------------------------------------------------------------- re-opening


def court_closed(on: str = "2026-11-16") -> Raw:
    """Closed down for a court appearance: interventions ended, 'transferred – in custody',
    exit 'transferred' (appendix D)."""
    return exited(
        discharged(in_treatment(), on=on, reason="84"), on=on, reason="T", EXITDEST=PRISON
    )


@pytest.mark.parametrize("reason", [ReopenReason.COURT, ReopenReason.VIDEO_LINK])
def test_court_appearance_and_return_within_days_reopens_the_episode(
    secure: Validator, spec: DatasetSpec, refdata: RefData, reason: ReopenReason
) -> None:
    """Appendix D, transferring a client for court appearance/video links: on return the
    discharge date and reason, exit date and status are removed; the old interventions
    remain closed and new interventions are opened."""
    rec = with_ids(court_closed())
    rec["interventions"].append({"MODID": "late", "MODAL": OST, "MODST": "2026-11-01"})
    record, _ = check(secure, rec)
    back = date(2026, 11, 19)
    decision = can_reopen(record, spec, refdata, reason, back)
    assert decision.allowed, decision.message
    after = reopen_changes(rec, spec, record, reason, back)
    assert not {"DISD", "DISRSN", "EXITD", "EXITRSN", "EXITDEST"} & set(after)
    assert all(item.get("MODEND") for item in after["interventions"])
    assert after["interventions"][-1]["MODEND"] == "2026-11-16"  # closed on the discharge
    assert after[prison.REOPEN_REASON] == reason.value
    record, findings = check(secure, after)
    assert problems(findings) == []
    assert offer(record, spec, refdata, back).state == SecureState.IN_TREATMENT
    hint = reopen_guidance(record, after)
    assert hint is not None and "add the new interventions" in hint
    after["interventions"].append({"MODAL": PSYCHOSOCIAL, "MODST": back.isoformat()})
    record, findings = check(secure, after)
    assert reopen_guidance(record, after) is None
    assert offer(record, spec, refdata, back).open_interventions == (3,)
    reopened_old = after["interventions"][0]
    reopened_old.pop("MODEND")
    record, _ = check(secure, after)
    hint = reopen_guidance(record, after)
    assert hint is not None and "Intervention 1 began before the re-open" in hint


def test_reopen_after_court_needs_a_transfer_in_custody(
    secure: Validator, spec: DatasetSpec, refdata: RefData
) -> None:
    """Appendix D: only an episode closed as 'transferred – in custody' / 'transferred' for
    a court appearance or video link is re-opened on return."""
    rec = exited(discharged(in_treatment(), reason="80"), reason="T", EXITDEST=PRISON)
    record, _ = check(secure, rec)
    decision = can_reopen(record, spec, refdata, ReopenReason.COURT, TODAY)
    assert not decision.allowed and "transferred – in custody" in decision.message
    record, _ = check(secure, court_closed())
    decision = can_reopen(record, spec, refdata, ReopenReason.COURT, date(2026, 11, 10))
    assert not decision.allowed and "before the exit date" in decision.message


def test_after_an_exit_the_sheet_speaks_of_re_opening_only_as_the_workflow_allows(
    secure: Validator, spec: DatasetSpec, refdata: RefData
) -> None:
    """Appendix D: an exited episode is re-opened only after a court appearance or video
    link transfer ('transferred – in custody' with exit 'transferred'); a client who
    absconded after such a discharge is not offered a re-open."""
    record, _ = check(secure, court_closed())
    step = offer(record, spec, refdata, TODAY)
    assert "re-open this episode" in step.next_step
    absconded = exited(discharged(in_treatment(), on="2026-11-16", reason="84"), "2026-11-16", "A")
    record, _ = check(secure, absconded)
    step = offer(record, spec, refdata, TODAY)
    assert "re-open" not in step.next_step
    assert not can_reopen(record, spec, refdata, ReopenReason.COURT, TODAY).allowed


@pytest.mark.parametrize(("gap", "allowed"), [(0, True), (10, True), (20, True), (21, False)])
def test_reopen_after_discharge_only_when_the_gap_is_under_21_days(
    secure: Validator, spec: DatasetSpec, refdata: RefData, gap: int, allowed: bool
) -> None:
    """Dataset R v1.2 DISD: re-opening is accepted "as long as the gap between discharge
    from the old episode and re-presentation is less than 21 calendar days"."""
    rec = discharged(in_treatment(), on="2026-10-30")
    record, _ = check(secure, rec)
    decision = can_reopen(
        record, spec, refdata, ReopenReason.SHORT_GAP, date(2026, 10, 30) + timedelta(gap)
    )
    assert decision.allowed is allowed
    if not allowed:
        assert "21 days" in decision.message and "new episode" in decision.message


def test_reopen_after_an_exit_is_not_a_short_gap(
    secure: Validator, spec: DatasetSpec, refdata: RefData
) -> None:
    """Appendix D note: after leaving the setting, re-opening is "only permitted" for a
    return from court or a video link."""
    record, _ = check(secure, court_closed())
    decision = can_reopen(record, spec, refdata, ReopenReason.SHORT_GAP, date(2026, 11, 18))
    assert not decision.allowed and "court appearance or video link" in decision.message
    record, _ = check(secure, in_treatment())
    assert not can_reopen(record, spec, refdata, ReopenReason.SHORT_GAP, TODAY).allowed


# ------------------------------------------------------------------------- appendix G

FITS = [
    (1, "83", "1", LOCAL_AUTHORITY),
    (1, "83", "2", LOCAL_AUTHORITY),
    (1, "83", "1", SECURE_HOSPITAL),  # appendix D: a secure hospital is released to NNR
    (2, "71", "4", LOCAL_AUTHORITY),
    (3, "80", "3", LOCAL_AUTHORITY),
    (3, "82", "3", LOCAL_AUTHORITY),
    (4, "80", "4", LOCAL_AUTHORITY),
    (4, "81", "4", LOCAL_AUTHORITY),
    (5, "99", "4", LOCAL_AUTHORITY),
]


@pytest.mark.parametrize(("number", "disrsn", "rtoagncy", "dest"), FITS)
def test_each_appendix_g_scenario_is_recognised_when_it_fits(
    secure: Validator,
    spec: DatasetSpec,
    refdata: RefData,
    number: int,
    disrsn: str,
    rtoagncy: str,
    dest: str,
) -> None:
    """Appendix G (continuity of care on release), scenarios 1 to 5: a consistent record
    names its scenario and passes the seed-002 rules."""
    rec = released(discharged(in_treatment(), reason=disrsn), referral=rtoagncy, EXITDEST=dest)
    record, findings = check(secure, rec)
    assert problems(findings) == []
    hint = prison.record_hint(record, spec, refdata)
    assert hint is not None
    assert (hint.scenario.number, hint.fits, dict(hint.wrong)) == (number, True, {})
    assert hint.text.startswith(f"Fits appendix G scenario {number}")


@pytest.mark.parametrize(("number", "disrsn", "rtoagncy", "dest"), FITS)
def test_appendix_g_hint_and_validator_agree_on_a_blank_destination(
    secure: Validator,
    spec: DatasetSpec,
    refdata: RefData,
    number: int,
    disrsn: str,
    rtoagncy: str,
    dest: str,
) -> None:
    """Seed 002 (dataset R v1.2) appendix G: every release scenario expects the exit
    destination. With it left blank, the sheet's hint and the record's check both ask for
    it (one rule, rules.secure.exit_destination_expected), and the caseload counts it
    among the exit answers missing."""
    rec = released(discharged(in_treatment(), reason=disrsn), referral=rtoagncy)
    del rec["EXITDEST"]
    record, findings = check(secure, rec)
    hint = prison.record_hint(record, spec, refdata)
    assert hint is not None and hint.scenario.number == number
    assert set(hint.wrong) == {"EXITDEST"} and not hint.fits
    assert ("EXITDEST", "secure_exit_destination_when_needed") in problems(findings)
    assert exit_missing(findings, spec) == ("EXITDEST",)


MISFITS = [
    # discharge, referral, destination → scenario meant, fields that do not fit, alternative
    ("83", "4", LOCAL_AUTHORITY, 1, {"RTOAGNCY"}, 2),
    ("83", "3", LOCAL_AUTHORITY, 1, {"RTOAGNCY"}, 3),
    ("71", "1", LOCAL_AUTHORITY, 2, {"RTOAGNCY"}, 1),
    ("82", "4", LOCAL_AUTHORITY, 3, {"RTOAGNCY"}, 4),
    ("80", "1", LOCAL_AUTHORITY, 4, {"RTOAGNCY"}, 1),
    ("82", "1", LOCAL_AUTHORITY, 3, {"RTOAGNCY"}, 1),
    ("81", "4", PRISON, 4, {"EXITDEST"}, None),
    ("99", "3", LOCAL_AUTHORITY, 5, {"RTOAGNCY"}, 3),
    ("99", "4", None, 5, {"EXITDEST"}, None),
]


@pytest.mark.parametrize(("disrsn", "rtoagncy", "dest", "number", "wrong", "other"), MISFITS)
def test_appendix_g_names_the_scenario_meant_and_what_it_expects(
    spec: DatasetSpec,
    refdata: RefData,
    disrsn: str,
    rtoagncy: str,
    dest: str | None,
    number: int,
    wrong: set[str],
    other: int | None,
) -> None:
    """Appendix G: when the discharge reason, referral on release and exit reason do not
    fit together, the scenario of the discharge reason is named with what it expects, and
    the scenario the referral would fit is offered as the alternative."""
    hint = continuity_hint(spec, refdata, disrsn, rtoagncy, "R", dest)
    assert hint is not None
    assert hint.scenario.number == number and not hint.fits
    assert set(hint.wrong) == wrong
    assert (hint.alternative.number if hint.alternative else None) == other
    assert f"Appendix G scenario {number}" in hint.text and "expects" in hint.text
    if "RTOAGNCY" in wrong:
        code = refdata.lists["RTOAGNCY"].codes[rtoagncy]
        assert f"not '{code.label}'" in hint.text


def test_appendix_g_before_the_exit_says_what_a_release_will_expect(
    spec: DatasetSpec, refdata: RefData
) -> None:
    """Appendix G scenario 2 (refused onward referral) seen at discharge: what to record on
    release."""
    hint = continuity_hint(spec, refdata, "71", None, None)
    assert hint is not None and hint.scenario.number == 2 and not hint.fits
    assert hint.text.startswith("On release, appendix G scenario 2")
    assert "'No onward referral'" in hint.text


@pytest.mark.parametrize(
    ("disrsn", "exitrsn"), [("84", "T"), ("85", "R"), ("89", "D"), ("98", "R"), (None, "R")]
)
def test_appendix_g_is_only_for_releases_after_structured_treatment(
    spec: DatasetSpec, refdata: RefData, disrsn: str | None, exitrsn: str
) -> None:
    """Appendix G covers clients in structured treatment who are released: not transfers,
    deaths, drop-outs or deportations."""
    assert continuity_hint(spec, refdata, disrsn, "4", exitrsn, LOCAL_AUTHORITY) is None


# ----------------------------------------------------------------------- partial dates


@pytest.mark.parametrize(
    ("typed", "stored"),
    [("05/2024", date(2024, 5, 1)), ("5/2024", date(2024, 5, 1)), ("2023", date(2023, 1, 1))],
)
@pytest.mark.parametrize("header", ["HEPCTSTD", "HIVTESTDT"])
def test_latest_test_dates_may_be_month_and_year_or_year_only(
    secure: Validator, header: str, typed: str, stored: date
) -> None:
    """Dataset R v1.2 HEPCTSTD and HIVTESTDT: "if the exact date is not known then the first
    of the month should be used ... if only the year is known, then 1 January". The value
    kept as typed is what the sheet shows; the record (and the export) hold the date."""
    rec = in_treatment()
    rec[header] = typed
    record, findings = check(secure, rec)
    assert record.values[header] == stored
    notes = [f for f in findings if f.field == header]
    assert [f.rule_id for f in notes] == ["partial_date_recorded"]
    assert rec[header] == typed


# --------------------------------------------------------------------------- caseload


def test_flag_13_week_clinical_review_due_on_opioid_substitution(
    secure: Validator, spec: DatasetSpec, refdata: RefData
) -> None:
    """Dataset R v1.2 CLINREV (initial 13-week clinical review, OST clients only) and
    appendix E (extended prescribing reviewed every 3 months)."""
    start = TODAY - timedelta(days=prison.OST_REVIEW_DAYS - 1)
    rec = treated(triaged(received()), (OST, start.isoformat()))
    record, findings = check(secure, rec)
    flags = flags_of(record, findings, spec, refdata)
    assert [f.kind for f in flags] == ["review"]
    assert f"OST since {start:%d/%m/%Y}" in flags[0].text
    younger = treated(triaged(received()), (OST, (start + timedelta(days=1)).isoformat()))
    record, findings = check(secure, younger)
    assert flags_of(record, findings, spec, refdata) == ()
    done = dict(rec, CLINREV="Y")
    record, findings = check(secure, done)
    assert flags_of(record, findings, spec, refdata) == ()
    talking = treated(triaged(received()), (PSYCHOSOCIAL, start.isoformat()))
    record, findings = check(secure, talking)
    assert flags_of(record, findings, spec, refdata) == ()


def test_flag_interventions_still_open_at_discharge(
    secure: Validator, spec: DatasetSpec, refdata: RefData
) -> None:
    """Dataset R v1.2 DISD: "prior to discharge all interventions must have end dates"."""
    rec = discharged(in_treatment(), end_interventions=False)
    record, findings = check(secure, rec)
    flags = flags_of(record, findings, spec, refdata, errors=2)
    assert [f.text for f in flags] == ["2 interventions open at discharge", "2 errors"]


def test_flag_exit_answers_missing(secure: Validator, spec: DatasetSpec, refdata: RefData) -> None:
    """Dataset R v1.2: the fields required when the client leaves (MHTXEXIT, SENTENCED,
    REFHEPCTX, LIVSCRN) and when released (RECONNECT, THNALOX, HOMELESSEXIT, RTOAGNCY), and
    the destination of a release after 'transferred – not in custody' (appendix G
    scenario 1)."""
    rec = discharged(in_treatment())
    rec.update({"EXITD": "2026-11-02", "EXITRSN": "R"})
    record, findings = check(secure, rec)
    missing = exit_missing(findings, spec)
    assert set(missing) == {
        "LIVSCRN",
        "MHTXEXIT",
        "SENTENCED",
        "REFHEPCTX",
        "RECONNECT",
        "THNALOX",
        "HOMELESSEXIT",
        "RTOAGNCY",
        "EXITDEST",
    }
    flags = flags_of(record, findings, spec, refdata, consented=False)
    assert [f.kind for f in flags] == ["exit_missing", "no_consent"]
    assert flags[0].text == "9 exit answers missing"
    rec["RTOAGNCY"] = "1"
    record, findings = check(secure, rec)
    assert "EXITDEST" in exit_missing(findings, spec)


def test_exit_answers_missing_are_the_ones_the_checks_find(
    secure: Validator, spec: DatasetSpec, refdata: RefData
) -> None:
    """Dataset R v1.2 EXITD/EXITRSN (given together) and EXITDEST ("required if ... exit
    reason is 'transferred'"): the flag counts what the record's checks find
    (secure_exit_date_and_reason_together, secure_exit_destination_when_needed)."""
    rec = discharged(in_treatment(), reason="84")
    rec["EXITRSN"] = "T"
    record, findings = check(secure, rec)
    rules = {f.field: f.rule_id for f in findings}
    assert rules["EXITD"] == "secure_exit_date_and_reason_together"
    assert rules["EXITDEST"] == "secure_exit_destination_when_needed"
    assert {"EXITD", "EXITDEST"} <= set(exit_missing(findings, spec))
    assert [f.kind for f in flags_of(record, findings, spec, refdata)] == ["exit_missing"]


def test_caseload_groups(spec: DatasetSpec, refdata: RefData) -> None:
    """The prison caseload: in treatment now, discharged but not exited, released this
    month (exit reason tagged 'released', exit date in the month)."""
    groups = {g.key: g for g in caseload_groups(spec, refdata, TODAY)}
    assert set(groups["in_treatment"].states) == {"received", "triaged", "in_treatment"}
    assert groups["discharged"].states == ("discharged",)
    released_now = groups["released"]
    assert released_now.states == ("exited",)
    assert (released_now.closed_from, released_now.closed_to) == (
        date(2026, 11, 1),
        date(2026, 11, 30),
    )
    assert released_now.fields_in == (
        ("EXITRSN", tuple(sorted(refdata.tagged("EXITRSN", "released")))),
    )


def test_a_court_re_open_needs_the_client_to_have_left(
    secure: Validator, spec: DatasetSpec, refdata: RefData
) -> None:
    """Appendix D: the court appearance / video link re-open is for a client who left
    ('transferred – in custody' and exit 'transferred'); one discharged in custody but not
    exited is re-opened only within 21 days of the discharge (dataset R DISD)."""
    rec = discharged(in_treatment(), on="2026-09-01", reason="84")
    record, _ = check(secure, rec)
    decision = can_reopen(record, spec, refdata, ReopenReason.COURT, TODAY)
    assert not decision.allowed and "not left this setting" in decision.message
    assert not can_reopen(record, spec, refdata, ReopenReason.SHORT_GAP, TODAY).allowed
