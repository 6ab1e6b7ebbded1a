"""CJIT guidance decided in the domain: the caseload decision, transfer destinations,
last contact and the caseload flags (dataset Q v4.2, appendix E; supplementary guidance)."""

from __future__ import annotations

from datetime import date

import pytest

from desktop.domain.record import Context, Record
from desktop.domain.refdata import RefDataError, load_refdata
from desktop.domain.spec import RefData, Value
from desktop.domain.validation import Validator
from desktop.domain.workflow import (
    LAST_SEEN,
    REVIEWED,
    TRANSFER_TO,
    CjitState,
    Decision,
    cjit_decision,
    cjit_flags,
    decision_changes,
    dropped_out_closure,
    last_contact,
    transfer_destination,
)
from tests.conftest import REFDATA

D = date.fromisoformat
TODAY = date(2026, 11, 24)


def _kinds(**kw: object) -> list[str]:
    base: dict[str, object] = {
        "state": CjitState.ON_CASELOAD,
        "consented": True,
        "errors": 0,
        "caseload_start": TODAY,
        "last_review": None,
        "last_seen": TODAY,
        "today": TODAY,
    }
    base.update(kw)
    return [f.kind for f in cjit_flags(**base)]  # type: ignore[arg-type]


def test_decision_follows_the_dates_on_the_sheet() -> None:
    """Dataset Q CPLANDT: a caseload start date means taken on; a closure without one
    means the client was not taken on (appendix E, prior to caseload)."""
    assert cjit_decision(Record()) is Decision.UNDECIDED
    assert cjit_decision(Record({"CPLANDT": TODAY})) is Decision.TAKEN_ON
    assert cjit_decision(Record({"DISD": TODAY})) is Decision.NOT_TAKEN_ON


def test_taken_on_defaults_the_caseload_start_to_today_never_before_triage(
    refdata: RefData,
) -> None:
    """Dataset Q CPLANDT: default today, never before the triage (assessment) date."""
    rec = Record({"TRIAGED": D("2026-11-20")})
    assert decision_changes(Decision.TAKEN_ON, rec, refdata, TODAY) == {"CPLANDT": "24/11/2026"}
    future = Record({"TRIAGED": D("2026-11-30")})
    changes = decision_changes(Decision.TAKEN_ON, future, refdata, TODAY)
    assert changes == {"CPLANDT": "30/11/2026"}
    kept = Record({"TRIAGED": D("2026-11-20"), "CPLANDT": D("2026-11-21")})
    assert decision_changes(Decision.TAKEN_ON, kept, refdata, TODAY) == {}


def test_taken_on_clears_a_prior_to_caseload_closure(refdata: RefData) -> None:
    """Appendix E: a 'prior to caseload' reason (73, no further intervention) cannot close
    an episode with a caseload start date, so choosing 'taken on' clears it."""
    rec = Record({"TRIAGED": D("2026-11-20"), "DISD": D("2026-11-20"), "CJDISRSN": "73"})
    changes = decision_changes(Decision.TAKEN_ON, rec, refdata, TODAY)
    assert changes == {"CPLANDT": "24/11/2026", "DISD": None, "CJDISRSN": None}


def test_not_taken_on_closes_at_the_assessment_date(refdata: RefData) -> None:
    """FAQ 'assessed but did not engage': closed prior to caseload, dated at assessment."""
    rec = Record({"TRIAGED": D("2026-11-20"), "CJDISRSN": "10"})
    changes = decision_changes(Decision.NOT_TAKEN_ON, rec, refdata, TODAY)
    assert changes == {"CPLANDT": None, "DISD": "20/11/2026", "CJDISRSN": None}
    kept = Record({"TRIAGED": D("2026-11-20"), "CJDISRSN": "1"})
    assert decision_changes(Decision.NOT_TAKEN_ON, kept, refdata, TODAY) == {
        "CPLANDT": None,
        "DISD": "20/11/2026",
    }


def test_undecided_clears_the_decision(refdata: RefData) -> None:
    rec = Record({"CPLANDT": TODAY})
    changes = decision_changes(Decision.UNDECIDED, rec, refdata, TODAY)
    assert changes == {"CPLANDT": None, "DISD": None, "CJDISRSN": None}


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"CJDISRSN": "13"}, "PRISON"),  # transferred – in custody
        ({"CJDISRSN": "14"}, "DAT"),  # transferred to another CJIT area
        ({"CJDISRSN": "99", "CPLANDT": TODAY}, "DAT"),
        ({"CJDISRSN": "1"}, None),  # did not want to engage
        ({}, None),
    ],
)
def test_a_transfer_asks_where_to(
    refdata: RefData, values: dict[str, object], expected: str | None
) -> None:
    """Appendix E transfer reasons: in custody → a prison; otherwise another area (DAT)."""
    assert transfer_destination(Record(values), refdata) == expected  # type: ignore[arg-type]


def test_last_contact_is_the_latest_dated_contact() -> None:
    rec = Record(
        {"TRIAGED": D("2026-01-02"), "CPLANDT": D("2026-01-05")},
        [{"REFDATE": D("2026-02-01")}],
    )
    assert last_contact(rec, {}, "cjit-q") == D("2026-02-01")
    assert last_contact(rec, {LAST_SEEN: "03/03/2026"}, "cjit-q") == D("2026-03-03")
    assert last_contact(rec, {REVIEWED: "2026-04-04"}, "cjit-q") == D("2026-04-04")
    assert last_contact(Record(), {LAST_SEEN: "not a date"}, "cjit-q") is None


def test_last_contact_in_a_secure_setting() -> None:
    """Dataset R: reception, triage, interventions and discharge are contacts."""
    rec = Record(
        {"RECPDT": D("2026-06-01"), "TRIAGED": D("2026-06-02"), "DISD": D("2026-09-30")},
        [{"MODST": D("2026-06-03"), "MODEND": D("2026-09-29")}],
    )
    assert last_contact(rec, {}, "secure-r") == D("2026-09-30")
    assert last_contact(Record({"RECPDT": D("2026-06-01")}), {}, "secure-r") == D("2026-06-01")


def test_review_due_after_six_months_on_the_caseload() -> None:
    """Supplementary guidance, case reviews: flag clients not reviewed in six months."""
    assert "review" in _kinds(caseload_start=D("2026-05-01"), last_seen=D("2026-11-01"))
    assert "review" not in _kinds(
        caseload_start=D("2026-05-01"), last_review=D("2026-10-01"), last_seen=D("2026-11-01")
    )
    assert "review" not in _kinds(
        state=CjitState.CLOSED, caseload_start=D("2026-01-01"), last_seen=D("2026-11-01")
    )


def test_two_months_without_contact_suggests_dropping_out(refdata: RefData) -> None:
    """Dataset Q DISD / appendix E code 8: two months without face-to-face contact → close
    as 'incomplete – dropped out', dated at the last contact."""
    assert "no_contact" in _kinds(last_seen=D("2026-09-01"))
    assert "no_contact" not in _kinds(last_seen=D("2026-10-15"))
    assert dropped_out_closure(refdata, D("2026-09-01")) == {
        "DISD": "01/09/2026",
        "CJDISRSN": "8",
    }


def test_no_consent_and_errors_are_flagged() -> None:
    """Dataset Q CONSENT: a record without consent is never submitted."""
    assert _kinds(consented=False, errors=2) == ["no_consent", "errors"]
    assert _kinds() == []


def test_local_keys_are_never_checked(cjit: Validator) -> None:
    """Local notes (where a client went, last contact) are not NDTMS fields: no finding."""
    _, findings = cjit.check({TRANSFER_TO: "HMP", LAST_SEEN: "x"}, Context(today=TODAY))
    assert not [f for f in findings if f.field.startswith("_")]


def test_the_layout_names_every_section_once(refdata: RefData) -> None:
    for spec in refdata.datasets.values():
        named = [s for column in spec.layout for s in column]
        assert sorted(named) == sorted(set(named))
        assert set(named) <= {s.id for s in spec.sections}


def test_a_layout_naming_an_unknown_section_is_refused(tmp_path: object) -> None:
    import shutil
    from pathlib import Path

    copy = Path(str(tmp_path)) / "refdata"
    shutil.copytree(REFDATA, copy)
    path = copy / "datasets" / "cjit_q.toml"
    path.write_text(path.read_text().replace('"client", "consent"', '"client", "nowhere"'))
    with pytest.raises(RefDataError, match="nowhere"):
        load_refdata(copy)


def test_children_questions_apply_only_with_parental_responsibility(refdata: RefData) -> None:
    """Dataset Q PRNTSTAT / EHCS (appendix C): asked of clients with parental
    responsibility only; the sheet disables them otherwise, with the reason."""
    from desktop.domain.workflow import not_applicable

    spec = refdata.datasets["cjit-q"]
    shut = not_applicable(Record({"PARENT": "N"}), spec, refdata)
    assert {"PRNTSTAT", "EHCS", "EHCSC2", "EHCSC3"} <= shut.keys()
    assert "parental responsibility" in shut["PRNTSTAT"]
    assert "PRNTSTAT" not in not_applicable(Record({"PARENT": "Y"}), spec, refdata)
    # a value already typed is never shut away
    assert "PRNTSTAT" not in not_applicable(Record({"PRNTSTAT": "1"}), spec, refdata)


EHCS_Q = ("EHCS", "EHCSC2", "EHCSC3")


@pytest.mark.parametrize(
    ("parent", "children", "asked"),
    [
        ("Y", 0, True),
        ("N", 2, True),  # children live with the client, no parental responsibility
        ("Z", 1, True),
        ("N", 0, False),
        ("N", 98, False),  # the count declined: 98 is not a number of children
        (None, None, False),
    ],
)
def test_help_the_children_receive_is_asked_with_parental_responsibility_or_children_at_home(
    refdata: RefData, parent: str | None, children: int | None, asked: bool
) -> None:
    """Seed 001 (dataset Q v4.2) appendix C, EHCSC1/2/3: "if either parental responsibility
    is 'yes' or there are children under the age of 18 living in the same house as the
    client then this field should be completed". The sheet asks EHCS and its second and
    third answers in either case (the dataset file's 'applies'), and says why when not."""
    from desktop.domain.workflow import not_applicable

    spec = refdata.datasets["cjit-q"]
    values: dict[str, Value] = {}
    if parent is not None:
        values["PARENT"] = parent
    if children is not None:
        values["CHILDWTH"] = children
    shut = not_applicable(Record(values), spec, refdata)
    assert not (set(EHCS_Q) & shut.keys()) if asked else set(EHCS_Q) <= shut.keys()
    if not asked:
        assert "parental responsibility" in shut["EHCS"]
        assert "children under 18 in the household above 0" in shut["EHCS"]


@pytest.mark.parametrize("parent", ["Y", "N", "Z", None])
@pytest.mark.parametrize("children", [0, 1, 3, 98, None])
def test_the_sheet_never_shuts_help_the_children_receive_when_its_rule_asks_for_it(
    refdata: RefData, cjit: Validator, parent: str | None, children: int | None
) -> None:
    """Seed 001 appendix C: the rule that asks for EHCS (ehcs_asked_when_children) and the
    dataset file's 'applies' that opens it on the CJIT sheet agree on every combination of
    parental responsibility and children in the household."""
    from desktop.domain.workflow import not_applicable

    spec = refdata.datasets["cjit-q"]
    raw: dict[str, object] = {}
    if parent is not None:
        raw["PARENT"] = parent
    if children is not None:
        raw["CHILDWTH"] = children
    record, findings = cjit.check(raw, Context(today=TODAY))
    asks = any(f.rule_id == "ehcs_asked_when_children" for f in findings)
    shut = "EHCS" in not_applicable(record, spec, refdata)
    assert not (asks and shut)
    assert asks == (not shut)


def test_closure_reason_waits_for_its_date(refdata: RefData) -> None:
    """Dataset Q CJDISRSN follows DISD."""
    from desktop.domain.workflow import not_applicable

    spec = refdata.datasets["cjit-q"]
    shut = not_applicable(Record(), spec, refdata)
    assert "CJDISRSN" in shut
    open_ = not_applicable(Record({"DISD": TODAY, "CPLANDT": TODAY}), spec, refdata)
    assert "CJDISRSN" not in open_


@pytest.mark.parametrize(
    "values",
    [
        pytest.param({}, id="new-contact"),
        pytest.param({"TRIAGED": TODAY}, id="triaged-no-decision"),
        pytest.param({"TRIAGED": TODAY, "DISD": TODAY}, id="closed-prior-to-caseload"),
        pytest.param({"TRIAGED": TODAY, "CPLANDT": TODAY}, id="on-the-caseload"),
    ],
)
def test_naloxone_at_episode_start_is_asked_for_every_episode(
    refdata: RefData, cjit: Validator, values: dict[str, Value]
) -> None:
    """Seed 001 (dataset Q v4.2) NALOXISS: "whether the client has been issued with ...
    naloxone ... by provider at treatment start" — asked of every episode, not only once
    a caseload start date exists; a value given before any caseload decision is accepted."""
    from desktop.domain.workflow import not_applicable

    spec = refdata.datasets["cjit-q"]
    assert "NALOXISS" not in not_applicable(Record(dict(values)), spec, refdata)
    assert spec.by_header["NALOXISS"].applies == ()
    _, findings = cjit.check({"TRIAGED": "2026-11-01", "NALOXISS": "4"}, Context(today=TODAY))
    assert not [f for f in findings if f.field == "NALOXISS"]


def test_dropped_out_applies_only_on_the_caseload(refdata: RefData) -> None:
    """Dataset Q DISD / appendix E code 8: only a client on the caseload, unseen for two
    months, is suggested for closing as dropped out, dated at the last contact."""
    from desktop.domain.workflow import dropped_out_since

    on = Record({"TRIAGED": D("2026-01-01"), "CPLANDT": D("2026-01-02")})
    assert dropped_out_since(on, {LAST_SEEN: "01/09/2026"}, refdata, TODAY) == D("2026-09-01")
    assert dropped_out_since(on, {LAST_SEEN: "01/11/2026"}, refdata, TODAY) is None
    not_on = Record({"TRIAGED": D("2026-01-01")})
    assert dropped_out_since(not_on, {}, refdata, TODAY) is None
