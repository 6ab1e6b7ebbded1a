"""Stores, keys and bundles for the transfer tests.

Making a store costs an Argon2id derivation, so each test module makes the few stores it
needs once (module scope) and its tests read them in order.
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

from desktop.export import bundle
from desktop.storage.backup import user_tables
from desktop.storage.store import CaseloadQuery, Store
from tests.fixtures import PASSWORD
from tests.storage.storekit import fresh

CONTENT_TABLES = (
    "clients",
    "episodes",
    "referrals",
    "interventions",
    "consent_events",
    "users",
    "settings",
    "audit_events",
    "transfer_bundles",
    "merge_stamps",
    "merge_conflicts",
    "source_audit_events",
    "handovers",
)


def key_of(store: Store, folder: Path) -> Path:
    return bundle.write_public_key(store, folder)


def digest(store: Store) -> str:
    """A hash of every row of every table: equal before and after means nothing changed."""
    h = hashlib.sha256()
    with store.database.connect() as db:
        tables = set(user_tables(db))
        for table in CONTENT_TABLES:
            if table not in tables:
                continue
            rows = db.execute(f'SELECT * FROM "{table}"').fetchall()
            h.update(table.encode())
            for row in sorted(repr(r) for r in rows):
                h.update(row.encode())
    return h.hexdigest()


def episodes_by_ref(store: Store) -> list[str]:
    """The store's episode ids ordered by client reference (then id)."""
    rows = store.caseload.page(CaseloadQuery(order_by="client_ref", descending=False, limit=10_000))
    return [r.episode_id for r in sorted(rows, key=lambda r: (r.client_ref or "", r.episode_id))]


def edit(store: Store, episode_id: str, **fields: Any) -> None:
    raw = dict(store.episodes.load(episode_id).raw)
    raw.update(fields)
    store.episodes.save(raw)


__all__ = ["PASSWORD", "digest", "edit", "episodes_by_ref", "fresh", "key_of"]
