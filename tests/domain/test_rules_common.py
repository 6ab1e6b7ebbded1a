"""Cross-field rules shared by the CJIT (dataset Q) and secure settings (dataset R) datasets.

Each rule in ``desktop/domain/rules/common.py`` has tests named ``test_<rule>...``: cases
where it fires (exact field, severity and item) and valid variants where it must stay
silent. Every case starts from a complete synthetic record (fixed seed, fixed day) and
changes only the fields the case is about.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import date, timedelta

import pytest

from desktop.domain.findings import Finding, Severity
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
    Raw,
    assert_fires,
    assert_silent,
    day,
    edit,
    rel,
)

# -- helpers --------------------------------------------------------------------------------

CTX = Context(today=TODAY, agency_dat="A12B")
DATASETS = ("cjit-q", "secure-r")
RULES_MODULE = "desktop.domain.rules.common"


def born_aged(on: date, age: int) -> date:
    """The date of birth that makes the client exactly ``age`` on ``on`` (their birthday)."""
    try:
        return on.replace(year=on.year - age)
    except ValueError:  # 29 February
        return on.replace(year=on.year - age, day=28)


def first_synthetic(refdata: RefData, dataset_id: str, wanted: Callable[[Raw], bool]) -> Raw:
    """The first synthetic record (seed ``SEED``) of the wanted shape."""
    for rec in records(refdata, dataset_id, 300, seed=SEED, today=TODAY):
        if wanted(rec):
            return rec
    raise LookupError(f"no synthetic {dataset_id} record of the wanted shape")


def not_errors_or_warnings(found: Iterable[Finding]) -> list[Finding]:
    return [f for f in found if f.severity is not INFO]


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def validators(refdata: RefData) -> dict[str, Validator]:
    return {dataset_id: Validator(refdata, dataset_id) for dataset_id in DATASETS}


@pytest.fixture(scope="module")
def bases(refdata: RefData) -> dict[str, Raw]:
    """One complete, clean record per dataset."""
    return {dataset_id: first_synthetic(refdata, dataset_id, bool) for dataset_id in DATASETS}


@pytest.fixture(scope="module")
def check(validators: dict[str, Validator]) -> Callable[[str, Raw], list[Finding]]:
    def run(dataset_id: str, rec: Raw) -> list[Finding]:
        found = validators[dataset_id].validate(rec, CTX)
        assert not [f for f in found if f.rule_id == "rule_could_not_run"], found
        return found

    return run


Run = Callable[[str, Raw], list[Finding]]


def test_base_records_are_clean(bases: dict[str, Raw], check: Run) -> None:
    """The unchanged synthetic records the cases start from have no error or warning."""
    for dataset_id, rec in bases.items():
        assert not_errors_or_warnings(check(dataset_id, rec)) == []


# -- the registry ---------------------------------------------------------------------------


def test_every_common_rule_has_a_test() -> None:
    """Every rule registered from rules/common.py has a test_<rule> function in this file."""
    rules_for("Q")  # imports every rule module
    ids = {r.id for r in REGISTRY if r.fn.__module__ == RULES_MODULE}
    assert ids
    tests = {name for name, obj in globals().items() if name.startswith("test_") and callable(obj)}
    missing = {
        rule_id
        for rule_id in ids
        if not any(t == f"test_{rule_id}" or t.startswith(f"test_{rule_id}_") for t in tests)
    }
    assert missing == set()


@pytest.mark.parametrize("dataset_id", DATASETS)
def test_synthetic_records_pass_every_rule(
    refdata: RefData, validators: dict[str, Validator], dataset_id: str
) -> None:
    """500 synthetic records (seed 7) of each dataset give no error or warning at all.

    The generator (desktop/domain/synthetic.py) promises records that pass validation, so
    the generator and the rules must agree.
    """
    validator = validators[dataset_id]
    bad = [
        (rec["EPISODID"], finding)
        for rec in records(refdata, dataset_id, 500, seed=7, today=TODAY)
        for finding in not_errors_or_warnings(validator.validate(rec, CTX))
    ]
    assert bad == []


# -- consent_refused_is_not_submitted -------------------------------------------------------


@pytest.mark.parametrize("dataset_id", DATASETS)
def test_consent_refused_is_not_submitted(
    bases: dict[str, Raw], check: Run, dataset_id: str
) -> None:
    """CONSENT 'No': kept locally, nothing sent (info).

    Source: dataset Q v4.2 and dataset R v1.2, field CONSENT; CJIT supplementary guidance
    (2018) FAQ.
    """
    found = check(dataset_id, edit(bases[dataset_id], {"CONSENT": "N"}))
    assert_fires(found, "consent_refused_is_not_submitted", ("CONSENT", INFO, None))


@pytest.mark.parametrize("dataset_id", DATASETS)
def test_consent_refused_is_not_submitted_silent_with_consent(
    bases: dict[str, Raw], check: Run, dataset_id: str
) -> None:
    """CONSENT 'Yes' is submitted (dataset Q v4.2 and dataset R v1.2, field CONSENT)."""
    found = check(dataset_id, edit(bases[dataset_id], {"CONSENT": "Y"}))
    assert_silent(found, "consent_refused_is_not_submitted")


# -- triage_not_before_birth ----------------------------------------------------------------


@pytest.mark.parametrize("dataset_id", DATASETS)
def test_triage_not_before_birth(bases: dict[str, Raw], check: Run, dataset_id: str) -> None:
    """TRIAGED the day before DOB is an error (datasets Q and R, fields DOB and TRIAGED)."""
    rec = bases[dataset_id]
    found = check(dataset_id, edit(rec, {"DOB": rel(rec, "TRIAGED", 1)}))
    assert_fires(found, "triage_not_before_birth", ("TRIAGED", ERROR, None))


@pytest.mark.parametrize("dataset_id", DATASETS)
@pytest.mark.parametrize("offset", [0, -1, -9000])
def test_triage_not_before_birth_silent(
    bases: dict[str, Raw], check: Run, dataset_id: str, offset: int
) -> None:
    """TRIAGED on or after DOB is fine (datasets Q and R, fields DOB and TRIAGED)."""
    rec = bases[dataset_id]
    found = check(dataset_id, edit(rec, {"DOB": rel(rec, "TRIAGED", offset)}))
    assert_silent(found, "triage_not_before_birth")


# -- client_age_plausible -------------------------------------------------------------------

ONE_DAY = timedelta(days=1)


@pytest.mark.parametrize(
    ("dataset_id", "dob"),
    [
        pytest.param("cjit-q", lambda t: born_aged(t, 10) + ONE_DAY, id="Q-aged-9"),
        pytest.param("cjit-q", lambda t: born_aged(t, 101), id="Q-aged-101"),
        pytest.param("cjit-q", lambda t: t + ONE_DAY, id="Q-born-after-triage"),
        pytest.param("secure-r", lambda t: born_aged(t, 10) + ONE_DAY, id="R-aged-9"),
        pytest.param("secure-r", lambda t: born_aged(t, 101), id="R-aged-101"),
        pytest.param("secure-r", lambda t: born_aged(t, 18) + ONE_DAY, id="R-aged-17"),
        pytest.param("secure-r", lambda t: born_aged(t, 12), id="R-aged-12"),
    ],
)
def test_client_age_plausible(
    bases: dict[str, Raw], check: Run, dataset_id: str, dob: Callable[[date], date]
) -> None:
    """Age at triage outside 10–100 (both datasets), or under 18 in dataset R, is flagged.

    Source: local check of DOB typing errors (datasets Q and R, field DOB); dataset R v1.2
    covers adult secure settings (18 and over).
    """
    rec = bases[dataset_id]
    found = check(dataset_id, edit(rec, {"DOB": dob(day(rec, "TRIAGED")).isoformat()}))
    assert_fires(found, "client_age_plausible", ("DOB", WARNING, None))


@pytest.mark.parametrize(
    ("dataset_id", "dob"),
    [
        pytest.param("cjit-q", lambda t: born_aged(t, 10), id="Q-10th-birthday"),
        pytest.param("cjit-q", lambda t: born_aged(t, 17), id="Q-aged-17"),
        pytest.param("cjit-q", lambda t: born_aged(t, 100), id="Q-aged-100"),
        pytest.param("cjit-q", lambda t: born_aged(t, 101) + ONE_DAY, id="Q-day-before-101"),
        pytest.param("secure-r", lambda t: born_aged(t, 18), id="R-18th-birthday"),
        pytest.param("secure-r", lambda t: born_aged(t, 100), id="R-aged-100"),
        pytest.param("secure-r", lambda t: born_aged(t, 45), id="R-aged-45"),
    ],
)
def test_client_age_plausible_silent(
    bases: dict[str, Raw], check: Run, dataset_id: str, dob: Callable[[date], date]
) -> None:
    """Ages 10–100 at triage (18–100 in dataset R) pass (datasets Q and R, field DOB)."""
    rec = bases[dataset_id]
    found = check(dataset_id, edit(rec, {"DOB": dob(day(rec, "TRIAGED")).isoformat()}))
    assert_silent(found, "client_age_plausible")


@pytest.mark.parametrize("dataset_id", DATASETS)
def test_client_age_plausible_silent_without_dates(
    bases: dict[str, Raw], check: Run, dataset_id: str
) -> None:
    """No age without a DOB (datasets Q and R, field DOB): the rule has nothing to check."""
    found = check(dataset_id, edit(bases[dataset_id], {"DOB": BLANK}))
    assert_silent(found, "client_age_plausible")


# -- disability_2_3_blank_when_none_or_not_stated -------------------------------------------


@pytest.mark.parametrize("dataset_id", DATASETS)
@pytest.mark.parametrize(
    ("changes", "fields"),
    [
        pytest.param({"DISABLE1": "NN", "DISABLE2": "2"}, ("DISABLE2",), id="none-then-2"),
        pytest.param(
            {"DISABLE1": "ZZ", "DISABLE2": "2", "DISABLE3": "9"},
            ("DISABLE2", "DISABLE3"),
            id="not-stated-then-2-and-3",
        ),
        pytest.param({"DISABLE1": "ZZ", "DISABLE3": "9"}, ("DISABLE3",), id="not-stated-then-3"),
    ],
)
def test_disability_2_3_blank_when_none_or_not_stated(
    bases: dict[str, Raw],
    check: Run,
    dataset_id: str,
    changes: dict[str, object],
    fields: tuple[str, ...],
) -> None:
    """DISABLE2/3 must be blank when DISABLE1 is 'no disability' (NN) or 'not stated' (ZZ).

    Source: dataset Q v4.2 field DISABLE1 / appendix A; dataset R v1.2 field DISABLE1 /
    appendix B.
    """
    found = check(dataset_id, edit(bases[dataset_id], changes))
    rule_id = "disability_2_3_blank_when_none_or_not_stated"
    assert_fires(found, rule_id, *((f, WARNING, None) for f in fields))


@pytest.mark.parametrize("dataset_id", DATASETS)
@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"DISABLE1": "NN"}, id="none-alone"),
        pytest.param({"DISABLE1": "ZZ"}, id="not-stated-alone"),
        pytest.param({"DISABLE1": "1", "DISABLE2": "2", "DISABLE3": "9"}, id="three-real"),
    ],
)
def test_disability_2_3_blank_when_none_or_not_stated_silent(
    bases: dict[str, Raw], check: Run, dataset_id: str, changes: dict[str, object]
) -> None:
    """DISABLE2/3 blank after NN or ZZ, or real disabilities (datasets Q/R field DISABLE1)."""
    found = check(dataset_id, edit(bases[dataset_id], changes))
    assert_silent(found, "disability_2_3_blank_when_none_or_not_stated")


# -- disabilities_listed_in_order -----------------------------------------------------------


@pytest.mark.parametrize("dataset_id", DATASETS)
@pytest.mark.parametrize(
    ("changes", "field"),
    [
        pytest.param({"DISABLE1": "1", "DISABLE3": "2"}, "DISABLE3", id="gap-at-2"),
        pytest.param({"DISABLE1": "1", "DISABLE2": "1"}, "DISABLE2", id="2-repeats-1"),
        pytest.param(
            {"DISABLE1": "1", "DISABLE2": "2", "DISABLE3": "1"}, "DISABLE3", id="3-repeats-1"
        ),
        pytest.param(
            {"DISABLE1": "1", "DISABLE2": "2", "DISABLE3": "2"}, "DISABLE3", id="3-repeats-2"
        ),
        pytest.param({"DISABLE1": "1", "DISABLE2": "NN"}, "DISABLE2", id="none-in-2"),
        pytest.param(
            {"DISABLE1": "1", "DISABLE2": "2", "DISABLE3": "ZZ"}, "DISABLE3", id="not-stated-in-3"
        ),
    ],
)
def test_disabilities_listed_in_order(
    bases: dict[str, Raw], check: Run, dataset_id: str, changes: dict[str, object], field: str
) -> None:
    """DISABLE2/3: no repeats, no gap, no 'none'/'not stated' after the first.

    Source: dataset Q v4.2 / dataset R v1.2 fields DISABLE2 and DISABLE3.
    """
    found = check(dataset_id, edit(bases[dataset_id], changes))
    assert_fires(found, "disabilities_listed_in_order", (field, WARNING, None))


@pytest.mark.parametrize("dataset_id", DATASETS)
@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"DISABLE1": "1"}, id="one"),
        pytest.param({"DISABLE1": "1", "DISABLE2": "XX"}, id="two"),
        pytest.param({"DISABLE1": "1", "DISABLE2": "2", "DISABLE3": "9"}, id="three"),
        pytest.param({"DISABLE1": "NN"}, id="none"),
    ],
)
def test_disabilities_listed_in_order_silent(
    bases: dict[str, Raw], check: Run, dataset_id: str, changes: dict[str, object]
) -> None:
    """Distinct disabilities filled in order (dataset Q v4.2 / R v1.2, DISABLE2 and DISABLE3)."""
    found = check(dataset_id, edit(bases[dataset_id], changes))
    assert_silent(found, "disabilities_listed_in_order")


# -- prntstat_only_when_parent --------------------------------------------------------------


@pytest.mark.parametrize("dataset_id", DATASETS)
@pytest.mark.parametrize("parent", ["N", "Z"])
def test_prntstat_only_when_parent(
    bases: dict[str, Raw], check: Run, dataset_id: str, parent: str
) -> None:
    """PRNTSTAT answered while PARENT is 'no' or 'declined' (appendix C of datasets Q and R)."""
    found = check(dataset_id, edit(bases[dataset_id], {"PARENT": parent, "PRNTSTAT": "11"}))
    assert_fires(found, "prntstat_only_when_parent", ("PRNTSTAT", WARNING, None))


@pytest.mark.parametrize("dataset_id", DATASETS)
@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"PARENT": "Y", "PRNTSTAT": "12"}, id="parent-answered"),
        pytest.param({"PARENT": "N", "PRNTSTAT": BLANK}, id="not-parent-blank"),
        pytest.param({"PARENT": "Z", "PRNTSTAT": BLANK}, id="declined-blank"),
    ],
)
def test_prntstat_only_when_parent_silent(
    bases: dict[str, Raw], check: Run, dataset_id: str, changes: dict[str, object]
) -> None:
    """PRNTSTAT with PARENT 'yes', or blank otherwise (appendix C of datasets Q and R)."""
    found = check(dataset_id, edit(bases[dataset_id], changes))
    assert_silent(found, "prntstat_only_when_parent")


# -- ehcs_asked_when_children ---------------------------------------------------------------

NO_EHCS = {"EHCS": BLANK, "EHCSC2": BLANK, "EHCSC3": BLANK, "EHCS2": BLANK, "EHCS3": BLANK}


@pytest.mark.parametrize("dataset_id", DATASETS)
@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({**NO_EHCS, "PARENT": "Y", "CHILDWTH": 0}, id="parent-no-answer"),
        pytest.param({**NO_EHCS, "PARENT": "N", "CHILDWTH": 2}, id="children-at-home-no-answer"),
        pytest.param({**NO_EHCS, "PARENT": "Z", "CHILDWTH": 1}, id="declined-child-no-answer"),
        pytest.param({"PARENT": "N", "CHILDWTH": 0, "EHCS": "1"}, id="no-children-answered"),
    ],
)
def test_ehcs_asked_when_children(
    bases: dict[str, Raw], check: Run, dataset_id: str, changes: dict[str, object]
) -> None:
    """EHCS is completed when PARENT is yes or children live with the client, else blank.

    Source: dataset Q v4.2 appendix C (EHCSC1/2/3); dataset R v1.2 appendix C (EHCS1/2/3).
    """
    found = check(dataset_id, edit(bases[dataset_id], {"PRNTSTAT": BLANK, **changes}))
    assert_fires(found, "ehcs_asked_when_children", ("EHCS", WARNING, None))


@pytest.mark.parametrize("dataset_id", DATASETS)
@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"PARENT": "Y", "CHILDWTH": 0, "EHCS": "1"}, id="parent-answered"),
        pytest.param({"PARENT": "N", "CHILDWTH": 3, "EHCS": "5"}, id="children-answered"),
        pytest.param({**NO_EHCS, "PARENT": "N", "CHILDWTH": 0}, id="no-children-blank"),
        pytest.param({**NO_EHCS, "PARENT": "Z", "CHILDWTH": 98}, id="all-declined-blank"),
        pytest.param({"PARENT": "N", "CHILDWTH": 98, "EHCS": "99"}, id="count-declined-answered"),
        pytest.param({**NO_EHCS, "PARENT": "N", "CHILDWTH": BLANK}, id="count-unknown-blank"),
    ],
)
def test_ehcs_asked_when_children_silent(
    bases: dict[str, Raw], check: Run, dataset_id: str, changes: dict[str, object]
) -> None:
    """EHCS answered when children are involved, blank when not or not yet known.

    Source: dataset Q v4.2 appendix C (EHCSC1/2/3); dataset R v1.2 appendix C (EHCS1/2/3).
    """
    found = check(dataset_id, edit(bases[dataset_id], {"PRNTSTAT": BLANK, **changes}))
    assert_silent(found, "ehcs_asked_when_children")


# -- ehcs_2_3_blank_when_none_or_declined ---------------------------------------------------

EHCS_2_3 = {"cjit-q": ("EHCSC2", "EHCSC3"), "secure-r": ("EHCS2", "EHCS3")}


@pytest.mark.parametrize("dataset_id", DATASETS)
@pytest.mark.parametrize(
    ("first", "second", "third", "flagged"),
    [
        pytest.param("5", "1", None, (1,), id="none-then-2"),
        pytest.param("99", "1", "2", (1, 2), id="declined-then-2-and-3"),
        pytest.param("5", None, "2", (2,), id="none-then-3-only"),
        pytest.param("1", None, "2", (2,), id="gap-at-2"),
    ],
)
def test_ehcs_2_3_blank_when_none_or_declined(
    bases: dict[str, Raw],
    check: Run,
    dataset_id: str,
    first: str,
    second: str | None,
    third: str | None,
    flagged: tuple[int, ...],
) -> None:
    """EHCS2/3 blank when EHCS is 'none' (5) or 'declined' (99); no third without a second.

    Source: dataset Q v4.2 field EHCS (EHCSC2/EHCSC3); dataset R v1.2 field EHCS (EHCS2/EHCS3).
    """
    h2, h3 = EHCS_2_3[dataset_id]
    changes = {"PARENT": "Y", "EHCS": first, h2: second, h3: third}
    found = check(dataset_id, edit(bases[dataset_id], changes))
    headers = {1: h2, 2: h3}
    assert_fires(
        found,
        "ehcs_2_3_blank_when_none_or_declined",
        *((headers[n], WARNING, None) for n in flagged),
    )


@pytest.mark.parametrize("dataset_id", DATASETS)
@pytest.mark.parametrize(
    ("first", "second", "third"),
    [
        pytest.param("5", None, None, id="none-alone"),
        pytest.param("99", None, None, id="declined-alone"),
        pytest.param("1", "2", "6", id="three-helps"),
        pytest.param("1", "2", None, id="two-helps"),
    ],
)
def test_ehcs_2_3_blank_when_none_or_declined_silent(
    bases: dict[str, Raw],
    check: Run,
    dataset_id: str,
    first: str,
    second: str | None,
    third: str | None,
) -> None:
    """Further answers only after a real first one (dataset Q v4.2 / dataset R v1.2, EHCS)."""
    h2, h3 = EHCS_2_3[dataset_id]
    changes = {"PARENT": "Y", "EHCS": first, h2: second, h3: third}
    found = check(dataset_id, edit(bases[dataset_id], changes))
    assert_silent(found, "ehcs_2_3_blank_when_none_or_declined")


# -- pseudo_postcode_for_nfa_or_abroad ------------------------------------------------------


@pytest.mark.parametrize("dataset_id", DATASETS)
@pytest.mark.parametrize("postcode", ["ZZ99 1AA", "zz993wz"])
def test_pseudo_postcode_for_nfa_or_abroad(
    bases: dict[str, Raw], check: Run, dataset_id: str, postcode: str
) -> None:
    """A ZZ99 pseudo-postcode other than ZZ99 3VZ is flagged (datasets Q and R, field PC)."""
    found = check(dataset_id, edit(bases[dataset_id], {"PC": postcode, "DAT": "A12B"}))
    assert_fires(found, "pseudo_postcode_for_nfa_or_abroad", ("PC", WARNING, None))


@pytest.mark.parametrize("dataset_id", DATASETS)
@pytest.mark.parametrize("postcode", ["ZZ99 3VZ", "zz99 3vz", "NR14 7UJ", BLANK])
def test_pseudo_postcode_for_nfa_or_abroad_silent(
    bases: dict[str, Raw], check: Run, dataset_id: str, postcode: str | None
) -> None:
    """ZZ99 3VZ, a real postcode or none (datasets Q and R, field PC)."""
    found = check(dataset_id, edit(bases[dataset_id], {"PC": postcode, "DAT": "A12B"}))
    assert_silent(found, "pseudo_postcode_for_nfa_or_abroad")


# -- problem_substances_consistent ----------------------------------------------------------

HEROIN, CRACK, ALCOHOL = "1101", "3201", "7000"
NONE_2ND, NONE_3RD = "9996", "9997"


@pytest.mark.parametrize("dataset_id", DATASETS)
@pytest.mark.parametrize(
    ("drugs", "expected"),
    [
        pytest.param((NONE_2ND, CRACK, NONE_3RD), {("DRUG1", ERROR)}, id="1-is-no-second"),
        pytest.param((NONE_3RD, NONE_2ND, NONE_3RD), {("DRUG1", ERROR)}, id="1-is-no-third"),
        pytest.param((HEROIN, NONE_3RD, NONE_3RD), {("DRUG2", WARNING)}, id="2-is-no-third"),
        pytest.param((HEROIN, CRACK, NONE_2ND), {("DRUG3", WARNING)}, id="3-is-no-second"),
        pytest.param((HEROIN, HEROIN, NONE_3RD), {("DRUG2", WARNING)}, id="2-repeats-1"),
        pytest.param((HEROIN, CRACK, HEROIN), {("DRUG3", WARNING)}, id="3-repeats-1"),
        pytest.param((HEROIN, CRACK, CRACK), {("DRUG3", WARNING)}, id="3-repeats-2"),
        pytest.param((HEROIN, None, CRACK), {("DRUG3", WARNING)}, id="3-without-2-blank"),
        pytest.param((HEROIN, NONE_2ND, CRACK), {("DRUG3", WARNING)}, id="3-after-no-second"),
    ],
)
def test_problem_substances_consistent(
    bases: dict[str, Raw],
    check: Run,
    dataset_id: str,
    drugs: tuple[str, str | None, str | None],
    expected: set[tuple[str, Severity]],
) -> None:
    """DRUG1 is a substance; DRUG2/DRUG3 are further substances: no repeat, no gap.

    Source: datasets Q and R, fields DRUG2 and DRUG3; CJIT supplementary guidance (2018) FAQ
    (alcohol-only: 'no second' and 'no third' substance).
    """
    changes = dict(zip(("DRUG1", "DRUG2", "DRUG3"), drugs, strict=True))
    found = check(dataset_id, edit(bases[dataset_id], changes))
    assert_fires(found, "problem_substances_consistent", *((f, s, None) for f, s in expected))


@pytest.mark.parametrize("dataset_id", DATASETS)
@pytest.mark.parametrize(
    "drugs",
    [
        pytest.param((ALCOHOL, NONE_2ND, NONE_3RD), id="alcohol-only"),
        pytest.param((HEROIN, CRACK, ALCOHOL), id="three-substances"),
        pytest.param((HEROIN, CRACK, NONE_3RD), id="two-substances"),
        pytest.param((HEROIN, None, None), id="second-and-third-blank"),
        pytest.param((HEROIN, NONE_2ND, None), id="third-blank"),
        pytest.param((HEROIN, CRACK, None), id="two-third-blank"),
    ],
)
def test_problem_substances_consistent_silent(
    bases: dict[str, Raw],
    check: Run,
    dataset_id: str,
    drugs: tuple[str, str | None, str | None],
) -> None:
    """Valid substance lists (datasets Q and R, DRUG2/DRUG3; CJIT guidance 2018 FAQ)."""
    changes = dict(zip(("DRUG1", "DRUG2", "DRUG3"), drugs, strict=True))
    found = check(dataset_id, edit(bases[dataset_id], changes))
    assert_silent(found, "problem_substances_consistent")


# -- route_matches_injecting_status (dataset Q only) ----------------------------------------


def test_route_matches_injecting_status(bases: dict[str, Raw], check: Run) -> None:
    """ROUTE 'injecting' with INJSTAT 'never injected' contradicts (dataset Q, ROUTE, INJSTAT)."""
    found = check("cjit-q", edit(bases["cjit-q"], {"ROUTE": "1", "INJSTAT": "N"}))
    assert_fires(found, "route_matches_injecting_status", ("INJSTAT", WARNING, None))


@pytest.mark.parametrize(
    ("route", "injstat"),
    [("1", "C"), ("1", "P"), ("1", "Z"), ("3", "N"), ("Z", "N"), (BLANK, "N"), ("1", BLANK)],
)
def test_route_matches_injecting_status_silent(
    bases: dict[str, Raw], check: Run, route: str | None, injstat: str | None
) -> None:
    """Injecting route with a current/past/declined status, or a non-injecting route.

    Source: dataset Q v4.2, fields ROUTE and INJSTAT.
    """
    found = check("cjit-q", edit(bases["cjit-q"], {"ROUTE": route, "INJSTAT": injstat}))
    assert_silent(found, "route_matches_injecting_status")


def test_route_matches_injecting_status_is_dataset_q_only() -> None:
    """Dataset R has no ROUTE field, so the rule is registered for dataset Q only."""
    assert "route_matches_injecting_status" in {r.id for r in rules_for("Q")}
    assert "route_matches_injecting_status" not in {r.id for r in rules_for("R")}
