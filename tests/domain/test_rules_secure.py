"""Cross-field rules of the NDTMS adult secure settings dataset R (business definitions v1.2).

Each rule in ``desktop/domain/rules/secure.py`` has tests named ``test_<rule>...``: cases
where it fires (exact field, severity and intervention index) and valid variants where it
must stay silent. Every case starts from a complete synthetic record (fixed seed, fixed
day) and changes only the fields the case is about.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable
from datetime import date, timedelta

import pytest

from desktop.domain.findings import Finding
from desktop.domain.record import Context
from desktop.domain.rules import REGISTRY, rules_for
from desktop.domain.spec import RefData
from desktop.domain.synthetic import records
from desktop.domain.validation import Validator
from tests.domain.rulekit import (
    BLANK,
    ERROR,
    INFO,
    SEED,
    TODAY,
    WARNING,
    Change,
    Expected,
    Raw,
    assert_fires,
    assert_silent,
    day,
    edit,
    edit_item,
    rel,
)


def edit_intervention(rec: Raw, index: int, changes: dict[str, object]) -> Raw:
    """A deep copy of ``rec`` with ``changes`` applied to intervention ``index``."""
    return edit_item(rec, "interventions", index, changes)


# -- helpers --------------------------------------------------------------------------------

CTX = Context(today=TODAY, agency_dat=None)
DATASET = "secure-r"
RULES_MODULE = "desktop.domain.rules.secure"

# Codes used below (refdata/codes/*.csv).
PRISON = "ACI"  # HMP Altcourse
NON_NDTMS_SECURE = "NNR"  # tag non_ndtms_secure (e.g. a secure hospital)
LOCAL_AUTHORITY = "E08000024"  # a UTLA
OUTSIDE_UK = "Z99999999"  # UTLA tag outside_uk
OST, NOT_OST = "8", "12"  # MODAL: opioid maintenance – methadone (ost); psychosocial


def add_intervention(rec: Raw, **fields: object) -> Raw:
    """A deep copy of ``rec`` with a further intervention (a copy of the first, then ``fields``)."""
    out = copy.deepcopy(rec)
    item = dict(out["interventions"][0])
    item["MODID"] = f"{item.get('MODID', 'm')}-2"
    for header, value in fields.items():
        if value is BLANK:
            item.pop(header, None)
        else:
            item[header] = value
    out["interventions"].append(item)
    return out


def item_rel(rec: Raw, index: int, header: str, days: int) -> str:
    """Like :func:`rel`, for a date of intervention ``index``."""
    base = date.fromisoformat(rec["interventions"][index][header])
    return (base + timedelta(days=days)).isoformat()


def first_synthetic(refdata: RefData, wanted: Callable[[Raw], bool]) -> Raw:
    """The first synthetic secure-setting record (seed ``SEED``) of the wanted shape."""
    for rec in records(refdata, DATASET, 300, seed=SEED, today=TODAY):
        if wanted(rec):
            return rec
    raise LookupError("no synthetic secure-setting record of the wanted shape")


def not_errors_or_warnings(found: Iterable[Finding]) -> list[Finding]:
    return [f for f in found if f.severity is not INFO]


def long_ago(rec: Raw) -> bool:
    """Triaged at least 400 days before TODAY: room for long treatment in the past."""
    return date.fromisoformat(rec["TRIAGED"]) <= TODAY - timedelta(days=400)


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def validator(refdata: RefData) -> Validator:
    return Validator(refdata, DATASET)


@pytest.fixture(scope="module")
def bases(refdata: RefData) -> dict[str, Raw]:
    """Clean complete records in the shapes a secure-setting episode takes."""
    return {
        # first setting of the stay, still in treatment, one open intervention
        "open": first_synthetic(
            refdata, lambda r: "DISD" not in r and "PRISON" not in r and long_ago(r)
        ),
        # discharged from treatment, not yet exited, one ended intervention
        "discharged": first_synthetic(
            refdata, lambda r: "DISD" in r and "EXITD" not in r and long_ago(r)
        ),
        # discharged (completed) and released: RTOAGNCY 'no onward referral', EXITDEST a UTLA
        "exited": first_synthetic(refdata, lambda r: "EXITD" in r),
        # first secure setting of the stay: INTRCPTD == RECPDT, PRISON blank
        "first_setting": first_synthetic(refdata, lambda r: r["INTRCPTD"] == r["RECPDT"]),
        # transferred in: RECPDT after INTRCPTD, PRISON given
        "transferred": first_synthetic(refdata, lambda r: "PRISON" in r),
    }


@pytest.fixture(scope="module")
def check(validator: Validator) -> Callable[[Raw], list[Finding]]:
    def run(rec: Raw) -> list[Finding]:
        found = validator.validate(rec, CTX)
        assert not [f for f in found if f.rule_id == "rule_could_not_run"], found
        return found

    return run


Run = Callable[[Raw], list[Finding]]


def test_base_records_are_clean(bases: dict[str, Raw], check: Run) -> None:
    """The unchanged synthetic records the cases start from have no error or warning."""
    exited = bases["exited"]
    assert (exited["EXITRSN"], exited["RTOAGNCY"], exited["DISRSN"]) == ("R", "4", "80")
    assert exited["EXITDEST"] == LOCAL_AUTHORITY
    for rec in bases.values():
        assert not_errors_or_warnings(check(rec)) == []


# -- the registry ---------------------------------------------------------------------------


def test_every_secure_rule_has_a_test() -> None:
    """Every rule registered from rules/secure.py has a test_<rule> function in this file."""
    rules_for("R")  # imports every rule module
    ids = {r.id for r in REGISTRY if r.fn.__module__ == RULES_MODULE}
    assert ids
    tests = {name for name, obj in globals().items() if name.startswith("test_") and callable(obj)}
    missing = {
        rule_id
        for rule_id in ids
        if not any(t == f"test_{rule_id}" or t.startswith(f"test_{rule_id}_") for t in tests)
    }
    assert missing == set()


# -- secure_reception_dates_in_order --------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            lambda r: edit(r, {"RECPDT": rel(r, "INTRCPTD", -1)}),
            {("RECPDT", ERROR, None)},
            id="reception-here-before-initial",
        ),
        pytest.param(
            lambda r: edit(r, {"TRIAGED": rel(r, "RECPDT", -1)}),
            {("TRIAGED", ERROR, None)},
            id="triage-before-reception-here",
        ),
        pytest.param(
            lambda r: edit(r, {"INTRCPTD": rel(r, "RECPDT", 1), "TRIAGED": rel(r, "RECPDT", -1)}),
            {("RECPDT", ERROR, None), ("TRIAGED", ERROR, None)},
            id="both-out-of-order",
        ),
    ],
)
def test_secure_reception_dates_in_order(
    bases: dict[str, Raw], check: Run, change: Change, expected: set[Expected]
) -> None:
    """INTRCPTD ≤ RECPDT ≤ TRIAGED (dataset R v1.2, fields INTRCPTD, RECPDT and TRIAGED)."""
    found = check(change(bases["first_setting"]))
    assert_fires(found, "secure_reception_dates_in_order", *expected)


@pytest.mark.parametrize(
    ("base", "change"),
    [
        pytest.param("first_setting", lambda r: r, id="first-setting"),
        pytest.param("transferred", lambda r: r, id="transferred"),
        pytest.param(
            "first_setting",
            lambda r: edit(r, {"RECPDT": r["INTRCPTD"], "TRIAGED": r["INTRCPTD"]}),
            id="all-same-day",
        ),
    ],
)
def test_secure_reception_dates_in_order_silent(
    bases: dict[str, Raw], check: Run, base: str, change: Change
) -> None:
    """Dates in order, same day allowed (dataset R v1.2, INTRCPTD, RECPDT and TRIAGED)."""
    found = check(change(bases[base]))
    assert_silent(found, "secure_reception_dates_in_order")


# -- secure_transferred_from_only_after_transfer --------------------------------------------


@pytest.mark.parametrize(
    ("base", "changes"),
    [
        pytest.param("first_setting", {"PRISON": PRISON}, id="first-setting-with-prison"),
        pytest.param("transferred", {"PRISON": BLANK}, id="transfer-without-prison"),
    ],
)
def test_secure_transferred_from_only_after_transfer(
    bases: dict[str, Raw], check: Run, base: str, changes: dict[str, object]
) -> None:
    """PRISON blank on the first setting of the stay, given after a transfer.

    Source: dataset R v1.2 field PRISON ("if this is the first secure setting the client has
    entered during this custodial period this field should be left blank").
    """
    found = check(edit(bases[base], changes))
    assert_fires(found, "secure_transferred_from_only_after_transfer", ("PRISON", WARNING, None))


@pytest.mark.parametrize(
    ("base", "change"),
    [
        pytest.param("first_setting", lambda r: r, id="first-setting-blank"),
        pytest.param("transferred", lambda r: r, id="transfer-with-prison"),
        pytest.param(
            "transferred", lambda r: edit(r, {"PRISON": NON_NDTMS_SECURE}), id="from-hospital"
        ),
        pytest.param(
            "first_setting",
            lambda r: edit(r, {"RECPDT": rel(r, "INTRCPTD", -1), "PRISON": BLANK}),
            id="dates-reversed-left-to-order-rule",
        ),
        pytest.param(
            "transferred",
            lambda r: edit(r, {"INTRCPTD": BLANK}),
            id="initial-reception-blank",
        ),
    ],
)
def test_secure_transferred_from_only_after_transfer_silent(
    bases: dict[str, Raw], check: Run, base: str, change: Change
) -> None:
    """PRISON matches whether RECPDT is after INTRCPTD (dataset R v1.2, field PRISON)."""
    found = check(change(bases[base]))
    assert_silent(found, "secure_transferred_from_only_after_transfer")


# -- secure_intervention_end_not_before_start -----------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            lambda r: edit_intervention(r, 0, {"MODEND": item_rel(r, 0, "MODST", -1)}),
            {("MODEND", ERROR, 0)},
            id="ends-day-before-start",
        ),
        pytest.param(
            lambda r: edit_intervention(r, 0, {"MODST": BLANK}),
            {("MODST", ERROR, 0)},
            id="end-without-start",
        ),
        pytest.param(
            lambda r: add_intervention(r, MODEND=item_rel(r, 0, "MODST", -3)),
            {("MODEND", ERROR, 1)},
            id="second-ends-before-start",
        ),
    ],
)
def test_secure_intervention_end_not_before_start(
    bases: dict[str, Raw], check: Run, change: Change, expected: set[Expected]
) -> None:
    """MODEND ≥ MODST, and an ended intervention has a start (dataset R, MODST and MODEND)."""
    found = check(change(bases["discharged"]))
    assert_fires(found, "secure_intervention_end_not_before_start", *expected)


@pytest.mark.parametrize(
    ("base", "change"),
    [
        pytest.param("discharged", lambda r: r, id="ended"),
        pytest.param(
            "discharged",
            lambda r: edit_intervention(r, 0, {"MODEND": r["interventions"][0]["MODST"]}),
            id="ends-the-day-it-starts",
        ),
        pytest.param("open", lambda r: r, id="open"),
        pytest.param(
            "open", lambda r: edit_intervention(r, 0, {"MODST": BLANK}), id="open-no-dates"
        ),
    ],
)
def test_secure_intervention_end_not_before_start_silent(
    bases: dict[str, Raw], check: Run, base: str, change: Change
) -> None:
    """MODEND on or after MODST, or not yet ended (dataset R, treatment intervention details)."""
    found = check(change(bases[base]))
    assert_silent(found, "secure_intervention_end_not_before_start")


# -- secure_intervention_inside_episode -----------------------------------------------------


@pytest.mark.parametrize(
    ("base", "change", "expected"),
    [
        pytest.param(
            "first_setting",
            lambda r: edit_intervention(r, 0, {"MODST": rel(r, "RECPDT", -1)}),
            {("MODST", WARNING, 0)},
            id="starts-before-reception",
        ),
        pytest.param(
            "transferred",
            lambda r: edit_intervention(r, 0, {"MODST": rel(r, "RECPDT", -1)}),
            {("MODST", WARNING, 0)},
            id="starts-before-reception-here-after-transfer",
        ),
        pytest.param(
            "discharged",
            lambda r: edit_intervention(r, 0, {"MODST": rel(r, "DISD", 1)}),
            {("MODST", ERROR, 0)},
            id="starts-after-discharge",
        ),
        pytest.param(
            "discharged",
            lambda r: add_intervention(r, MODST=rel(r, "DISD", 2), MODEND=rel(r, "DISD", 3)),
            {("MODST", ERROR, 1)},
            id="second-starts-after-discharge",
        ),
    ],
)
def test_secure_intervention_inside_episode(
    bases: dict[str, Raw], check: Run, base: str, change: Change, expected: set[Expected]
) -> None:
    """MODST not before the episode began (warning) and not after DISD (error).

    Source: dataset R v1.2, episode details (one triage date and one discharge date, with the
    interventions between them) and DISD.
    """
    found = check(change(bases[base]))
    assert_fires(found, "secure_intervention_inside_episode", *expected)


@pytest.mark.parametrize(
    ("base", "change"),
    [
        pytest.param("discharged", lambda r: r, id="inside"),
        pytest.param(
            "first_setting",
            lambda r: edit_intervention(r, 0, {"MODST": r["TRIAGED"]}),
            id="starts-on-triage",
        ),
        pytest.param(
            "discharged",
            lambda r: edit_intervention(r, 0, {"MODST": r["DISD"]}),
            id="starts-on-discharge",
        ),
        pytest.param(
            "open", lambda r: edit_intervention(r, 0, {"MODST": BLANK}), id="no-start-date"
        ),
    ],
)
def test_secure_intervention_inside_episode_silent(
    bases: dict[str, Raw], check: Run, base: str, change: Change
) -> None:
    """MODST from TRIAGED to DISD inclusive (dataset R v1.2, episode details and DISD)."""
    found = check(change(bases[base]))
    assert_silent(found, "secure_intervention_inside_episode")


# -- secure_intervention_ids_unique ---------------------------------------------------------


def test_secure_intervention_ids_unique(bases: dict[str, Raw], check: Run) -> None:
    """A second intervention reusing a MODID is an error on it (dataset R, field MODID)."""
    rec = bases["discharged"]
    found = check(add_intervention(rec, MODID=rec["interventions"][0]["MODID"]))
    assert_fires(found, "secure_intervention_ids_unique", ("MODID", ERROR, 1))


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda r: r, id="one"),
        pytest.param(lambda r: add_intervention(r), id="two-distinct"),
        pytest.param(
            lambda r: add_intervention(edit_intervention(r, 0, {"MODID": BLANK}), MODID=BLANK),
            id="both-blank",
        ),
    ],
)
def test_secure_intervention_ids_unique_silent(
    bases: dict[str, Raw], check: Run, change: Change
) -> None:
    """Distinct (or blank) MODIDs (dataset R v1.2, field MODID)."""
    found = check(change(bases["discharged"]))
    assert_silent(found, "secure_intervention_ids_unique")


# -- secure_discharge_date_and_reason_together ----------------------------------------------


@pytest.mark.parametrize(("blank", "field"), [("DISRSN", "DISRSN"), ("DISD", "DISD")])
def test_secure_discharge_date_and_reason_together(
    bases: dict[str, Raw], check: Run, blank: str, field: str
) -> None:
    """A discharge date without a reason, or a reason without a date, is an error.

    Source: dataset R v1.2, fields DISD and DISRSN.
    """
    found = check(edit(bases["discharged"], {blank: BLANK}))
    assert_fires(found, "secure_discharge_date_and_reason_together", (field, ERROR, None))


@pytest.mark.parametrize("base", ["discharged", "exited", "open"])
def test_secure_discharge_date_and_reason_together_silent(
    bases: dict[str, Raw], check: Run, base: str
) -> None:
    """Both given, or neither while in treatment (dataset R v1.2, DISD and DISRSN)."""
    assert_silent(check(bases[base]), "secure_discharge_date_and_reason_together")


# -- secure_interventions_ended_before_discharge --------------------------------------------


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        pytest.param(
            lambda r: edit_intervention(r, 0, {"MODEND": BLANK}),
            {("MODEND", ERROR, 0)},
            id="not-ended",
        ),
        pytest.param(
            lambda r: edit_intervention(r, 0, {"MODEND": rel(r, "DISD", 1)}),
            {("MODEND", ERROR, 0)},
            id="ends-after-discharge",
        ),
        pytest.param(
            lambda r: add_intervention(r, MODEND=BLANK),
            {("MODEND", ERROR, 1)},
            id="second-not-ended",
        ),
    ],
)
def test_secure_interventions_ended_before_discharge(
    bases: dict[str, Raw], check: Run, change: Change, expected: set[Expected]
) -> None:
    """At discharge every intervention has a MODEND on or before DISD.

    Source: dataset R v1.2 fields DISD and DISRSN ("prior to discharge all interventions must
    have end dates") and MODEND.
    """
    found = check(change(bases["discharged"]))
    assert_fires(found, "secure_interventions_ended_before_discharge", *expected)


@pytest.mark.parametrize(
    ("base", "change"),
    [
        pytest.param("discharged", lambda r: r, id="ended-on-discharge"),
        pytest.param(
            "discharged",
            lambda r: edit_intervention(r, 0, {"MODEND": rel(r, "DISD", -1)}),
            id="ended-before-discharge",
        ),
        pytest.param("open", lambda r: r, id="not-discharged-open-intervention"),
    ],
)
def test_secure_interventions_ended_before_discharge_silent(
    bases: dict[str, Raw], check: Run, base: str, change: Change
) -> None:
    """Ended on or before DISD, or no discharge yet (dataset R v1.2, DISD, DISRSN, MODEND)."""
    found = check(change(bases[base]))
    assert_silent(found, "secure_interventions_ended_before_discharge")


# -- secure_discharge_not_before_triage -----------------------------------------------------


@pytest.mark.parametrize("days", [-1, -20])
def test_secure_discharge_not_before_triage(bases: dict[str, Raw], check: Run, days: int) -> None:
    """DISD before TRIAGED is an error (dataset R v1.2, fields TRIAGED and DISD)."""
    rec = bases["discharged"]
    found = check(edit(rec, {"DISD": rel(rec, "TRIAGED", days)}))
    assert_fires(found, "secure_discharge_not_before_triage", ("DISD", ERROR, None))


@pytest.mark.parametrize("days", [0, 1])
def test_secure_discharge_not_before_triage_silent(
    bases: dict[str, Raw], check: Run, days: int
) -> None:
    """DISD on or after TRIAGED (dataset R v1.2, fields TRIAGED and DISD)."""
    rec = bases["discharged"]
    found = check(edit(rec, {"DISD": rel(rec, "TRIAGED", days)}))
    assert_silent(found, "secure_discharge_not_before_triage")


# -- secure_clinical_review_for_ost_clients -------------------------------------------------

Span = tuple[str, int, int | None]  # MODAL, start (days after TRIAGED), days inclusive or open


def treatment(rec: Raw, spans: list[Span], clinrev: str | None, discharged: bool) -> Raw:
    """``rec`` with interventions over ``spans``; discharged on the last end, if so."""
    out = edit(rec, {"CLINREV": clinrev})
    triaged = day(out, "TRIAGED")
    items, last = [], triaged
    for k, (modal, start, days) in enumerate(spans):
        first = triaged + timedelta(days=start)
        item: dict[str, object] = {"MODID": f"mt{k}", "MODAL": modal, "MODST": first.isoformat()}
        if days is not None:
            end = first + timedelta(days=days - 1)
            item["MODEND"] = end.isoformat()
            last = max(last, end)
        items.append(item)
    out["interventions"] = items
    if discharged:
        out["DISD"] = last.isoformat()
    return out


@pytest.mark.parametrize(
    ("spans", "clinrev"),
    [
        pytest.param([(OST, 0, 91)], None, id="13-weeks-ost-no-review"),
        pytest.param([(OST, 0, 200)], None, id="200-days-ost-no-review"),
        pytest.param([(OST, 0, 50), (OST, 50, 50)], None, id="two-ost-spells-100-days"),
        pytest.param([(OST, 0, 90)], "Y", id="90-days-ost-review-filled"),
        pytest.param([(OST, 0, 60), (OST, 0, 60)], "Y", id="overlap-counted-once"),
        pytest.param([(NOT_OST, 0, 200)], "N", id="no-ost-review-filled"),
    ],
)
def test_secure_clinical_review_for_ost_clients(
    bases: dict[str, Raw], check: Run, spans: list[Span], clinrev: str | None
) -> None:
    """CLINREV is answered at discharge after 13 weeks (91 days) of OST, else left blank.

    Source: dataset R v1.2 field CLINREV ("only applicable to clients receiving opioid
    substitution treatment"; "if client receiving OST for less than 13 weeks ... or client
    is not receiving OST then leave blank"; required when discharged).
    """
    found = check(treatment(bases["discharged"], spans, clinrev, discharged=True))
    assert_fires(found, "secure_clinical_review_for_ost_clients", ("CLINREV", WARNING, None))


def test_secure_clinical_review_for_ost_clients_open_ost_counts_to_today(
    bases: dict[str, Raw], check: Run
) -> None:
    """An open OST intervention counts up to today: 30 days so far, CLINREV must be blank.

    Source: dataset R v1.2 field CLINREV (leave blank under 13 weeks of OST).
    """
    rec = bases["open"]
    rec = edit_intervention(
        rec, 0, {"MODAL": OST, "MODST": (TODAY - timedelta(days=29)).isoformat()}
    )
    found = check(edit(rec, {"CLINREV": "Y"}))
    assert_fires(found, "secure_clinical_review_for_ost_clients", ("CLINREV", WARNING, None))


@pytest.mark.parametrize(
    ("spans", "clinrev", "discharged"),
    [
        pytest.param([(OST, 0, 91)], "Y", True, id="13-weeks-reviewed"),
        pytest.param([(OST, 0, 91)], "N", True, id="13-weeks-not-reviewed"),
        pytest.param([(OST, 0, 90)], None, True, id="90-days-blank"),
        pytest.param([(OST, 0, 60), (OST, 0, 60)], None, True, id="overlap-60-days-blank"),
        pytest.param([(OST, 0, 50), (OST, 50, 50)], "N", True, id="two-spells-answered"),
        pytest.param([(NOT_OST, 0, 200)], None, True, id="no-ost-blank"),
        pytest.param([(OST, 0, 200)], None, False, id="ost-ongoing-not-yet-discharged"),
        pytest.param([(OST, 0, None)], "Y", False, id="open-ost-long-running-answered"),
    ],
)
def test_secure_clinical_review_for_ost_clients_silent(
    bases: dict[str, Raw],
    check: Run,
    spans: list[Span],
    clinrev: str | None,
    discharged: bool,
) -> None:
    """Answered after 13 weeks of OST, blank otherwise; required only at discharge.

    Source: dataset R v1.2 field CLINREV.
    """
    base = bases["discharged"] if discharged else bases["open"]
    found = check(treatment(base, spans, clinrev, discharged=discharged))
    assert_silent(found, "secure_clinical_review_for_ost_clients")


# -- secure_exit_date_and_reason_together ---------------------------------------------------


@pytest.mark.parametrize(("blank", "field"), [("EXITRSN", "EXITRSN"), ("EXITD", "EXITD")])
def test_secure_exit_date_and_reason_together(
    bases: dict[str, Raw], check: Run, blank: str, field: str
) -> None:
    """An exit date without a reason, or a reason without a date, is an error.

    Source: dataset R v1.2, fields EXITD and EXITRSN.
    """
    found = check(edit(bases["exited"], {blank: BLANK}))
    assert_fires(found, "secure_exit_date_and_reason_together", (field, ERROR, None))


@pytest.mark.parametrize("base", ["exited", "discharged", "open"])
def test_secure_exit_date_and_reason_together_silent(
    bases: dict[str, Raw], check: Run, base: str
) -> None:
    """Both given, or neither before exit (dataset R v1.2, EXITD and EXITRSN)."""
    assert_silent(check(bases[base]), "secure_exit_date_and_reason_together")


# -- secure_no_exit_before_discharge --------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param(lambda r: edit(r, {"DISD": BLANK}), "DISD", id="exit-without-discharge"),
        pytest.param(
            lambda r: edit(r, {"DISD": rel(r, "EXITD", 1)}), "DISD", id="discharge-after-exit"
        ),
        pytest.param(
            lambda r: edit(r, {"EXITD": rel(r, "RECPDT", -1), "DISD": rel(r, "RECPDT", -1)}),
            "EXITD",
            id="exit-before-reception",
        ),
    ],
)
def test_secure_no_exit_before_discharge(
    bases: dict[str, Raw], check: Run, change: Change, field: str
) -> None:
    """Before EXITD the episode has a DISD on or before it; EXITD not before RECPDT.

    Source: dataset R v1.2 fields EXITD and EXITRSN ("prior to exit all episodes must have
    discharge dates and discharge reasons").
    """
    found = check(change(bases["exited"]))
    assert_fires(found, "secure_no_exit_before_discharge", (field, ERROR, None))


@pytest.mark.parametrize(
    ("base", "change"),
    [
        pytest.param("exited", lambda r: r, id="exit-after-discharge"),
        pytest.param("exited", lambda r: edit(r, {"EXITD": r["DISD"]}), id="same-day"),
        pytest.param(
            "exited",
            lambda r: edit(r, {"EXITD": r["RECPDT"], "DISD": r["RECPDT"]}),
            id="exit-on-reception-day",
        ),
        pytest.param("discharged", lambda r: r, id="no-exit-yet"),
        pytest.param("open", lambda r: r, id="in-treatment"),
    ],
)
def test_secure_no_exit_before_discharge_silent(
    bases: dict[str, Raw], check: Run, base: str, change: Change
) -> None:
    """DISD on or before EXITD, or no exit (dataset R v1.2, EXITD and EXITRSN)."""
    found = check(change(bases[base]))
    assert_silent(found, "secure_no_exit_before_discharge")


# -- secure_exit_destination_when_needed ----------------------------------------------------


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"EXITRSN": "T"}, id="transferred"),
        pytest.param({"RTOAGNCY": "1"}, id="released-referred-structured"),
        pytest.param({"RTOAGNCY": "2"}, id="released-referred-structured-and-recovery"),
        pytest.param({"RTOAGNCY": "3"}, id="released-referred-recovery"),
    ],
)
def test_secure_exit_destination_when_needed(
    bases: dict[str, Raw], check: Run, changes: dict[str, object]
) -> None:
    """EXITDEST blank on a transfer, or on a release with an onward referral, is flagged.

    Source: dataset R v1.2 field EXITDEST ("required if ... exit reason is 'transferred', or
    if the client is 'released' and referred to a structured treatment service or recovery
    support service"); appendix G.
    """
    found = check(edit(bases["exited"], {**changes, "EXITDEST": BLANK}))
    assert_fires(found, "secure_exit_destination_when_needed", ("EXITDEST", WARNING, None))


@pytest.mark.parametrize(
    ("scenario", "changes"),
    [
        pytest.param(2, {"DISRSN": "71", "RTOAGNCY": "4"}, id="2-refused-no-referral"),
        pytest.param(4, {"DISRSN": "80", "RTOAGNCY": "4"}, id="4-drug-free-no-referral"),
        pytest.param(4, {"DISRSN": "81", "RTOAGNCY": BLANK}, id="4-alcohol-free-referral-blank"),
        pytest.param(5, {"DISRSN": "99", "RTOAGNCY": "4"}, id="5-released-from-court"),
    ],
)
def test_secure_exit_destination_when_needed_every_appendix_g_release(
    bases: dict[str, Raw], check: Run, scenario: int, changes: dict[str, object]
) -> None:
    """Seed 002 (dataset R v1.2) appendix G: in every release scenario, with or without an
    onward referral, "the exit destination should be populated with the Upper Tier Local
    Authority"; a blank destination is flagged, naming the scenario."""
    found = check(edit(bases["exited"], {**changes, "EXITDEST": BLANK}))
    assert_fires(found, "secure_exit_destination_when_needed", ("EXITDEST", WARNING, None))
    (hit,) = [f for f in found if f.rule_id == "secure_exit_destination_when_needed"]
    assert f"Appendix G scenario {scenario}" in hit.message


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({}, id="released-with-destination"),
        pytest.param(
            {"DISRSN": "85", "RTOAGNCY": "4", "EXITDEST": BLANK},
            id="released-after-dropping-out-no-referral",
        ),
        pytest.param({"EXITRSN": "A", "EXITDEST": BLANK}, id="absconded"),
        pytest.param({"EXITRSN": "D", "EXITDEST": BLANK}, id="died"),
        pytest.param({"EXITRSN": "T", "EXITDEST": PRISON}, id="transferred-with-destination"),
        pytest.param({"RTOAGNCY": "1"}, id="referred-with-destination"),
    ],
)
def test_secure_exit_destination_when_needed_silent(
    bases: dict[str, Raw], check: Run, changes: dict[str, object]
) -> None:
    """EXITDEST given, or not needed for the exit (dataset R v1.2 field EXITDEST; app. G)."""
    found = check(edit(bases["exited"], changes))
    assert_silent(found, "secure_exit_destination_when_needed")


# -- secure_exit_destination_matches_reason -------------------------------------------------


@pytest.mark.parametrize(
    ("reason", "dest"),
    [
        pytest.param("T", LOCAL_AUTHORITY, id="transfer-to-local-authority"),
        pytest.param("T", OUTSIDE_UK, id="transfer-outside-uk"),
        pytest.param("R", PRISON, id="release-to-prison"),
    ],
)
def test_secure_exit_destination_matches_reason(
    bases: dict[str, Raw], check: Run, reason: str, dest: str
) -> None:
    """A transfer goes to a secure setting; a release to a local authority or outside the UK.

    Source: dataset R v1.2 field EXITDEST and appendix D (a transfer to a secure hospital is
    recorded as released to a non-NDTMS reporting secure setting).
    """
    found = check(edit(bases["exited"], {"EXITRSN": reason, "EXITDEST": dest}))
    assert_fires(found, "secure_exit_destination_matches_reason", ("EXITDEST", WARNING, None))


@pytest.mark.parametrize(
    ("reason", "dest"),
    [
        pytest.param("T", PRISON, id="transfer-to-prison"),
        pytest.param("R", LOCAL_AUTHORITY, id="release-to-local-authority"),
        pytest.param("R", OUTSIDE_UK, id="release-outside-uk"),
        pytest.param("R", NON_NDTMS_SECURE, id="release-to-secure-hospital"),
        pytest.param("A", PRISON, id="absconded"),
        pytest.param("R", BLANK, id="no-destination"),
    ],
)
def test_secure_exit_destination_matches_reason_silent(
    bases: dict[str, Raw], check: Run, reason: str, dest: str | None
) -> None:
    """Destinations that fit the exit reason (dataset R v1.2, EXITDEST and appendix D)."""
    found = check(edit(bases["exited"], {"EXITRSN": reason, "EXITDEST": dest}))
    assert_silent(found, "secure_exit_destination_matches_reason")


def test_secure_exit_destination_matches_reason_secure_hospital_is_released(
    bases: dict[str, Raw], check: Run
) -> None:
    """A transfer to a secure hospital is recorded as released, not transferred.

    Source: dataset R v1.2 appendix D, "Transferring clients to a secure hospital" (exit
    status released, destination non-NDTMS reporting secure setting).
    """
    found = check(edit(bases["exited"], {"EXITRSN": "T", "EXITDEST": NON_NDTMS_SECURE}))
    assert_fires(found, "secure_exit_destination_matches_reason", ("EXITRSN", WARNING, None))


def test_secure_intervention_inside_episode_before_triage(
    bases: dict[str, Raw], check: Run
) -> None:
    """An intervention starting after reception but before triage is flagged: the episode
    runs from the triage date (dataset R v1.2, episode details)."""
    rec = edit(bases["first_setting"], {"TRIAGED": rel(bases["first_setting"], "RECPDT", 3)})
    found = check(edit_intervention(rec, 0, {"MODST": rel(rec, "RECPDT", 1)}))
    assert_fires(found, "secure_intervention_inside_episode", ("MODST", WARNING, 0))


# -- secure_release_answers_only_on_release -------------------------------------------------

RELEASE_ANSWERS = ("RECONNECT", "THNALOX", "HOMELESSEXIT", "RTOAGNCY")


def test_secure_release_answers_only_on_release(bases: dict[str, Raw], check: Run) -> None:
    """All four release answers on a transfer are flagged, one finding each.

    Source: dataset R v1.2 fields RECONNECT, THNALOX, HOMELESSEXIT and RTOAGNCY ("populated if
    the client's exit reason is 'released'").
    """
    found = check(edit(bases["exited"], {"EXITRSN": "T", "EXITDEST": PRISON}))
    assert_fires(
        found,
        "secure_release_answers_only_on_release",
        *((header, WARNING, None) for header in RELEASE_ANSWERS),
    )


@pytest.mark.parametrize("reason", ["A", "D"])
@pytest.mark.parametrize("header", RELEASE_ANSWERS)
def test_secure_release_answers_only_on_release_each(
    bases: dict[str, Raw], check: Run, reason: str, header: str
) -> None:
    """Each release answer alone is flagged when the client absconded or died.

    Source: dataset R v1.2 fields RECONNECT, THNALOX, HOMELESSEXIT and RTOAGNCY.
    """
    others = {h: BLANK for h in RELEASE_ANSWERS if h != header}
    found = check(edit(bases["exited"], {**others, "EXITRSN": reason, "EXITDEST": BLANK}))
    assert_fires(found, "secure_release_answers_only_on_release", (header, WARNING, None))


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({}, id="released"),
        pytest.param(
            {"EXITRSN": "T", "EXITDEST": PRISON, **dict.fromkeys(RELEASE_ANSWERS, BLANK)},
            id="transferred-blank",
        ),
        pytest.param({"EXITRSN": BLANK, "EXITD": BLANK}, id="no-exit-reason-yet"),
    ],
)
def test_secure_release_answers_only_on_release_silent(
    bases: dict[str, Raw], check: Run, changes: dict[str, object]
) -> None:
    """Release answers with 'released', or none otherwise (dataset R v1.2, those fields)."""
    found = check(edit(bases["exited"], changes))
    assert_silent(found, "secure_release_answers_only_on_release")


# -- secure_continuity_of_care_on_release ---------------------------------------------------


@pytest.mark.parametrize(
    ("changes", "expected"),
    [
        pytest.param(
            {"DISRSN": "83", "RTOAGNCY": "1", "EXITRSN": "T", "EXITDEST": PRISON},
            {"EXITRSN"},
            id="transferred-not-in-custody-but-exit-transfer",
        ),
        pytest.param(
            {"DISRSN": "83", "RTOAGNCY": "4"},
            {"RTOAGNCY"},
            id="transferred-not-in-custody-no-referral",
        ),
        pytest.param(
            {"DISRSN": "83", "RTOAGNCY": "3"},
            {"RTOAGNCY", "DISRSN"},
            id="transferred-not-in-custody-recovery-only",
        ),
        pytest.param(
            {"DISRSN": "80", "RTOAGNCY": "1"},
            {"DISRSN"},
            id="structured-referral-but-completed",
        ),
        pytest.param(
            {"DISRSN": "74", "RTOAGNCY": "3"},
            {"DISRSN"},
            id="recovery-only-but-transfer",
        ),
        pytest.param(
            {"DISRSN": "71", "RTOAGNCY": "2"},
            {"DISRSN", "RTOAGNCY"},
            id="referral-refused-but-structured",
        ),
        pytest.param(
            {"DISRSN": "99", "EXITRSN": "T", "EXITDEST": PRISON},
            {"EXITRSN"},
            id="released-from-court-but-transfer",
        ),
        pytest.param(
            {"DISRSN": "99", "RTOAGNCY": "3"},
            {"RTOAGNCY"},
            id="released-from-court-but-referred",
        ),
        pytest.param(
            {"DISRSN": "84"},
            {"EXITRSN"},
            id="transferred-in-custody-but-released",
        ),
        pytest.param(
            {"EXITRSN": "D", "EXITDEST": BLANK},
            {"DISRSN"},
            id="died-but-completed",
        ),
        pytest.param(
            {"DISRSN": "89"},
            {"EXITRSN"},
            id="discharge-died-but-released",
        ),
        pytest.param(
            {"DISRSN": "98", "EXITDEST": LOCAL_AUTHORITY},
            {"EXITDEST"},
            id="deported-to-local-authority",
        ),
    ],
)
def test_secure_continuity_of_care_on_release(
    bases: dict[str, Raw], check: Run, changes: dict[str, object], expected: set[str]
) -> None:
    """DISRSN, RTOAGNCY, EXITRSN and EXITDEST must agree (warnings on the odd one out).

    Source: dataset R v1.2 appendix G (continuity of care for clients transferred to a
    community provider) and appendix D (discharge and exit reasons).
    """
    found = check(edit(bases["exited"], changes))
    assert_fires(
        found,
        "secure_continuity_of_care_on_release",
        *((field, WARNING, None) for field in expected),
    )


@pytest.mark.parametrize(
    ("base", "changes"),
    [
        pytest.param("exited", {}, id="completed-released-no-referral"),
        pytest.param("exited", {"DISRSN": "83", "RTOAGNCY": "1"}, id="transfer-structured"),
        pytest.param("exited", {"DISRSN": "83", "RTOAGNCY": "2"}, id="transfer-structured-rs"),
        pytest.param("exited", {"DISRSN": "81", "RTOAGNCY": "3"}, id="completed-recovery-only"),
        pytest.param("exited", {"DISRSN": "71", "RTOAGNCY": "4"}, id="refused-no-referral"),
        pytest.param("exited", {"DISRSN": "99"}, id="released-from-court-no-referral"),
        pytest.param(
            "exited",
            {
                "DISRSN": "84",
                "EXITRSN": "T",
                "EXITDEST": PRISON,
                **dict.fromkeys(RELEASE_ANSWERS, BLANK),
            },
            id="in-custody-transfer",
        ),
        pytest.param(
            "exited",
            {
                "DISRSN": "89",
                "EXITRSN": "D",
                "EXITDEST": BLANK,
                **dict.fromkeys(RELEASE_ANSWERS, BLANK),
            },
            id="died",
        ),
        pytest.param("exited", {"DISRSN": "98", "EXITDEST": OUTSIDE_UK}, id="deported-abroad"),
        pytest.param("discharged", {"DISRSN": "83"}, id="transfer-not-yet-exited"),
        pytest.param("discharged", {"DISRSN": "89"}, id="died-not-yet-exited"),
    ],
)
def test_secure_continuity_of_care_on_release_silent(
    bases: dict[str, Raw], check: Run, base: str, changes: dict[str, object]
) -> None:
    """Discharge reason, referral on release, exit reason and destination that agree.

    Source: dataset R v1.2 appendix G and appendix D.
    """
    found = check(edit(bases[base], changes))
    assert_silent(found, "secure_continuity_of_care_on_release")


@pytest.mark.parametrize("referral", ["1", "2", "3"])
def test_secure_continuity_of_care_on_release_no_discharge_hint_on_exit_by_transfer(
    bases: dict[str, Raw], check: Run, referral: str
) -> None:
    """Seed 002 (dataset R v1.2) RTOAGNCY is asked only "if the clients exit reason is
    'released'", and appendix G's discharge reasons are for releases: on an exit by
    transfer ('transferred – in custody', exit 'transferred') a referral on release left
    behind does not ask for another discharge reason; the release-only rule names it."""
    changes = {"DISRSN": "84", "EXITRSN": "T", "EXITDEST": PRISON, "RTOAGNCY": referral}
    found = check(edit(bases["exited"], changes))
    assert_silent(found, "secure_continuity_of_care_on_release")
    assert ("RTOAGNCY", WARNING, None) in {
        (f.field, f.severity, f.item)
        for f in found
        if f.rule_id == "secure_release_answers_only_on_release"
    }


# -- secure_hep_c_referral_date -------------------------------------------------------------


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda r: edit(r, {"REFHEPCTX": "Y"}), id="referred-no-date"),
        pytest.param(
            lambda r: edit(r, {"REFHEPCTX": "N", "REFHEPCTXDT": r["DISD"]}),
            id="not-referred-with-date",
        ),
    ],
)
def test_secure_hep_c_referral_date(bases: dict[str, Raw], check: Run, change: Change) -> None:
    """REFHEPCTXDT goes with REFHEPCTX 'yes' only (dataset R v1.2, REFHEPCTX, REFHEPCTXDT)."""
    found = check(change(bases["exited"]))
    assert_fires(found, "secure_hep_c_referral_date", ("REFHEPCTXDT", WARNING, None))


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda r: r, id="not-referred-no-date"),
        pytest.param(
            lambda r: edit(r, {"REFHEPCTX": "Y", "REFHEPCTXDT": r["DISD"]}),
            id="referred-with-date",
        ),
        pytest.param(
            lambda r: edit(r, {"REFHEPCTX": BLANK, "REFHEPCTXDT": r["DISD"]}),
            id="answer-blank-with-date",
        ),
    ],
)
def test_secure_hep_c_referral_date_silent(
    bases: dict[str, Raw], check: Run, change: Change
) -> None:
    """Date with 'yes', none with 'no' (dataset R v1.2, REFHEPCTX and REFHEPCTXDT)."""
    found = check(change(bases["exited"]))
    assert_silent(found, "secure_hep_c_referral_date")
