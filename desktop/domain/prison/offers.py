"""What the prison sheet offers next: where the episode stands and what to do now; discharge
only when every intervention has ended (with an offer to end them on the discharge date),
exit only when every episode of the stay is discharged, the release-only questions only when
the exit reason is a release, and a new episode after an exit unless the client died.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date

from desktop.domain.prison.common import (
    EXIT_FIELDS,
    dd_mm_yyyy,
    has_tag,
    open_interventions,
    plural,
    release_only_fields,
)
from desktop.domain.prison.stay import Stay
from desktop.domain.record import Record
from desktop.domain.spec import DatasetSpec, RefData
from desktop.domain.workflow import (
    REOPEN_WITHIN_DAYS,
    Action,
    SecureState,
    Step,
    not_applicable,
    secure_step,
)


@dataclass(frozen=True)
class Offer:
    """What the prison sheet offers now.

    Attributes:
        state: where the episode stands (received → triaged → in treatment → discharged →
            exited).
        next_step: what to do next, in the worker's words.
        open_interventions: indexes of the interventions not yet ended.
        end_interventions_on: when a discharge date is typed while interventions are open,
            the date the sheet offers to end them on (the discharge date).
        discharge_blocked: why discharge is not possible yet (None when it is).
        exit_blocked: why the exit is not offered yet (None when it is).
        shut: blank fields not asked now → why (shown on hover).
        new_episode: whether a new episode for the same client is offered (after an exit,
            unless the client died).
    """

    state: str
    next_step: str
    open_interventions: tuple[int, ...] = ()
    end_interventions_on: date | None = None
    discharge_blocked: str | None = None
    exit_blocked: str | None = None
    shut: Mapping[str, str] = field(default_factory=dict)
    new_episode: bool = False


def offer(
    record: Record,
    spec: DatasetSpec,
    refdata: RefData,
    today: date,
    stay: Stay | None = None,
    episode_id: str | None = None,
) -> Offer:
    """What the sheet offers next for one prison episode.

    Source: dataset R v1.2 DISD/DISRSN ("prior to discharge all interventions must have end
    dates"), EXITD/EXITRSN ("prior to exit all episodes must have discharge dates and
    discharge reasons"), and RECONNECT, THNALOX, HOMELESSEXIT, RTOAGNCY (asked only when the
    exit reason is 'released'); appendix D (a client received again after leaving gets a new
    episode under the same client).
    """
    step = secure_step(record, refdata, today)
    values = record.values
    opened = open_interventions(record)
    discharged = record.date("DISD")
    shut: dict[str, str] = {}

    discharge_blocked = (
        f"End every intervention before the discharge ({plural(len(opened), 'intervention')}"
        " still open)."
        if opened
        else None
    )
    if "TRIAGED" not in values and not discharged:
        discharge_blocked = "Record the triage date first."
    end_on = discharged if discharged is not None and opened else None

    others = [
        e for e in (stay.not_discharged if stay is not None else ()) if e.episode_id != episode_id
    ]
    exit_blocked: str | None = None
    if discharged is None:
        exit_blocked = "Discharge the client from treatment first; the exit comes after."
    elif others:
        first = others[0]
        since = f" (triaged {dd_mm_yyyy(first.triaged)})" if first.triaged else ""
        exit_blocked = (
            f"Another episode of this stay{since} is not discharged yet: every episode of the"
            " stay is discharged before the exit."
        )
    if exit_blocked is not None:
        for header in EXIT_FIELDS:
            if header in spec.by_header and header not in values:
                shut[header] = exit_blocked

    exit_reason = values.get("EXITRSN")
    not_asked = not_applicable(record, spec, refdata)  # the dataset file's 'applies'
    for header in release_only_fields(spec):
        if header in not_asked:
            shut[header] = not_asked[header]

    return Offer(
        state=str(step.state),
        next_step=_next_step(step, record, spec, refdata, opened, exit_blocked),
        open_interventions=opened,
        end_interventions_on=end_on,
        discharge_blocked=discharge_blocked,
        exit_blocked=exit_blocked,
        shut=shut,
        new_episode=step.state == SecureState.EXITED
        and not has_tag(spec, refdata, "EXITRSN", exit_reason, "died"),
    )


def _next_step(
    step: Step,
    record: Record,
    spec: DatasetSpec,
    refdata: RefData,
    opened: tuple[int, ...],
    exit_blocked: str | None,
) -> str:
    """What to do next, in words, for the workflow step (re-opening as the step allows)."""
    values, state = record.values, step.state
    if state == SecureState.RECEIVED:
        return "Record the triage date: the first meeting with a drug and alcohol worker here."
    if state == SecureState.TRIAGED:
        return "Add the interventions the client starts, or discharge if none is started."
    if state == SecureState.IN_TREATMENT:
        if opened:
            return (
                f"{plural(len(opened), 'intervention')} open. Every intervention is ended"
                " before the discharge."
            )
        return (
            "Every intervention has ended: record the discharge date and reason, and ask about"
            " spice use (and the 13-week review for clients on opioid substitution)."
        )
    if state == SecureState.DISCHARGED:
        reopen = ""
        if Action.REOPEN_EPISODE in step.actions:
            reopen = (
                f" If the client re-presents within {REOPEN_WITHIN_DAYS} days of discharge the"
                " episode may be re-opened."
            )
        if exit_blocked is not None:
            return f"{exit_blocked}{reopen}"
        return (
            "When the client leaves this setting, record the exit date, reason and"
            f" destination.{reopen}"
        )
    reason = values.get("EXITRSN")
    exited = record.date("EXITD")
    said = f"Left{f' on {dd_mm_yyyy(exited)}' if exited else ''}"
    if has_tag(spec, refdata, "EXITRSN", reason, "released"):
        return (
            f"{said}, released. If the client comes back into custody, even after a short"
            " time in the community, open a new episode."
        )
    if Action.REOPEN_AFTER_COURT in step.actions:
        return (
            f"{said}, transferred (e.g. for a court appearance or video link). If the client"
            " returns here, re-open this episode and open new interventions."
        )
    return f"{said}."
