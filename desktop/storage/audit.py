"""The audit trail: every change, chained by SHA-256 so that a removed or altered event is found.

Each event stores who, when, what (action, table, record id) and the changed fields as
``{field: [old, new]}``. Its hash covers its sequence number, its content and the hash
before it; the first event chains from a hash of the store id, so events copied from
another store do not verify. The newest hash is also kept in ``settings`` and checked,
so that cutting events off the end is found too.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.storage.db import raw, stamp
from desktop.storage.models import AuditEvent, Setting

HEAD_KEY = "audit_head"

Changes = Mapping[str, tuple[object, object]]


def genesis(store_id: str) -> str:
    return hashlib.sha256(f"pathway audit {store_id}".encode()).hexdigest()


def utcnow() -> datetime:
    """Now, in UTC, without tzinfo (as stored)."""
    return datetime.now(UTC).replace(tzinfo=None)


def digest(
    prev: str,
    seq: int,
    at: datetime,
    user_id: str | None,
    action: str,
    entity: str,
    entity_id: str | None,
    changes: str,
) -> str:
    body = json.dumps(
        [seq, at.isoformat(), user_id, action, entity, entity_id, changes],
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(f"{prev}\n{body}".encode()).hexdigest()


def encode_changes(changes: Changes) -> str:
    return json.dumps(
        {k: [_plain(o), _plain(n)] for k, (o, n) in changes.items()},
        ensure_ascii=False,
        sort_keys=True,
        separators=(",", ":"),
        default=str,
    )


def _plain(value: object) -> Any:
    if value is None or isinstance(value, (str, int, float, bool, list, dict)):
        return value
    return str(value)


@dataclass(frozen=True, slots=True)
class Pending:
    """An event waiting for the end of its transaction, when the whole batch is chained."""

    at: datetime
    user_id: str | None
    action: str
    entity: str
    entity_id: str | None
    changes: str


def pending(
    *,
    user_id: str | None,
    action: str,
    entity: str,
    entity_id: str | None,
    changes: Changes | None = None,
    at: datetime | None = None,
) -> Pending:
    return Pending(
        at or utcnow(), user_id, action, entity, entity_id, encode_changes(changes or {})
    )


def append_all(
    session: Session,
    store_id: str,
    events: list[Pending],
    known_head: tuple[int, str] | None = None,
) -> tuple[int, str] | None:
    """Chain and insert the events of one write transaction; return the new head.

    ``known_head`` is the head this (only) writer left after its last commit, which saves
    reading it again. Otherwise the chain continues from the recorded head when it is
    ahead of the last row: if events were cut off the end, the next event then leaves a
    gap that verification reports.
    """
    if not events:
        return None
    if known_head is not None:
        seq, prev = known_head[0] + 1, known_head[1]
    else:
        seq, prev = _current_head(session, store_id)
    rows: list[tuple[object, ...]] = []
    for ev in events:
        hashed = digest(
            prev, seq, ev.at, ev.user_id, ev.action, ev.entity, ev.entity_id, ev.changes
        )
        rows.append(
            (seq, stamp(ev.at), ev.user_id, ev.action, ev.entity, ev.entity_id, ev.changes,
             prev, hashed)
        )  # fmt: skip
        prev = hashed
        seq += 1
    # Plain statements on the transaction's own connection: this runs on every save, and
    # the ORM's bulk path costs more than the two statements themselves.
    db = raw(session)
    db.executemany(
        "INSERT INTO audit_events (seq, at, user_id, action, entity, entity_id, changes,"
        " prev_hash, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        rows,
    )
    db.execute(
        "INSERT INTO settings (key, value) VALUES (?, ?)"
        " ON CONFLICT (key) DO UPDATE SET value = excluded.value",
        (HEAD_KEY, f"{seq - 1}:{prev}"),
    )
    return seq - 1, prev


def _current_head(session: Session, store_id: str) -> tuple[int, str]:
    """The next sequence number and the hash to chain from, read from the store."""
    last = session.execute(
        select(AuditEvent.seq, AuditEvent.hash).order_by(AuditEvent.seq.desc()).limit(1)
    ).first()
    seq, prev = (last[0] + 1, last[1]) if last else (1, genesis(store_id))
    head = session.get(Setting, HEAD_KEY)
    if head is not None:
        head_seq, _, head_hash = head.value.partition(":")
        if head_seq.isdigit() and int(head_seq) + 1 > seq and head_hash:
            seq, prev = int(head_seq) + 1, head_hash
    return seq, prev


@dataclass(frozen=True, slots=True)
class AuditReport:
    events: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


class Event(Protocol):
    """An audit event as stored (this store's own, or one copied from another store)."""

    seq: int
    at: datetime
    user_id: str | None
    action: str
    entity: str
    entity_id: str | None
    changes: str
    prev_hash: str
    hash: str


@dataclass(frozen=True, slots=True)
class Walk:
    """What walking a chain found: its breaks, how many events, and where it ended."""

    problems: list[str]
    events: int
    last_seq: int
    last_hash: str


def walk(events: Iterable[Event], start: str) -> Walk:
    """Walk a chain of events in ``seq`` order from the hash ``start`` (its genesis):
    every gap, event out of line and altered event, in the worker's words."""
    problems: list[str] = []
    prev = start
    expected_seq = 1
    count = 0
    for ev in events:
        count += 1
        if ev.seq != expected_seq:
            problems.append(f"events {expected_seq} to {ev.seq - 1} are missing")
        if ev.prev_hash != prev:
            problems.append(f"event {ev.seq} does not follow the event before it")
        hashed = digest(
            ev.prev_hash, ev.seq, ev.at, ev.user_id, ev.action, ev.entity, ev.entity_id, ev.changes
        )
        if hashed != ev.hash:
            problems.append(f"event {ev.seq} has been altered")
        prev = ev.hash
        expected_seq = ev.seq + 1
    return Walk(problems, count, expected_seq - 1, prev)


def verify(session: Session, store_id: str) -> AuditReport:
    """Walk the whole chain; report every break in the worker's words."""
    rows = session.execute(select(AuditEvent).order_by(AuditEvent.seq)).scalars()
    found = walk(rows, genesis(store_id))
    problems = found.problems
    head = session.get(Setting, HEAD_KEY)
    if found.events and head is None:
        problems.append("the record of the newest event is missing")
    elif head is not None and head.value != f"{found.last_seq}:{found.last_hash}":
        problems.append("events have been removed from the end of the trail")
    return AuditReport(events=found.events, problems=tuple(problems))
