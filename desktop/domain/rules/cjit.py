"""Cross-field rules of the NDTMS CJIT dataset Q (business definitions v4.2)."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

from desktop.domain.record import item_date
from desktop.domain.rules import ERROR, INFO, WARNING, Check, Hit, duplicate_ids, rule, when
from desktop.domain.spec import Code, DatasetSpec, RefData
from desktop.domain.values import NO_FIXED_ABODE_POSTCODE, is_blank, parse_code, parse_postcode


@rule("Q")
def cjit_closure_date_and_reason_together(c: Check) -> Iterator[Hit]:
    """DISD and CJDISRSN are given together.

    Source: dataset Q v4.2, DISD ("case closure reason MUST be given") and CJDISRSN
    ("case closure date MUST be given").
    """
    if c.has("DISD") and not c.has("CJDISRSN"):
        yield Hit("CJDISRSN", ERROR, "A closed case needs a closure reason.")
    if c.has("CJDISRSN") and not c.has("DISD"):
        yield Hit("DISD", ERROR, "A closure reason needs the date the case closed.")


@rule("Q")
def cjit_closure_reason_matches_caseload(c: Check) -> Iterator[Hit]:
    """The closure reason comes from the set that fits the caseload status.

    Source: dataset Q v4.2 field CPLANDT ("if not being taken onto the caseload, the
    episode must be closed with a 'prior to caseload' reason") and appendix E (two sets:
    prior to caseload; from caseload). CJIT supplementary guidance (2018), case closures.
    """
    reason = c.s("CJDISRSN")
    if reason is None:
        return
    prior = c.refdata.lists.get("CJDISRSN_PRIOR")
    caseload = c.refdata.lists.get("CJDISRSN_CASELOAD")
    if prior is None or caseload is None:
        return
    if not c.has("CPLANDT") and reason not in prior.codes and reason in caseload.codes:
        yield Hit(
            "CJDISRSN",
            ERROR,
            f"{c.code_label('CJDISRSN')} is a 'from caseload' reason, but the client was never "
            "taken onto the caseload (no caseload start date). "
            "Choose a 'prior to caseload' reason.",
        )
    if c.has("CPLANDT") and reason not in caseload.codes and reason in prior.codes:
        yield Hit(
            "CJDISRSN",
            ERROR,
            f"{c.code_label('CJDISRSN')} is a 'prior to caseload' reason, but the client is on the "
            "caseload. Choose a 'from caseload' reason.",
        )


@rule("Q")
def cjit_closure_not_before_triage(c: Check) -> Iterator[Hit]:
    """DISD is on or after TRIAGED: a case closes after the contact that opened it."""
    triaged, closed = c.d("TRIAGED"), c.d("DISD")
    if triaged and closed and closed < triaged:
        yield Hit("DISD", ERROR, f"The case closes before the contact date ({when(triaged)}).")


@rule("Q")
def cjit_caseload_start_not_before_triage(c: Check) -> Iterator[Hit]:
    """CPLANDT is on or after TRIAGED: the care plan follows the assessment."""
    triaged, start = c.d("TRIAGED"), c.d("CPLANDT")
    if triaged and start and start < triaged:
        yield Hit(
            "CPLANDT", ERROR, f"The caseload starts before the contact date ({when(triaged)})."
        )


@rule("Q")
def cjit_caseload_start_not_after_closure(c: Check) -> Iterator[Hit]:
    """CPLANDT is on or before DISD: the client joins the caseload before leaving it."""
    start, closed = c.d("CPLANDT"), c.d("DISD")
    if start and closed and start > closed:
        yield Hit("CPLANDT", ERROR, f"The caseload starts after the case closed ({when(closed)}).")


@rule("Q")
def cjit_prompting_event_not_after_triage(c: Check) -> Iterator[Hit]:
    """REFLD is on or before TRIAGED: a warning, not a rejection.

    Source: dataset Q v4.2 field REFLD: the date of the test, release or referral that
    prompted the contact; with no clear event, the same as the triage date. The field
    "MUST be completed. If not, data may be excluded from performance monitoring reports";
    the business definitions state no rejection for it, so a date after the contact is
    flagged for the worker to check, and the record is not refused.
    """
    event, triaged = c.d("REFLD"), c.d("TRIAGED")
    if event and triaged and event > triaged:
        yield Hit(
            "REFLD",
            WARNING,
            f"The date of the prompting event is after the contact date ({when(triaged)}). "
            "Use the date of the drug test, release or referral that came before the "
            "contact; with no such event, the contact date.",
        )


def _tagged_entry(c: Check, header: str, tag: str) -> Code | None:
    """The first code of the field's list that carries ``tag``."""
    spec = c.spec.by_header.get(header)
    if spec is not None:
        for entry, _ in c.refdata.codes_for(spec):
            if tag in entry.tags:
                return entry
    return None


def _tagged_label(c: Check, header: str, tag: str) -> str:
    entry = _tagged_entry(c, header, tag)
    return f"'{entry.label}'" if entry is not None else f"'{tag}'"


@rule("Q")
def cjit_alcohol_only_states_no_second_and_third(c: Check) -> Iterator[Hit]:
    """An alcohol-only client is recorded with 'no second' and 'no third' substance.

    Source: CJIT supplementary guidance (2018, seed 000) FAQ "Can we record that we are
    working with offenders who are alcohol only users?": "please make sure you state no
    second and third drug". The DRUG list's codes tagged none_second and none_third
    (9996, 9997) say so. Only for alcohol only: dataset Q v4.2 otherwise leaves DRUG2 and
    DRUG3 blank when there is no further substance.
    """
    if not c.is_("DRUG1", "alcohol"):
        return
    second, third = c.s("DRUG2"), c.s("DRUG3")
    if (second and not c.is_("DRUG2", "none_second")) or (
        third and not c.is_("DRUG3", "none_third")
    ):
        return  # a further substance: not alcohol only
    if not second:
        yield Hit(
            "DRUG2",
            WARNING,
            f"Alcohol only: record {_tagged_label(c, 'DRUG2', 'none_second')} as problem "
            "substance 2.",
        )
    if not third:
        yield Hit(
            "DRUG3",
            WARNING,
            f"Alcohol only: record {_tagged_label(c, 'DRUG3', 'none_third')} as problem "
            "substance 3.",
        )


@rule("Q")
def cjit_prompting_event_is_contact_without_prior_event(c: Check) -> Iterator[Hit]:
    """With no referral, arrest or release before the contact, REFLD equals TRIAGED.

    Source: dataset Q v4.2 (seed 001) field REFLD: "if there is no clear preceding event,
    eg when a client presents without a referral from a service or without a recent
    arrest/release from prison, then this should be the same as the triage/assessment
    date". The routes with no preceding event carry the CJRFLS tag no_prior_event
    ('voluntary – other (including self-referral)', seed 000 referral sources). A
    prompting event after the contact is cjit_prompting_event_not_after_triage's.
    """
    event, triaged = c.d("REFLD"), c.d("TRIAGED")
    if event and triaged and event < triaged and c.is_("CJRFLS", "no_prior_event"):
        yield Hit(
            "REFLD",
            WARNING,
            f"{c.code_label('CJRFLS')} has no referral, arrest or release before the contact: "
            f"the date of the prompting event is the contact date ({when(triaged)}).",
        )


@rule("Q")
def cjit_referrals_inside_caseload_period(c: Check) -> Iterator[Hit]:
    """Each REFDATE lies while the client is on the caseload (CPLANDT to DISD).

    Source: dataset Q v4.2 field REFDATE ("multiple referrals may be made and recorded
    while the client is on the caseload").
    """
    start, closed = c.d("CPLANDT"), c.d("DISD")
    for index, item in enumerate(c.items):
        day = item_date(item, "REFDATE")
        if day is None:
            continue
        if start is None:
            yield Hit(
                "REFDATE",
                WARNING,
                "A referral to structured treatment is recorded, but the client has no caseload "
                "start date.",
                index,
            )
        elif day < start:
            yield Hit(
                "REFDATE",
                WARNING,
                f"This referral is before the caseload start ({when(start)}).",
                index,
            )
        if closed is not None and day > closed:
            yield Hit(
                "REFDATE",
                WARNING,
                f"This referral is after the case closed ({when(closed)}).",
                index,
            )


@rule("Q")
def cjit_referral_ids_unique(c: Check) -> Iterator[Hit]:
    """REFERID is unique: each referral has its own technical identifier (dataset Q)."""
    yield from duplicate_ids(c, "REFERID", "referrals")


def no_fixed_abode(values: Mapping[str, object], spec: DatasetSpec, refdata: RefData) -> bool:
    """Whether the answers say the client is of no fixed abode: postcode ZZ99 3VZ and a
    housing situation whose code carries the tag no_fixed_abode (e.g. rough sleeping).

    ZZ99 3VZ alone does not tell: it stands for no fixed abode or for living outside the UK
    (dataset Q v4.2, seed 001, field PC).
    """
    housing = spec.by_header.get("HOUSING")
    code = parse_code(values.get("HOUSING")).value
    return (
        parse_postcode(values.get("PC")).value == NO_FIXED_ABODE_POSTCODE
        and housing is not None
        and isinstance(code, str)
        and code in refdata.field_tagged(housing, "no_fixed_abode")
    )


def own_dat_for_no_fixed_abode(
    values: Mapping[str, object], spec: DatasetSpec, refdata: RefData, agency_dat: str | None
) -> str | None:
    """The DAT sent for a client of no fixed abode whose DAT is blank: this team's own DAT.
    None when the DAT is given, the client is not known to be of no fixed abode (a client
    living outside the UK has the same postcode and takes the outside-UK code instead), or
    the team's DAT is not set up.

    Source: dataset Q v4.2 (seed 001) field DAT ("if a client states that they are of no
    fixed abode then the partnership (DAT) of the CJIT should be used as a proxy"; "if the
    client is resident ... outside of the UK record the code that reflects this").
    """
    if not agency_dat or "DAT" not in spec.by_header or not is_blank(values.get("DAT")):
        return None
    return agency_dat if no_fixed_abode(values, spec, refdata) else None


@rule("Q")
def cjit_own_dat_for_no_fixed_abode(c: Check) -> Iterator[Hit]:
    """ZZ99 3VZ with no DAT: no fixed abode takes the CJIT's own DAT, a client living
    outside the UK the outside-UK code.

    Source: dataset Q v4.2 (seed 001) field DAT ("if a client states that they are of no
    fixed abode then the partnership (DAT) of the CJIT should be used as a proxy"; outside
    the UK, "record the code that reflects this") and field PC (ZZ99 3VZ for no fixed abode
    or normally resident outside the UK). The housing situation tells which (HOUSING codes
    tagged no_fixed_abode); only then does the file carry the team's DAT by itself.
    """
    if c.s("PC") != NO_FIXED_ABODE_POSTCODE or c.has("DAT"):
        return
    own = c.ctx.agency_dat
    team = f"this team's own DAT ({own})" if own else "this team's own DAT"
    if no_fixed_abode(c.rec.values, c.spec, c.refdata):
        if own:
            yield Hit("DAT", INFO, f"No fixed abode: {team} is sent as the DAT of residence.")
        else:
            yield Hit("DAT", WARNING, f"No fixed abode: record {team}.")
        return
    outside = _tagged_entry(c, "DAT", "outside_uk")
    abroad = f"'{outside.label}' ({outside.code})" if outside else "the code for where they live"
    yield Hit(
        "DAT",
        WARNING,
        f"ZZ99 3VZ is for no fixed abode or living outside the UK. No fixed abode: {team}. "
        f"Outside the UK: {abroad}.",
    )
