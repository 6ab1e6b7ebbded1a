"""Who bundles come from and go to: the sealed header's facts, the log of bundles sent and
received, and the colleagues a bundle names."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from desktop.domain.datasets import BY_KIND
from desktop.storage import audit
from desktop.storage.db import stamp
from desktop.storage.errors import StoreError
from desktop.storage.models import TransferBundle, User
from desktop.storage.store import Store

KIND_WORDS = {kind: p.team_words for kind, p in BY_KIND.items()}


class TransferError(StoreError):
    """A bundle or handover that cannot be used; nothing was changed. Says why plainly."""


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


@dataclass(frozen=True, slots=True)
class Recipient:
    """Who a bundle is sealed to, as their public key file says."""

    fingerprint: str
    store_id: str
    agency: str
    kind: str


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


def entities(store: Store) -> dict[str, str]:
    """Audit entity name → record kind ('client', 'episode' or 'item')."""
    return {"client": "client", "episode": "episode", store.episodes.merged.item_entity: "item"}


def store_info(store: Store) -> dict[str, object]:
    """This store as a bundle names its sender."""
    st = store.settings
    return {
        "id": st.store_id,
        "agency": st.agency,
        "kind": st.kind,
        "dat": st.dat,
        "user": store.user.name,
    }


def user_rows(db: Any) -> list[dict[str, object]]:
    return [
        {"id": r[0], "name": r[1], "role": r[2]}
        for r in db.execute("SELECT id, name, role FROM users").fetchall()
    ]


def user_names(store: Store) -> dict[str, str]:
    """Every user this store knows, including colleagues whose records came in bundles."""
    with store.reading() as s:
        return {u.id: u.name for u in s.execute(select(User)).scalars()}


def sent_before(s: Session, kind: str, recipient: str) -> TransferBundle | None:
    """The newest bundle of ``kind`` this store sent to the key ``recipient``."""
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


def received_before(s: Session, bundle_id: str) -> TransferBundle | None:
    found: TransferBundle | None = s.get(TransferBundle, bundle_id)
    return found


def check_sender(s: Session, store: Store, arrival: Arrival) -> None:
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


def ensure_users(db: Any, people: object, agency: str) -> None:
    """Colleagues named in a bundle become users of this store who cannot unlock it."""
    if not isinstance(people, list):
        return
    known = {r[0] for r in db.execute("SELECT id FROM users").fetchall()}
    names = {str(r[0]).lower() for r in db.execute("SELECT name FROM users").fetchall()}
    now = stamp(audit.utcnow())
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


__all__ = [
    "KIND_WORDS",
    "Arrival",
    "Outgoing",
    "Recipient",
    "TransferError",
    "check_sender",
    "ensure_users",
    "entities",
    "received_before",
    "sent_before",
    "store_info",
    "user_names",
    "user_rows",
]
