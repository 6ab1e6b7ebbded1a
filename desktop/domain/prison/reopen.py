"""Re-opening a prison episode (dataset R v1.2 DISD and appendix D): under 21 days after the
discharge, or on return from a court appearance or video link transfer; never after a
release to the community. Re-opening removes the discharge and exit and closes the old
interventions; the date and reason of the re-open are kept on this laptop only.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from enum import StrEnum

from desktop.domain.prison.common import (
    DISCHARGE_FIELDS,
    EXIT_FIELDS,
    dd_mm_yyyy,
    has_tag,
    release_only_fields,
)
from desktop.domain.record import Record, item_date
from desktop.domain.spec import DatasetSpec, RefData
from desktop.domain.values import as_date
from desktop.domain.workflow import REOPEN_WITHIN_DAYS, can_reopen_discharge, court_transfer

# Kept on this laptop only (the "_" prefix): when and why the episode was last re-opened.
REOPENED = "_REOPENED"
REOPEN_REASON = "_REOPENREASON"


class ReopenReason(StrEnum):
    """Why an episode is re-opened (dataset R v1.2 DISD and appendix D)."""

    SHORT_GAP = "short_gap"
    COURT = "court"
    VIDEO_LINK = "video_link"


REOPEN_REASONS: Mapping[ReopenReason, str] = {
    ReopenReason.SHORT_GAP: f"Re-presented within {REOPEN_WITHIN_DAYS} days of discharge",
    ReopenReason.COURT: "Back from a court appearance",
    ReopenReason.VIDEO_LINK: "Back from a video link transfer",
}


@dataclass(frozen=True, slots=True)
class ReopenDecision:
    allowed: bool
    message: str


def can_reopen(
    record: Record,
    spec: DatasetSpec,
    refdata: RefData,
    reason: ReopenReason,
    returned: date,
) -> ReopenDecision:
    """Whether this episode may be re-opened, and if not, why (in the worker's words).

    Source: dataset R v1.2 DISD (re-opening by removing the discharge date and reason "as
    long as the gap between discharge ... and re-presentation is less than 21 calendar
    days") and appendix D, transferring a client for court appearance/video links (closed
    as 'transferred – in custody' and 'transferred'; re-opened on return by removing the
    discharge and exit; "if the client is released to the community, even if only for a
    short time ... a new episode of treatment should be opened").
    """
    values = record.values
    discharged, exited = record.date("DISD"), record.date("EXITD")
    exit_reason = values.get("EXITRSN")
    if discharged is None:
        return ReopenDecision(False, "This episode is not discharged, so it is still open.")
    if has_tag(spec, refdata, "EXITRSN", exit_reason, "released"):
        return ReopenDecision(
            False,
            "The client was released to the community, so this episode cannot be re-opened,"
            " even after a short time out: open a new episode for the client.",
        )
    if has_tag(spec, refdata, "EXITRSN", exit_reason, "died"):
        return ReopenDecision(False, "The exit reason says the client died.")
    if has_tag(spec, refdata, "EXITRSN", exit_reason, "absconded"):
        return ReopenDecision(
            False,
            "The client absconded: when they are received back, open a new episode.",
        )
    latest = max(d for d in (discharged, exited) if d is not None)
    if returned < latest:
        return ReopenDecision(
            False, f"The return date is before the {'exit' if exited else 'discharge'} date."
        )
    if reason is ReopenReason.SHORT_GAP:
        if exited is not None:
            return ReopenDecision(
                False,
                "The client left this setting. After an exit, an episode is re-opened only"
                " when the client comes back from a court appearance or video link.",
            )
        if not can_reopen_discharge(discharged, returned):
            gap = (returned - discharged).days
            return ReopenDecision(
                False,
                f"It is {gap} days since the discharge; an episode may be re-opened only when"
                f" the client re-presents within {REOPEN_WITHIN_DAYS} days. Open a new"
                " episode with a new triage date.",
            )
        return ReopenDecision(
            True,
            f"Re-opened: the client re-presented {(returned - discharged).days} days after"
            " discharge.",
        )
    if not has_tag(spec, refdata, "DISRSN", values.get("DISRSN"), "transferred_in_custody"):
        return ReopenDecision(
            False,
            "Only an episode closed as 'transferred – in custody' for a court appearance or"
            " video link can be re-opened on the client's return.",
        )
    if not court_transfer(record, refdata):
        return ReopenDecision(
            False,
            "The client has not left this setting for court (exit 'transferred'): re-open"
            f" within {REOPEN_WITHIN_DAYS} days of the discharge instead.",
        )
    return ReopenDecision(True, f"Re-opened: {REOPEN_REASONS[reason].lower()}.")


def reopen_changes(
    raw: Mapping[str, object],
    spec: DatasetSpec,
    record: Record,
    reason: ReopenReason,
    returned: date,
) -> dict[str, object]:
    """The episode after re-opening: discharge and exit removed, old interventions closed.

    Appendix D: "the episode may be re-opened by removing the discharge date, discharge
    reason, exit date and exit status ... the old interventions remain closed and new
    interventions are opened". An intervention still open is closed on the old discharge
    date; the re-open date and reason are kept on this laptop so the sheet can ask for new
    interventions.
    """
    discharged = record.date("DISD")
    out = {k: v for k, v in raw.items() if k not in (*DISCHARGE_FIELDS, *EXIT_FIELDS)}
    for header in release_only_fields(spec):
        out.pop(header, None)
    items = raw.get(spec.items_key)
    closed: list[object] = []
    if isinstance(items, list):
        for item in items:
            if isinstance(item, Mapping) and as_date(item.get("MODEND")) is None and discharged:
                item = {**item, "MODEND": discharged.isoformat()}
            closed.append(item)
    out[spec.items_key] = closed
    out[REOPENED] = returned.isoformat()
    out[REOPEN_REASON] = str(reason)
    return out


def reopen_guidance(record: Record, raw: Mapping[str, object]) -> str | None:
    """After a re-open: old interventions stay closed and new ones are opened (appendix D)."""
    reopened = as_date(raw.get(REOPENED))
    if reopened is None or "DISD" in record.values:
        return None
    old_open = [
        i + 1
        for i, item in enumerate(record.items)
        if (start := item_date(item, "MODST")) is not None
        and start < reopened
        and item_date(item, "MODEND") is None
    ]
    if old_open:
        which = ", ".join(str(n) for n in old_open)
        return (
            f"Intervention {which} began before the re-open on {dd_mm_yyyy(reopened)}: it stays"
            " closed. Open a new intervention instead."
        )
    new = [
        item
        for item in record.items
        if (start := item_date(item, "MODST")) is not None and start >= reopened
    ]
    if not new:
        return (
            f"Re-opened on {dd_mm_yyyy(reopened)}: the earlier interventions stay closed; add the"
            " new interventions the client starts."
        )
    return None
