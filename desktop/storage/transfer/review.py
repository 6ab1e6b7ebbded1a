"""What came in: conflicts for a manager to decide, the bundles imported, and whether each
sending laptop's audit trail still verifies."""

from __future__ import annotations

import json
from collections import defaultdict
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.storage import audit
from desktop.storage.db import loads, raw
from desktop.storage.episodes import GONE
from desktop.storage.errors import NotPermitted
from desktop.storage.models import ITEM_TABLES, MergeConflict, SourceAuditEvent, TransferBundle
from desktop.storage.store import Store
from desktop.storage.transfer.peers import TransferError, entities, user_names

# ---------------------------------------------------------------------------- conflicts


@dataclass(frozen=True, slots=True)
class Side:
    value: object
    at: datetime | None
    who: str
    where: str


@dataclass(frozen=True, slots=True)
class ConflictView:
    id: str
    entity: str
    record_id: str
    episode_id: str | None
    field: str
    label: str
    record: str
    local: Side
    incoming: Side
    applied: str
    status: str
    created_at: datetime


def conflicts(store: Store, *, include_decided: bool = False) -> list[ConflictView]:
    """Fields two laptops changed differently, oldest first, for a manager to decide."""
    spec = store.refdata.datasets[store.settings.dataset]
    names = user_names(store)
    places = _store_labels(store)
    with store.reading() as s:
        query = select(MergeConflict).order_by(MergeConflict.created_at, MergeConflict.id)
        if not include_decided:
            query = query.where(MergeConflict.status == "open")
        rows = list(s.execute(query).scalars())
        db = raw(s)
        refs: dict[str, str] = {}
        for row in rows:
            refs.setdefault(row.record_id, _record_label(db, store, row.entity, row.record_id))
    out = []
    for row in rows:
        fs = spec.by_header.get(row.field)
        label = (
            fs.label
            if fs is not None
            else {"name": "Name", "notes": "Notes"}.get(row.field, row.field)
        )
        out.append(
            ConflictView(
                id=row.id,
                entity=row.entity,
                record_id=row.record_id,
                episode_id=row.episode_id,
                field=row.field,
                label=label,
                record=refs[row.record_id],
                local=Side(
                    json.loads(row.local_value),
                    row.local_at,
                    names.get(row.local_user or "", "someone"),
                    places.get(row.local_store or "", "another laptop"),
                ),
                incoming=Side(
                    json.loads(row.incoming_value),
                    row.incoming_at,
                    names.get(row.incoming_user or "", "someone"),
                    places.get(row.incoming_store or "", "another laptop"),
                ),
                applied=row.applied,
                status=row.status,
                created_at=row.created_at,
            )
        )
    return out


def _store_labels(store: Store) -> dict[str, str]:
    out = {store.settings.store_id: "this store"}
    with store.reading() as s:
        for peer, agency, counts in s.execute(
            select(TransferBundle.peer_store, TransferBundle.peer_agency, TransferBundle.counts)
            .where(TransferBundle.direction == "received")
            .order_by(TransferBundle.at)
        ):
            who = loads(counts).get("sender_user")
            out[peer] = f"{who}'s laptop ({agency})" if who else f"a laptop of {agency}"
    return out


def _record_label(db: Any, store: Store, entity: str, rid: str) -> str:
    kind = entities(store).get(entity, "item")
    if kind == "item":
        table = ITEM_TABLES[store.settings.dataset].__tablename__
        row = db.execute(f"SELECT episode_id FROM {table} WHERE id = ?", (rid,)).fetchone()
        if row is None:
            return "a deleted entry"
        return f"{entity} of " + _record_label(db, store, "episode", row[0])
    if kind == "episode":
        row = db.execute(
            "SELECT c.client_ref, c.finitial, c.sinitial, e.opened_on FROM episodes e"
            " JOIN clients c ON c.id = e.client_id WHERE e.id = ?",
            (rid,),
        ).fetchone()
        if row is None:
            return "a deleted episode"
        who = row[0] or f"{row[1] or '?'}{row[2] or '?'}"
        return f"episode of {who}" + (f" opened {row[3]}" if row[3] else "")
    row = db.execute(
        "SELECT client_ref, finitial, sinitial FROM clients WHERE id = ?", (rid,)
    ).fetchone()
    if row is None:
        return "a deleted client"
    return f"client {row[0] or f'{row[1] or chr(63)}{row[2] or chr(63)}'}"


def resolve(store: Store, conflict_id: str, keep: str) -> ConflictView:
    """A manager's choice for one conflict: keep this store's value or the incoming one.

    ``conflict_id`` may be the first characters of the id, as long as they are unique.
    The chosen value is written (an audit event) unless it is already the one shown.
    """
    if not store.user.is_manager:
        raise NotPermitted("decide between conflicting changes")
    if keep not in ("local", "incoming"):
        raise TransferError("Choose 'local' (this store's value) or 'incoming'.")
    wanted = conflict_id.strip().lower()
    if len(wanted) < 4:
        raise TransferError("Give at least the first four characters of the conflict's id.")
    rows = store.episodes.merged
    with store.writing() as tx:
        found = (
            tx.session.execute(
                select(MergeConflict).where(
                    MergeConflict.id >= wanted, MergeConflict.id < wanted + "\uffff"
                )
            )
            .scalars()
            .all()
        )
        if not found:
            raise TransferError(f"There is no conflict {conflict_id} in this store.")
        if len(found) > 1:
            raise TransferError(f"Several conflicts start with {conflict_id}; give more of the id.")
        row = found[0]
        if row.status != "open":
            raise TransferError("That conflict was already decided.")
        chosen = json.loads(row.local_value if keep == "local" else row.incoming_value)
        kind = entities(store).get(row.entity, "item")
        current = rows.field(tx, kind, row.record_id, row.field)
        raise_after: TransferError | None = None
        if current is GONE:
            row.status = "superseded"
            raise_after = TransferError(
                "That record has been deleted since; the conflict is closed."
            )
        else:
            if current != chosen:
                rows.set_field(tx, kind, row.record_id, row.field, chosen)
                tx.audit("resolve", row.entity, row.record_id, {row.field: (current, chosen)})
                if kind == "client":
                    rows.refresh(tx, (), (row.record_id,))
                elif row.episode_id is not None:
                    rows.refresh(tx, (row.episode_id,), ())
            else:
                tx.audit("resolve", row.entity, row.record_id, {})
            row.status = keep
            row.resolved_at = audit.utcnow()
            row.resolved_by = store.user.id
    if raise_after is not None:
        raise raise_after
    return next(c for c in conflicts(store, include_decided=True) if c.id == row.id)


# ---------------------------------------------------------------------------- what came in


@dataclass(frozen=True, slots=True)
class BundleInfo:
    id: str
    direction: str
    kind: str
    peer_store: str
    peer_agency: str
    sender_user: str | None
    sequence: int
    sealed_at: datetime
    at: datetime
    counts: dict[str, object]


def bundles(store: Store, direction: str | None = "received") -> list[BundleInfo]:
    """Bundles imported (or written) by this store, newest first."""
    with store.reading() as s:
        query = select(TransferBundle).order_by(TransferBundle.at.desc())
        if direction is not None:
            query = query.where(TransferBundle.direction == direction)
        return [
            BundleInfo(
                id=b.id,
                direction=b.direction,
                kind=b.kind,
                peer_store=b.peer_store,
                peer_agency=b.peer_agency,
                sender_user=str(loads(b.counts).get("sender_user") or "") or None,
                sequence=b.sequence,
                sealed_at=b.sealed_at,
                at=b.at,
                counts=loads(b.counts),
            )
            for b in s.execute(query).scalars()
        ]


@dataclass(frozen=True, slots=True)
class SourceReport:
    """One sending laptop's audit trail as this store holds it."""

    store_id: str
    agency: str
    sender_user: str | None
    bundles: int
    last_at: datetime
    events: int
    problems: tuple[str, ...]

    @property
    def ok(self) -> bool:
        return not self.problems


def sources(store: Store) -> list[SourceReport]:
    """For each laptop that sent team bundles: when last, how many, and whether its audit
    chain (copied with its hashes) still verifies from its first event to its newest."""
    received = [b for b in bundles(store) if b.kind == "team"]
    by_store: dict[str, list[BundleInfo]] = defaultdict(list)
    for b in received:
        by_store[b.peer_store].append(b)
    out = []
    with store.reading() as s:
        for peer, items in by_store.items():
            newest = max(items, key=lambda b: (b.sequence, b.at))
            row = s.get(TransferBundle, newest.id)
            assert row is not None
            problems, count = _verify_source(s, peer, row.audit_seq, row.audit_hash)
            out.append(
                SourceReport(
                    store_id=peer,
                    agency=newest.peer_agency,
                    sender_user=newest.sender_user,
                    bundles=len(items),
                    last_at=newest.at,
                    events=count,
                    problems=tuple(problems),
                )
            )
    return sorted(out, key=lambda r: r.last_at, reverse=True)


def _verify_source(
    s: Session, source: str, head_seq: int, head_hash: str | None
) -> tuple[list[str], int]:
    rows = s.execute(
        select(SourceAuditEvent)
        .where(SourceAuditEvent.source_store == source)
        .order_by(SourceAuditEvent.seq)
    ).scalars()
    found = audit.walk(rows, audit.genesis(source))
    problems = found.problems
    if head_hash is not None and (found.last_seq != head_seq or found.last_hash != head_hash):
        problems.append("the newest events that laptop reported are not all here")
    return problems, found.events


__all__ = [
    "BundleInfo",
    "ConflictView",
    "Side",
    "SourceReport",
    "bundles",
    "conflicts",
    "resolve",
    "sources",
]
