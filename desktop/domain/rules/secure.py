"""Cross-field rules of the NDTMS adult secure settings dataset R (business definitions v1.2)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from desktop.domain.record import item_date
from desktop.domain.rules import ERROR, WARNING, Check, Hit, duplicate_ids, rule, when
from desktop.domain.spec import DatasetSpec, RefData

OST_REVIEW_DAYS = 91  # the initial clinical review falls due after 13 weeks of OST


# ---------------------------------------------------------------- appendix G (on release)


@dataclass(frozen=True, slots=True)
class Scenario:
    """One scenario of appendix G: what a release expects of the record.

    ``discharge`` and ``referral`` are tags of DISRSN and RTOAGNCY codes; a referral must
    carry one of ``referral`` and none of ``referral_not``.
    """

    number: int
    title: str
    discharge: tuple[str, ...]
    referral: tuple[str, ...]
    referral_not: tuple[str, ...] = ()
    note: str = ""


SCENARIOS: tuple[Scenario, ...] = (
    Scenario(
        1,
        "needs structured treatment in the community",
        ("transferred_not_in_custody",),
        ("structured",),
        note="Agree the transfer with the community provider (two-way communication).",
    ),
    Scenario(
        2,
        "needs structured treatment but will not engage with a community service",
        ("referral_refused",),
        ("none",),
    ),
    Scenario(
        3,
        "needs recovery support only",
        ("completed",),
        ("recovery_support",),
        ("structured",),
    ),
    Scenario(4, "needs no further treatment or support", ("abstinent",), ("none",)),
    Scenario(
        5,
        "released unexpectedly from court",
        ("released_from_court",),
        ("none",),
        note="The discharge date is the last face-to-face contact.",
    ),
)


def _codes(spec: DatasetSpec, refdata: RefData, header: str, *tags: str) -> frozenset[str]:
    field = spec.by_header.get(header)
    if field is None:
        return frozenset()
    out: set[str] = set()
    for tag in tags:
        out |= refdata.field_tagged(field, tag)
    return frozenset(out)


def _is(spec: DatasetSpec, refdata: RefData, header: str, code: object, *tags: str) -> bool:
    return isinstance(code, str) and code in _codes(spec, refdata, header, *tags)


def release_scenarios(
    spec: DatasetSpec, refdata: RefData, discharge: object
) -> tuple[Scenario, ...]:
    """The appendix G scenarios a discharge reason belongs to, the most specific first
    ('drug or alcohol free', scenario 4, before 'treatment completed', scenario 3).

    Source: dataset R v1.2 appendix G (continuity of care for clients transferred to a
    community provider): each scenario starts from the discharge reason.
    """
    return tuple(
        sorted(
            (s for s in SCENARIOS if _is(spec, refdata, "DISRSN", discharge, *s.discharge)),
            key=lambda s: len(_codes(spec, refdata, "DISRSN", *s.discharge)),
        )
    )


def exit_destination_expected(
    spec: DatasetSpec,
    refdata: RefData,
    discharge: object,
    referral: object,
    exit_reason: object,
) -> str | None:
    """Why the exit destination is expected for these answers (in the worker's words), or
    None when nothing asks for it. The validator's rule and the sheet's appendix G hint both
    ask this.

    Source: dataset R v1.2 field EXITDEST ("required if ... exit reason is recorded as
    'transferred', or if the client is 'released' and referred to a structured treatment
    service or recovery support service") and appendix G, where every release scenario
    (1 to 5) says "the exit destination should be populated with the Upper Tier Local
    Authority" the client is released or transferred to.
    """
    if _is(spec, refdata, "EXITRSN", exit_reason, "transferred"):
        return "Record the secure setting the client was transferred to."
    if not _is(spec, refdata, "EXITRSN", exit_reason, "released"):
        return None
    if _is(spec, refdata, "RTOAGNCY", referral, "referred"):
        return "Record the local authority of the service the client was referred to on release."
    scenarios = release_scenarios(spec, refdata, discharge)
    if scenarios:
        meant = scenarios[0]
        return (
            f"Appendix G scenario {meant.number} (the client {meant.title}): record as exit"
            " destination the local authority the client is released to."
        )
    return None


@rule("R")
def secure_reception_dates_in_order(c: Check) -> Iterator[Hit]:
    """INTRCPTD ≤ RECPDT ≤ TRIAGED.

    Source: dataset R v1.2: INTRCPTD is the reception into the first setting of the
    continuous stay, RECPDT the reception into this one, TRIAGED the first presentation
    to a substance misuse worker here.
    """
    first, here, triaged = c.d("INTRCPTD"), c.d("RECPDT"), c.d("TRIAGED")
    if first and here and here < first:
        yield Hit(
            "RECPDT", ERROR, f"Reception here is before the initial reception ({when(first)})."
        )
    if here and triaged and triaged < here:
        yield Hit("TRIAGED", ERROR, f"Triage is before the client arrived here ({when(here)}).")


@rule("R")
def secure_transferred_from_only_after_transfer(c: Check) -> Iterator[Hit]:
    """PRISON is blank on the first secure setting of a stay, and given after a transfer.

    Source: dataset R v1.2 field PRISON ("if this is the first secure setting the client
    has entered during this custodial period this field should be left blank").
    """
    first, here = c.d("INTRCPTD"), c.d("RECPDT")
    if first is None or here is None:
        return
    if here == first and c.has("PRISON"):
        yield Hit(
            "PRISON",
            WARNING,
            "Leave 'transferred from' blank: this is the first secure setting of the stay.",
        )
    elif here > first and not c.has("PRISON"):
        yield Hit(
            "PRISON",
            WARNING,
            "The client arrived after the start of their stay: record the setting they came from.",
        )


@rule("R")
def secure_intervention_end_not_before_start(c: Check) -> Iterator[Hit]:
    """MODEND ≥ MODST for every intervention (dataset R, treatment intervention details)."""
    for index, item in enumerate(c.items):
        start, end = item_date(item, "MODST"), item_date(item, "MODEND")
        if start and end and end < start:
            yield Hit(
                "MODEND", ERROR, f"The intervention ends before it starts ({when(start)}).", index
            )
        if end and not start:
            yield Hit("MODST", ERROR, "An ended intervention needs its start date.", index)


@rule("R")
def secure_intervention_inside_episode(c: Check) -> Iterator[Hit]:
    """Interventions start within the episode: not before triage, not after discharge.

    Source: dataset R v1.2, episode details (an episode is one triage date and one
    discharge date, with the interventions between them) and DISD (after a re-opened
    episode, new interventions are opened).
    """
    began, discharged = c.d("TRIAGED") or c.d("RECPDT"), c.d("DISD")
    for index, item in enumerate(c.items):
        start = item_date(item, "MODST")
        if start is None:
            continue
        if began and start < began:
            yield Hit(
                "MODST",
                WARNING,
                f"This intervention starts before the episode began ({when(began)}).",
                index,
            )
        if discharged and start > discharged:
            yield Hit(
                "MODST",
                ERROR,
                f"This intervention starts after discharge ({when(discharged)}).",
                index,
            )


@rule("R")
def secure_intervention_ids_unique(c: Check) -> Iterator[Hit]:
    """MODID is unique: each intervention has its own technical identifier (dataset R)."""
    yield from duplicate_ids(c, "MODID", "interventions")


@rule("R")
def secure_discharge_date_and_reason_together(c: Check) -> Iterator[Hit]:
    """DISD and DISRSN are given together (dataset R v1.2, DISD and DISRSN)."""
    if c.has("DISD") and not c.has("DISRSN"):
        yield Hit("DISRSN", ERROR, "A discharge needs a discharge reason.")
    if c.has("DISRSN") and not c.has("DISD"):
        yield Hit("DISD", ERROR, "A discharge reason needs the discharge date.")


@rule("R")
def secure_interventions_ended_before_discharge(c: Check) -> Iterator[Hit]:
    """Before discharge every intervention has an end date, on or before DISD.

    Source: dataset R v1.2 fields DISD and DISRSN ("prior to discharge all interventions
    must have end dates") and MODEND ("required when client completes intervention or
    is discharged").
    """
    discharged = c.d("DISD")
    if discharged is None:
        return
    for index, item in enumerate(c.items):
        end = item_date(item, "MODEND")
        if end is None:
            yield Hit(
                "MODEND", ERROR, "End this intervention before discharging the client.", index
            )
        elif end > discharged:
            yield Hit(
                "MODEND",
                ERROR,
                f"This intervention ends after the discharge ({when(discharged)}).",
                index,
            )


@rule("R")
def secure_discharge_not_before_triage(c: Check) -> Iterator[Hit]:
    """DISD is on or after TRIAGED: treatment ends after it began."""
    triaged, discharged = c.d("TRIAGED"), c.d("DISD")
    if triaged and discharged and discharged < triaged:
        yield Hit("DISD", ERROR, f"The discharge is before the triage date ({when(triaged)}).")


def _ost_days(c: Check) -> int:
    """Days of opioid substitution treatment in this episode (overlaps counted once)."""
    ost = (
        c.refdata.field_tagged(c.spec.by_header["MODAL"], "ost")
        if "MODAL" in c.spec.by_header
        else frozenset()
    )
    days: set[int] = set()
    stop = c.d("DISD") or c.ctx.today
    for item in c.items:
        start = item_date(item, "MODST")
        if start is None or item.get("MODAL") not in ost:
            continue
        end = item_date(item, "MODEND") or stop
        days.update(range(start.toordinal(), end.toordinal() + 1))
    return len(days)


@rule("R")
def secure_clinical_review_for_ost_clients(c: Check) -> Iterator[Hit]:
    """CLINREV is completed at discharge for clients on OST for 13 weeks or more, else blank.

    Source: dataset R v1.2 field CLINREV ("only applicable to clients receiving opioid
    substitution treatment"; "if client receiving OST for less than 13 weeks ... or client
    is not receiving OST then leave blank"; required when discharged).
    """
    days = _ost_days(c)
    if days >= OST_REVIEW_DAYS and c.has("DISD") and not c.has("CLINREV"):
        yield Hit(
            "CLINREV",
            WARNING,
            f"The client had {days} days of opioid substitution treatment: record whether the "
            "13-week clinical review was done.",
        )
    if c.has("CLINREV") and days < OST_REVIEW_DAYS:
        yield Hit(
            "CLINREV",
            WARNING,
            "Leave the 13-week review blank: the client has not had 13 weeks of opioid "
            "substitution treatment here.",
        )


@rule("R")
def secure_exit_date_and_reason_together(c: Check) -> Iterator[Hit]:
    """EXITD and EXITRSN are given together (dataset R v1.2, EXITD and EXITRSN)."""
    if c.has("EXITD") and not c.has("EXITRSN"):
        yield Hit("EXITRSN", ERROR, "An exit needs an exit reason.")
    if c.has("EXITRSN") and not c.has("EXITD"):
        yield Hit("EXITD", ERROR, "An exit reason needs the exit date.")


@rule("R")
def secure_no_exit_before_discharge(c: Check) -> Iterator[Hit]:
    """Before exit, the episode has a discharge date and reason, on or before EXITD.

    Source: dataset R v1.2 fields EXITD and EXITRSN ("prior to exit all episodes must
    have discharge dates and discharge reasons").
    """
    exited, discharged = c.d("EXITD"), c.d("DISD")
    if exited is None:
        return
    if discharged is None:
        yield Hit("DISD", ERROR, "Discharge the client from treatment before recording the exit.")
    elif discharged > exited:
        yield Hit("DISD", ERROR, f"The discharge is after the exit date ({when(exited)}).")
    arrived = c.d("RECPDT")
    if arrived and exited < arrived:
        yield Hit("EXITD", ERROR, f"The exit is before the client arrived here ({when(arrived)}).")


@rule("R")
def secure_exit_destination_when_needed(c: Check) -> Iterator[Hit]:
    """EXITDEST is given when transferred, when released and referred on, and on every
    release of appendix G.

    Source: dataset R v1.2 field EXITDEST ("required if ... exit reason is 'transferred',
    or if the client is 'released' and referred to a structured treatment service or
    recovery support service"); appendix G (in each of its five release scenarios "the exit
    destination should be populated with the Upper Tier Local Authority").
    """
    if c.has("EXITDEST"):
        return
    why = exit_destination_expected(
        c.spec, c.refdata, c.s("DISRSN"), c.s("RTOAGNCY"), c.s("EXITRSN")
    )
    if why is not None:
        yield Hit("EXITDEST", WARNING, why)


@rule("R")
def secure_exit_destination_matches_reason(c: Check) -> Iterator[Hit]:
    """A transfer goes to a secure setting; a release to a local authority or outside the UK.

    Source: dataset R v1.2 field EXITDEST and appendix D (a transfer to a secure hospital
    is recorded as released to a non-NDTMS reporting secure setting).
    """
    dest = c.s("EXITDEST")
    if dest is None:
        return
    prisons = c.refdata.lists.get("PRISON")
    in_prison_list = prisons is not None and dest in prisons.codes
    if c.is_("EXITRSN", "transferred") and dest in c.refdata.tagged("PRISON", "non_ndtms_secure"):
        yield Hit(
            "EXITRSN",
            WARNING,
            "A move to a secure hospital (non-NDTMS reporting secure setting) is recorded as "
            "'released', not 'transferred'.",
        )
    if c.is_("EXITRSN", "transferred") and prisons is not None and not in_prison_list:
        yield Hit(
            "EXITDEST",
            WARNING,
            "A transfer goes to another secure setting: choose it from the list.",
        )
    if (
        c.is_("EXITRSN", "released")
        and in_prison_list
        and dest not in c.refdata.tagged("PRISON", "non_ndtms_secure")
    ):
        yield Hit(
            "EXITDEST",
            WARNING,
            "A released client goes to a local authority area, not a prison "
            "(secure hospital: 'non-NDTMS reporting secure setting').",
        )


@rule("R")
def secure_release_answers_only_on_release(c: Check) -> Iterator[Hit]:
    """RECONNECT, THNALOX, HOMELESSEXIT and RTOAGNCY are for released clients only.

    Source: dataset R v1.2 fields RECONNECT, THNALOX, HOMELESSEXIT, RTOAGNCY ("populated
    if the client's exit reason is 'released'").
    """
    if not c.has("EXITRSN") or c.is_("EXITRSN", "released"):
        return
    for header in ("RECONNECT", "THNALOX", "HOMELESSEXIT", "RTOAGNCY"):
        if c.has(header):
            yield Hit(
                header,
                WARNING,
                f"{c.label(header)} is only recorded when the client is released; the exit "
                f"reason is {c.code_label('EXITRSN')}.",
            )


@rule("R")
def secure_continuity_of_care_on_release(c: Check) -> Iterator[Hit]:
    """Discharge reason, referral on release, exit reason and destination agree.

    Source: dataset R v1.2 appendix G (continuity of care for clients transferred to a
    community provider) and appendix D (discharge and exit reasons).
    """
    if c.is_("DISRSN", "transferred_not_in_custody"):
        if c.has("EXITRSN") and not c.is_("EXITRSN", "released"):
            yield Hit(
                "EXITRSN",
                WARNING,
                "'Transferred – not in custody' goes with the exit reason 'released'.",
            )
        if c.has("RTOAGNCY") and not c.is_("RTOAGNCY", "structured"):
            yield Hit(
                "RTOAGNCY",
                WARNING,
                "'Transferred – not in custody' means a referral to a structured treatment "
                "provider on release.",
            )
    # The referral on release speaks of the discharge reason only for a release (or an
    # exit not yet recorded): after an exit by transfer it is not asked (RTOAGNCY).
    on_release = not c.has("EXITRSN") or c.is_("EXITRSN", "released")
    if (
        on_release
        and c.is_("RTOAGNCY", "structured")
        and c.has("DISRSN")
        and not c.is_("DISRSN", "transferred_not_in_custody")
    ):
        yield Hit(
            "DISRSN",
            WARNING,
            "The client was referred to structured treatment on release: the discharge reason "
            "should be 'transferred – not in custody'.",
        )
    if (
        on_release
        and c.is_("RTOAGNCY", "recovery_support")
        and not c.is_("RTOAGNCY", "structured")
        and c.is_("DISRSN", "transferred")
    ):
        yield Hit(
            "DISRSN",
            WARNING,
            "Recovery support only is not a transfer: use a 'treatment completed' reason.",
        )
    if c.is_("DISRSN", "referral_refused") and c.is_("RTOAGNCY", "structured"):
        yield Hit(
            "RTOAGNCY",
            WARNING,
            "The client refused onward referral: the referral on release is usually "
            "'no onward referral'.",
        )
    if c.is_("DISRSN", "released_from_court"):
        if c.has("EXITRSN") and not c.is_("EXITRSN", "released"):
            yield Hit(
                "EXITRSN", WARNING, "Released from court goes with the exit reason 'released'."
            )
        if c.has("RTOAGNCY") and not c.is_("RTOAGNCY", "none"):
            yield Hit(
                "RTOAGNCY",
                WARNING,
                "Released from court: the referral on release is 'no onward referral'.",
            )
    if (
        c.is_("DISRSN", "transferred_in_custody")
        and c.has("EXITRSN")
        and not c.is_("EXITRSN", "transferred")
    ):
        yield Hit(
            "EXITRSN",
            WARNING,
            "'Transferred – in custody' goes with the exit reason 'transferred'.",
        )
    if c.is_("EXITRSN", "died") and c.has("DISRSN") and not c.is_("DISRSN", "died"):
        yield Hit(
            "DISRSN",
            WARNING,
            "The client died: the discharge reason is 'incomplete – client died'.",
        )
    if c.is_("DISRSN", "died") and c.has("EXITRSN") and not c.is_("EXITRSN", "died"):
        yield Hit(
            "EXITRSN",
            WARNING,
            "The discharge reason says the client died: the exit reason is 'died'.",
        )
    if c.is_("DISRSN", "deported") and c.has("EXITDEST") and not c.is_("EXITDEST", "outside_uk"):
        yield Hit("EXITDEST", WARNING, "A deported client's destination is 'outside the UK'.")


@rule("R")
def secure_hep_c_referral_date(c: Check) -> Iterator[Hit]:
    """REFHEPCTXDT goes with REFHEPCTX 'yes' (dataset R v1.2, REFHEPCTX and REFHEPCTXDT)."""
    if c.is_("REFHEPCTX", "yes") and not c.has("REFHEPCTXDT"):
        yield Hit("REFHEPCTXDT", WARNING, "Record the date of the hepatitis C treatment referral.")
    if c.has("REFHEPCTXDT") and c.has("REFHEPCTX") and not c.is_("REFHEPCTX", "yes"):
        yield Hit(
            "REFHEPCTXDT",
            WARNING,
            "A referral date is recorded but the answer to 'referred' is not 'yes'.",
        )
