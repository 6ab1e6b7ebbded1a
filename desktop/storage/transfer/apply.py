"""Merging an opened team bundle into this store, in one transaction (all or nothing).

What to take, field by field, is ``desktop.domain.merge``; the client, episode and item
rows are written by ``store.episodes.merged``. Here: reading what this store holds,
consent events added as a history, deletions, the conflicts listed for a manager, the
stamps kept, and the sender's audit events copied with their hashes.
"""

from __future__ import annotations

import json
import logging
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import select

from desktop.domain import consent
from desktop.domain.merge import Changed, FieldMerge, consent_decides, merge_fields
from desktop.storage import audit
from desktop.storage.consent import insert_events
from desktop.storage.db import diff, dumps, loads, new_id, rows_in, stamp
from desktop.storage.episodes import (
    ChangedEpisode,
    ItemRow,
    NewClient,
    NewEpisode,
    client_values,
    episode_values,
)
from desktop.storage.errors import NotPermitted
from desktop.storage.models import ITEM_TABLES, TransferBundle
from desktop.storage.store import Store
from desktop.storage.transfer.peers import (
    KIND_WORDS,
    Arrival,
    TransferError,
    check_sender,
    ensure_users,
    received_before,
)
from desktop.storage.transfer.stamps import Stamps, unpack_changed
from desktop.storage.unit import Unit

log = logging.getLogger(__name__)

# Sent by laptops whose stores still had a draft flag; a saved episode is the record now.
RETIRED_EPISODE_KEYS = ("draft",)

SAME_ID = (
    "A {what} in this bundle has the same technical id as a different one here, which"
    " Pathway never does; the bundle may come from a copied store. Nothing was imported."
)


@dataclass(frozen=True, slots=True)
class MergeResult:
    bundle_id: str
    already: bool
    sender_agency: str
    sender_user: str | None = None
    sequence: int = 0
    clients_added: int = 0
    episodes_added: int = 0
    items_added: int = 0
    records_changed: int = 0
    fields_changed: int = 0
    consents_added: int = 0
    deleted: int = 0
    conflicts: int = 0
    events: int = 0
    imported_at: datetime | None = None

    def describe(self) -> str:
        if self.already:
            return (
                f"This bundle from {self.sender_agency} was imported before; nothing was changed."
            )
        return (
            f"Imported bundle {self.sequence} from {self.sender_user or 'a colleague'}"
            f" ({self.sender_agency}): {self.episodes_added} new episodes,"
            f" {self.clients_added} new clients, {self.records_changed} records updated"
            f" ({self.fields_changed} fields), {self.consents_added} consent decisions,"
            f" {self.deleted} deleted, {self.conflicts} conflicts to decide."
        )


def merge_team(store: Store, arrival: Arrival, payload: Mapping[str, Any]) -> MergeResult:
    """Merge an opened team bundle into ``store`` in one transaction (all or nothing)."""
    if not store.user.is_manager:
        raise NotPermitted("import a team bundle")
    st = store.settings
    if arrival.kind != "team":
        raise TransferError("This is not a team bundle; nothing was imported.")
    if arrival.sender_agency != st.agency or arrival.sender_kind != st.kind:
        raise TransferError(
            f"This bundle holds records of another team ({arrival.sender_agency},"
            f" {KIND_WORDS.get(arrival.sender_kind, arrival.sender_kind)}); this store is for"
            f" {st.agency} ({KIND_WORDS[st.kind]}). Only a team's own laptops merge into one"
            " submission. Nothing was imported."
        )
    try:
        with store.writing() as tx:
            s = tx.session
            if received_before(s, arrival.bundle_id) is not None:
                return MergeResult(arrival.bundle_id, True, arrival.sender_agency)
            check_sender(s, store, arrival)
            last = s.execute(
                select(TransferBundle.sequence)
                .where(
                    TransferBundle.direction == "received",
                    TransferBundle.kind == "team",
                    TransferBundle.peer_store == arrival.sender_store,
                )
                .order_by(TransferBundle.sequence.desc())
                .limit(1)
            ).scalar_one_or_none()
            if last is not None and arrival.sequence <= last:
                # An older bundle from that laptop: everything in it is here already.
                return MergeResult(arrival.bundle_id, True, arrival.sender_agency)
            expected = (last or 0) + 1
            if arrival.sequence > expected and not arrival.full:
                raise TransferError(
                    f"This is bundle {arrival.sequence} from that laptop, but bundle"
                    f" {expected} has not been imported here. Import the bundles in order,"
                    " or ask for a complete bundle ('pathway bundle export --all')."
                    " Nothing was imported."
                )
            return _Merge(store, tx, arrival).run(payload)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        log.warning("bundle contents unreadable: %s", type(exc).__name__)
        raise TransferError(
            "The bundle opened but its contents could not be read (it may come from a"
            " different version of Pathway). Nothing was imported."
        ) from None


@dataclass(slots=True)
class _Merge:
    """The working state of one import, inside its write transaction."""

    store: Store
    tx: Unit
    arrival: Arrival
    stamps: Stamps = field(init=False)
    conflicts: list[dict[str, object]] = field(default_factory=list)
    refresh: set[str] = field(default_factory=set)  # episodes whose derived columns change
    refresh_clients: set[str] = field(default_factory=set)
    changed_records: int = 0
    changed_fields: int = 0

    def __post_init__(self) -> None:
        self.stamps = Stamps(self.tx.db, self.store.settings.store_id)

    def fields(
        self,
        entity: str,
        rid: str,
        local: Mapping[str, object],
        incoming: Mapping[str, object],
        changed: Changed,
        episode_id: str | None,
        latest_consent: str | None = None,
    ) -> FieldMerge:
        """The merge of one record's fields; its stamps and conflicts noted."""
        st = self.store
        spec = st.refdata.datasets[st.settings.dataset]
        result = merge_fields(
            local,
            incoming,
            changed,
            here=self.stamps.own,
            stamp_here=lambda name: self.stamps.here(entity, rid, name),
            decide=consent_decides(st.refdata, spec, latest_consent),
        )
        for c in result.conflicts:
            mine = c.local_stamp
            self.conflicts.append(
                {
                    "id": new_id(),
                    "bundle_id": self.arrival.bundle_id,
                    "entity": entity,
                    "record_id": rid,
                    "episode_id": episode_id,
                    "field": c.field,
                    "local_value": json.dumps(c.local, ensure_ascii=False),
                    "local_at": mine[0] if mine else None,
                    "local_user": mine[1] if mine else None,
                    "local_store": mine[2] if mine else self.stamps.own,
                    "incoming_value": json.dumps(c.incoming, ensure_ascii=False),
                    "incoming_at": c.incoming_stamp[0],
                    "incoming_user": c.incoming_stamp[1],
                    "incoming_store": c.incoming_stamp[2],
                    "applied": c.applied,
                }
            )
        self.stamps.taken(entity, rid, result.stamps)
        if result.taken:
            self.tx.audit("merge", entity, rid, result.taken)
            self.changed_records += 1
            self.changed_fields += len(result.taken)
        return result

    def run(self, payload: Mapping[str, Any]) -> MergeResult:
        st, tx, arrival = self.store, self.tx, self.arrival
        db = tx.db
        rows = st.episodes.merged
        dataset = st.settings.dataset
        item_table = ITEM_TABLES[dataset].__tablename__
        item_entity = rows.item_entity
        now = audit.utcnow()
        stamp_now = stamp(now)
        ensure_users(db, payload.get("users"), arrival.sender_agency)
        sender = payload.get("store") or {}

        clients = list(payload["clients"])
        episodes = [e for e in payload["episodes"] if e["dataset"] == dataset]
        items = list(payload["items"])
        consents = list(payload["consents"])

        # Consent events first, in memory: the latest NDTMS decision per episode.
        local_consent = rows_in(
            db,
            "SELECT episode_id, recorded_on, recorded_at, value FROM consent_events"
            " WHERE kind = 'ndtms' AND episode_id IN ({marks})",
            [e["id"] for e in episodes],
        )
        incoming_consent = [
            (c["episode_id"], c["recorded_on"], c["recorded_at"], c["value"])
            for c in consents
            if c["kind"] == "ndtms" and c.get("episode_id")
        ]
        decisions: dict[str, list[tuple[object, object, str]]] = defaultdict(list)
        for eid, on, at, value in [*local_consent, *incoming_consent]:
            decisions[eid].append((on, at, value))
        latest_consent = {eid: consent.latest_value(found) for eid, found in decisions.items()}

        # Clients.
        found = {
            r[0]: r
            for r in rows_in(
                db,
                "SELECT id, fields, name, notes FROM clients WHERE id IN ({marks})",
                [c["id"] for c in clients],
            )
        }
        self.stamps.load("client", list(found))
        # Ids are never reused: a record deleted here stays deleted when an older copy comes in.
        skipped = _deleted_here(db, [c["id"] for c in clients if c["id"] not in found])
        new_clients: list[NewClient] = []
        changed_clients: list[tuple[str, Mapping[str, object]]] = []
        # Records that arrive new and whole keep the derived columns the sending laptop
        # worked out for exactly these values (same team, same rules); anything merged is
        # worked out again here.
        as_sent: set[str] = set()
        for c in clients:
            cid = str(c["id"])
            incoming = dict(c["values"])
            changed = unpack_changed(c.get("changed"))
            row = found.get(cid)
            if cid in skipped:
                continue
            if row is None:
                self.stamps.new("client", cid, changed)
                derived = list(c.get("derived") or ())
                if len(derived) == 5:
                    as_sent.add(cid)
                else:
                    self.refresh_clients.add(cid)
                created = str(c.get("created_at") or stamp_now)
                new_clients.append(
                    NewClient(cid, incoming, created, derived if len(derived) == 5 else None)
                )
                tx.audit("merge", "client", cid, diff({}, incoming))
                continue
            local = client_values(row[1], row[2], row[3])
            result = self.fields("client", cid, local, incoming, changed, None)
            if result.taken:
                changed_clients.append((cid, result.values))
                self.refresh_clients.add(cid)
        rows.insert(tx, stamp_now, clients=new_clients)
        rows.update(tx, stamp_now, clients=changed_clients)

        # Episodes.
        found_e = {
            r[0]: r
            for r in rows_in(
                db,
                "SELECT id, client_id, fields, notes, last_contact, version FROM episodes"
                " WHERE id IN ({marks})",
                [e["id"] for e in episodes],
            )
        }
        self.stamps.load("episode", list(found_e))
        skipped |= _deleted_here(db, [e["id"] for e in episodes if e["id"] not in found_e])
        new_episodes: list[NewEpisode] = []
        changed_episodes: list[ChangedEpisode] = []
        for e in episodes:
            eid = str(e["id"])
            incoming = {k: v for k, v in e["values"].items() if k not in RETIRED_EPISODE_KEYS}
            changed = {
                k: v
                for k, v in unpack_changed(e.get("changed")).items()
                if k not in RETIRED_EPISODE_KEYS
            }
            row = found_e.get(eid)
            if eid in skipped or e["client_id"] in skipped:
                skipped.add(eid)
                continue
            if row is None:
                self.stamps.new("episode", eid, changed)
                derived = list(e.get("derived") or ())
                kept = len(derived) == 6 and e["client_id"] in as_sent
                if kept:
                    as_sent.add(eid)
                else:
                    self.refresh.add(eid)
                new_episodes.append(
                    NewEpisode(
                        eid,
                        str(e["client_id"]),
                        incoming,
                        str(e["owner_id"]),
                        e.get("last_contact"),
                        str(e.get("created_at") or stamp_now),
                        derived if kept else None,
                    )
                )
                tx.audit("merge", "episode", eid, diff({}, incoming))
                continue
            if row[1] != e["client_id"]:
                raise TransferError(SAME_ID.format(what="episode"))
            local = episode_values(row[2], row[3])
            result = self.fields(
                "episode", eid, local, incoming, changed, eid, latest_consent.get(eid)
            )
            contact = max(filter(None, (row[4], e.get("last_contact"))), default=None)
            if result.taken or contact != row[4]:
                changed_episodes.append(
                    ChangedEpisode(eid, result.values, contact, int(row[5]) + 1)
                )
            if result.taken:
                self.refresh.add(eid)
        rows.insert(tx, stamp_now, episodes=new_episodes)
        rows.update(tx, stamp_now, episodes=changed_episodes)

        # Referrals (Q) or interventions (R).
        found_i = {
            r[0]: r
            for r in rows_in(
                db,
                f"SELECT id, episode_id, fields FROM {item_table} WHERE id IN ({{marks}})",
                [i["id"] for i in items],
            )
        }
        self.stamps.load(item_entity, list(found_i))
        skipped |= _deleted_here(db, [i["id"] for i in items if i["id"] not in found_i])
        new_items: list[ItemRow] = []
        changed_items: list[tuple[str, Mapping[str, object]]] = []
        for i in items:
            iid = str(i["id"])
            incoming = dict(i["values"])
            changed = unpack_changed(i.get("changed"))
            row = found_i.get(iid)
            if iid in skipped or i["episode_id"] in skipped:
                continue
            if row is None:
                self.stamps.new(item_entity, iid, changed)
                new_items.append(ItemRow(iid, str(i["episode_id"]), int(i["position"]), incoming))
                tx.audit("merge", item_entity, iid, diff({}, incoming))
                if i["episode_id"] not in as_sent:
                    self.refresh.add(str(i["episode_id"]))
                continue
            if row[1] != i["episode_id"]:
                raise TransferError(SAME_ID.format(what=item_entity))
            local = loads(row[2])
            result = self.fields(item_entity, iid, local, incoming, changed, str(row[1]))
            if result.taken:
                changed_items.append((iid, result.values))
                self.refresh.add(str(row[1]))
        rows.insert(tx, stamp_now, items=new_items)
        rows.update(tx, stamp_now, items=changed_items)

        new_consents = self._consents(consents, skipped)
        deleted = self._deletions(list(payload.get("deleted") or []))
        rows.refresh(tx, self.refresh, self.refresh_clients)
        self.stamps.save()
        self._save_conflicts(stamp_now)
        events = _keep_source_events(db, arrival.sender_store, payload.get("audit") or {})
        head = (payload.get("audit") or {}).get("head")
        counts = {
            "clients_added": len(new_clients),
            "episodes_added": len(new_episodes),
            "items_added": len(new_items),
            "records_changed": self.changed_records,
            "fields_changed": self.changed_fields,
            "consents_added": new_consents,
            "deleted": deleted,
            "conflicts": len(self.conflicts),
            "events": events,
        }
        tx.session.add(
            TransferBundle(
                id=arrival.bundle_id,
                direction="received",
                kind="team",
                peer_store=arrival.sender_store,
                peer_agency=arrival.sender_agency,
                peer_key=arrival.sender_key,
                sequence=arrival.sequence,
                full=arrival.full,
                audit_seq=int(head[0]) if head else 0,
                audit_hash=str(head[1]) if head else None,
                sealed_at=arrival.sealed_at,
                at=now,
                user_id=st.user.id,
                counts=dumps({**counts, "sender_user": sender.get("user")}),
            )
        )
        tx.audit(
            "import",
            "bundle",
            arrival.bundle_id,
            {
                "from agency": (None, arrival.sender_agency),
                **{k: (None, v) for k, v in counts.items()},
            },
        )
        log.info(
            "team bundle merged: %d episodes added, %d records changed, %d conflicts",
            len(new_episodes),
            self.changed_records,
            len(self.conflicts),
        )
        return MergeResult(
            bundle_id=arrival.bundle_id,
            already=False,
            sender_agency=arrival.sender_agency,
            sender_user=str(sender.get("user")) if sender.get("user") else None,
            sequence=arrival.sequence,
            clients_added=len(new_clients),
            episodes_added=len(new_episodes),
            items_added=len(new_items),
            records_changed=self.changed_records,
            fields_changed=self.changed_fields,
            consents_added=new_consents,
            deleted=deleted,
            conflicts=len(self.conflicts),
            events=events,
            imported_at=now,
        )

    def _consents(self, consents: list[dict[str, Any]], skipped: set[str]) -> int:
        """Consent events are added, never changed: those not here yet, of records here."""
        db = self.tx.db
        have = {
            r[0]
            for r in rows_in(
                db,
                "SELECT id FROM consent_events WHERE id IN ({marks})",
                [c["id"] for c in consents],
            )
        }
        referenced = sorted({str(c["episode_id"]) for c in consents if c.get("episode_id")})
        present = {
            r[0] for r in rows_in(db, "SELECT id FROM episodes WHERE id IN ({marks})", referenced)
        }
        new = [
            c
            for c in consents
            if c["id"] not in have
            and c["client_id"] not in skipped
            and (not c.get("episode_id") or c["episode_id"] in present)
        ]
        if new:
            insert_events(
                db,
                [
                    (c["id"], c["client_id"], c.get("episode_id"), c["kind"], c["value"],
                     c.get("agencies"), c["recorded_on"], c["recorded_by"], c["recorded_at"])
                    for c in new
                ],
            )  # fmt: skip
            for c in new:
                self.tx.audit(
                    "consent",
                    "client",
                    str(c["client_id"]),
                    {str(c["kind"]): (None, c["value"]), "agencies": (None, c.get("agencies"))},
                )
        return len(new)

    def _deletions(self, tombstones: list[dict[str, Any]]) -> int:
        """Records deleted on the sender are deleted here too (items, episodes, then clients)."""
        db = self.tx.db
        done = 0
        order = {"item": 0, "episode": 1, "client": 2}
        for t in sorted(tombstones, key=lambda t: order.get(str(t["kind"]), 3)):
            kind, rid = str(t["kind"]), str(t["id"])
            gone = self.store.episodes.merged.remove(self.tx, kind, rid)
            if gone is None:
                continue
            if kind == "item":
                self.refresh.add(gone)
            elif kind == "episode":
                db.execute(
                    "UPDATE merge_conflicts SET status = 'superseded' WHERE status = 'open'"
                    " AND (record_id = ? OR episode_id = ?)",
                    (rid, rid),
                )
                self.refresh.discard(rid)
            else:
                self.refresh_clients.discard(rid)
            db.execute("DELETE FROM merge_stamps WHERE record_id = ?", (rid,))
            done += 1
        return done

    def _save_conflicts(self, stamp_now: str) -> None:
        if not self.conflicts:
            return
        db = self.tx.db
        db.executemany(
            "UPDATE merge_conflicts SET status = 'superseded' WHERE status = 'open'"
            " AND entity = ? AND record_id = ? AND field = ?",
            [(c["entity"], c["record_id"], c["field"]) for c in self.conflicts],
        )
        db.executemany(
            "INSERT INTO merge_conflicts (id, bundle_id, entity, record_id, episode_id, field,"
            " local_value, local_at, local_user, local_store, incoming_value, incoming_at,"
            " incoming_user, incoming_store, applied, status, created_at)"
            " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'open',?)",
            [
                (c["id"], c["bundle_id"], c["entity"], c["record_id"], c["episode_id"],
                 c["field"], c["local_value"], c["local_at"], c["local_user"], c["local_store"],
                 c["incoming_value"], c["incoming_at"], c["incoming_user"], c["incoming_store"],
                 c["applied"], stamp_now)
                for c in self.conflicts
            ],
        )  # fmt: skip


def _deleted_here(db: Any, ids: Sequence[str]) -> set[str]:
    return {
        str(r[0])
        for r in rows_in(
            db,
            "SELECT DISTINCT entity_id FROM audit_events WHERE action = 'delete'"
            " AND entity_id IN ({marks})",
            ids,
        )
    }


def _keep_source_events(db: Any, source: str, trail: Mapping[str, Any]) -> int:
    """Copy the sender's audit events as they are (an event already here is kept)."""
    rows = [tuple([source, *event]) for event in trail.get("events") or []]
    if not rows:
        return 0
    before = db.total_changes
    db.executemany(
        "INSERT OR IGNORE INTO source_audit_events (source_store, seq, at, user_id, action,"
        " entity, entity_id, changes, prev_hash, hash) VALUES (?,?,?,?,?,?,?,?,?,?)",
        rows,
    )
    return int(db.total_changes - before)


__all__ = ["MergeResult", "merge_team"]
