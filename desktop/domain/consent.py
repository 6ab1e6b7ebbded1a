"""Consent as a dated history of decisions: which one is in force, and what it allows.

DIR briefing (seed 004, paragraphs 40-42): information on the DIR is shared between
agencies for continuity of care only with the client's informed consent, in respect of
the agencies it names, and only while the client has not withdrawn it. Each decision is a
dated "sharing" event; the latest one decides. NDTMS consent (seed 001/002 CONSENT) is a
separate decision and never allows sharing with another agency.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import date
from typing import Protocol, TypeVar

from desktop.domain.spec import DatasetSpec, RefData
from desktop.domain.workflow import consent_decision

SHARING = "sharing"

ORDER = ("recorded_on", "recorded_at")
"""The order of a client's consent decisions, NDTMS and sharing alike: by the day each was
recorded for, then the moment it was entered. The last one is the decision in force."""


class ConsentEvent(Protocol):
    """A dated consent decision: kind 'ndtms' or 'sharing'; given, refused or withdrawn."""

    @property
    def kind(self) -> str: ...

    @property
    def value(self) -> str: ...

    @property
    def recorded_on(self) -> date: ...

    @property
    def agencies(self) -> str | None: ...


E = TypeVar("E", bound=ConsentEvent)


def latest_sharing(events: Iterable[E]) -> E | None:
    """The client's continuity-of-care decision in force: the latest 'sharing' event.

    ``events`` come oldest first (in :data:`ORDER`), as the store lists a client's consent
    history; None when sharing was never asked.
    """
    latest: E | None = None
    for event in events:
        if event.kind == SHARING:
            latest = event
    return latest


def latest_value(events: Iterable[tuple[object, object, str]]) -> str | None:
    """The decision in force among ``(recorded_on, recorded_at, value)`` events as stored
    (ISO text): the last in :data:`ORDER`, wherever the events were listed from. Of two
    entered at the very same moment the greater value is taken, so that two laptops merging
    the same events come to the same decision. None for no events."""
    latest = max(((str(on), str(at), str(value)) for on, at, value in events), default=None)
    return None if latest is None else latest[2]


def agency_named(agencies: str | None, agency: str) -> bool:
    """Whether a consent recorded for ``agencies`` covers ``agency`` (seed 004 para 42:
    consent is given "in respect of those agencies"). A consent naming none covers any."""
    if not agencies or not agencies.strip():
        return True
    words = {w.upper() for w in re.findall(r"[A-Za-z0-9]+", agencies)}
    return agency.upper() in words


def handover_refusal(events: Iterable[ConsentEvent], agency: str) -> str | None:
    """Why a client's record may not be handed over to ``agency`` now, or None if it may.

    Allowed only when the latest continuity-of-care ('sharing') event is 'given' and names
    ``agency`` if it names any (seed 004, paragraphs 40-42).
    """
    latest = latest_sharing(events)
    if latest is None:
        return (
            "No continuity-of-care consent is recorded for this client, so their record"
            " cannot be handed over. Ask the client, and record their consent to share"
            " (the DIR consent form) first."
        )
    if latest.value != "given":
        verb = "withdrew" if latest.value == "withdrawn" else "refused"
        return (
            f"The client {verb} continuity-of-care consent on {latest.recorded_on:%d %B %Y},"
            " so their record cannot be handed over. Refer them as usual; the receiving team"
            " will need to ask its own questions."
        )
    if not agency_named(latest.agencies, agency):
        return (
            f"The client's consent names {latest.agencies}, not {agency}, so their"
            " record cannot be handed over to that team. Record a consent that names it first."
        )
    return None


def answer_says(refdata: RefData, spec: DatasetSpec, code: object, value: str) -> bool:
    """Whether the CONSENT answer ``code`` says what an NDTMS consent event recorded:
    'given' is a 'yes' answer; 'refused' and 'withdrawn' are a 'no' answer (seed 001/002
    CONSENT, read from the code list's tags)."""
    wanted = "given" if value == "given" else "refused"
    return consent_decision(refdata, spec, code) == wanted
