"""The ``store.consent`` part: a client's consent as a dated history of decisions.

Consent events are never changed, only added: NDTMS consent (seed 001/002 CONSENT) and
continuity-of-care sharing (DIR, seed 004). The decision in force is the last one in
``desktop.domain.consent.ORDER``; :func:`current_ndtms` is that rule in SQL, for reading
the month's file without loading every event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from desktop.domain import consent
from desktop.storage import audit
from desktop.storage.db import new_id
from desktop.storage.errors import RecordNotFound, StoreError
from desktop.storage.models import Client, ConsentEvent

if TYPE_CHECKING:
    from desktop.storage.store import Store

KINDS = ("ndtms", "sharing")
VALUES = ("given", "refused", "withdrawn")
COLUMNS = "id, client_id, episode_id, kind, value, agencies, recorded_on, recorded_by, recorded_at"
ORDER_BY = ", ".join(consent.ORDER)  # oldest first, as a client's history is listed


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    kind: str
    value: str
    recorded_on: date
    recorded_by: str
    agencies: str | None
    episode_id: str | None


def current_ndtms(episodes: str = "e") -> str:
    """SQL for the current NDTMS consent of the client of each row of ``episodes`` (an
    alias of the episodes table): the value of the client's last 'ndtms' event, else
    'given' when the episode's own CONSENT answer is the yes code (bound as ``:yes``),
    else 'unknown'."""
    newest_first = ", ".join(f"ce.{column} DESC" for column in consent.ORDER)
    return (
        "coalesce((SELECT ce.value FROM consent_events ce"
        f" WHERE ce.client_id = {episodes}.client_id AND ce.kind = 'ndtms'"
        f" ORDER BY {newest_first} LIMIT 1),"
        f" CASE WHEN {episodes}.consent = :yes THEN 'given' END, 'unknown')"
    )


def insert_events(
    db: Any, rows: Sequence[tuple[object, ...]], *, keep_existing: bool = False
) -> None:
    """Add consent events, each a tuple in the order of :data:`COLUMNS` (values as stored).
    With ``keep_existing``, an event already here (by id) is left as it is."""
    verb = "INSERT OR IGNORE" if keep_existing else "INSERT"
    db.executemany(f"{verb} INTO consent_events ({COLUMNS}) VALUES (?,?,?,?,?,?,?,?,?)", rows)


class Consent:
    """Recording and reading a client's consent decisions."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def record(
        self,
        client_id: str,
        kind: str,
        value: str,
        recorded_on: date,
        *,
        episode_id: str | None = None,
        agencies: str | None = None,
    ) -> None:
        """A dated consent decision (``kind`` ndtms or sharing; given, refused or withdrawn)."""
        if kind not in KINDS or value not in VALUES:
            raise StoreError("Consent is given, refused or withdrawn, for NDTMS or for sharing.")
        with self.store.writing() as tx:
            if tx.session.get(Client, client_id) is None:
                raise RecordNotFound("That client")
            tx.session.add(
                ConsentEvent(
                    id=new_id(),
                    client_id=client_id,
                    episode_id=episode_id,
                    kind=kind,
                    value=value,
                    agencies=agencies,
                    recorded_on=recorded_on,
                    recorded_by=self.store.user.id,
                    recorded_at=audit.utcnow(),
                )
            )
            changes = {kind: (None, value), "agencies": (None, agencies)}
            tx.audit("consent", "client", client_id, changes)

    def history(self, client_id: str) -> list[ConsentRecord]:
        """A client's consent decisions, oldest first (the last of a kind is in force)."""
        order = [getattr(ConsentEvent, column) for column in consent.ORDER]
        with self.store.reading() as s:
            rows = s.execute(
                select(ConsentEvent).where(ConsentEvent.client_id == client_id).order_by(*order)
            ).scalars()
            return [
                ConsentRecord(
                    r.kind, r.value, r.recorded_on, r.recorded_by, r.agencies, r.episode_id
                )
                for r in rows
            ]


__all__ = [
    "COLUMNS",
    "ORDER_BY",
    "Consent",
    "ConsentRecord",
    "current_ndtms",
    "insert_events",
]
