"""The ``store.episodes`` part: a worker's saves, reads, re-opens, links and deletes,
imports and demo loads."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import delete, func, insert, select

from desktop import CMSID
from desktop.domain import prison
from desktop.domain.datasets import KINDS
from desktop.domain.findings import Severity
from desktop.domain.summary import Summary, summarise
from desktop.storage import audit
from desktop.storage.consent import insert_events
from desktop.storage.db import blank, day, diff, dumps, loads, new_id, stamp
from desktop.storage.episodes.layout import (
    CLIENT_EXTRA,
    client_columns,
    episode_columns,
    split,
)
from desktop.storage.episodes.merged import MergedRows
from desktop.storage.errors import ImportRejected, NotPermitted, RecordNotFound, StoreError
from desktop.storage.models import ITEM_TABLES, Client, ConsentEvent, Episode
from desktop.storage.unit import Unit

if TYPE_CHECKING:
    from desktop.storage.store import Store


@dataclass(frozen=True, slots=True)
class SavedEpisode:
    """``client_changed``: the client-level fields this save changed (they hold for every
    episode of the client); ``other_episodes``: how many other episodes the client has."""

    client_id: str
    episode_id: str
    version: int
    summary: Summary
    client_changed: tuple[str, ...] = ()
    other_episodes: int = 0


@dataclass(frozen=True, slots=True)
class StoredEpisode:
    """One episode as entered: ``raw`` holds client and episode fields plus the items list."""

    dataset: str
    raw: dict[str, object]
    client_id: str
    episode_id: str
    client_name: str | None
    client_notes: str | None
    notes: str | None
    state: str
    version: int
    owner: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class ImportResult:
    episodes: int
    warnings: int


class Episodes:
    """The ``store.episodes`` part: saving, reading and removing records."""

    def __init__(self, store: Store) -> None:
        self.store = store
        self.merged = MergedRows(store)  # the rows a merge of another laptop's bundle writes

    # ------------------------------------------------------------------ a worker's records

    def own_dataset(self, dataset: str | None) -> str:
        """A store keeps one team's dataset: a CJIT store never holds prison episodes."""
        st = self.store
        own = st.settings.dataset
        if dataset is not None and dataset != own:
            other = st.refdata.datasets.get(dataset)
            raise StoreError(
                f"This store is for {st.refdata.datasets[own].title}; that record is for"
                f" {other.title if other is not None else dataset}."
            )
        return own

    def prepare(self, raw: Mapping[str, object], dataset: str) -> dict[str, object]:
        """Fill what the system provides: technical ids, AGNCY and CMSID."""
        spec = self.store.refdata.datasets[dataset]
        out: dict[str, object] = dict(raw)
        for header in ("CLIENTID", "EPISODID"):
            if blank(out.get(header)):
                out[header] = new_id()
        if blank(out.get("AGNCY")):
            out["AGNCY"] = self.store.settings.agency
        out["CMSID"] = CMSID
        id_header = spec.item_fields[0].header if spec.item_fields else None
        items = out.get(spec.items_key)
        if isinstance(items, list) and id_header:
            filled = []
            for item in items:
                if isinstance(item, Mapping):
                    item = dict(item)
                    if blank(item.get(id_header)):
                        item[id_header] = new_id()
                filled.append(item)
            out[spec.items_key] = filled
        return out

    def save(
        self,
        raw: Mapping[str, object],
        *,
        dataset: str | None = None,
        client_name: str | None = None,
        client_notes: str | None = None,
        notes: str | None = None,
        last_contact: date | None = None,
        today: date | None = None,
        consent_on: date | None = None,
        cleared: Collection[str] = (),
    ) -> SavedEpisode:
        """Save one episode (new or changed) with its client and items in one transaction.

        What is saved is the record: there is no second, "final" state. Whatever was
        entered is kept, even values that do not pass the rules yet; the findings come
        back in the summary. "Saved" may be shown once this returns. A client detail left
        blank never erases the one stored for the client (a returning client's new
        sheet); ``cleared`` names the client fields the worker emptied on purpose. A
        changed NDTMS consent answer is a consent event dated ``consent_on`` (default
        today), recorded by this user in the same transaction.
        """
        dataset = self.own_dataset(dataset)
        prepared = self.prepare(raw, dataset)
        with self.store.writing() as tx:
            return self.write(
                tx,
                dataset,
                prepared,
                client_name=client_name,
                client_notes=client_notes,
                notes=notes,
                last_contact=last_contact,
                consent_on=consent_on or today,
                today=today,
                cleared=cleared,
            )

    def write(
        self,
        tx: Unit,
        dataset: str,
        raw: Mapping[str, object],
        *,
        summary: Summary | None = None,
        client_name: str | None = None,
        client_notes: str | None = None,
        notes: str | None = None,
        last_contact: date | None = None,
        consent_on: date | None = None,
        today: date | None = None,
        cleared: Collection[str] = (),
    ) -> SavedEpisode:
        """Write one prepared episode in ``tx`` with plain statements on its connection.

        This is the path every keystroke-driven autosave takes, so it issues the fewest
        statements that do the job: one read and one write per table, items in one batch.
        The client's stored details fill the client fields ``raw`` leaves blank (except
        those in ``cleared``); ``summary`` is worked out here unless the caller has it for
        exactly this record.
        """
        st = self.store
        db = tx.db
        spec = st.refdata.datasets[dataset]
        client_id = str(raw["CLIENTID"])
        episode_id = str(raw["EPISODID"])
        now = stamp(audit.utcnow())
        found = db.execute(
            "SELECT fields, name, notes, client_ref, finitial, sinitial, dob, sex"
            " FROM clients WHERE id = ?",
            (client_id,),
        ).fetchone()
        old_client: dict[str, object] = {}
        if found is not None:
            stored = loads(found[0])
            kept = {k: v for k, v in stored.items() if k not in cleared and blank(raw.get(k))}
            if kept:  # blanks on this sheet never erase what is known of the client
                raw = {**raw, **kept}
                summary = None
            old_client = {**stored, "name": found[1], "notes": found[2]}
        if summary is None:
            summary = summarise(st.validator(dataset), st.refdata, dict(raw), st.context(today))
        parts = split(spec, raw)
        name = old_client.get("name") if client_name is None else (client_name or None)
        cnotes = old_client.get("notes") if client_notes is None else (client_notes or None)
        derived = client_columns(summary)
        client_row = (dumps(parts.client), *derived, name, cnotes, now)
        if found is None:
            db.execute(
                "INSERT INTO clients (fields, client_ref, finitial, sinitial, dob, sex, name,"
                " notes, updated_at, created_at, id) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (*client_row, now, client_id),
            )
        elif tuple(found) != (client_row[0], name, cnotes, *derived):
            # An episode-only change leaves the client row alone.
            db.execute(
                "UPDATE clients SET fields = ?, client_ref = ?, finitial = ?, sinitial = ?,"
                " dob = ?, sex = ?, name = ?, notes = ?, updated_at = ? WHERE id = ?",
                (*client_row, client_id),
            )
        client_changes = diff(old_client, {**parts.client, "name": name, "notes": cnotes})
        if client_changes or found is None:
            action = "create" if found is None else "update"
            tx.audit(action, "client", client_id, client_changes)

        row = db.execute(
            "SELECT dataset, client_id, fields, notes, consent, version, last_contact"
            " FROM episodes WHERE id = ?",
            (episode_id,),
        ).fetchone()
        old_episode: dict[str, object] = {}
        old_consent: str | None = None
        version = 1
        contact = day(last_contact)
        if row is not None:
            if row[0] != dataset:
                raise StoreError("That episode belongs to the other dataset; it was not changed.")
            if row[1] != client_id:
                raise StoreError("An episode cannot be moved to another client.")
            old_episode = {**loads(row[2]), "notes": row[3]}
            old_consent = row[4]
            version = int(row[5]) + 1
            contact = contact or row[6]
        enotes = old_episode.get("notes") if notes is None else (notes or None)
        contact = contact or day(summary.opened_on)
        episode_row = (
            dumps(parts.episode),
            enotes,
            *episode_columns(summary),
            contact,
            version,
            now,
        )
        if row is None:
            db.execute(
                "INSERT INTO episodes (fields, notes, state, opened_on, closed_on,"
                " consent, errors, warnings, last_contact, version, updated_at, id, client_id,"
                " dataset, owner_id, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (*episode_row, episode_id, client_id, dataset, st.user.id, now),
            )
        else:
            db.execute(
                "UPDATE episodes SET fields = ?, notes = ?, state = ?, opened_on = ?,"
                " closed_on = ?, consent = ?, errors = ?, warnings = ?, last_contact = ?,"
                " version = ?, updated_at = ? WHERE id = ?",
                (*episode_row, episode_id),
            )
        changes = diff(old_episode, {**parts.episode, "notes": enotes})
        if changes or row is None:
            tx.audit("create" if row is None else "update", "episode", episode_id, changes)
        self._write_items(tx, dataset, episode_id, parts.items)
        if summary.consent_decision is not None and summary.consent != old_consent:
            on = day(consent_on or today or st.clock().date())
            insert_events(
                db,
                [(new_id(), client_id, episode_id, "ndtms", summary.consent_decision, None, on,
                  st.user.id, now)],
            )  # fmt: skip
            change = {"CONSENT": (old_consent, summary.consent)}
            tx.audit("consent", "episode", episode_id, change)
        others = 0
        if found is not None and client_changes:
            others = int(
                db.execute(
                    "SELECT count(*) FROM episodes WHERE client_id = ? AND id != ?",
                    (client_id, episode_id),
                ).fetchone()[0]
            )
        return SavedEpisode(
            client_id,
            episode_id,
            version,
            summary,
            tuple(k for k in client_changes if k not in CLIENT_EXTRA) if found else (),
            others,
        )

    def _write_items(
        self, tx: Unit, dataset: str, episode_id: str, items: list[dict[str, object]]
    ) -> None:
        db = tx.db
        table = ITEM_TABLES[dataset].__tablename__
        spec = self.store.refdata.datasets[dataset]
        id_header = spec.item_fields[0].header
        entity = spec.item_label.lower()
        existing = {
            str(r[0]): (int(r[1]), str(r[2]))
            for r in db.execute(
                f"SELECT id, position, fields FROM {table} WHERE episode_id = ?", (episode_id,)
            ).fetchall()
        }
        given = [str(item.get(id_header)) for item in items if item.get(id_header)]
        elsewhere = [i for i in given if i not in existing]
        if elsewhere:
            marks = ",".join("?" * len(elsewhere))
            taken = db.execute(
                f"SELECT count(*) FROM {table} WHERE id IN ({marks})", elsewhere
            ).fetchone()[0]
            if taken:
                raise StoreError(f"That {entity} belongs to another episode; nothing was saved.")
        seen: set[str] = set()
        inserts: list[tuple[object, ...]] = []
        updates: list[tuple[object, ...]] = []
        for position, item in enumerate(items):
            item_id = str(item.get(id_header) or new_id())
            if item_id in seen:
                raise StoreError(f"Two {entity}s share the id {item_id}; nothing was saved.")
            seen.add(item_id)
            values = {k: v for k, v in item.items() if k != id_header}
            encoded = dumps(values)
            before = existing.get(item_id)
            if before is None:
                inserts.append((item_id, episode_id, position, encoded))
                tx.audit("create", entity, item_id, diff({}, values))
            elif before != (position, encoded):
                updates.append((position, encoded, item_id))
                old = loads(before[1])
                if old != values:
                    tx.audit("update", entity, item_id, diff(old, values))
        if inserts:
            db.executemany(
                f"INSERT INTO {table} (id, episode_id, position, fields) VALUES (?,?,?,?)",
                inserts,
            )
        if updates:
            db.executemany(f"UPDATE {table} SET position = ?, fields = ? WHERE id = ?", updates)
        gone = [item_id for item_id in existing if item_id not in seen]
        for item_id in gone:
            tx.audit("delete", entity, item_id, diff(loads(existing[item_id][1]), {}))
        if gone:
            db.executemany(f"DELETE FROM {table} WHERE id = ?", [(i,) for i in gone])

    def load(self, episode_id: str) -> StoredEpisode:
        with self.store.reading() as s:
            episode = s.get(Episode, episode_id)
            if episode is None:
                raise RecordNotFound("That episode")
            client = episode.client
            spec = self.store.refdata.datasets[episode.dataset]
            table = ITEM_TABLES[episode.dataset]
            id_header = spec.item_fields[0].header
            rows = s.execute(
                select(table).where(table.episode_id == episode_id).order_by(table.position)
            ).scalars()
            items: list[dict[str, object]] = [
                {id_header: row.id, **loads(row.fields)} for row in rows
            ]
            raw: dict[str, object] = {**loads(client.fields), **loads(episode.fields)}
            raw[spec.items_key] = items
            return StoredEpisode(
                dataset=episode.dataset,
                raw=raw,
                client_id=client.id,
                episode_id=episode.id,
                client_name=client.name,
                client_notes=client.notes,
                notes=episode.notes,
                state=episode.state,
                version=episode.version,
                owner=episode.owner_id,
                updated_at=episode.updated_at,
            )

    def client_fields(self, client_id: str) -> dict[str, object]:
        """The client-level NDTMS fields stored for a client (the same for all its episodes)."""
        with self.store.reading() as s:
            client = s.get(Client, client_id)
            if client is None:
                raise RecordNotFound("That client")
            return loads(client.fields)

    def reopen(self, episode_id: str, reason: str, today: date | None = None) -> SavedEpisode:
        """Re-open a prison episode as dataset R allows (DISD; appendix D court transfers).

        The discharge and exit are cleared, the old interventions stay closed, and the
        re-open is an audit event with its reason. Refused with a plain message otherwise.
        """
        st = self.store
        stored = self.load(episode_id)
        if stored.dataset != KINDS["secure"]:
            raise StoreError("Only a prison episode is re-opened; a CJIT case is not.")
        try:
            why = prison.ReopenReason(reason)
        except ValueError:
            raise StoreError("Choose why the episode is re-opened.") from None
        now = st.clock().date()
        back = today or now  # the day the client came back
        if back > now:
            raise StoreError(
                f"The return date {back:%d/%m/%Y} is after today: re-open on the day the"
                " client is back."
            )
        spec, validator = st.refdata.datasets[stored.dataset], st.validator(stored.dataset)
        record, _ = validator.check(stored.raw, st.context(back))
        decision = prison.can_reopen(record, spec, st.refdata, why, back)
        if not decision.allowed:
            raise StoreError(decision.message)
        raw = prison.reopen_changes(stored.raw, spec, record, why, back)
        raw.update(CLIENTID=stored.client_id, EPISODID=episode_id)
        with st.writing() as tx:
            saved = self.write(tx, stored.dataset, raw, consent_on=back, today=back)
            tx.audit("reopen", "episode", episode_id, {"reason": (None, str(why))})
        return saved

    @staticmethod
    def _sent(tx: Unit, episode_id: str) -> bool:
        """Whether NDTMS has received this episode in a submission file."""
        found = tx.db.execute(
            "SELECT 1 FROM exported_values WHERE episode_id = ?", (episode_id,)
        ).fetchone()
        return found is not None

    def delete(self, episode_id: str) -> None:
        """Delete an episode (a manager, or the worker who recorded it while NDTMS has not
        received it).

        The client goes too when this was their only episode. Both are audit events.
        """
        user = self.store.user
        with self.store.writing() as tx:
            s = tx.session
            episode = s.get(Episode, episode_id)
            if episode is None:
                raise RecordNotFound("That episode")
            own_unsent = episode.owner_id == user.id and not self._sent(tx, episode_id)
            if not (user.is_manager or own_unsent):
                raise NotPermitted(
                    "delete an episode that another worker recorded or that NDTMS has received"
                )
            client_id = episode.client_id
            table = ITEM_TABLES[episode.dataset]
            s.execute(delete(table).where(table.episode_id == episode_id))
            s.execute(delete(ConsentEvent).where(ConsentEvent.episode_id == episode_id))
            tx.audit("delete", "episode", episode_id, diff(loads(episode.fields), {}))
            s.delete(episode)
            s.flush()
            others = s.scalar(select(func.count()).where(Episode.client_id == client_id))
            if not others:
                client = s.get(Client, client_id)
                if client is not None:
                    s.execute(delete(ConsentEvent).where(ConsentEvent.client_id == client_id))
                    tx.audit("delete", "client", client_id, diff(loads(client.fields), {}))
                    s.delete(client)

    def link(self, episode_id: str, client_id: str) -> None:
        """Make a new contact an episode of an existing client (a returning client).

        The contact's own client, made when the sheet was first saved, goes; the existing
        client's details stay as they are, and the contact's consent decisions move with it
        (the newest decides, as always). Only a contact that is its client's only episode
        and that NDTMS has not received is moved; audited as a link and a delete.
        """
        user = self.store.user
        with self.store.writing() as tx:
            db = tx.db
            row = db.execute(
                "SELECT client_id, owner_id FROM episodes WHERE id = ?", (episode_id,)
            ).fetchone()
            if row is None:
                raise RecordNotFound("That episode")
            old = str(row[0])
            if old == client_id:
                return
            if db.execute("SELECT 1 FROM clients WHERE id = ?", (client_id,)).fetchone() is None:
                raise RecordNotFound("That client")
            others = db.execute(
                "SELECT count(*) FROM episodes WHERE client_id = ? AND id != ?",
                (old, episode_id),
            ).fetchone()[0]
            if others or self._sent(tx, episode_id):
                raise StoreError(
                    "Only a new contact can be joined to an existing client; this episode"
                    " already belongs to a client with other episodes or was sent to NDTMS."
                )
            if str(row[1]) != user.id and not user.is_manager:
                raise NotPermitted("join another worker's contact to a client")
            db.execute(
                "UPDATE episodes SET client_id = ?, version = version + 1, updated_at = ?"
                " WHERE id = ?",
                (client_id, stamp(audit.utcnow()), episode_id),
            )
            db.execute(
                "UPDATE consent_events SET client_id = ? WHERE client_id = ?", (client_id, old)
            )
            tx.audit("link", "episode", episode_id, {"client": (old, client_id)})
            gone = db.execute("SELECT fields FROM clients WHERE id = ?", (old,)).fetchone()
            db.execute("DELETE FROM clients WHERE id = ?", (old,))
            tx.audit("delete", "client", old, diff(loads(gone[0] if gone else None), {}))

    # ------------------------------------------------------------------ many records

    def import_records(
        self, records: Sequence[object], dataset: str | None = None, today: date | None = None
    ) -> ImportResult:
        """Import records in the ``validate`` format, all or nothing.

        A file in which any record has an error (a value NDTMS would reject) changes
        nothing; the message lists the first problems by record number and field.
        """
        st = self.store
        dataset = self.own_dataset(dataset)
        problems: list[str] = []
        prepared: list[tuple[dict[str, object], Summary]] = []
        ids: set[str] = set()
        for number, raw in enumerate(records, start=1):
            if not isinstance(raw, Mapping):
                problems.append(f"record {number} is not a set of named fields")
                continue
            rec = self.prepare(raw, dataset)
            summary = summarise(st.validator(dataset), st.refdata, rec, st.context(today))
            problems.extend(
                f"record {number}, {f.field or 'record'}: {f.message.rstrip('.')}"
                for f in summary.findings
                if f.severity is Severity.ERROR
            )
            episode_id = str(rec["EPISODID"])
            if episode_id in ids:
                problems.append(f"record {number} repeats episode {episode_id}")
            ids.add(episode_id)
            prepared.append((rec, summary))
        if problems:
            raise ImportRejected(problems)
        warnings = 0
        with st.writing() as tx:
            for rec, summary in prepared:
                self.write(tx, dataset, rec, summary=summary, today=today)
                warnings += summary.warnings
            count = {"episodes": (None, len(prepared))}
            tx.audit("import", "store", st.settings.store_id, count)
        return ImportResult(len(prepared), warnings)

    def load_synthetic(self, records: Sequence[dict[str, object]], dataset: str) -> int:
        """Bulk-load synthetic demo records in one transaction (one audit event per batch).

        Only for demo and benchmark stores: real records go through :meth:`save` or
        :meth:`import_records`, which audit every field.
        """
        st = self.store
        dataset = self.own_dataset(dataset)
        spec = st.refdata.datasets[dataset]
        id_header = spec.item_fields[0].header
        now = audit.utcnow()
        rows: dict[Any, list[dict[str, object]]] = defaultdict(list)
        for raw in records:
            rec = self.prepare(raw, dataset)
            summary = summarise(st.validator(dataset), st.refdata, rec, st.context())
            parts = split(spec, rec)
            cid, eid = str(rec["CLIENTID"]), str(rec["EPISODID"])
            rows[Client].append(
                {"id": cid, "fields": dumps(parts.client), "client_ref": summary.client_ref,
                 "finitial": summary.finitial, "sinitial": summary.sinitial, "dob": summary.dob,
                 "sex": summary.sex, "name": None, "notes": None, "created_at": now,
                 "updated_at": now}
            )  # fmt: skip
            rows[Episode].append(
                {"id": eid, "client_id": cid, "dataset": dataset, "fields": dumps(parts.episode),
                 "notes": None, "state": summary.state, "opened_on": summary.opened_on,
                 "closed_on": summary.closed_on, "consent": summary.consent,
                 "errors": summary.errors, "warnings": summary.warnings,
                 "last_contact": summary.opened_on, "owner_id": st.user.id, "version": 1,
                 "created_at": now, "updated_at": now}
            )  # fmt: skip
            for position, item in enumerate(parts.items):
                values = {k: v for k, v in item.items() if k != id_header}
                rows[ITEM_TABLES[dataset]].append(
                    {"id": str(item.get(id_header) or new_id()), "episode_id": eid,
                     "position": position, "fields": dumps(values)}
                )  # fmt: skip
            if summary.consent_decision is not None:
                rows[ConsentEvent].append(
                    {"id": new_id(), "client_id": cid, "episode_id": eid, "kind": "ndtms",
                     "value": summary.consent_decision, "agencies": None,
                     "recorded_on": summary.opened_on or st.clock().date(),
                     "recorded_by": st.user.id, "recorded_at": now}
                )  # fmt: skip
        with st.writing() as tx:
            for model in (Client, Episode, ITEM_TABLES[dataset], ConsentEvent):
                if rows[model]:
                    tx.session.execute(insert(model), rows[model])
            count = {"synthetic episodes": (None, len(rows[Episode]))}
            tx.audit("import", "store", st.settings.store_id, count)
        return len(rows[Episode])
