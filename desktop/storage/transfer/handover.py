"""A client's handover to another team: their newest sheet, consent and episode history,
only while the client's latest continuity-of-care consent (DIR, seed 004) is "given"; and
a handover received, opened as a new episode beside a read-only copy of what was sent."""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select

from desktop.domain import consent
from desktop.domain.datasets import Workflow, profile
from desktop.storage import audit
from desktop.storage.consent import ORDER_BY, insert_events
from desktop.storage.db import dumps, loads, new_id, raw, rows_in
from desktop.storage.models import ITEM_TABLES, Handover, TransferBundle
from desktop.storage.store import Store
from desktop.storage.transfer.peers import (
    KIND_WORDS,
    Arrival,
    Outgoing,
    Recipient,
    TransferError,
    check_sender,
    ensure_users,
    entities,
    received_before,
    sent_before,
    store_info,
    user_rows,
)

log = logging.getLogger(__name__)

ATTRIBUTORS = ("FINITIAL", "SINITIAL", "DOB", "SEX")
TRANSFERRED_FROM = "_TRANSFERRED_FROM"
SHEET_PARTS = ("store", "client", "episode", "episodes", "consent", "history")


def find_client(store: Store, ref: str) -> str:
    """A client by technical id or by client reference (CLIENT), as the worker knows it."""
    text = ref.strip()
    if not text:
        raise TransferError("Say which client: their client reference or client id.")
    with store.reading() as s:
        db = raw(s)
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
    kinds = entities(store)
    with store.reading() as s:
        db = raw(s)
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
            f" FROM consent_events WHERE client_id = ? ORDER BY {ORDER_BY}",
            (client_id,),
        ).fetchall()
        ids = [client_id, eid, *(r[0] for r in item_rows)]
        history_rows = rows_in(
            db,
            "SELECT seq, at, user_id, action, entity, changes FROM audit_events"
            " WHERE entity_id IN ({marks})",
            ids,
        )
        users = {r["id"]: r for r in user_rows(db)}
    spec = store.refdata.datasets[dataset]
    id_header = spec.item_fields[0].header
    history = []
    for _seq, at, user_id, action, entity, changes in sorted(history_rows):
        if kinds.get(entity) is None:
            continue
        fields = {k: v for k, v in json.loads(changes).items() if k not in ("name", "notes")}
        history.append(
            {"at": at, "who": users.get(user_id, {}).get("name"), "action": action,
             "what": entity, "fields": fields}
        )  # fmt: skip
    named = {str(r[5]) for r in consent_rows}
    payload: dict[str, object] = {
        "store": store_info(store),
        "users": [u for uid, u in users.items() if uid in named],
        "client": {"id": client_id, "values": {**loads(client[0]), "name": client[1]}},
        "episode": {
            "id": eid,
            "dataset": dataset,
            "values": loads(row[0]),
            "items": [{id_header: r[0], **loads(r[1])} for r in item_rows],
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
        last = sent_before(s, "handover", recipient.fingerprint)
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
            s, db = tx.session, tx.db
            before = received_before(s, arrival.bundle_id)
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
            check_sender(s, store, arrival)
            sender = dict(payload["store"])
            client = dict(payload["client"])
            episode = dict(payload["episode"])
            values = dict(client["values"])
            source_client = str(client["id"])
            ensure_users(db, payload.get("users"), arrival.sender_agency)
            earlier = db.execute(
                "SELECT h.client_id FROM handovers h JOIN clients c ON c.id = h.client_id"
                " WHERE h.direction = 'received' AND h.source_client_id = ?"
                " ORDER BY h.at DESC LIMIT 1",
                (source_client,),
            ).fetchone()
            client_id = earlier[0] if earlier else new_id()
            mapped = [h for h in ATTRIBUTORS if values.get(h) not in (None, "")]
            same_setting = (
                episode.get("dataset") == dataset
                and profile(dataset).workflow is Workflow.SECURE
            )  # a prison number means the same in another prison
            if same_setting and values.get("CLIENT"):
                mapped.append("CLIENT")
            raw_values: dict[str, object] = {h: values[h] for h in mapped}
            if earlier:
                existing = db.execute(
                    "SELECT fields FROM clients WHERE id = ?", (client_id,)
                ).fetchone()
                raw_values.update(loads(existing[0]))
            code = _transferred_from_code(store, dataset, sender)
            if code is not None:
                raw_values["PRISON"] = code
            sealed = arrival.sealed_at.date()
            note = (
                f"Transferred from {KIND_WORDS.get(str(sender.get('kind')), 'team')}"
                f" {arrival.sender_agency} (continuity-of-care handover sealed {sealed:%d %B %Y})"
            )
            raw_values[TRANSFERRED_FROM] = note
            raw_values["CLIENTID"] = client_id
            raw_values["EPISODID"] = new_id()
            prepared = store.episodes.prepare(raw_values, dataset)
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
                insert_events(
                    db,
                    [
                        (c["id"], client_id, None, "sharing", c["value"], c.get("agencies"),
                         c["recorded_on"], c["recorded_by"], c["recorded_at"])
                        for c in sharing
                    ],
                    keep_existing=True,
                )  # fmt: skip
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
                    mapped=dumps({"fields": mapped, "transferred_from": code}),
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
                    counts=dumps({"episodes": 1, "sender_user": sender.get("user")}),
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
    "TRANSFERRED_FROM",
    "HandoverResult",
    "collect_handover",
    "find_client",
    "handover_sheet",
    "receive_handover",
    "sharing_refusal",
]
