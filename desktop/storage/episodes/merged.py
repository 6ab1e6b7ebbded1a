"""The rows a merge writes: records of another laptop's bundle, added or changed here.

``desktop.storage.transfer`` decides, field by field, what a merge takes
(``desktop.domain.merge``); the rows are written here, in batches, as
``store.episodes.merged``. Derived columns are worked out again by :meth:`MergedRows.refresh`
for every record whose values changed.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING

from desktop.domain.summary import summarise
from desktop.storage import audit
from desktop.storage.db import chunks, diff, dumps, loads, rows_in, stamp
from desktop.storage.episodes.layout import (
    CLIENT_EXTRA,
    EPISODE_EXTRA,
    GONE,
    ChangedEpisode,
    ItemRow,
    NewClient,
    NewEpisode,
    client_columns,
    client_values,
    episode_columns,
    episode_values,
    plain_fields,
)
from desktop.storage.models import ITEM_TABLES
from desktop.storage.unit import Unit

if TYPE_CHECKING:
    from collections.abc import Mapping

    from desktop.storage.store import Store


class MergedRows:
    """Client, episode and item rows as a merge writes them. The caller audits the records
    it adds and changes; a removal is audited here, with the values removed."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def insert(
        self,
        tx: Unit,
        now: str,
        *,
        clients: Sequence[NewClient] = (),
        episodes: Sequence[NewEpisode] = (),
        items: Sequence[ItemRow] = (),
    ) -> None:
        """Add records that arrived whole in a bundle, updated at ``now`` (as stored).

        Their derived columns are the sender's where given; the others are left for
        :meth:`refresh`. The caller audits them.
        """
        dataset = self.store.settings.dataset
        if clients:
            tx.db.executemany(
                "INSERT INTO clients (id, fields, name, notes, created_at, updated_at, client_ref,"
                " finitial, sinitial, dob, sex) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (c.id, dumps(plain_fields(c.values, CLIENT_EXTRA)), c.values.get("name"),
                     c.values.get("notes"), c.created_at, now, *(c.derived or (None,) * 5))
                    for c in clients
                ],
            )  # fmt: skip
        if episodes:
            tx.db.executemany(
                "INSERT INTO episodes (id, client_id, dataset, fields, notes, owner_id,"
                " last_contact, created_at, updated_at, state, opened_on, closed_on, consent,"
                " errors, warnings, version) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1)",
                [
                    (e.id, e.client_id, dataset, dumps(plain_fields(e.values, EPISODE_EXTRA)),
                     e.values.get("notes"), e.owner_id, e.last_contact, e.created_at, now,
                     *(e.derived or ("", None, None, None, 0, 0)))
                    for e in episodes
                ],
            )  # fmt: skip
        if items:
            table = ITEM_TABLES[dataset].__tablename__
            tx.db.executemany(
                f"INSERT INTO {table} (id, episode_id, position, fields) VALUES (?,?,?,?)",
                [
                    (i.id, i.episode_id, i.position, dumps(plain_fields(i.values, ())))
                    for i in items
                ],
            )

    def update(
        self,
        tx: Unit,
        now: str,
        *,
        clients: Sequence[tuple[str, Mapping[str, object]]] = (),
        episodes: Sequence[ChangedEpisode] = (),
        items: Sequence[tuple[str, Mapping[str, object]]] = (),
    ) -> None:
        """Write the merged values of records already here (the caller audits them and
        has their derived columns worked out again with :meth:`refresh`)."""
        if clients:
            tx.db.executemany(
                "UPDATE clients SET fields = ?, name = ?, notes = ?, updated_at = ? WHERE id = ?",
                [
                    (dumps(plain_fields(v, CLIENT_EXTRA)), v.get("name"), v.get("notes"), now, cid)
                    for cid, v in clients
                ],
            )
        if episodes:
            tx.db.executemany(
                "UPDATE episodes SET fields = ?, notes = ?, last_contact = ?,"
                " version = ?, updated_at = ? WHERE id = ?",
                [
                    (dumps(plain_fields(e.values, EPISODE_EXTRA)), e.values.get("notes"),
                     e.last_contact, e.version, now, e.id)
                    for e in episodes
                ],
            )  # fmt: skip
        if items:
            table = ITEM_TABLES[self.store.settings.dataset].__tablename__
            tx.db.executemany(
                f"UPDATE {table} SET fields = ? WHERE id = ?",
                [(dumps(plain_fields(v, ())), iid) for iid, v in items],
            )

    def remove(self, tx: Unit, kind: str, rid: str) -> str | None:
        """Delete a record another laptop deleted, with an audit event: an item, an episode
        (with its items and consent events) or a client without episodes left. Returns the
        id of the episode whose derived columns change (the record's own for an episode or
        a client), or None when there was nothing to delete."""
        db = tx.db
        item_table = ITEM_TABLES[self.store.settings.dataset].__tablename__
        if kind == "item":
            row = db.execute(
                f"SELECT episode_id, fields FROM {item_table} WHERE id = ?", (rid,)
            ).fetchone()
            if row is None:
                return None
            db.execute(f"DELETE FROM {item_table} WHERE id = ?", (rid,))
            tx.audit("delete", self.item_entity, rid, diff(loads(row[1]), {}))
            return str(row[0])
        if kind == "episode":
            row = db.execute("SELECT fields FROM episodes WHERE id = ?", (rid,)).fetchone()
            if row is None:
                return None
            db.execute(f"DELETE FROM {item_table} WHERE episode_id = ?", (rid,))
            db.execute("DELETE FROM consent_events WHERE episode_id = ?", (rid,))
            db.execute("DELETE FROM episodes WHERE id = ?", (rid,))
            tx.audit("delete", "episode", rid, diff(loads(row[0]), {}))
            return rid
        if kind == "client":
            row = db.execute("SELECT fields FROM clients WHERE id = ?", (rid,)).fetchone()
            left = db.execute("SELECT count(*) FROM episodes WHERE client_id = ?", (rid,))
            if row is None or left.fetchone()[0]:
                return None
            db.execute("DELETE FROM consent_events WHERE client_id = ?", (rid,))
            db.execute("DELETE FROM clients WHERE id = ?", (rid,))
            tx.audit("delete", "client", rid, diff(loads(row[0]), {}))
            return rid
        return None

    @property
    def item_entity(self) -> str:
        """What the audit trail calls this store's items ('referral' or 'intervention')."""
        return self.store.refdata.datasets[self.store.settings.dataset].item_label.lower()

    def refresh(self, tx: Unit, episode_ids: Iterable[str], client_ids: Iterable[str]) -> None:
        """Work out again what the caseload shows (state, dates, findings) for episodes,
        and the attributors of clients, after their values changed in a merge."""
        st, db = self.store, tx.db
        dataset = st.settings.dataset
        spec = st.refdata.datasets[dataset]
        item_table = ITEM_TABLES[dataset].__tablename__
        id_header = spec.item_fields[0].header
        validator = st.validator(dataset)
        ctx = st.context()
        clients = set(client_ids)
        refresh = set(episode_ids)
        if clients:
            refresh |= {
                r[0]
                for r in rows_in(
                    db, "SELECT id FROM episodes WHERE client_id IN ({marks})", sorted(clients)
                )
            }
        episode_updates: list[tuple[object, ...]] = []
        client_updates: dict[str, tuple[object, ...]] = {}
        for part in chunks(sorted(refresh)):
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
                items[eid].append({id_header: iid, **loads(fields)})
            for eid, cid, efields, cfields in rows:
                raw: dict[str, object] = {**loads(cfields), **loads(efields)}
                raw[spec.items_key] = items.get(eid, [])
                summary = summarise(validator, st.refdata, raw, ctx)
                episode_updates.append((*episode_columns(summary), eid))
                client_updates[cid] = (*client_columns(summary), cid)
        # A client without an episode here still gets its attributors from its own fields.
        for cid in sorted(clients - set(client_updates)):
            row = db.execute("SELECT fields FROM clients WHERE id = ?", (cid,)).fetchone()
            if row is None:
                continue
            summary = summarise(validator, st.refdata, loads(row[0]), ctx)
            client_updates[cid] = (*client_columns(summary), cid)
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

    def field(self, tx: Unit, kind: str, rid: str, name: str) -> object:
        """One value of a record as the merge sees it (:data:`GONE` if it was deleted)."""
        db = tx.db
        if kind == "client":
            row = db.execute(
                "SELECT fields, name, notes FROM clients WHERE id = ?", (rid,)
            ).fetchone()
            return GONE if row is None else client_values(*row).get(name)
        if kind == "episode":
            row = db.execute("SELECT fields, notes FROM episodes WHERE id = ?", (rid,)).fetchone()
            return GONE if row is None else episode_values(*row).get(name)
        table = ITEM_TABLES[self.store.settings.dataset].__tablename__
        row = db.execute(f"SELECT fields FROM {table} WHERE id = ?", (rid,)).fetchone()
        return GONE if row is None else loads(row[0]).get(name)

    def set_field(self, tx: Unit, kind: str, rid: str, name: str, value: object) -> None:
        """Set one value of a record (a manager's decision on a conflict); the caller
        audits it and has the derived columns worked out again."""
        db = tx.db
        now = stamp(audit.utcnow())
        if kind == "client":
            row = db.execute(
                "SELECT fields, name, notes FROM clients WHERE id = ?", (rid,)
            ).fetchone()
            values = {**client_values(*row), name: value}
            self.update(tx, now, clients=[(rid, values)])
        elif kind == "episode":
            row = db.execute("SELECT fields, notes FROM episodes WHERE id = ?", (rid,)).fetchone()
            values = {**episode_values(*row), name: value}
            db.execute(
                "UPDATE episodes SET fields = ?, notes = ?, version = version + 1,"
                " updated_at = ? WHERE id = ?",
                (dumps(plain_fields(values, EPISODE_EXTRA)), values.get("notes"), now, rid),
            )
        else:
            table = ITEM_TABLES[self.store.settings.dataset].__tablename__
            row = db.execute(
                f"SELECT fields, episode_id FROM {table} WHERE id = ?", (rid,)
            ).fetchone()
            self.update(tx, now, items=[(rid, {**loads(row[0]), name: value})])
            db.execute("UPDATE episodes SET updated_at = ? WHERE id = ?", (now, row[1]))
