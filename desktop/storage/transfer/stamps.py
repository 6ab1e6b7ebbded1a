"""Where each field's value came from: its stamp (when, who, which store).

A field changed on this store is stamped from this store's audit trail; a field taken in
a merge keeps the stamp it came with, in ``merge_stamps``. Bundles carry stamps packed by
group (a record saved at once takes one group, not forty).
"""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from desktop.domain.merge import Changed, Stamp
from desktop.storage.db import rows_in

FIELD_ACTIONS = frozenset({"create", "update", "merge", "resolve"})
"""Audit actions whose changes set field values."""


def pack(stamps: Mapping[str, Stamp]) -> list[list[Any]]:
    """Fields grouped by their stamp."""
    groups: dict[Stamp, list[str]] = defaultdict(list)
    for name, st in stamps.items():
        groups[st].append(name)
    return [[at, user, origin, sorted(names)] for (at, user, origin), names in groups.items()]


def unpack(packed: object) -> dict[str, Stamp]:
    out: dict[str, Stamp] = {}
    if isinstance(packed, list):
        for at, user, origin, names in packed:
            for name in names:
                out[str(name)] = (str(at), user, str(origin))
    return out


def pack_changed(changed: Changed) -> list[list[Any]]:
    """Changed fields grouped by their stamp, each with its base value."""
    groups: dict[Stamp, dict[str, object]] = defaultdict(dict)
    for name, (st, base) in changed.items():
        groups[st][name] = base
    return [[at, user, origin, bases] for (at, user, origin), bases in groups.items()]


def unpack_changed(packed: object) -> dict[str, tuple[Stamp, object]]:
    out: dict[str, tuple[Stamp, object]] = {}
    if isinstance(packed, list):
        for at, user, origin, bases in packed:
            for name, base in dict(bases).items():
                out[str(name)] = ((str(at), user, str(origin)), base)
    return out


def read(db: Any, ids: Sequence[str]) -> dict[tuple[str, str], dict[str, Stamp]]:
    """The kept stamps of records, by (entity, record id)."""
    return {
        (r[0], r[1]): unpack(json.loads(r[2]))
        for r in rows_in(
            db,
            "SELECT entity, record_id, stamps FROM merge_stamps WHERE record_id IN ({marks})",
            ids,
        )
    }


@dataclass(slots=True)
class Stamps:
    """The stamps of one merge, inside its write transaction; :meth:`save` keeps them."""

    db: Any
    own: str  # this store's id
    known: dict[tuple[str, str], dict[str, Stamp]] = field(default_factory=dict)
    dirty: set[tuple[str, str]] = field(default_factory=set)

    def load(self, entity: str, ids: Sequence[str]) -> None:
        for (ent, rid), found in read(self.db, ids).items():
            if ent == entity:
                self.known[(ent, rid)] = found

    def here(self, entity: str, rid: str, name: str) -> Stamp | None:
        """When this store's value of a field was set, and by whom (from its audit trail)."""
        for at, user_id, action, changes in self.db.execute(
            "SELECT at, user_id, action, changes FROM audit_events"
            " WHERE entity_id = ? AND entity = ? ORDER BY seq DESC",
            (rid, entity),
        ).fetchall():
            if action not in FIELD_ACTIONS or name not in json.loads(changes):
                continue
            if action == "merge":
                known = self.known.get((entity, rid), {}).get(name)
                if known is not None:
                    return known
            return (str(at), user_id, self.own)
        return None

    def new(self, entity: str, rid: str, changed: Changed) -> None:
        """A record that arrived whole keeps the stamps it came with."""
        self.known[(entity, rid)] = {k: st for k, (st, _base) in changed.items()}
        self.dirty.add((entity, rid))

    def taken(self, entity: str, rid: str, stamps: Mapping[str, Stamp]) -> None:
        """Fields taken in the merge keep the stamps they came with."""
        if stamps:
            self.known.setdefault((entity, rid), {}).update(stamps)
            self.dirty.add((entity, rid))

    def save(self) -> None:
        rows = [
            (entity, rid, json.dumps(pack(self.known[(entity, rid)]), ensure_ascii=False))
            for entity, rid in sorted(self.dirty)
            if self.known.get((entity, rid))
        ]
        if rows:
            self.db.executemany(
                "INSERT INTO merge_stamps (entity, record_id, stamps) VALUES (?,?,?)"
                " ON CONFLICT (entity, record_id) DO UPDATE SET stamps = excluded.stamps",
                rows,
            )


__all__ = [
    "FIELD_ACTIONS",
    "Stamps",
    "pack",
    "pack_changed",
    "read",
    "unpack",
    "unpack_changed",
]
