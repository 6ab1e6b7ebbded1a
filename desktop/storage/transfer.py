"""Moving records between stores: team bundles merged into one store, and client handovers.

A **team bundle** carries what changed on one laptop since its last bundle to the same
recipient: clients, episodes, referrals or interventions, consent events, deletions, and
the laptop's own audit events. The receiving store merges it in one transaction:

- records by their technical ids, which are unique across laptops;
- each changed field with the value it had before that change (from the sender's audit
  trail). When the receiving store still holds that earlier value, the change is taken.
  When it holds a third value, both laptops changed the field: the later change (by the
  time in the audit trail) is kept for now and the pair is listed as a conflict, with
  who and when, for a manager to decide;
- consent events as a history (they are never changed, only added); when the two sides
  disagree on an episode's NDTMS consent, the latest consent event decides;
- the sender's audit events, copied with their hashes into a table of their own, so each
  laptop's chain can still be walked from its first event and verified.

A **handover** carries one client's sheet, consent and episode history to another team,
only while the client's latest continuity-of-care consent (DIR, seed 004) is "given".

Sealing and opening the bundle files is ``desktop.export.bundle``; this module knows only
records. The store's bundle key (X25519) lives in the ``settings`` table, inside the
encrypted store, and nowhere else.
"""

from __future__ import annotations

import base64
import hashlib
import json
import logging
from collections import defaultdict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey
from sqlalchemy import select

from desktop.domain import consent
from desktop.domain.summary import Summary, summarise
from desktop.storage import audit
from desktop.storage.db import blank as _blank
from desktop.storage.db import day as _day
from desktop.storage.db import diff as _diff
from desktop.storage.db import dumps as _json
from desktop.storage.db import loads as _loads
from desktop.storage.db import new_id
from desktop.storage.db import raw as _raw
from desktop.storage.db import stamp as _stamp
from desktop.storage.errors import NotPermitted, StoreError
from desktop.storage.models import (
    ITEM_TABLES,
    Handover,
    MergeConflict,
    Setting,
    SourceAuditEvent,
    TransferBundle,
    User,
)
from desktop.storage.store import Store
from desktop.storage.unit import Unit

log = logging.getLogger(__name__)

KEY_SETTING = "bundle_key"
FIELD_ACTIONS = frozenset({"create", "update", "merge", "resolve"})
CHUNK = 500
CLIENT_EXTRA = ("name", "notes")
EPISODE_EXTRA = ("notes",)
# Sent by laptops whose stores still had a draft flag; a saved episode is the record now.
RETIRED_EPISODE_KEYS = ("draft",)
ATTRIBUTORS = ("FINITIAL", "SINITIAL", "DOB", "SEX")
TRANSFERRED_FROM = "_TRANSFERRED_FROM"
KIND_WORDS = {"cjit": "CJIT", "secure": "prison team"}
SHEET_PARTS = ("store", "client", "episode", "episodes", "consent", "history")

_SAME_ID = (
    "A {what} in this bundle has the same technical id as a different one here, which"
    " Pathway never does; the bundle may come from a copied store. Nothing was imported."
)

Stamp = tuple[str, str | None, str]  # when (as stored), who (user id), on which store


class TransferError(StoreError):
    """A bundle or handover that cannot be used; nothing was changed. Says why plainly."""


# ---------------------------------------------------------------------------- keys


def fingerprint(public_raw: bytes) -> str:
    """SHA-256 of the raw 32-byte public key, as 64 hex digits."""
    return hashlib.sha256(public_raw).hexdigest()


def show_fingerprint(hex_digest: str) -> str:
    """The first 96 bits in groups of four, for reading aloud or comparing by eye."""
    head = hex_digest[:24].upper()
    return "-".join(head[i : i + 4] for i in range(0, len(head), 4))


def public_from_private(private_raw: bytes) -> bytes:
    return (
        X25519PrivateKey.from_private_bytes(private_raw)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def private_key(store: Store) -> bytes | None:
    """This store's bundle private key, or None before one is made."""
    with store.reading() as s:
        row = s.get(Setting, KEY_SETTING)
        return None if row is None else base64.b64decode(row.value)


def ensure_private_key(store: Store) -> bytes:
    """The store's bundle key, made on first use (an audit event); kept inside the store."""
    found = private_key(store)
    if found is not None:
        return found
    raw = X25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    with store.writing() as tx:
        s = tx.session
        if s.get(Setting, KEY_SETTING) is not None:  # made meanwhile by another window
            row = s.get(Setting, KEY_SETTING)
            assert row is not None
            return base64.b64decode(row.value)
        s.add(Setting(key=KEY_SETTING, value=base64.b64encode(raw).decode("ascii")))
        tx.audit("create", "bundle key", fingerprint(public_from_private(raw))[:32], {})
    return raw


# ---------------------------------------------------------------------------- helpers


def _chunks(ids: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


def _rows_in(db: Any, sql: str, ids: Sequence[str]) -> list[tuple[Any, ...]]:
    """Run ``sql`` (with one ``{marks}``) for ids in batches; all rows."""
    out: list[tuple[Any, ...]] = []
    for part in _chunks(list(ids)):
        out.extend(db.execute(sql.format(marks=",".join("?" * len(part))), part).fetchall())
    return out


def _entities(store: Store) -> dict[str, str]:
    """Audit entity name → record kind ('client', 'episode' or 'item')."""
    item = store.refdata.datasets[store.settings.dataset].item_label.lower()
    return {"client": "client", "episode": "episode", item: "item"}


def _entity_of(store: Store, kind: str) -> str:
    return next(e for e, k in _entities(store).items() if k == kind)


def _pack_stamps(stamps: Mapping[str, Stamp]) -> list[list[Any]]:
    """Fields grouped by their stamp: a record saved at once takes one group, not forty."""
    groups: dict[Stamp, list[str]] = defaultdict(list)
    for name, stamp in stamps.items():
        groups[stamp].append(name)
    return [[at, user, origin, sorted(names)] for (at, user, origin), names in groups.items()]


def _unpack_stamps(packed: object) -> dict[str, Stamp]:
    out: dict[str, Stamp] = {}
    if isinstance(packed, list):
        for at, user, origin, names in packed:
            for name in names:
                out[str(name)] = (str(at), user, str(origin))
    return out


def _pack_changed(changed: Mapping[str, tuple[Stamp, object]]) -> list[list[Any]]:
    groups: dict[Stamp, dict[str, object]] = defaultdict(dict)
    for name, (stamp, base) in changed.items():
        groups[stamp][name] = base
    return [[at, user, origin, bases] for (at, user, origin), bases in groups.items()]


def _unpack_changed(packed: object) -> dict[str, tuple[Stamp, object]]:
    out: dict[str, tuple[Stamp, object]] = {}
    if isinstance(packed, list):
        for at, user, origin, bases in packed:
            for name, base in dict(bases).items():
                out[str(name)] = ((str(at), user, str(origin)), base)
    return out


def _client_values(fields: str, name: str | None, notes: str | None) -> dict[str, object]:
    values = _loads(fields)
    for key, value in (("name", name), ("notes", notes)):
        if value is not None:
            values[key] = value
    return values


def _episode_values(fields: str, notes: str | None) -> dict[str, object]:
    values = _loads(fields)
    if notes is not None:
        values["notes"] = notes
    return values


def _plain_fields(values: Mapping[str, object], extra: Sequence[str]) -> dict[str, object]:
    return {k: v for k, v in values.items() if k not in extra and not _blank(v)}


def _user_rows(db: Any) -> list[dict[str, object]]:
    return [
        {"id": r[0], "name": r[1], "role": r[2]}
        for r in db.execute("SELECT id, name, role FROM users").fetchall()
    ]


def user_names(store: Store) -> dict[str, str]:
    """Every user this store knows, including colleagues whose records came in bundles."""
    with store.reading() as s:
        return {u.id: u.name for u in s.execute(select(User)).scalars()}


# ---------------------------------------------------------------------------- sending


@dataclass(frozen=True, slots=True)
class Outgoing:
    """What a bundle will carry, before it is sealed."""

    kind: str
    payload: dict[str, object]
    sequence: int
    full: bool
    audit_seq: int
    audit_hash: str | None
    counts: dict[str, int]
    client_id: str | None = None


def _sent_before(s: Any, kind: str, recipient: str) -> TransferBundle | None:
    found: TransferBundle | None = s.execute(
        select(TransferBundle)
        .where(
            TransferBundle.direction == "sent",
            TransferBundle.kind == kind,
            TransferBundle.peer_key == recipient,
        )
        .order_by(TransferBundle.sequence.desc())
        .limit(1)
    ).scalar_one_or_none()
    return found


def _store_info(store: Store) -> dict[str, object]:
    st = store.settings
    return {
        "id": st.store_id,
        "agency": st.agency,
        "kind": st.kind,
        "dat": st.dat,
        "user": store.user.name,
    }


def collect_team(store: Store, recipient: str, *, full: bool = False) -> Outgoing:
    """Everything changed since this store's last team bundle to ``recipient`` (a key
    fingerprint), or everything when ``full`` or when nothing was sent to it before."""
    entities = _entities(store)
    dataset = store.settings.dataset
    item_table = ITEM_TABLES[dataset].__tablename__
    own = store.settings.store_id
    with store.reading() as s:
        db = _raw(s)
        last = _sent_before(s, "team", recipient)
        sequence = last.sequence + 1 if last is not None else 1
        full = full or last is None
        watermark = 0 if full or last is None else last.audit_seq
        since = None if full or last is None else _stamp(last.at)
        head = db.execute("SELECT seq, hash FROM audit_events ORDER BY seq DESC LIMIT 1").fetchone()
        events = db.execute(
            "SELECT seq, at, user_id, action, entity, entity_id, changes, prev_hash, hash"
            " FROM audit_events WHERE seq > ? ORDER BY seq",
            (watermark,),
        ).fetchall()
        latest: dict[tuple[str, str], dict[str, tuple[str, str | None, str, object]]] = defaultdict(
            dict
        )
        touched: dict[str, set[str]] = {"client": set(), "episode": set(), "item": set()}
        deleted: dict[tuple[str, str], tuple[str, str | None]] = {}
        for _seq, at, user_id, action, entity, entity_id, changes, _p, _h in events:
            kind = entities.get(entity)
            if kind is None or entity_id is None:
                continue
            if action == "delete":
                deleted[(kind, entity_id)] = (at, user_id)
                continue
            touched[kind].add(entity_id)
            if action in FIELD_ACTIONS:
                for name, pair in json.loads(changes).items():
                    latest[(kind, entity_id)][name] = (at, user_id, action, pair[0])

        if full:
            client_ids = [r[0] for r in db.execute("SELECT id FROM clients").fetchall()]
            episode_ids = [
                r[0]
                for r in db.execute(
                    "SELECT id FROM episodes WHERE dataset = ?", (dataset,)
                ).fetchall()
            ]
        else:
            # Records written without an audit event per field (demo loads) still count.
            for (eid,) in db.execute(
                "SELECT id FROM episodes WHERE updated_at > ?", (since,)
            ).fetchall():
                touched["episode"].add(eid)
            for (cid,) in db.execute(
                "SELECT id FROM clients WHERE updated_at > ?", (since,)
            ).fetchall():
                touched["client"].add(cid)
            episode_ids = sorted(touched["episode"])
            client_ids = sorted(touched["client"])

        # Items: every item of an episode sent, and every changed item with its episode.
        item_rows = _rows_in(
            db,
            f"SELECT id, episode_id, position, fields FROM {item_table}"
            " WHERE episode_id IN ({marks})",
            episode_ids,
        )
        have_items = {r[0] for r in item_rows}
        item_rows += _rows_in(
            db,
            f"SELECT id, episode_id, position, fields FROM {item_table} WHERE id IN ({{marks}})",
            [i for i in sorted(touched["item"]) if i not in have_items],
        )
        episode_set = set(episode_ids) | {r[1] for r in item_rows}
        episode_rows = _rows_in(
            db,
            "SELECT id, client_id, dataset, fields, notes, owner_id, last_contact,"
            " created_at, updated_at, state, opened_on, closed_on, consent, errors, warnings"
            " FROM episodes WHERE id IN ({marks})",
            sorted(episode_set),
        )
        client_set = set(client_ids) | {r[1] for r in episode_rows}
        # A consent decision is an event of the client (or of its episode): send them all.
        consent_rows = _rows_in(
            db,
            "SELECT id, client_id, episode_id, kind, value, agencies, recorded_on, recorded_by,"
            " recorded_at FROM consent_events WHERE client_id IN ({marks})",
            sorted(client_set),
        )
        client_rows = _rows_in(
            db,
            "SELECT id, fields, name, notes, created_at, updated_at, client_ref, finitial,"
            " sinitial, dob, sex FROM clients WHERE id IN ({marks})",
            sorted(client_set),
        )
        stamp_rows = {
            (r[0], r[1]): _unpack_stamps(json.loads(r[2]))
            for r in _rows_in(
                db,
                "SELECT entity, record_id, stamps FROM merge_stamps WHERE record_id IN ({marks})",
                sorted(client_set | episode_set | {r[0] for r in item_rows}),
            )
        }
        users = _user_rows(db)

    def changed_of(
        kind: str, rid: str, values: Mapping[str, object], fallback: Stamp, sent_in_full: bool
    ) -> list[list[Any]]:
        entity = _entity_of(store, kind)
        merged = stamp_rows.get((entity, rid), {})
        out: dict[str, tuple[Stamp, object]] = {}
        for name, (at, user_id, action, old) in latest.get((kind, rid), {}).items():
            if action == "merge" and name in merged:
                out[name] = (merged[name], old)
            else:
                out[name] = ((at, user_id, own), old)
        if sent_in_full or (kind, rid) not in latest:
            for name in values:
                if name not in out:
                    out[name] = (merged.get(name, fallback), None)
        return _pack_changed(out)

    def was_touched(kind: str, rid: str) -> bool:
        return full or rid in touched[kind]

    owners = {r[0]: r[6] for r in episode_rows}
    clients = []
    for cid, fields, name, notes, created_at, updated_at, *derived in client_rows:
        values = _client_values(fields, name, notes)
        changed = (
            changed_of("client", cid, values, (updated_at, None, own), full)
            if was_touched("client", cid)
            else []
        )
        clients.append(
            {
                "id": cid,
                "created_at": created_at,
                "values": values,
                "changed": changed,
                "derived": derived,
            }
        )
    episodes = []
    updated = {}
    for (
        eid,
        cid,
        ds,
        fields,
        notes,
        owner,
        contact,
        created_at,
        updated_at,
        *derived,
    ) in episode_rows:
        values = _episode_values(fields, notes)
        updated[eid] = updated_at
        changed = (
            changed_of("episode", eid, values, (updated_at, owner, own), full)
            if was_touched("episode", eid)
            else []
        )
        episodes.append(
            {
                "id": eid,
                "client_id": cid,
                "dataset": ds,
                "owner_id": owner,
                "last_contact": contact,
                "created_at": created_at,
                "values": values,
                "changed": changed,
                "derived": derived,
            }
        )
    items = []
    for iid, eid, position, fields in item_rows:
        values = _loads(fields)
        changed = (
            changed_of("item", iid, values, (updated[eid], owners.get(eid), own), full)
            if was_touched("item", iid) or (full or eid in touched["episode"])
            else []
        )
        items.append(
            {"id": iid, "episode_id": eid, "position": position, "values": values,
             "changed": changed}
        )  # fmt: skip
    consents = [
        {
            "id": r[0],
            "client_id": r[1],
            "episode_id": r[2],
            "kind": r[3],
            "value": r[4],
            "agencies": r[5],
            "recorded_on": r[6],
            "recorded_by": r[7],
            "recorded_at": r[8],
        }
        for r in consent_rows
    ]
    present = {("client", c["id"]) for c in clients} | {("episode", e["id"]) for e in episodes}
    present |= {("item", i["id"]) for i in items}
    tombstones = [
        {"kind": kind, "id": rid, "at": at, "user": user}
        for (kind, rid), (at, user) in deleted.items()
        if (kind, rid) not in present
    ]
    payload: dict[str, object] = {
        "store": _store_info(store),
        "users": users,
        "clients": clients,
        "episodes": episodes,
        "items": items,
        "consents": consents,
        "deleted": tombstones,
        "audit": {
            "events": [list(e) for e in events],
            "head": [head[0], head[1]] if head is not None else None,
        },
    }
    counts = {
        "clients": len(clients),
        "episodes": len(episodes),
        "items": len(items),
        "consents": len(consents),
        "deleted": len(tombstones),
        "events": len(events),
    }
    return Outgoing(
        kind="team",
        payload=payload,
        sequence=sequence,
        full=full,
        audit_seq=head[0] if head is not None else 0,
        audit_hash=head[1] if head is not None else None,
        counts=counts,
    )


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who a bundle is sealed to, as their public key file says."""

    fingerprint: str
    store_id: str
    agency: str
    kind: str


def record_sent(
    store: Store, out: Outgoing, recipient: Recipient, bundle_id: str, sealed_at: datetime
) -> None:
    """After the file is written: the next team bundle to this recipient starts here."""
    with store.writing() as tx:
        s = tx.session
        s.add(
            TransferBundle(
                id=bundle_id,
                direction="sent",
                kind=out.kind,
                peer_store=recipient.store_id,
                peer_agency=recipient.agency,
                peer_key=recipient.fingerprint,
                sequence=out.sequence,
                full=out.full,
                audit_seq=out.audit_seq,
                audit_hash=out.audit_hash,
                sealed_at=sealed_at,
                at=audit.utcnow(),
                user_id=store.user.id,
                counts=_json(out.counts),
            )
        )
        if out.kind == "handover":
            assert out.client_id is not None
            episode = out.payload.get("episode")
            s.add(
                Handover(
                    id=bundle_id,
                    direction="sent",
                    client_id=out.client_id,
                    episode_id=episode.get("id") if isinstance(episode, dict) else None,
                    source_client_id=out.client_id,
                    peer_agency=recipient.agency,
                    peer_kind=recipient.kind,
                    at=audit.utcnow(),
                    user_id=store.user.id,
                    sheet=None,
                    mapped="{}",
                )
            )
            tx.audit(
                "handover",
                "client",
                out.client_id,
                {"to agency": (None, recipient.agency), "bundle": (None, bundle_id)},
            )
        else:
            tx.audit(
                "export",
                "bundle",
                bundle_id,
                {
                    "to agency": (None, recipient.agency),
                    "sequence": (None, out.sequence),
                    **{k: (None, v) for k, v in out.counts.items()},
                },
            )


# ---------------------------------------------------------------------------- receiving


@dataclass(frozen=True, slots=True)
class Arrival:
    """What the sealed header of an opened bundle says (authenticated by the opening)."""

    bundle_id: str
    kind: str
    sender_store: str
    sender_agency: str
    sender_kind: str
    sender_key: str  # fingerprint of the sender's bundle key
    sequence: int
    full: bool
    sealed_at: datetime


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


def _received_before(s: Any, bundle_id: str) -> TransferBundle | None:
    found: TransferBundle | None = s.get(TransferBundle, bundle_id)
    return found


def _check_sender(s: Any, store: Store, arrival: Arrival) -> None:
    """The sender's key is pinned at its first bundle: a different key is refused."""
    if arrival.sender_store == store.settings.store_id:
        raise TransferError("This bundle was made by this store itself; nothing was imported.")
    pinned = s.execute(
        select(TransferBundle.peer_key)
        .where(
            TransferBundle.direction == "received",
            TransferBundle.peer_store == arrival.sender_store,
        )
        .limit(1)
    ).scalar_one_or_none()
    if pinned is not None and pinned != arrival.sender_key:
        raise TransferError(
            "This bundle claims to come from a laptop whose bundles were sealed with a"
            " different key before. It may not be what it seems, so nothing was imported;"
            " ask your manager to check where it came from."
        )


def _ensure_users(db: Any, store: Store, people: object, agency: str) -> None:
    """Colleagues named in a bundle become users of this store who cannot unlock it."""
    if not isinstance(people, list):
        return
    known = {r[0] for r in db.execute("SELECT id FROM users").fetchall()}
    names = {str(r[0]).lower() for r in db.execute("SELECT name FROM users").fetchall()}
    now = _stamp(audit.utcnow())
    for person in people:
        uid = str(person["id"])
        if uid in known:
            continue
        base = str(person["name"])
        name = base
        if name.lower() in names:
            name = f"{base} ({agency} {uid[:4]})"
        n = 2
        while name.lower() in names:
            name = f"{base} ({agency} {uid[:4]} {n})"
            n += 1
        role = person.get("role") if person.get("role") in ("worker", "manager") else "worker"
        db.execute(
            "INSERT INTO users (id, name, role, created_at, removed_at) VALUES (?,?,?,?,?)",
            (uid, name, role, now, now),
        )
        known.add(uid)
        names.add(name.lower())


@dataclass(slots=True)
class _Merge:
    """The working state of one import, inside its write transaction."""

    store: Store
    db: Any
    bundle_id: str
    own: str
    stamps: dict[tuple[str, str], dict[str, Stamp]] = field(default_factory=dict)
    stamps_dirty: set[tuple[str, str]] = field(default_factory=set)
    conflicts: list[dict[str, object]] = field(default_factory=list)
    refresh: set[str] = field(default_factory=set)  # episodes whose derived columns change
    refresh_clients: set[str] = field(default_factory=set)
    consent_latest: dict[str, tuple[str, str, str]] = field(default_factory=dict)
    changed_records: int = 0
    changed_fields: int = 0

    def load_stamps(self, entity: str, ids: Sequence[str]) -> None:
        for ent, rid, packed in _rows_in(
            self.db,
            "SELECT entity, record_id, stamps FROM merge_stamps WHERE record_id IN ({marks})",
            ids,
        ):
            if ent == entity:
                self.stamps[(ent, rid)] = _unpack_stamps(json.loads(packed))

    def local_stamp(self, entity: str, rid: str, name: str) -> Stamp | None:
        """When this store's value of a field was set, and by whom (from its audit trail)."""
        for at, user_id, action, changes in self.db.execute(
            "SELECT at, user_id, action, changes FROM audit_events"
            " WHERE entity_id = ? AND entity = ? ORDER BY seq DESC",
            (rid, entity),
        ).fetchall():
            if action not in FIELD_ACTIONS or name not in json.loads(changes):
                continue
            if action == "merge":
                known = self.stamps.get((entity, rid), {}).get(name)
                if known is not None:
                    return known
            return (str(at), user_id, self.own)
        return None

    def merge_fields(
        self,
        entity: str,
        rid: str,
        local: dict[str, object],
        incoming: Mapping[str, object],
        changed: Mapping[str, tuple[Stamp, object]],
        episode_id: str | None,
    ) -> dict[str, tuple[object, object]]:
        """Apply the sender's changed fields to ``local`` (in place); return the diff."""
        diff: dict[str, tuple[object, object]] = {}
        for name, (stamp, base) in changed.items():
            theirs = incoming.get(name)
            ours = local.get(name)
            if theirs == ours:
                continue
            if stamp[2] == self.own:
                continue  # this store's own value, echoed back: this store has moved on
            take = False
            if ours == base:
                take = True  # this store still holds what the sender changed
            else:
                mine = self.local_stamp(entity, rid, name)
                if mine is not None and mine[2] == stamp[2] and mine[0] >= stamp[0]:
                    continue  # a newer value from the same laptop is already here
                later = mine is None or stamp[0] > mine[0]
                decided = self._consent_decides(entity, rid, name, theirs, ours)
                if decided is not None:
                    take = decided == theirs
                elif base is None and not later:
                    continue  # no known common value, and the one here is the newer
                else:
                    take = later
                    self._conflict(entity, rid, episode_id, name, ours, mine, theirs, stamp, take)
            if take:
                local[name] = theirs
                diff[name] = (ours, theirs)
                self.stamps.setdefault((entity, rid), {})[name] = stamp
                self.stamps_dirty.add((entity, rid))
        return diff

    def _consent_decides(
        self, entity: str, rid: str, name: str, theirs: object, ours: object
    ) -> object | None:
        """Consent events merge as a history and the latest decides the NDTMS consent."""
        if entity != "episode" or name != "CONSENT" or rid not in self.consent_latest:
            return None
        store, value = self.store, self.consent_latest[rid][2]
        spec = store.refdata.datasets[store.settings.dataset]
        for answer in (theirs, ours):
            if consent.answer_says(store.refdata, spec, answer, value):
                return answer
        return None

    def _conflict(
        self,
        entity: str,
        rid: str,
        episode_id: str | None,
        name: str,
        ours: object,
        mine: Stamp | None,
        theirs: object,
        stamp: Stamp,
        take: bool,
    ) -> None:
        self.conflicts.append(
            {
                "id": new_id(),
                "bundle_id": self.bundle_id,
                "entity": entity,
                "record_id": rid,
                "episode_id": episode_id,
                "field": name,
                "local_value": json.dumps(ours, ensure_ascii=False),
                "local_at": mine[0] if mine else None,
                "local_user": mine[1] if mine else None,
                "local_store": mine[2] if mine else self.own,
                "incoming_value": json.dumps(theirs, ensure_ascii=False),
                "incoming_at": stamp[0],
                "incoming_user": stamp[1],
                "incoming_store": stamp[2],
                "applied": "incoming" if take else "local",
            }
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
            db = _raw(s)
            if _received_before(s, arrival.bundle_id) is not None:
                return MergeResult(arrival.bundle_id, True, arrival.sender_agency)
            _check_sender(s, store, arrival)
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
            return _merge(store, tx, db, arrival, payload)
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        log.warning("bundle contents unreadable: %s", type(exc).__name__)
        raise TransferError(
            "The bundle opened but its contents could not be read (it may come from a"
            " different version of Pathway). Nothing was imported."
        ) from None


def _merge(
    store: Store, tx: Unit, db: Any, arrival: Arrival, payload: Mapping[str, Any]
) -> MergeResult:
    s = tx.session
    dataset = store.settings.dataset
    spec = store.refdata.datasets[dataset]
    item_table = ITEM_TABLES[dataset].__tablename__
    item_entity = spec.item_label.lower()
    now = audit.utcnow()
    stamp_now = _stamp(now)
    work = _Merge(store, db, arrival.bundle_id, store.settings.store_id)
    _ensure_users(db, store, payload.get("users"), arrival.sender_agency)
    sender = payload.get("store") or {}

    clients = list(payload["clients"])
    episodes = [e for e in payload["episodes"] if e["dataset"] == dataset]
    items = list(payload["items"])
    consents = list(payload["consents"])

    # Consent events first, in memory: the latest NDTMS decision per episode.
    local_consent = _rows_in(
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
    for eid, on, at, value in [*local_consent, *incoming_consent]:
        key = (str(on), str(at), str(value))
        if eid not in work.consent_latest or key > work.consent_latest[eid]:
            work.consent_latest[eid] = key

    # Clients.
    found = {
        r[0]: r
        for r in _rows_in(
            db,
            "SELECT id, fields, name, notes FROM clients WHERE id IN ({marks})",
            [c["id"] for c in clients],
        )
    }
    work.load_stamps("client", list(found))
    # Ids are never reused: a record deleted here stays deleted when an older copy comes in.
    skipped = _deleted_here(db, [c["id"] for c in clients if c["id"] not in found])
    client_inserts: list[tuple[object, ...]] = []
    client_updates: list[tuple[object, ...]] = []
    added_clients = 0
    # Records that arrive new and whole keep the derived columns the sending laptop worked
    # out for exactly these values (same team, same rules); anything merged is worked out
    # again here.
    as_sent: set[str] = set()
    for c in clients:
        cid = str(c["id"])
        incoming = dict(c["values"])
        changed = _unpack_changed(c.get("changed"))
        row = found.get(cid)
        if cid in skipped:
            continue
        if row is None:
            values = incoming
            work.stamps[("client", cid)] = {k: st for k, (st, _b) in changed.items()}
            work.stamps_dirty.add(("client", cid))
            derived = list(c.get("derived") or ())
            if len(derived) == 5:
                as_sent.add(cid)
            else:
                derived = [None] * 5
                work.refresh_clients.add(cid)
            client_inserts.append(
                (
                    cid,
                    _json(_plain_fields(values, CLIENT_EXTRA)),
                    values.get("name"),
                    values.get("notes"),
                    str(c.get("created_at") or stamp_now),
                    stamp_now,
                    *derived,
                )
            )
            tx.audit("merge", "client", cid, _diff({}, values))
            added_clients += 1
            continue
        local = _client_values(row[1], row[2], row[3])
        diff = work.merge_fields("client", cid, local, incoming, changed, None)
        if diff:
            client_updates.append(
                (
                    _json(_plain_fields(local, CLIENT_EXTRA)),
                    local.get("name"),
                    local.get("notes"),
                    stamp_now,
                    cid,
                )
            )
            tx.audit("merge", "client", cid, diff)
            work.changed_records += 1
            work.changed_fields += len(diff)
            work.refresh_clients.add(cid)
    if client_inserts:
        db.executemany(
            "INSERT INTO clients (id, fields, name, notes, created_at, updated_at, client_ref,"
            " finitial, sinitial, dob, sex) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
            client_inserts,
        )
    if client_updates:
        db.executemany(
            "UPDATE clients SET fields = ?, name = ?, notes = ?, updated_at = ? WHERE id = ?",
            client_updates,
        )

    # Episodes.
    found_e = {
        r[0]: r
        for r in _rows_in(
            db,
            "SELECT id, client_id, fields, notes, last_contact, version FROM episodes"
            " WHERE id IN ({marks})",
            [e["id"] for e in episodes],
        )
    }
    work.load_stamps("episode", list(found_e))
    skipped |= _deleted_here(db, [e["id"] for e in episodes if e["id"] not in found_e])
    episode_inserts: list[tuple[object, ...]] = []
    episode_updates: list[tuple[object, ...]] = []
    added_episodes = 0
    for e in episodes:
        eid = str(e["id"])
        incoming = {k: v for k, v in e["values"].items() if k not in RETIRED_EPISODE_KEYS}
        changed = {
            k: v
            for k, v in _unpack_changed(e.get("changed")).items()
            if k not in RETIRED_EPISODE_KEYS
        }
        row = found_e.get(eid)
        if eid in skipped or e["client_id"] in skipped:
            skipped.add(eid)
            continue
        if row is None:
            values = incoming
            work.stamps[("episode", eid)] = {k: st for k, (st, _b) in changed.items()}
            work.stamps_dirty.add(("episode", eid))
            derived = list(e.get("derived") or ())
            if len(derived) == 6 and e["client_id"] in as_sent:
                as_sent.add(eid)
            else:
                derived = ["", None, None, None, 0, 0]
                work.refresh.add(eid)
            episode_inserts.append(
                (
                    eid,
                    str(e["client_id"]),
                    dataset,
                    _json(_plain_fields(values, EPISODE_EXTRA)),
                    values.get("notes"),
                    str(e["owner_id"]),
                    e.get("last_contact"),
                    str(e.get("created_at") or stamp_now),
                    stamp_now,
                    *derived,
                )
            )
            tx.audit("merge", "episode", eid, _diff({}, values))
            added_episodes += 1
            continue
        if row[1] != e["client_id"]:
            raise TransferError(_SAME_ID.format(what="episode"))
        local = _episode_values(row[2], row[3])
        diff = work.merge_fields("episode", eid, local, incoming, changed, eid)
        contact = max(filter(None, (row[4], e.get("last_contact"))), default=None)
        if diff or contact != row[4]:
            episode_updates.append(
                (
                    _json(_plain_fields(local, EPISODE_EXTRA)),
                    local.get("notes"),
                    contact,
                    int(row[5]) + 1,
                    stamp_now,
                    eid,
                )
            )
        if diff:
            tx.audit("merge", "episode", eid, diff)
            work.changed_records += 1
            work.changed_fields += len(diff)
            work.refresh.add(eid)
    if episode_inserts:
        db.executemany(
            "INSERT INTO episodes (id, client_id, dataset, fields, notes, owner_id,"
            " last_contact, created_at, updated_at, state, opened_on, closed_on, consent,"
            " errors, warnings, version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1)",
            episode_inserts,
        )
    if episode_updates:
        db.executemany(
            "UPDATE episodes SET fields = ?, notes = ?, last_contact = ?,"
            " version = ?, updated_at = ? WHERE id = ?",
            episode_updates,
        )

    # Referrals (Q) or interventions (R).
    found_i = {
        r[0]: r
        for r in _rows_in(
            db,
            f"SELECT id, episode_id, fields FROM {item_table} WHERE id IN ({{marks}})",
            [i["id"] for i in items],
        )
    }
    work.load_stamps(item_entity, list(found_i))
    skipped |= _deleted_here(db, [i["id"] for i in items if i["id"] not in found_i])
    item_inserts: list[tuple[object, ...]] = []
    item_updates: list[tuple[object, ...]] = []
    added_items = 0
    for i in items:
        iid = str(i["id"])
        incoming = dict(i["values"])
        changed = _unpack_changed(i.get("changed"))
        row = found_i.get(iid)
        if iid in skipped or i["episode_id"] in skipped:
            continue
        if row is None:
            work.stamps[(item_entity, iid)] = {k: st for k, (st, _b) in changed.items()}
            work.stamps_dirty.add((item_entity, iid))
            item_inserts.append(
                (iid, str(i["episode_id"]), int(i["position"]), _json(_plain_fields(incoming, ())))
            )
            tx.audit("merge", item_entity, iid, _diff({}, incoming))
            added_items += 1
            if i["episode_id"] not in as_sent:
                work.refresh.add(str(i["episode_id"]))
            continue
        if row[1] != i["episode_id"]:
            raise TransferError(_SAME_ID.format(what=item_entity))
        local = _loads(row[2])
        diff = work.merge_fields(item_entity, iid, local, incoming, changed, str(row[1]))
        if diff:
            item_updates.append((_json(_plain_fields(local, ())), iid))
            tx.audit("merge", item_entity, iid, diff)
            work.changed_records += 1
            work.changed_fields += len(diff)
            work.refresh.add(str(row[1]))
    if item_inserts:
        db.executemany(
            f"INSERT INTO {item_table} (id, episode_id, position, fields) VALUES (?,?,?,?)",
            item_inserts,
        )
    if item_updates:
        db.executemany(f"UPDATE {item_table} SET fields = ? WHERE id = ?", item_updates)

    # Consent events: added, never changed.
    have_consent = {
        r[0]
        for r in _rows_in(
            db, "SELECT id FROM consent_events WHERE id IN ({marks})", [c["id"] for c in consents]
        )
    }
    referenced = sorted({str(c["episode_id"]) for c in consents if c.get("episode_id")})
    present = {
        r[0] for r in _rows_in(db, "SELECT id FROM episodes WHERE id IN ({marks})", referenced)
    }
    new_consents = [
        c
        for c in consents
        if c["id"] not in have_consent
        and c["client_id"] not in skipped
        and (not c.get("episode_id") or c["episode_id"] in present)
    ]
    if new_consents:
        db.executemany(
            "INSERT INTO consent_events (id, client_id, episode_id, kind, value, agencies,"
            " recorded_on, recorded_by, recorded_at) VALUES (?,?,?,?,?,?,?,?,?)",
            [
                (
                    c["id"],
                    c["client_id"],
                    c.get("episode_id"),
                    c["kind"],
                    c["value"],
                    c.get("agencies"),
                    c["recorded_on"],
                    c["recorded_by"],
                    c["recorded_at"],
                )
                for c in new_consents
            ],
        )
        for c in new_consents:
            tx.audit(
                "consent",
                "client",
                str(c["client_id"]),
                {str(c["kind"]): (None, c["value"]), "agencies": (None, c.get("agencies"))},
            )

    deleted = _apply_deletions(store, tx, db, work, list(payload.get("deleted") or []))
    _refresh(store, db, work)
    _save_stamps(db, work)
    _save_conflicts(db, work, stamp_now)
    events = _keep_source_events(db, arrival.sender_store, payload.get("audit") or {})
    head = (payload.get("audit") or {}).get("head")
    counts = {
        "clients_added": added_clients,
        "episodes_added": added_episodes,
        "items_added": added_items,
        "records_changed": work.changed_records,
        "fields_changed": work.changed_fields,
        "consents_added": len(new_consents),
        "deleted": deleted,
        "conflicts": len(work.conflicts),
        "events": events,
    }
    s.add(
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
            user_id=store.user.id,
            counts=_json({**counts, "sender_user": sender.get("user")}),
        )
    )
    tx.audit(
        "import",
        "bundle",
        arrival.bundle_id,
        {"from agency": (None, arrival.sender_agency), **{k: (None, v) for k, v in counts.items()}},
    )
    log.info(
        "team bundle merged: %d episodes added, %d records changed, %d conflicts",
        added_episodes,
        work.changed_records,
        len(work.conflicts),
    )
    return MergeResult(
        bundle_id=arrival.bundle_id,
        already=False,
        sender_agency=arrival.sender_agency,
        sender_user=str(sender.get("user")) if sender.get("user") else None,
        sequence=arrival.sequence,
        clients_added=added_clients,
        episodes_added=added_episodes,
        items_added=added_items,
        records_changed=work.changed_records,
        fields_changed=work.changed_fields,
        consents_added=len(new_consents),
        deleted=deleted,
        conflicts=len(work.conflicts),
        events=events,
        imported_at=now,
    )


def _deleted_here(db: Any, ids: Sequence[str]) -> set[str]:
    return {
        str(r[0])
        for r in _rows_in(
            db,
            "SELECT DISTINCT entity_id FROM audit_events WHERE action = 'delete'"
            " AND entity_id IN ({marks})",
            ids,
        )
    }


def _apply_deletions(
    store: Store, tx: Unit, db: Any, work: _Merge, tombstones: list[dict[str, Any]]
) -> int:
    """Records deleted on the sender are deleted here too (items, episodes, then clients)."""
    dataset = store.settings.dataset
    item_table = ITEM_TABLES[dataset].__tablename__
    item_entity = _entity_of(store, "item")
    done = 0
    order = {"item": 0, "episode": 1, "client": 2}
    for t in sorted(tombstones, key=lambda t: order.get(str(t["kind"]), 3)):
        kind, rid = str(t["kind"]), str(t["id"])
        if kind == "item":
            row = db.execute(
                f"SELECT episode_id, fields FROM {item_table} WHERE id = ?", (rid,)
            ).fetchone()
            if row is None:
                continue
            db.execute(f"DELETE FROM {item_table} WHERE id = ?", (rid,))
            tx.audit("delete", item_entity, rid, _diff(_loads(row[1]), {}))
            work.refresh.add(str(row[0]))
        elif kind == "episode":
            row = db.execute("SELECT fields FROM episodes WHERE id = ?", (rid,)).fetchone()
            if row is None:
                continue
            db.execute(f"DELETE FROM {item_table} WHERE episode_id = ?", (rid,))
            db.execute("DELETE FROM consent_events WHERE episode_id = ?", (rid,))
            db.execute("DELETE FROM episodes WHERE id = ?", (rid,))
            db.execute(
                "UPDATE merge_conflicts SET status = 'superseded' WHERE status = 'open'"
                " AND (record_id = ? OR episode_id = ?)",
                (rid, rid),
            )
            tx.audit("delete", "episode", rid, _diff(_loads(row[0]), {}))
            work.refresh.discard(rid)
        elif kind == "client":
            row = db.execute("SELECT fields FROM clients WHERE id = ?", (rid,)).fetchone()
            left = db.execute("SELECT count(*) FROM episodes WHERE client_id = ?", (rid,))
            if row is None or left.fetchone()[0]:
                continue
            db.execute("DELETE FROM consent_events WHERE client_id = ?", (rid,))
            db.execute("DELETE FROM clients WHERE id = ?", (rid,))
            tx.audit("delete", "client", rid, _diff(_loads(row[0]), {}))
            work.refresh_clients.discard(rid)
        else:
            continue
        db.execute("DELETE FROM merge_stamps WHERE record_id = ?", (rid,))
        done += 1
    return done


def _refresh(store: Store, db: Any, work: _Merge) -> None:
    """Work out again what the caseload shows (state, dates, findings) for changed episodes."""
    dataset = store.settings.dataset
    spec = store.refdata.datasets[dataset]
    item_table = ITEM_TABLES[dataset].__tablename__
    id_header = spec.item_fields[0].header
    validator = store.validator(dataset)
    ctx = store.context()
    if work.refresh_clients:
        work.refresh |= {
            r[0]
            for r in _rows_in(
                db,
                "SELECT id FROM episodes WHERE client_id IN ({marks})",
                sorted(work.refresh_clients),
            )
        }
    episode_ids = sorted(work.refresh)
    episode_updates: list[tuple[object, ...]] = []
    client_updates: dict[str, tuple[object, ...]] = {}
    for part in _chunks(episode_ids):
        marks = ",".join("?" * len(part))
        rows = db.execute(
            "SELECT e.id, e.client_id, e.fields, c.fields FROM episodes e"
            f" JOIN clients c ON c.id = e.client_id WHERE e.id IN ({marks})",
            part,
        ).fetchall()
        items: dict[str, list[dict[str, object]]] = defaultdict(list)
        for iid, eid, _pos, fields in db.execute(
            f"SELECT id, episode_id, position, fields FROM {item_table}"
            f" WHERE episode_id IN ({marks}) ORDER BY episode_id, position",
            part,
        ).fetchall():
            items[eid].append({id_header: iid, **_loads(fields)})
        for eid, cid, efields, cfields in rows:
            raw: dict[str, object] = {**_loads(cfields), **_loads(efields)}
            raw[spec.items_key] = items.get(eid, [])
            summary = summarise(validator, store.refdata, raw, ctx)
            episode_updates.append(
                (
                    summary.state,
                    _day(summary.opened_on),
                    _day(summary.closed_on),
                    summary.consent,
                    summary.errors,
                    summary.warnings,
                    eid,
                )
            )
            client_updates[cid] = _attributors(summary, cid)
    # A client without an episode here still gets its attributors from its own fields.
    for cid in sorted(work.refresh_clients - set(client_updates)):
        row = db.execute("SELECT fields FROM clients WHERE id = ?", (cid,)).fetchone()
        if row is None:
            continue
        summary = summarise(validator, store.refdata, _loads(row[0]), ctx)
        client_updates[cid] = _attributors(summary, cid)
    if episode_updates:
        db.executemany(
            "UPDATE episodes SET state = ?, opened_on = ?, closed_on = ?, consent = ?,"
            " errors = ?, warnings = ? WHERE id = ?",
            episode_updates,
        )
    if client_updates:
        db.executemany(
            "UPDATE clients SET client_ref = ?, finitial = ?, sinitial = ?, dob = ?, sex = ?"
            " WHERE id = ?",
            list(client_updates.values()),
        )


def _attributors(summary: Summary, client_id: str) -> tuple[object, ...]:
    """A client row's derived columns (the order of ``_refresh``'s UPDATE), then its id."""
    return (
        summary.client_ref,
        summary.finitial,
        summary.sinitial,
        _day(summary.dob),
        summary.sex,
        client_id,
    )


def _save_stamps(db: Any, work: _Merge) -> None:
    rows = [
        (entity, rid, json.dumps(_pack_stamps(work.stamps[(entity, rid)]), ensure_ascii=False))
        for entity, rid in sorted(work.stamps_dirty)
        if work.stamps.get((entity, rid))
    ]
    if rows:
        db.executemany(
            "INSERT INTO merge_stamps (entity, record_id, stamps) VALUES (?,?,?)"
            " ON CONFLICT (entity, record_id) DO UPDATE SET stamps = excluded.stamps",
            rows,
        )


def _save_conflicts(db: Any, work: _Merge, stamp_now: str) -> None:
    if not work.conflicts:
        return
    db.executemany(
        "UPDATE merge_conflicts SET status = 'superseded' WHERE status = 'open'"
        " AND entity = ? AND record_id = ? AND field = ?",
        [(c["entity"], c["record_id"], c["field"]) for c in work.conflicts],
    )
    db.executemany(
        "INSERT INTO merge_conflicts (id, bundle_id, entity, record_id, episode_id, field,"
        " local_value, local_at, local_user, local_store, incoming_value, incoming_at,"
        " incoming_user, incoming_store, applied, status, created_at)"
        " VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,'open',?)",
        [
            (
                c["id"],
                c["bundle_id"],
                c["entity"],
                c["record_id"],
                c["episode_id"],
                c["field"],
                c["local_value"],
                c["local_at"],
                c["local_user"],
                c["local_store"],
                c["incoming_value"],
                c["incoming_at"],
                c["incoming_user"],
                c["incoming_store"],
                c["applied"],
                stamp_now,
            )
            for c in work.conflicts
        ],
    )


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
        db = _raw(s)
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
            who = _loads(counts).get("sender_user")
            out[peer] = f"{who}'s laptop ({agency})" if who else f"a laptop of {agency}"
    return out


def _record_label(db: Any, store: Store, entity: str, rid: str) -> str:
    kinds = _entities(store)
    kind = kinds.get(entity, "item")
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
    with store.writing() as tx:
        s = tx.session
        db = _raw(s)
        found = (
            s.execute(
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
        kind = _entities(store).get(row.entity, "item")
        current = _read_field(db, store, kind, row.record_id, row.field)
        raise_after: TransferError | None = None
        if current is _GONE:
            row.status = "superseded"
            raise_after = TransferError(
                "That record has been deleted since; the conflict is closed."
            )
        else:
            if current != chosen:
                _write_field(db, store, kind, row.record_id, row.field, chosen)
                tx.audit("resolve", row.entity, row.record_id, {row.field: (current, chosen)})
                work = _Merge(store, db, row.bundle_id, store.settings.store_id)
                episode = row.episode_id if kind != "client" else None
                if kind == "client":
                    work.refresh_clients.add(row.record_id)
                elif episode is not None:
                    work.refresh.add(episode)
                _refresh(store, db, work)
            else:
                tx.audit("resolve", row.entity, row.record_id, {})
            row.status = keep
            row.resolved_at = audit.utcnow()
            row.resolved_by = store.user.id
    if raise_after is not None:
        raise raise_after
    return next(c for c in conflicts(store, include_decided=True) if c.id == row.id)


_GONE = object()


def _read_field(db: Any, store: Store, kind: str, rid: str, name: str) -> object:
    if kind == "client":
        row = db.execute("SELECT fields, name, notes FROM clients WHERE id = ?", (rid,)).fetchone()
        return _GONE if row is None else _client_values(*row).get(name)
    if kind == "episode":
        row = db.execute(
            "SELECT fields, notes FROM episodes WHERE id = ?", (rid,)
        ).fetchone()
        return _GONE if row is None else _episode_values(*row).get(name)
    table = ITEM_TABLES[store.settings.dataset].__tablename__
    row = db.execute(f"SELECT fields FROM {table} WHERE id = ?", (rid,)).fetchone()
    return _GONE if row is None else _loads(row[0]).get(name)


def _write_field(db: Any, store: Store, kind: str, rid: str, name: str, value: object) -> None:
    now = _stamp(audit.utcnow())
    if kind == "client":
        row = db.execute("SELECT fields, name, notes FROM clients WHERE id = ?", (rid,)).fetchone()
        values = _client_values(*row)
        values[name] = value
        db.execute(
            "UPDATE clients SET fields = ?, name = ?, notes = ?, updated_at = ? WHERE id = ?",
            (
                _json(_plain_fields(values, CLIENT_EXTRA)),
                values.get("name"),
                values.get("notes"),
                now,
                rid,
            ),
        )
    elif kind == "episode":
        row = db.execute(
            "SELECT fields, notes FROM episodes WHERE id = ?", (rid,)
        ).fetchone()
        values = _episode_values(*row)
        values[name] = value
        db.execute(
            "UPDATE episodes SET fields = ?, notes = ?, version = version + 1,"
            " updated_at = ? WHERE id = ?",
            (
                _json(_plain_fields(values, EPISODE_EXTRA)),
                values.get("notes"),
                now,
                rid,
            ),
        )
    else:
        table = ITEM_TABLES[store.settings.dataset].__tablename__
        row = db.execute(f"SELECT fields, episode_id FROM {table} WHERE id = ?", (rid,)).fetchone()
        values = _loads(row[0])
        values[name] = value
        db.execute(
            f"UPDATE {table} SET fields = ? WHERE id = ?", (_json(_plain_fields(values, ())), rid)
        )
        db.execute("UPDATE episodes SET updated_at = ? WHERE id = ?", (now, row[1]))


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
                sender_user=str(_loads(b.counts).get("sender_user") or "") or None,
                sequence=b.sequence,
                sealed_at=b.sealed_at,
                at=b.at,
                counts=_loads(b.counts),
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
    s: Any, source: str, head_seq: int, head_hash: str | None
) -> tuple[list[str], int]:
    problems: list[str] = []
    prev = audit.genesis(source)
    expected = 1
    count = 0
    rows = s.execute(
        select(SourceAuditEvent)
        .where(SourceAuditEvent.source_store == source)
        .order_by(SourceAuditEvent.seq)
    ).scalars()
    for ev in rows:
        count += 1
        if ev.seq != expected:
            problems.append(f"events {expected} to {ev.seq - 1} are missing")
        if ev.prev_hash != prev:
            problems.append(f"event {ev.seq} does not follow the event before it")
        digest = audit.digest(
            ev.prev_hash, ev.seq, ev.at, ev.user_id, ev.action, ev.entity, ev.entity_id, ev.changes
        )
        if digest != ev.hash:
            problems.append(f"event {ev.seq} has been altered")
        prev = ev.hash
        expected = ev.seq + 1
    if head_hash is not None and (expected - 1 != head_seq or prev != head_hash):
        problems.append("the newest events that laptop reported are not all here")
    return problems, count


# ---------------------------------------------------------------------------- handover


def find_client(store: Store, ref: str) -> str:
    """A client by technical id or by client reference (CLIENT), as the worker knows it."""
    text = ref.strip()
    if not text:
        raise TransferError("Say which client: their client reference or client id.")
    with store.reading() as s:
        db = _raw(s)
        if db.execute("SELECT 1 FROM clients WHERE id = ?", (text.lower(),)).fetchone():
            return text.lower()
        found = db.execute(
            "SELECT id FROM clients WHERE client_ref = ? OR upper(client_ref) = ?",
            (text, text.upper()),
        ).fetchall()
    if not found:
        raise TransferError(f"There is no client with the reference {text} in this store.")
    if len(found) > 1:
        raise TransferError(
            f"{len(found)} clients have the reference {text}; give the client id instead."
        )
    return str(found[0][0])


def sharing_refusal(store: Store, client_id: str, recipient_agency: str) -> str | None:
    """Why this client's record may not be handed over now, or None if it may: the latest
    continuity-of-care decision (DIR briefing, seed 004) as ``consent.handover_refusal``
    reads the client's consent history."""
    return consent.handover_refusal(store.consent.history(client_id), recipient_agency)


def collect_handover(store: Store, client_id: str, recipient: Recipient) -> Outgoing:
    """One client's newest sheet, consent and episode history, if their consent allows."""
    refusal = sharing_refusal(store, client_id, recipient.agency)
    if refusal is not None:
        raise TransferError(refusal)
    dataset = store.settings.dataset
    entities = _entities(store)
    with store.reading() as s:
        db = _raw(s)
        client = db.execute(
            "SELECT fields, name FROM clients WHERE id = ?", (client_id,)
        ).fetchone()
        episodes = db.execute(
            "SELECT id, dataset, state, opened_on, closed_on FROM episodes WHERE client_id = ?"
            " ORDER BY opened_on IS NULL, opened_on DESC, updated_at DESC",
            (client_id,),
        ).fetchall()
        if not episodes:
            raise TransferError("This client has no episode to hand over.")
        eid = episodes[0][0]
        row = db.execute("SELECT fields FROM episodes WHERE id = ?", (eid,)).fetchone()
        table = ITEM_TABLES[dataset].__tablename__
        item_rows = db.execute(
            f"SELECT id, fields FROM {table} WHERE episode_id = ? ORDER BY position", (eid,)
        ).fetchall()
        consent_rows = db.execute(
            "SELECT id, kind, value, agencies, recorded_on, recorded_by, recorded_at"
            " FROM consent_events WHERE client_id = ? ORDER BY recorded_on, recorded_at",
            (client_id,),
        ).fetchall()
        ids = [client_id, eid, *(r[0] for r in item_rows)]
        history_rows = _rows_in(
            db,
            "SELECT seq, at, user_id, action, entity, changes FROM audit_events"
            " WHERE entity_id IN ({marks})",
            ids,
        )
        users = {r["id"]: r for r in _user_rows(db)}
    spec = store.refdata.datasets[dataset]
    id_header = spec.item_fields[0].header
    history = []
    for _seq, at, user_id, action, entity, changes in sorted(history_rows):
        if entities.get(entity) is None:
            continue
        fields = {k: v for k, v in json.loads(changes).items() if k not in ("name", "notes")}
        history.append(
            {"at": at, "who": users.get(user_id, {}).get("name"), "action": action,
             "what": entity, "fields": fields}
        )  # fmt: skip
    named = {str(r[5]) for r in consent_rows}
    payload: dict[str, object] = {
        "store": _store_info(store),
        "users": [u for uid, u in users.items() if uid in named],
        "client": {"id": client_id, "values": {**_loads(client[0]), "name": client[1]}},
        "episode": {
            "id": eid,
            "dataset": dataset,
            "values": _loads(row[0]),
            "items": [{id_header: r[0], **_loads(r[1])} for r in item_rows],
        },
        "episodes": [
            {"dataset": r[1], "state": r[2], "opened_on": r[3], "closed_on": r[4]} for r in episodes
        ],
        "consent": [
            {
                "id": r[0],
                "kind": r[1],
                "value": r[2],
                "agencies": r[3],
                "recorded_on": r[4],
                "recorded_by": r[5],
                "recorded_by_name": users.get(r[5], {}).get("name"),
                "recorded_at": r[6],
            }
            for r in consent_rows
        ],
        "history": history,
    }
    with store.reading() as s:
        last = _sent_before(s, "handover", recipient.fingerprint)
    return Outgoing(
        kind="handover",
        payload=payload,
        sequence=(last.sequence + 1) if last is not None else 1,
        full=True,
        audit_seq=0,
        audit_hash=None,
        counts={"episodes": 1, "consents": len(consent_rows), "history": len(history)},
        client_id=client_id,
    )


@dataclass(frozen=True, slots=True)
class HandoverResult:
    bundle_id: str
    already: bool
    client_id: str
    episode_id: str
    sender_agency: str
    mapped: tuple[str, ...]
    transferred_from: str | None
    note: str

    def describe(self) -> str:
        if self.already:
            return "This handover was imported before; nothing was changed."
        coded = (
            f"'Transferred from' is set to {self.transferred_from}."
            if self.transferred_from
            else "'Transferred from' could not be coded from the sending team's codes;"
            " it is kept as a local note."
        )
        return (
            f"Handover from {self.sender_agency} opened as a new episode"
            f" ({self.episode_id}). Filled in from the sending sheet: {', '.join(self.mapped)}."
            f" {coded} The sending team's sheet is kept beside it, read only."
        )


def _transferred_from_code(store: Store, dataset: str, sender: Mapping[str, Any]) -> str | None:
    """The sending team as a code the receiving 'Transferred from' field (PRISON) accepts."""
    spec = store.refdata.datasets[dataset]
    fs = spec.by_header.get("PRISON")
    if fs is None:
        return None
    allowed = {code.code for code, _list in store.refdata.codes_for(fs)}
    for candidate in (sender.get("dat"), sender.get("agency")):
        if isinstance(candidate, str) and candidate.strip().upper() in allowed:
            return candidate.strip().upper()
    return None


def receive_handover(store: Store, arrival: Arrival, payload: Mapping[str, Any]) -> HandoverResult:
    """Open a handover as a new episode marked 'transferred from' (one transaction).

    Only the client attributors (initials, date of birth, sex; and the NOMS number between
    two prison teams) are filled in: the two teams may record different datasets, and the
    receiving worker asks their own questions. The sending sheet, consent and history are
    kept whole beside the new episode as a read-only note.
    """
    if arrival.kind != "handover":
        raise TransferError("This is not a handover bundle; nothing was imported.")
    dataset = store.settings.dataset
    spec = store.refdata.datasets[dataset]
    try:
        with store.writing() as tx:
            s = tx.session
            db = _raw(s)
            before = _received_before(s, arrival.bundle_id)
            if before is not None:
                done = s.get(Handover, arrival.bundle_id)
                return HandoverResult(
                    arrival.bundle_id,
                    True,
                    done.client_id if done else "",
                    (done.episode_id or "") if done else "",
                    arrival.sender_agency,
                    (),
                    None,
                    "",
                )
            _check_sender(s, store, arrival)
            sender = dict(payload["store"])
            client = dict(payload["client"])
            episode = dict(payload["episode"])
            values = dict(client["values"])
            source_client = str(client["id"])
            _ensure_users(db, store, payload.get("users"), arrival.sender_agency)
            earlier = db.execute(
                "SELECT h.client_id FROM handovers h JOIN clients c ON c.id = h.client_id"
                " WHERE h.direction = 'received' AND h.source_client_id = ?"
                " ORDER BY h.at DESC LIMIT 1",
                (source_client,),
            ).fetchone()
            client_id = earlier[0] if earlier else new_id()
            mapped = [h for h in ATTRIBUTORS if values.get(h) not in (None, "")]
            same_setting = episode.get("dataset") == dataset == "secure-r"
            if same_setting and values.get("CLIENT"):
                mapped.append("CLIENT")
            raw: dict[str, object] = {h: values[h] for h in mapped}
            if earlier:
                existing = db.execute(
                    "SELECT fields FROM clients WHERE id = ?", (client_id,)
                ).fetchone()
                raw.update(_loads(existing[0]))
            code = _transferred_from_code(store, dataset, sender)
            if code is not None:
                raw["PRISON"] = code
            sealed = arrival.sealed_at.date()
            note = (
                f"Transferred from {KIND_WORDS.get(str(sender.get('kind')), 'team')}"
                f" {arrival.sender_agency} (continuity-of-care handover sealed {sealed:%d %B %Y})"
            )
            raw[TRANSFERRED_FROM] = note
            raw["CLIENTID"] = client_id
            raw["EPISODID"] = new_id()
            prepared = store.episodes.prepare(raw, dataset)
            name = values.get("name")
            store.episodes.write(
                tx,
                dataset,
                prepared,
                client_name=str(name) if isinstance(name, str) and not earlier else None,
                notes=note + ". The sending team's sheet is kept with the handover, read only.",
            )
            episode_id = str(prepared["EPISODID"])
            sharing = [c for c in payload["consent"] if c["kind"] == "sharing"]
            if sharing:
                db.executemany(
                    "INSERT OR IGNORE INTO consent_events (id, client_id, episode_id, kind,"
                    " value, agencies, recorded_on, recorded_by, recorded_at)"
                    " VALUES (?,?,?,?,?,?,?,?,?)",
                    [
                        (
                            c["id"],
                            client_id,
                            None,
                            "sharing",
                            c["value"],
                            c.get("agencies"),
                            c["recorded_on"],
                            c["recorded_by"],
                            c["recorded_at"],
                        )
                        for c in sharing
                    ],
                )
            now = audit.utcnow()
            s.add(
                Handover(
                    id=arrival.bundle_id,
                    direction="received",
                    client_id=client_id,
                    episode_id=episode_id,
                    source_client_id=source_client,
                    peer_agency=arrival.sender_agency,
                    peer_kind=arrival.sender_kind,
                    at=now,
                    user_id=store.user.id,
                    sheet=json.dumps({k: payload[k] for k in SHEET_PARTS}, ensure_ascii=False),
                    mapped=_json({"fields": mapped, "transferred_from": code}),
                )
            )
            s.add(
                TransferBundle(
                    id=arrival.bundle_id,
                    direction="received",
                    kind="handover",
                    peer_store=arrival.sender_store,
                    peer_agency=arrival.sender_agency,
                    peer_key=arrival.sender_key,
                    sequence=arrival.sequence,
                    full=True,
                    audit_seq=0,
                    audit_hash=None,
                    sealed_at=arrival.sealed_at,
                    at=now,
                    user_id=store.user.id,
                    counts=_json({"episodes": 1, "sender_user": sender.get("user")}),
                )
            )
            tx.audit(
                "handover",
                "episode",
                episode_id,
                {"from agency": (None, arrival.sender_agency), "bundle": (None, arrival.bundle_id)},
            )
    except (KeyError, TypeError, ValueError, IndexError, AttributeError) as exc:
        log.warning("handover contents unreadable: %s", type(exc).__name__)
        raise TransferError(
            "The handover opened but its contents could not be read (it may come from a"
            " different version of Pathway). Nothing was imported."
        ) from None
    labels = [spec.by_header[h].label.lower() if h in spec.by_header else h for h in mapped]
    return HandoverResult(
        bundle_id=arrival.bundle_id,
        already=False,
        client_id=client_id,
        episode_id=episode_id,
        sender_agency=arrival.sender_agency,
        mapped=tuple(labels),
        transferred_from=code,
        note=note,
    )


def handover_sheet(store: Store, episode_id: str) -> dict[str, Any] | None:
    """The sending team's sheet, consent and history kept with a received handover."""
    with store.reading() as s:
        row = s.execute(
            select(Handover).where(
                Handover.episode_id == episode_id, Handover.direction == "received"
            )
        ).scalar_one_or_none()
        if row is None or row.sheet is None:
            return None
        value = json.loads(row.sheet)
        return value if isinstance(value, dict) else None


__all__ = [
    "Arrival",
    "BundleInfo",
    "ConflictView",
    "HandoverResult",
    "MergeResult",
    "Outgoing",
    "Recipient",
    "SourceReport",
    "TransferError",
    "bundles",
    "collect_handover",
    "collect_team",
    "conflicts",
    "ensure_private_key",
    "find_client",
    "fingerprint",
    "handover_sheet",
    "merge_team",
    "private_key",
    "public_from_private",
    "receive_handover",
    "record_sent",
    "resolve",
    "sharing_refusal",
    "show_fingerprint",
    "sources",
    "user_names",
]
