"""Whole-record validation: requirements with the seeds' severities, field checks, codes."""

from __future__ import annotations

import copy
import random
from collections.abc import Callable
from datetime import date

import pytest

from desktop.domain.findings import Finding, Severity
from desktop.domain.record import Context
from desktop.domain.spec import RefData
from desktop.domain.synthetic import cjit_record, secure_record
from desktop.domain.validation import Validator
from tests.domain.conftest import TODAY


def _cjit(refdata: RefData, **changes: object) -> dict[str, object]:
    rec = cjit_record(refdata, random.Random(3), 1, TODAY)
    rec = copy.deepcopy(rec)
    for key, value in changes.items():
        if value is None:
            rec.pop(key, None)
        else:
            rec[key] = value
    return rec


def _secure(refdata: RefData, **changes: object) -> dict[str, object]:
    rec = copy.deepcopy(secure_record(refdata, random.Random(5), 1, TODAY))
    for key, value in changes.items():
        if value is None:
            rec.pop(key, None)
        else:
            rec[key] = value
    return rec


def _by(findings: list[Finding], field: str) -> list[Finding]:
    return [f for f in findings if f.field == field]


def test_a_complete_record_has_no_errors_or_warnings(
    cjit: Validator, secure: Validator, refdata: RefData, ctx: Context
) -> None:
    assert [f for f in cjit.validate(_cjit(refdata), ctx) if f.severity is not Severity.INFO] == []
    assert [
        f for f in secure.validate(_secure(refdata), ctx) if f.severity is not Severity.INFO
    ] == []


@pytest.mark.parametrize(
    "header",
    [
        "CLIENTID",
        "FINITIAL",
        "SINITIAL",
        "DOB",
        "SEX",
        "AGNCY",
        "CLIENT",
        "EPISODID",
        "CMSID",
        "DRUG1",
    ],
)
def test_required_reject_cjit_q(
    cjit: Validator, refdata: RefData, ctx: Context, header: str
) -> None:
    """Dataset Q v4.2: these fields 'MUST be completed. If not, the record will be rejected.'"""
    found = _by(cjit.validate(_cjit(refdata, **{header: None}), ctx), header)
    assert [(f.severity, f.rule_id) for f in found] == [(Severity.ERROR, "required_reject")]
    assert "rejects" in found[0].message


@pytest.mark.parametrize("header", ["DAT", "REFLD", "TRIAGED"])
def test_required_dq_cjit_q(cjit: Validator, refdata: RefData, ctx: Context, header: str) -> None:
    """Dataset Q v4.2: 'If not, data may be excluded from performance monitoring reports.'"""
    rec = _cjit(refdata, **{header: None})
    found = _by(cjit.validate(rec, ctx), header)
    assert (Severity.WARNING, "required_dq") in [(f.severity, f.rule_id) for f in found]


def test_required_reject_referral_id(cjit: Validator, refdata: RefData, ctx: Context) -> None:
    """Dataset Q v4.2 REFERID: must be completed or the record is rejected (per referral)."""
    rec = _cjit(
        refdata,
        CPLANDT="2026-01-10",
        referrals=[{"REFDATE": "2026-01-20"}],
        DISD=None,
        CJDISRSN=None,
    )
    found = [f for f in cjit.validate(rec, ctx) if f.field == "REFERID"]
    assert [(f.severity, f.rule_id, f.item) for f in found] == [
        (Severity.ERROR, "required_reject", 0)
    ]


@pytest.mark.parametrize("header", ["INTRCPTD", "RECPDT", "TRIAGED", "DRUG1", "AGNCY"])
def test_required_reject_secure_r(
    secure: Validator, refdata: RefData, ctx: Context, header: str
) -> None:
    """Dataset R v1.2: 'Must be completed. If not, the record will be rejected.'"""
    found = _by(secure.validate(_secure(refdata, **{header: None}), ctx), header)
    assert (Severity.ERROR, "required_reject") in [(f.severity, f.rule_id) for f in found]


def test_missing_intervention_type_is_a_warning_not_a_rejection(
    secure: Validator, refdata: RefData, ctx: Context
) -> None:
    """Seed 002 (dataset R v1.2) MODAL: "required as soon as the intervention is known" —
    no rejection is stated, so a blank intervention type is a warning that says when to
    record it, and the record has no error (import and Check do not refuse it)."""
    rec = _secure(refdata)
    items = rec["interventions"]
    assert isinstance(items, list)
    items[0].pop("MODAL")
    found = secure.validate(rec, ctx)
    modal = [f for f in found if f.field == "MODAL"]
    assert [(f.severity, f.rule_id, f.item) for f in modal] == [(Severity.WARNING, "required", 0)]
    assert "as soon as the intervention is known" in modal[0].message
    assert "reject" not in modal[0].message
    assert not [f for f in found if f.severity is Severity.ERROR]


@pytest.mark.parametrize(("dataset", "make"), [("cjit-q", _cjit), ("secure-r", _secure)])
def test_missing_consent_does_not_claim_ndtms_rejects_it(
    refdata: RefData, ctx: Context, dataset: str, make: Callable[..., dict[str, object]]
) -> None:
    """Seed 001 / 002 CONSENT: "client must give consent before their information can be
    sent to NDTMS" — the business definitions do not say a record without it is rejected,
    so the message says what a blank means instead (it stays an error: nothing is sent)."""
    validator = Validator(refdata, dataset)
    rec = make(refdata, CONSENT=None)
    (finding,) = _by(validator.validate(rec, ctx), "CONSENT")
    assert (finding.severity, finding.rule_id) == (Severity.ERROR, "required")
    assert "reject" not in finding.message and "nothing about the client is sent" in finding.message


@pytest.mark.parametrize("dataset", ["cjit-q", "secure-r"])
def test_only_the_seeds_rejection_fields_say_ndtms_rejects_the_record(
    refdata: RefData, dataset: str
) -> None:
    """Seed 001 / 002: "If not, the record will be rejected" is said of these fields only
    (CLIENTID, FINITIAL, SINITIAL, DOB, SEX, AGNCY, EPISODID, CMSID, DRUG1; in Q CLIENT and
    REFERID; in R INTRCPTD, RECPDT, TRIAGED and MODID). A blank field of any other kind
    never says NDTMS rejects the record."""
    spec = refdata.datasets[dataset]
    validator = Validator(refdata, dataset)
    said = {
        f.field
        for f in validator.validate({spec.items_key: [{}]}, Context(today=TODAY))
        if "rejects" in f.message
    }
    common = {"CLIENTID", "FINITIAL", "SINITIAL", "DOB", "SEX", "AGNCY", "EPISODID", "CMSID",
              "DRUG1"}  # fmt: skip
    own = (
        {"CLIENT", "REFERID"} if dataset == "cjit-q" else {"INTRCPTD", "RECPDT", "TRIAGED", "MODID"}
    )
    assert said == common | own


def test_required_dq_utla_secure_r(secure: Validator, refdata: RefData, ctx: Context) -> None:
    """Dataset R v1.2 UTLA: 'MUST be completed. If not, the data may be excluded...'."""
    found = _by(secure.validate(_secure(refdata, UTLA=None), ctx), "UTLA")
    assert [(f.severity, f.rule_id) for f in found] == [(Severity.WARNING, "required_dq")]


def test_required_when_parent_is_yes_prntstat(
    cjit: Validator, refdata: RefData, ctx: Context
) -> None:
    """Appendix C (Q and R): PRNTSTAT is needed when PARENT is yes."""
    rec = _cjit(refdata, PARENT="Y", PRNTSTAT=None, CHILDWTH=1, EHCS="1")
    found = _by(cjit.validate(rec, ctx), "PRNTSTAT")
    assert [(f.severity, f.rule_id) for f in found] == [(Severity.WARNING, "required_when")]
    rec = _cjit(refdata, PARENT="N", PRNTSTAT=None, CHILDWTH=0, EHCS=None)
    assert _by(cjit.validate(rec, ctx), "PRNTSTAT") == []


@pytest.mark.parametrize("header", ["RECONNECT", "THNALOX", "HOMELESSEXIT", "RTOAGNCY"])
def test_required_when_released(
    secure: Validator, refdata: RefData, ctx: Context, header: str
) -> None:
    """Dataset R v1.2: required when the client is released (EXITRSN = R)."""
    rec = _secure(
        refdata, DISD="2026-06-10", DISRSN="80", EXITD="2026-06-12", EXITRSN="R", **{header: None}
    )
    rec["interventions"] = [
        {"MODID": "m1", "MODAL": "13", "MODST": "2026-05-01", "MODEND": "2026-06-10"}
    ]
    found = _by(secure.validate(rec, ctx), header)
    assert (Severity.WARNING, "required_when") in [(f.severity, f.rule_id) for f in found]
    rec["EXITRSN"] = "T"
    rec["EXITDEST"] = "LEI"
    assert not [f for f in _by(secure.validate(rec, ctx), header) if f.rule_id == "required_when"]


@pytest.mark.parametrize("header", ["MHTXEXIT", "SENTENCED", "REFHEPCTX", "LIVSCRN"])
def test_required_at_exit(secure: Validator, refdata: RefData, ctx: Context, header: str) -> None:
    """Dataset R v1.2: required when the client leaves their current secure setting."""
    rec = _secure(
        refdata, DISD="2026-06-10", DISRSN="84", EXITD="2026-06-12", EXITRSN="T", EXITDEST="LEI"
    )
    rec["interventions"] = [
        {"MODID": "m1", "MODAL": "13", "MODST": "2026-05-01", "MODEND": "2026-06-10"}
    ]
    rec.pop(header, None)
    found = _by(secure.validate(rec, ctx), header)
    assert [(f.severity, f.rule_id) for f in found] == [(Severity.WARNING, "required_when")]


def test_required_at_discharge_npsuse(secure: Validator, refdata: RefData, ctx: Context) -> None:
    """Dataset R v1.2 NPSUSE: required when the client is discharged from treatment."""
    rec = _secure(refdata, DISD="2026-06-10", DISRSN="80", NPSUSE=None, EXITD=None, EXITRSN=None)
    rec["interventions"] = [
        {"MODID": "m1", "MODAL": "13", "MODST": "2026-05-01", "MODEND": "2026-06-10"}
    ]
    found = _by(secure.validate(rec, ctx), "NPSUSE")
    assert [(f.severity, f.rule_id) for f in found] == [(Severity.WARNING, "required_when")]


@pytest.mark.parametrize(
    ("header", "value", "rule"),
    [("ALCDDAYS", 29, "count_out_of_range"), ("ALCDDAYS", -1, "count_out_of_range"),
     ("ALCDDAYS", "-1", "field_format"),
     ("CHILDWTH", 31, "count_out_of_range"), ("FINITIAL", "MX", "field_format"),
     ("DOB", "2026-13-01", "field_format"), ("PC", "NR14", "field_format"),
     ("SEX", "M", "code_not_in_list"), ("AGNCY", "C123", "field_pattern"),
     ("CLIENT", "=cmd|' /C calc'!A0", "field_format")],
)  # fmt: skip
def test_field_checks_cjit(
    cjit: Validator, refdata: RefData, ctx: Context, header: str, value: object, rule: str
) -> None:
    found = _by(cjit.validate(_cjit(refdata, **{header: value}), ctx), header)
    assert [(f.severity, f.rule_id) for f in found] == [(Severity.ERROR, rule)]


def test_childwth_98_means_declined(cjit: Validator, refdata: RefData, ctx: Context) -> None:
    """Datasets Q/R CHILDWTH: a number, or 98 when the client declines to answer."""
    rec = _cjit(refdata, CHILDWTH=98, PARENT="N", PRNTSTAT=None, EHCS=None)
    assert _by(cjit.validate(rec, ctx), "CHILDWTH") == []


@pytest.mark.parametrize(("score", "ok"), [(0, True), (40, True), (41, False)])
def test_audit_score_0_to_40(
    secure: Validator, refdata: RefData, ctx: Context, score: int, ok: bool
) -> None:
    """Dataset R v1.2 AUDIT: the score should be between 0 and 40."""
    found = _by(secure.validate(_secure(refdata, AUDIT=score), ctx), "AUDIT")
    assert (found == []) is ok


def test_noms_number_shape_is_a_warning(secure: Validator, refdata: RefData, ctx: Context) -> None:
    """Dataset R v1.2 CLIENT: the NOMS ID where applicable (letter, 4 digits, 2 letters)."""
    found = _by(secure.validate(_secure(refdata, CLIENT="12345"), ctx), "CLIENT")
    assert [(f.severity, f.rule_id) for f in found] == [(Severity.WARNING, "field_pattern")]
    assert _by(secure.validate(_secure(refdata, CLIENT="A1234BC"), ctx), "CLIENT") == []


def test_dates_not_in_the_future(cjit: Validator, refdata: RefData, ctx: Context) -> None:
    found = _by(cjit.validate(_cjit(refdata, DOB="2027-01-01"), ctx), "DOB")
    assert ("date_not_in_future", Severity.ERROR) in [(f.rule_id, f.severity) for f in found]


def test_unknown_code_in_an_incomplete_list_is_a_warning(
    cjit: Validator, refdata: RefData, ctx: Context
) -> None:
    """DAT, UTLA and prison lists are incomplete: a well-shaped unknown code is only flagged."""
    found = _by(cjit.validate(_cjit(refdata, DAT="B07B"), ctx), "DAT")
    assert [(f.severity, f.rule_id) for f in found] == [
        (Severity.WARNING, "code_not_in_partial_list")
    ]
    found = _by(cjit.validate(_cjit(refdata, DAT="XYZ"), ctx), "DAT")
    assert [f.severity for f in found] == [Severity.ERROR]


def test_codes_accept_lower_case_and_numbers(
    cjit: Validator, refdata: RefData, ctx: Context
) -> None:
    rec = _cjit(refdata, DISABLE1="nn", ALCDDAYS="3", NALOXISS=4)
    assert [f for f in cjit.validate(rec, ctx) if f.severity is not Severity.INFO] == []


def test_expired_code_is_flagged(refdata: RefData, ctx: Context) -> None:
    import dataclasses

    ethnic = refdata.lists["ETHNIC"]
    old = dataclasses.replace(ethnic.codes["A"], valid_to=date(2020, 3, 31))
    lists = dict(refdata.lists)
    lists["ETHNIC"] = dataclasses.replace(ethnic, codes={**ethnic.codes, "A": old})
    validator = Validator(dataclasses.replace(refdata, lists=lists), "cjit-q")
    found = _by(validator.validate(_cjit(refdata, ETHNIC="A"), ctx), "ETHNIC")
    assert [(f.severity, f.rule_id) for f in found] == [(Severity.WARNING, "code_no_longer_valid")]


def test_unknown_and_misplaced_fields_are_reported_not_fatal(
    cjit: Validator, refdata: RefData, ctx: Context
) -> None:
    rec = _cjit(refdata, NAME="Joe Bloggs", REFDATE="2026-01-01")
    rules = {(f.field, f.rule_id) for f in cjit.validate(rec, ctx)}
    assert ("NAME", "unknown_field") in rules and ("REFDATE", "field_in_wrong_place") in rules


@pytest.mark.parametrize("raw", [[], "text", 3, None, {"referrals": "x"}, {"referrals": [1, None]}])
def test_malformed_input_gives_findings_not_exceptions(
    cjit: Validator, ctx: Context, raw: object
) -> None:
    findings = cjit.validate(raw, ctx)
    assert any(f.severity is Severity.ERROR for f in findings)


def test_partial_test_date_gives_an_info_note(
    secure: Validator, refdata: RefData, ctx: Context
) -> None:
    found = _by(secure.validate(_secure(refdata, HIVTESTDT="2024"), ctx), "HIVTESTDT")
    assert [(f.severity, f.rule_id) for f in found] == [(Severity.INFO, "partial_date_recorded")]
    assert "1 January 2024" in found[0].message
