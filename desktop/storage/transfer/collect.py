"""What a team bundle carries: everything changed since this store's last bundle to the
same recipient, with each changed field's stamp and the value it replaced (its base)."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from desktop.domain.merge import Stamp
from desktop.storage import audit
from desktop.storage.db import dumps, loads, raw, rows_in, stamp
from desktop.storage.episodes import client_values, episode_values
from desktop.storage.models import ITEM_TABLES, Handover, TransferBundle
from desktop.storage.store import Store
from desktop.storage.transfer import stamps
from desktop.storage.transfer.peers import (
    Outgoing,
    Recipient,
    entities,
    sent_before,
    store_info,
    user_rows,
)


def collect_team(store: Store, recipient: str, *, full: bool = False) -> Outgoing:
    """Everything changed since this store's last team bundle to ``recipient`` (a key
    fingerprint), or everything when ``full`` or when nothing was sent to it before."""
    kinds = entities(store)
    entity_of = {kind: entity for entity, kind in kinds.items()}
    dataset = store.settings.dataset
    item_table = ITEM_TABLES[dataset].__tablename__
    own = store.settings.store_id
    with store.reading() as s:
        db = raw(s)
        last = sent_before(s, "team", recipient)
        sequence = last.sequence + 1 if last is not None else 1
        full = full or last is None
        watermark = 0 if full or last is None else last.audit_seq
        since = None if full or last is None else stamp(last.at)
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
            kind = kinds.get(entity)
            if kind is None or entity_id is None:
                continue
            if action == "delete":
                deleted[(kind, entity_id)] = (at, user_id)
                continue
            touched[kind].add(entity_id)
            if action in stamps.FIELD_ACTIONS:
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
        item_rows = rows_in(
            db,
            f"SELECT id, episode_id, position, fields FROM {item_table}"
            " WHERE episode_id IN ({marks})",
            episode_ids,
        )
        have_items = {r[0] for r in item_rows}
        item_rows += rows_in(
            db,
            f"SELECT id, episode_id, position, fields FROM {item_table} WHERE id IN ({{marks}})",
            [i for i in sorted(touched["item"]) if i not in have_items],
        )
        episode_set = set(episode_ids) | {r[1] for r in item_rows}
        episode_rows = rows_in(
            db,
            "SELECT id, client_id, dataset, fields, notes, owner_id, last_contact,"
            " created_at, updated_at, state, opened_on, closed_on, consent, errors, warnings"
            " FROM episodes WHERE id IN ({marks})",
            sorted(episode_set),
        )
        client_set = set(client_ids) | {r[1] for r in episode_rows}
        # A consent decision is an event of the client (or of its episode): send them all.
        consent_rows = rows_in(
            db,
            "SELECT id, client_id, episode_id, kind, value, agencies, recorded_on, recorded_by,"
            " recorded_at FROM consent_events WHERE client_id IN ({marks})",
            sorted(client_set),
        )
        client_rows = rows_in(
            db,
            "SELECT id, fields, name, notes, created_at, updated_at, client_ref, finitial,"
            " sinitial, dob, sex FROM clients WHERE id IN ({marks})",
            sorted(client_set),
        )
        stamp_rows = stamps.read(db, sorted(client_set | episode_set | {r[0] for r in item_rows}))
        users = user_rows(db)

    def changed_of(
        kind: str, rid: str, values: Mapping[str, object], fallback: Stamp, sent_in_full: bool
    ) -> list[list[Any]]:
        merged = stamp_rows.get((entity_of[kind], rid), {})
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
        return stamps.pack_changed(out)

    def was_touched(kind: str, rid: str) -> bool:
        return full or rid in touched[kind]

    owners = {r[0]: r[6] for r in episode_rows}
    clients = []
    for cid, fields, name, notes, created_at, updated_at, *derived in client_rows:
        values = client_values(fields, name, notes)
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
        values = episode_values(fields, notes)
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
        values = loads(fields)
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
        "store": store_info(store),
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
                counts=dumps(out.counts),
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


__all__ = ["collect_team", "record_sent"]
