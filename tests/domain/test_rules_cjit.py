"""Cross-field rules of the NDTMS CJIT dataset Q (business definitions v4.2).

Each rule in ``desktop/domain/rules/cjit.py`` has tests named ``test_<rule>...``: cases
where it fires (exact field, severity and referral index) and valid variants where it
must stay silent. Every case starts from a complete synthetic record (fixed seed, fixed
day) and changes only the fields the case is about.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable

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
    Raw,
    assert_fires,
    assert_silent,
    edit,
    edit_item,
    rel,
)


def edit_referral(rec: Raw, index: int, changes: dict[str, object]) -> Raw:
    """A deep copy of ``rec`` with ``changes`` applied to referral ``index``."""
    return edit_item(rec, "referrals", index, changes)


# -- helpers --------------------------------------------------------------------------------

AGENCY_DAT = "A12B"
CTX = Context(today=TODAY, agency_dat=AGENCY_DAT)
DATASET = "cjit-q"
RULES_MODULE = "desktop.domain.rules.cjit"


def first_synthetic(refdata: RefData, wanted: Callable[[Raw], bool]) -> Raw:
    """The first synthetic CJIT record (seed ``SEED``) of the wanted shape."""
    for rec in records(refdata, DATASET, 300, seed=SEED, today=TODAY):
        if wanted(rec):
            return rec
    raise LookupError("no synthetic CJIT record of the wanted shape")


def not_errors_or_warnings(found: Iterable[Finding]) -> list[Finding]:
    return [f for f in found if f.severity is not INFO]


# -- fixtures -------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def validator(refdata: RefData) -> Validator:
    return Validator(refdata, DATASET)


@pytest.fixture(scope="module")
def bases(refdata: RefData) -> dict[str, Raw]:
    """Clean complete records in the three shapes a CJIT episode takes."""
    return {
        # on the caseload, closed from the caseload, two referrals
        "closed_caseload": first_synthetic(
            refdata, lambda r: "CPLANDT" in r and "DISD" in r and len(r["referrals"]) >= 2
        ),
        # on the caseload, still open, two referrals
        "open_caseload": first_synthetic(
            refdata, lambda r: "CPLANDT" in r and "DISD" not in r and len(r["referrals"]) >= 2
        ),
        # closed without being taken onto the caseload
        "closed_prior": first_synthetic(refdata, lambda r: "CPLANDT" not in r and "DISD" in r),
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
    for rec in bases.values():
        assert not_errors_or_warnings(check(rec)) == []


# -- the registry ---------------------------------------------------------------------------


def test_every_cjit_rule_has_a_test() -> None:
    """Every rule registered from rules/cjit.py has a test_<rule> function in this file."""
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


# -- cjit_closure_date_and_reason_together --------------------------------------------------


@pytest.mark.parametrize(
    ("base", "blank", "field"),
    [
        ("closed_caseload", "CJDISRSN", "CJDISRSN"),
        ("closed_caseload", "DISD", "DISD"),
        ("closed_prior", "CJDISRSN", "CJDISRSN"),
        ("closed_prior", "DISD", "DISD"),
    ],
)
def test_cjit_closure_date_and_reason_together(
    bases: dict[str, Raw], check: Run, base: str, blank: str, field: str
) -> None:
    """A closure date without a reason, or a reason without a date, is an error.

    Source: dataset Q v4.2, DISD ("case closure reason MUST be given") and CJDISRSN ("case
    closure date MUST be given").
    """
    found = check(edit(bases[base], {blank: BLANK}))
    assert_fires(found, "cjit_closure_date_and_reason_together", (field, ERROR, None))


@pytest.mark.parametrize("base", ["closed_caseload", "closed_prior", "open_caseload"])
def test_cjit_closure_date_and_reason_together_silent(
    bases: dict[str, Raw], check: Run, base: str
) -> None:
    """Both given (closed) or neither (open) (dataset Q v4.2, DISD and CJDISRSN)."""
    assert_silent(check(bases[base]), "cjit_closure_date_and_reason_together")


# -- cjit_closure_reason_matches_caseload ---------------------------------------------------


@pytest.mark.parametrize(
    ("base", "reason"),
    [
        pytest.param("closed_prior", "10", id="never-on-caseload-completed"),
        pytest.param("closed_prior", "8", id="never-on-caseload-dropped-out"),
        pytest.param("closed_prior", "9", id="never-on-caseload-died"),
        pytest.param("closed_caseload", "73", id="on-caseload-no-further-intervention"),
        pytest.param("closed_caseload", "1", id="on-caseload-did-not-engage"),
        pytest.param("closed_caseload", "2", id="on-caseload-managed-elsewhere"),
    ],
)
def test_cjit_closure_reason_matches_caseload(
    bases: dict[str, Raw], check: Run, base: str, reason: str
) -> None:
    """A 'from caseload' reason without CPLANDT, or a 'prior to caseload' one with it.

    Source: dataset Q v4.2 field CPLANDT and appendix E (prior to caseload; from caseload);
    CJIT supplementary guidance (2018), case closures.
    """
    found = check(edit(bases[base], {"CJDISRSN": reason}))
    assert_fires(found, "cjit_closure_reason_matches_caseload", ("CJDISRSN", ERROR, None))


@pytest.mark.parametrize(
    ("base", "reason"),
    [
        pytest.param("closed_prior", "73", id="prior-no-further-intervention"),
        pytest.param("closed_prior", "1", id="prior-did-not-engage"),
        pytest.param("closed_prior", "99", id="prior-transferred-shared-code"),
        pytest.param("closed_prior", "13", id="prior-in-custody-shared-code"),
        pytest.param("closed_caseload", "10", id="caseload-completed"),
        pytest.param("closed_caseload", "11", id="caseload-retained-in-custody"),
        pytest.param("closed_caseload", "14", id="caseload-other-cjit-shared-code"),
        pytest.param("closed_caseload", "74", id="caseload-recommissioning-shared-code"),
    ],
)
def test_cjit_closure_reason_matches_caseload_silent(
    bases: dict[str, Raw], check: Run, base: str, reason: str
) -> None:
    """A reason from the set that fits the caseload status (dataset Q v4.2, appendix E)."""
    found = check(edit(bases[base], {"CJDISRSN": reason}))
    assert_silent(found, "cjit_closure_reason_matches_caseload")


def test_cjit_closure_reason_matches_caseload_silent_when_open(
    bases: dict[str, Raw], check: Run
) -> None:
    """No closure reason, nothing to match (dataset Q v4.2, CPLANDT and appendix E)."""
    assert_silent(check(bases["open_caseload"]), "cjit_closure_reason_matches_caseload")


# -- cjit_closure_not_before_triage ---------------------------------------------------------


@pytest.mark.parametrize("days", [-1, -30])
def test_cjit_closure_not_before_triage(bases: dict[str, Raw], check: Run, days: int) -> None:
    """DISD before TRIAGED is an error (dataset Q v4.2, DISD and TRIAGED)."""
    rec = bases["closed_prior"]
    found = check(edit(rec, {"DISD": rel(rec, "TRIAGED", days)}))
    assert_fires(found, "cjit_closure_not_before_triage", ("DISD", ERROR, None))


@pytest.mark.parametrize("days", [0, 1])
def test_cjit_closure_not_before_triage_silent(
    bases: dict[str, Raw], check: Run, days: int
) -> None:
    """DISD on or after TRIAGED (dataset Q v4.2, DISD and TRIAGED)."""
    rec = bases["closed_prior"]
    found = check(edit(rec, {"DISD": rel(rec, "TRIAGED", days)}))
    assert_silent(found, "cjit_closure_not_before_triage")


# -- cjit_caseload_start_not_before_triage --------------------------------------------------


@pytest.mark.parametrize("days", [-1, -10])
def test_cjit_caseload_start_not_before_triage(
    bases: dict[str, Raw], check: Run, days: int
) -> None:
    """CPLANDT before TRIAGED is an error (dataset Q v4.2, CPLANDT and TRIAGED)."""
    rec = bases["open_caseload"]
    found = check(edit(rec, {"CPLANDT": rel(rec, "TRIAGED", days)}))
    assert_fires(found, "cjit_caseload_start_not_before_triage", ("CPLANDT", ERROR, None))


@pytest.mark.parametrize("days", [0, 1])
def test_cjit_caseload_start_not_before_triage_silent(
    bases: dict[str, Raw], check: Run, days: int
) -> None:
    """CPLANDT on or after TRIAGED (dataset Q v4.2, CPLANDT and TRIAGED)."""
    rec = bases["open_caseload"]
    found = check(edit(rec, {"CPLANDT": rel(rec, "TRIAGED", days)}))
    assert_silent(found, "cjit_caseload_start_not_before_triage")


# -- cjit_caseload_start_not_after_closure --------------------------------------------------


@pytest.mark.parametrize("days", [1, 5])
def test_cjit_caseload_start_not_after_closure(
    bases: dict[str, Raw], check: Run, days: int
) -> None:
    """CPLANDT after DISD is an error (dataset Q v4.2, CPLANDT and DISD)."""
    rec = bases["closed_caseload"]
    found = check(edit(rec, {"CPLANDT": rel(rec, "DISD", days)}))
    assert_fires(found, "cjit_caseload_start_not_after_closure", ("CPLANDT", ERROR, None))


@pytest.mark.parametrize("days", [0, -1])
def test_cjit_caseload_start_not_after_closure_silent(
    bases: dict[str, Raw], check: Run, days: int
) -> None:
    """CPLANDT on or before DISD (dataset Q v4.2, CPLANDT and DISD)."""
    rec = bases["closed_caseload"]
    found = check(edit(rec, {"CPLANDT": rel(rec, "DISD", days)}))
    assert_silent(found, "cjit_caseload_start_not_after_closure")


# -- cjit_prompting_event_not_after_triage --------------------------------------------------


@pytest.mark.parametrize("days", [1, 20])
def test_cjit_prompting_event_not_after_triage(
    bases: dict[str, Raw], check: Run, days: int
) -> None:
    """Seed 001 (dataset Q v4.2) REFLD: a prompting event after the contact is a WARNING
    (the field's own requirement is data quality, not rejection), in words that say what
    date to use; nothing about the record is an error."""
    rec = bases["closed_prior"]
    found = check(edit(rec, {"REFLD": rel(rec, "TRIAGED", days)}))
    assert_fires(found, "cjit_prompting_event_not_after_triage", ("REFLD", WARNING, None))
    (hit,) = [f for f in found if f.rule_id == "cjit_prompting_event_not_after_triage"]
    assert "after the contact date" in hit.message and "drug test" in hit.message
    assert not [f for f in found if f.severity is ERROR]


@pytest.mark.parametrize("days", [0, -1, -3])
def test_cjit_prompting_event_not_after_triage_silent(
    bases: dict[str, Raw], check: Run, days: int
) -> None:
    """REFLD on (no clear event) or before TRIAGED (dataset Q v4.2, field REFLD)."""
    rec = bases["closed_prior"]
    found = check(edit(rec, {"REFLD": rel(rec, "TRIAGED", days)}))
    assert_silent(found, "cjit_prompting_event_not_after_triage")


# -- cjit_prompting_event_is_contact_without_prior_event -----------------------------------

SELF_REFERRAL = "3"  # CJRFLS 'voluntary – other (including self-referral)', tag no_prior_event


@pytest.mark.parametrize("days", [1, 5])
def test_cjit_prompting_event_is_contact_without_prior_event(
    bases: dict[str, Raw], check: Run, days: int
) -> None:
    """Seed 001 (dataset Q v4.2) REFLD: with no clear preceding event (a client presenting
    without a referral from a service or a recent arrest or release), the date of the
    prompting event is the triage date; a self-referral dated earlier is a warning."""
    rec = bases["closed_prior"]
    found = check(edit(rec, {"CJRFLS": SELF_REFERRAL, "REFLD": rel(rec, "TRIAGED", -days)}))
    assert_fires(
        found, "cjit_prompting_event_is_contact_without_prior_event", ("REFLD", WARNING, None)
    )
    (hit,) = [f for f in found if f.rule_id.endswith("without_prior_event")]
    assert "self-referral" in hit.message and "contact date" in hit.message


@pytest.mark.parametrize(
    ("route", "days"),
    [
        pytest.param(SELF_REFERRAL, 0, id="self-referral-on-contact-date"),
        pytest.param("2", -3, id="release-from-prison-dated-at-release"),
        pytest.param("5", -1, id="positive-test-dated-at-test"),
        pytest.param("9", -10, id="offender-manager-referral-dated-at-referral"),
        pytest.param(SELF_REFERRAL, 2, id="after-contact-is-the-other-rule"),
    ],
)
def test_cjit_prompting_event_is_contact_without_prior_event_silent(
    bases: dict[str, Raw], check: Run, route: str, days: int
) -> None:
    """Seed 001 REFLD: a drug test, a release or a referral is dated at that event; a
    self-referral on the contact date is right."""
    rec = bases["closed_prior"]
    found = check(edit(rec, {"CJRFLS": route, "REFLD": rel(rec, "TRIAGED", days)}))
    assert_silent(found, "cjit_prompting_event_is_contact_without_prior_event")


# -- cjit_alcohol_only_states_no_second_and_third ------------------------------------------

ALCOHOL, HEROIN, NONE_2ND, NONE_3RD = "7000", "1101", "9996", "9997"  # DRUG list


@pytest.mark.parametrize(
    ("drugs", "expected"),
    [
        pytest.param((ALCOHOL, BLANK, BLANK), {"DRUG2", "DRUG3"}, id="both-blank"),
        pytest.param((ALCOHOL, NONE_2ND, BLANK), {"DRUG3"}, id="no-third-blank"),
        pytest.param((ALCOHOL, BLANK, NONE_3RD), {"DRUG2"}, id="no-second-blank"),
    ],
)
def test_cjit_alcohol_only_states_no_second_and_third(
    bases: dict[str, Raw], check: Run, drugs: tuple[object, ...], expected: set[str]
) -> None:
    """Seed 000 (CJIT supplementary guidance 2018), FAQ on alcohol-only clients: "please
    make sure you state no second and third drug" (DRUG 9996 and 9997); left blank, each
    is a warning that names the code to choose."""
    changes = dict(zip(("DRUG1", "DRUG2", "DRUG3"), drugs, strict=True))
    found = check(edit(bases["closed_prior"], changes))
    assert_fires(
        found,
        "cjit_alcohol_only_states_no_second_and_third",
        *((field, WARNING, None) for field in expected),
    )
    messages = {f.field: f.message for f in found if f.rule_id.startswith("cjit_alcohol")}
    if "DRUG2" in expected:
        assert "'No second substance'" in messages["DRUG2"]
    if "DRUG3" in expected:
        assert "'No third substance'" in messages["DRUG3"]


@pytest.mark.parametrize(
    "drugs",
    [
        pytest.param((ALCOHOL, NONE_2ND, NONE_3RD), id="alcohol-only-stated"),
        pytest.param((ALCOHOL, HEROIN, BLANK), id="alcohol-and-a-drug"),
        pytest.param((ALCOHOL, NONE_2ND, HEROIN), id="third-is-a-drug"),
        pytest.param((HEROIN, BLANK, BLANK), id="not-alcohol-blank-as-dataset-q-says"),
    ],
)
def test_cjit_alcohol_only_states_no_second_and_third_silent(
    bases: dict[str, Raw], check: Run, drugs: tuple[object, ...]
) -> None:
    """Seed 000 FAQ (alcohol only) is stated; or the client is not alcohol only, where
    seed 001 (dataset Q v4.2 DRUG2/DRUG3) leaves a missing further substance blank."""
    changes = dict(zip(("DRUG1", "DRUG2", "DRUG3"), drugs, strict=True))
    found = check(edit(bases["closed_prior"], changes))
    assert_silent(found, "cjit_alcohol_only_states_no_second_and_third")


# -- cjit_referrals_inside_caseload_period --------------------------------------------------


def _referral_on(rec: Raw, index: int, header: str, days: int) -> Raw:
    return edit_referral(rec, index, {"REFDATE": rel(rec, header, days)})


@pytest.mark.parametrize(
    ("base", "change", "expected"),
    [
        pytest.param(
            "closed_caseload",
            lambda r: _referral_on(r, 1, "CPLANDT", -1),
            {1},
            id="second-before-caseload-start",
        ),
        pytest.param(
            "closed_caseload",
            lambda r: _referral_on(r, 0, "DISD", 1),
            {0},
            id="first-after-closure",
        ),
        pytest.param(
            "open_caseload",
            lambda r: _referral_on(r, 0, "CPLANDT", -1),
            {0},
            id="open-first-before-caseload-start",
        ),
        pytest.param(
            "closed_caseload",
            lambda r: edit(r, {"CPLANDT": BLANK}),
            {0, 1},
            id="no-caseload-start",
        ),
    ],
)
def test_cjit_referrals_inside_caseload_period(
    bases: dict[str, Raw], check: Run, base: str, change: Change, expected: set[int]
) -> None:
    """A REFDATE outside CPLANDT–DISD, or with no CPLANDT, is flagged on that referral.

    Source: dataset Q v4.2 field REFDATE ("multiple referrals may be made and recorded while
    the client is on the caseload").
    """
    found = check(change(bases[base]))
    assert_fires(
        found,
        "cjit_referrals_inside_caseload_period",
        *(("REFDATE", WARNING, index) for index in expected),
    )


def test_cjit_referrals_inside_caseload_period_before_start_and_after_close(
    bases: dict[str, Raw], check: Run
) -> None:
    """A referral can be both before the start and after the close (dataset Q v4.2, REFDATE).

    With CPLANDT after DISD (itself an error) a referral between them breaks both limits;
    each referral gets its own finding.
    """
    rec = bases["closed_caseload"]
    rec = edit(rec, {"CPLANDT": rel(rec, "DISD", 2)})
    rec = _referral_on(rec, 1, "DISD", 1)
    found = check(rec)
    mine = [f for f in found if f.rule_id == "cjit_referrals_inside_caseload_period"]
    assert [(f.field, f.severity, f.item) for f in mine if f.item == 1] == [
        ("REFDATE", WARNING, 1),
        ("REFDATE", WARNING, 1),
    ]


@pytest.mark.parametrize(
    ("base", "change"),
    [
        pytest.param("closed_caseload", lambda r: r, id="as-generated"),
        pytest.param("open_caseload", lambda r: r, id="open-as-generated"),
        pytest.param(
            "closed_caseload", lambda r: _referral_on(r, 0, "CPLANDT", 0), id="on-caseload-start"
        ),
        pytest.param("closed_caseload", lambda r: _referral_on(r, 1, "DISD", 0), id="on-closure"),
        pytest.param(
            "open_caseload", lambda r: _referral_on(r, 1, "CPLANDT", 200), id="open-long-after"
        ),
        pytest.param(
            "closed_caseload",
            lambda r: edit(r, {"CPLANDT": BLANK, "referrals": []}),
            id="no-caseload-no-referrals",
        ),
        pytest.param(
            "closed_caseload",
            lambda r: edit_referral(edit_referral(r, 0, {"REFDATE": BLANK}), 1, {"REFDATE": BLANK}),
            id="referral-dates-blank",
        ),
    ],
)
def test_cjit_referrals_inside_caseload_period_silent(
    bases: dict[str, Raw], check: Run, base: str, change: Change
) -> None:
    """Referrals dated from CPLANDT to DISD inclusive (dataset Q v4.2, field REFDATE)."""
    found = check(change(bases[base]))
    assert_silent(found, "cjit_referrals_inside_caseload_period")


# -- cjit_referral_ids_unique ---------------------------------------------------------------


def test_cjit_referral_ids_unique(bases: dict[str, Raw], check: Run) -> None:
    """A second referral reusing a REFERID is an error on that referral (dataset Q, REFERID)."""
    rec = bases["closed_caseload"]
    found = check(edit_referral(rec, 1, {"REFERID": rec["referrals"][0]["REFERID"]}))
    assert_fires(found, "cjit_referral_ids_unique", ("REFERID", ERROR, 1))


def test_cjit_referral_ids_unique_third_repeats_first(bases: dict[str, Raw], check: Run) -> None:
    """Only the later duplicate is flagged: referral 2 repeats referral 0 (dataset Q, REFERID)."""
    rec = copy.deepcopy(bases["closed_caseload"])
    rec["referrals"] = [*rec["referrals"][:2], dict(rec["referrals"][0])]
    found = check(rec)
    assert_fires(found, "cjit_referral_ids_unique", ("REFERID", ERROR, 2))


@pytest.mark.parametrize(
    "change",
    [
        pytest.param(lambda r: r, id="distinct"),
        pytest.param(
            lambda r: edit_referral(edit_referral(r, 0, {"REFERID": BLANK}), 1, {"REFERID": BLANK}),
            id="both-blank",
        ),
        pytest.param(lambda r: edit_referral(r, 1, {"REFERID": "r-other"}), id="other-id"),
    ],
)
def test_cjit_referral_ids_unique_silent(bases: dict[str, Raw], check: Run, change: Change) -> None:
    """Distinct (or blank) REFERIDs (dataset Q v4.2, field REFERID)."""
    found = check(change(bases["closed_caseload"]))
    assert_silent(found, "cjit_referral_ids_unique")


# -- cjit_own_dat_for_no_fixed_abode --------------------------------------------------------


ROUGH_SLEEPING, RENTED = "17", "2"  # HOUSING: tag no_fixed_abode; a home
OUT_OF_ENGLAND = "Z00B"  # DAT: tags outside_england outside_uk


@pytest.mark.parametrize("postcode", ["ZZ99 3VZ", "zz993vz"])
def test_cjit_own_dat_for_no_fixed_abode(bases: dict[str, Raw], check: Run, postcode: str) -> None:
    """Seed 001 (dataset Q v4.2) fields PC and DAT: ZZ99 3VZ is no fixed abode OR living
    outside the UK. With DAT blank and nothing saying no fixed abode, a warning names both
    answers: this team's own DAT, or the outside-UK code ('Out of England', Z00B)."""
    found = check(edit(bases["closed_prior"], {"PC": postcode, "HOUSING": RENTED, "DAT": BLANK}))
    assert_fires(found, "cjit_own_dat_for_no_fixed_abode", ("DAT", WARNING, None))
    (finding,) = [f for f in found if f.rule_id == "cjit_own_dat_for_no_fixed_abode"]
    assert AGENCY_DAT in finding.message
    assert "outside the UK" in finding.message and OUT_OF_ENGLAND in finding.message


def test_cjit_own_dat_for_no_fixed_abode_filled_only_for_no_fixed_abode(
    bases: dict[str, Raw], check: Run, refdata: RefData, validator: Validator
) -> None:
    """Seed 001 (dataset Q v4.2) field DAT: "if a client states that they are of no fixed
    abode then the partnership (DAT) of the CJIT should be used as a proxy"; outside the
    UK, "record the code that reflects this". Only a housing situation tagged
    no_fixed_abode lets Pathway send the team's own DAT (an info on the sheet); a client
    living outside the UK, or one whose housing does not say, is left for the worker."""
    from desktop.domain.rules.cjit import own_dat_for_no_fixed_abode

    spec = refdata.datasets[DATASET]
    nfa = edit(bases["closed_prior"], {"PC": "ZZ99 3VZ", "HOUSING": ROUGH_SLEEPING, "DAT": BLANK})
    found = check(nfa)
    assert_fires(found, "cjit_own_dat_for_no_fixed_abode", ("DAT", INFO, None))
    assert own_dat_for_no_fixed_abode(nfa, spec, refdata, AGENCY_DAT) == AGENCY_DAT
    assert own_dat_for_no_fixed_abode(nfa, spec, refdata, None) is None
    unknown = edit(nfa, {"HOUSING": RENTED})
    assert own_dat_for_no_fixed_abode(unknown, spec, refdata, AGENCY_DAT) is None
    housing_blank = edit(nfa, {"HOUSING": BLANK})
    assert own_dat_for_no_fixed_abode(housing_blank, spec, refdata, AGENCY_DAT) is None
    abroad = edit(unknown, {"DAT": OUT_OF_ENGLAND})
    assert own_dat_for_no_fixed_abode(abroad, spec, refdata, AGENCY_DAT) is None
    housed = edit(nfa, {"PC": "NR14 7UJ"})
    assert own_dat_for_no_fixed_abode(housed, spec, refdata, AGENCY_DAT) is None
    # without the team's DAT in the setup nothing is filled in: the worker records it
    found = validator.validate(nfa, Context(today=TODAY))
    assert_fires(found, "cjit_own_dat_for_no_fixed_abode", ("DAT", WARNING, None))


@pytest.mark.parametrize(
    "changes",
    [
        pytest.param({"PC": "ZZ99 3VZ", "DAT": AGENCY_DAT}, id="nfa-with-dat"),
        pytest.param({"PC": "ZZ99 3VZ", "DAT": "A10B"}, id="nfa-with-other-dat"),
        pytest.param({"PC": "ZZ99 3VZ", "DAT": OUT_OF_ENGLAND}, id="abroad-with-outside-uk-code"),
        pytest.param({"PC": "NR14 7UJ", "DAT": BLANK}, id="postcode-no-dat"),
        pytest.param({"PC": BLANK, "DAT": BLANK}, id="no-postcode-no-dat"),
    ],
)
def test_cjit_own_dat_for_no_fixed_abode_silent(
    bases: dict[str, Raw], check: Run, changes: dict[str, object]
) -> None:
    """DAT given, or the client has a postcode (dataset Q v4.2, fields DAT and PC)."""
    found = check(edit(bases["closed_prior"], changes))
    assert_silent(found, "cjit_own_dat_for_no_fixed_abode")
