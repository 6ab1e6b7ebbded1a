"""The prison caseload: the flags on a row (13-week review due, interventions open at
discharge, exit answers missing, no consent, errors) and the groups it is viewed in.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date

from desktop.domain.findings import Finding
from desktop.domain.period import Period
from desktop.domain.prison.common import (
    dd_mm_yyyy,
    has_tag,
    open_interventions,
    plural,
    tagged_codes,
)
from desktop.domain.record import Record, item_date
from desktop.domain.rules.secure import OST_REVIEW_DAYS
from desktop.domain.spec import DatasetSpec, RefData
from desktop.domain.workflow import Flag, SecureState, secure_step


def ost_started(record: Record, spec: DatasetSpec, refdata: RefData) -> date | None:
    """The first start of an opioid substitution intervention (MODAL tag 'ost')."""
    ost = tagged_codes(spec, refdata, "MODAL", "ost")
    starts = [
        start
        for item in record.items
        if item.get("MODAL") in ost and (start := item_date(item, "MODST")) is not None
    ]
    return min(starts) if starts else None


def ost_days(record: Record, spec: DatasetSpec, refdata: RefData, today: date) -> int:
    """Days of opioid substitution treatment in this episode (overlaps counted once), up to
    the discharge or today."""
    ost = tagged_codes(spec, refdata, "MODAL", "ost")
    stop = record.date("DISD") or today
    days: set[int] = set()
    for item in record.items:
        start = item_date(item, "MODST")
        if start is None or item.get("MODAL") not in ost:
            continue
        end = min(item_date(item, "MODEND") or stop, stop)
        days.update(range(start.toordinal(), end.toordinal() + 1))
    return len(days)


# The checks that find an exit answer missing once the exit is recorded: the exit date and
# reason together, the destination when needed, and the fields required at exit or on release.
EXIT_CHECKS = frozenset(
    {"secure_exit_date_and_reason_together", "secure_exit_destination_when_needed"}
)
EXIT_ON = ("EXITD", "EXITRSN")


def exit_missing(findings: Iterable[Finding], spec: DatasetSpec) -> tuple[str, ...]:
    """Exit answers still blank once the exit is recorded, as the record's checks find
    them: the exit reason, the destination when it is needed, and every field required at
    exit or on release.

    Source: dataset R v1.2 EXITD/EXITRSN, EXITDEST, and the fields "required when the client
    leaves" (LIVSCRN, MHTXEXIT, SENTENCED, REFHEPCTX) or "required when the client is
    released" (RECONNECT, THNALOX, HOMELESSEXIT, RTOAGNCY).
    """
    missing: list[str] = []
    for f in findings:
        asked = spec.by_header.get(f.field)
        cond = asked.requirement.condition if asked is not None else None
        at_exit = f.rule_id == "required_when" and cond is not None and cond.field in EXIT_ON
        if f.item is None and (f.rule_id in EXIT_CHECKS or at_exit) and f.field not in missing:
            missing.append(f.field)
    return tuple(missing)


def prison_flags(
    record: Record,
    spec: DatasetSpec,
    refdata: RefData,
    *,
    findings: Iterable[Finding],
    consented: bool,
    errors: int,
    today: date,
) -> tuple[Flag, ...]:
    """Flags on a prison caseload row.

    - review due: 13 weeks or more of opioid substitution treatment and no initial
      13-week clinical review recorded (dataset R v1.2 CLINREV; appendix E: extended
      prescribing is reviewed every 3 months);
    - interventions open at discharge (DISD: "prior to discharge all interventions must
      have end dates");
    - exit answers missing (EXITD, EXITRSN, EXITDEST and the fields required at exit or
      on release), from the record's ``findings``;
    - no consent: never submitted (CONSENT); errors: NDTMS would reject the record.
    """
    flags: list[Flag] = []
    state = secure_step(record, refdata, today).state
    days = ost_days(record, spec, refdata, today)
    clinrev = record.values.get("CLINREV")
    reviewed = has_tag(spec, refdata, "CLINREV", clinrev, "yes")
    if days >= OST_REVIEW_DAYS and not reviewed and state != SecureState.EXITED:
        since = ost_started(record, spec, refdata)
        when = f" (OST since {dd_mm_yyyy(since)})" if since else ""
        flags.append(Flag("review", f"13-week review due{when}"))
    opened = open_interventions(record)
    if "DISD" in record.values and opened:
        flags.append(
            Flag("open_interventions", f"{plural(len(opened), 'intervention')} open at discharge")
        )
    missing = exit_missing(findings, spec)
    if missing:
        flags.append(Flag("exit_missing", f"{plural(len(missing), 'exit answer')} missing"))
    if not consented:
        flags.append(Flag("no_consent", "no consent: never submitted"))
    if errors:
        flags.append(Flag("errors", plural(errors, "error")))
    return tuple(flags)


@dataclass(frozen=True, slots=True)
class CaseloadGroup:
    """A view of the prison caseload, as filters the store can apply.

    ``fields_in`` narrows to episodes whose stored field holds one of the codes.
    """

    key: str
    title: str
    states: tuple[str, ...] = ()
    closed_from: date | None = None
    closed_to: date | None = None
    fields_in: tuple[tuple[str, tuple[str, ...]], ...] = ()


def caseload_groups(spec: DatasetSpec, refdata: RefData, today: date) -> tuple[CaseloadGroup, ...]:
    """Everyone; in treatment now (not discharged); discharged but not yet exited;
    released this month (exit reason tagged 'released', exit date this month)."""
    month = Period(today.year, today.month)
    released = tuple(sorted(tagged_codes(spec, refdata, "EXITRSN", "released")))
    return (
        CaseloadGroup("all", "Everyone"),
        CaseloadGroup(
            "in_treatment",
            "In treatment now",
            (SecureState.RECEIVED, SecureState.TRIAGED, SecureState.IN_TREATMENT),
        ),
        CaseloadGroup("discharged", "Discharged, not exited", (SecureState.DISCHARGED,)),
        CaseloadGroup(
            "released",
            "Released this month",
            (SecureState.EXITED,),
            month.start,
            month.end,
            (("EXITRSN", released),),
        ),
    )
