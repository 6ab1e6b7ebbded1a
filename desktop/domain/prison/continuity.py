"""Appendix G of dataset R v1.2, continuity of care on release: which scenario a discharge
reason, a referral on release and an exit reason most likely mean, and what that scenario
expects of the referral and the destination.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from desktop.domain.prison.common import (
    code_label,
    code_labels,
    code_tags,
    has_tag,
    tagged_codes,
)
from desktop.domain.record import Record
from desktop.domain.rules.secure import (
    SCENARIOS,
    Scenario,
    exit_destination_expected,
    release_scenarios,
)
from desktop.domain.spec import DatasetSpec, RefData


@dataclass(frozen=True)
class ContinuityHint:
    """Which appendix G scenario the record most likely means, and what it expects.

    Attributes:
        scenario: the scenario meant.
        fits: whether the record already matches everything the scenario expects.
        wrong: fields that do not fit the scenario (header → what it expects).
        text: the hint in the worker's words.
        alternative: a second scenario that would fit the other answers, if any.
    """

    scenario: Scenario
    fits: bool
    wrong: Mapping[str, str]
    text: str
    alternative: Scenario | None = None


def _expected_discharge(s: Scenario, spec: DatasetSpec, refdata: RefData) -> str:
    codes: set[str] = set()
    for tag in s.discharge:
        codes |= tagged_codes(spec, refdata, "DISRSN", tag)
    return code_labels(spec, refdata, "DISRSN", codes)


def _expected_referral(s: Scenario, spec: DatasetSpec, refdata: RefData) -> str:
    codes: set[str] = set()
    for tag in s.referral:
        codes |= tagged_codes(spec, refdata, "RTOAGNCY", tag)
    for tag in s.referral_not:
        codes -= tagged_codes(spec, refdata, "RTOAGNCY", tag)
    return code_labels(spec, refdata, "RTOAGNCY", codes)


def _referral_fits(s: Scenario, spec: DatasetSpec, refdata: RefData, code: object) -> bool:
    return has_tag(spec, refdata, "RTOAGNCY", code, *s.referral) and not (
        s.referral_not and has_tag(spec, refdata, "RTOAGNCY", code, *s.referral_not)
    )


def _destination_fits(refdata: RefData, code: object) -> bool:
    """Released: a local authority area, outside the UK, or a non-NDTMS secure setting
    (appendix D: a secure hospital); never a prison."""
    if not isinstance(code, str):
        return False
    prisons = refdata.lists.get("PRISON")
    if prisons is not None and code in prisons.codes:
        return code in refdata.tagged("PRISON", "non_ndtms_secure")
    return True


def _nearest(
    candidates: Sequence[Scenario], spec: DatasetSpec, refdata: RefData, discharge: object
) -> Scenario | None:
    """Of the scenarios the referral fits, the one whose discharge reasons are of the same
    kind as the one chosen (e.g. both 'treatment completed'), else the first."""
    kinds = code_tags(spec, refdata, "DISRSN", discharge)
    for scenario in candidates:
        own = kinds - set(scenario.discharge)
        codes = set().union(*(tagged_codes(spec, refdata, "DISRSN", t) for t in scenario.discharge))
        if any(code_tags(spec, refdata, "DISRSN", code) & own for code in codes):
            return scenario
    return candidates[0] if candidates else None


def continuity_hint(
    spec: DatasetSpec,
    refdata: RefData,
    discharge: object,
    referral: object,
    exit_reason: object,
    destination: object = None,
) -> ContinuityHint | None:
    """The appendix G scenario that a discharge reason, referral on release status and exit
    reason most likely mean, with what it expects.

    Appendix G covers clients in structured treatment who are released: None when the exit
    reason is not a release, or the discharge reason is none of the scenarios' (e.g. dropped
    out, died, transferred in custody). The discharge reason is what the worker chose first,
    so of the scenarios it fits, the one whose referral also fits is meant; when none does,
    the scenario that fits the referral is named as the alternative.

    Source: dataset R v1.2 appendix G (continuity of care for clients transferred to a
    community provider) and appendix D (discharge and exit reasons).
    """
    if exit_reason not in (None, "") and not has_tag(
        spec, refdata, "EXITRSN", exit_reason, "released"
    ):
        return None
    by_discharge = release_scenarios(spec, refdata, discharge)
    if not by_discharge:
        return None
    has_referral = referral not in (None, "")
    by_referral = [
        s for s in SCENARIOS if has_referral and _referral_fits(s, spec, refdata, referral)
    ]
    both = [s for s in by_discharge if s in by_referral]
    meant = both[0] if both else by_discharge[0]
    alternative = None if both else _nearest(by_referral, spec, refdata, discharge)
    expect_referral = _expected_referral(meant, spec, refdata)
    destination_text = "the local authority the client goes to"
    head = f"appendix G scenario {meant.number} (the client {meant.title})"
    wrong: dict[str, str] = {}
    if exit_reason in (None, ""):
        text = (
            f"On release, {head} expects the referral on release {expect_referral}, the exit"
            f" reason 'Released' and as destination {destination_text}."
        )
    else:
        if not has_referral or not _referral_fits(meant, spec, refdata, referral):
            wrong["RTOAGNCY"] = expect_referral
        if destination in (None, ""):
            if exit_destination_expected(spec, refdata, discharge, referral, exit_reason):
                wrong["EXITDEST"] = destination_text
        elif not _destination_fits(refdata, destination):
            wrong["EXITDEST"] = destination_text
        given = {"RTOAGNCY": referral, "EXITDEST": destination}
        parts = [
            f"the {spec.by_header[h].label.lower()} to be {expected}, not "
            + (code_label(spec, refdata, h, given[h]) if given[h] not in (None, "") else "blank")
            for h, expected in wrong.items()
            if h in spec.by_header
        ]
        head_text = head[0].upper() + head[1:]
        text = f"Fits {head}." if not wrong else f"{head_text} expects {'; and '.join(parts)}."
    if meant.note:
        text += f" {meant.note}"
    if alternative is not None:
        text += (
            f" If instead the client {alternative.title} (scenario {alternative.number}),"
            f" the discharge reason is {_expected_discharge(alternative, spec, refdata)}."
        )
    fits = exit_reason not in (None, "") and not wrong
    return ContinuityHint(meant, fits, wrong, text, alternative)


def record_hint(record: Record, spec: DatasetSpec, refdata: RefData) -> ContinuityHint | None:
    """:func:`continuity_hint` for the values of a record."""
    v = record.values
    return continuity_hint(
        spec, refdata, v.get("DISRSN"), v.get("RTOAGNCY"), v.get("EXITRSN"), v.get("EXITDEST")
    )
