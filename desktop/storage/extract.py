"""Reading episodes for the NDTMS submission file in batches, and keeping its history.

The month-end export (``desktop.export.submission``) reads through these functions only.
Rows come out in batches of :data:`BATCH` episodes with their referrals or interventions,
so that an extract of any size is never held in memory at once.

Only episodes whose client's *current* NDTMS consent is yes have their fields read: the
client's newest ``ndtms`` consent event (by the date it was recorded for, then the moment
it was entered) decides; a client with no consent event at all falls back to the CONSENT
value of the episode itself. Of any other client's episodes only the number is known.

:func:`exporting` holds the store's write lock for the whole export, so the file, the
history row and the values remembered for the mismatch check describe the same moment.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

import sqlcipher3
from sqlalchemy import select
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from desktop.storage import audit
from desktop.storage.consent import current_ndtms
from desktop.storage.db import loads, new_id, raw, stamp, translate, unstamp
from desktop.storage.models import ITEM_TABLES, Client, Episode, ExportBatch
from desktop.storage.store import Store
from desktop.storage.unit import Unit

BATCH = 1000
"""Episodes read at a time."""

CACHE_KIB = 32 * 1024
"""SQLite's page cache while an extract runs (each client's consent and record is looked
up by id, so a larger cache saves decrypting the same pages again). A fixed size, put back
afterwards: memory does not grow with the store."""


@dataclass(frozen=True, slots=True)
class Selection:
    """Which episodes of a dataset a submission holds (see :meth:`Extract.select`).

    ``since`` is when the previous export of this dataset was made (None if never).
    """

    dataset: str
    start: date
    end: date
    since: datetime | None
    yes_code: str = "Y"


@dataclass(slots=True)
class Extracted:
    """One episode as entered: client and episode fields, and its items in order.

    ``items`` carry their id under the dataset's id header (REFERID or MODID).
    ``exported`` is what NDTMS last received for this episode (see :class:`Remembered`).
    """

    episode_id: str
    client_id: str
    values: dict[str, object]
    items: list[dict[str, object]]
    exported: Remembered | None = None
    state: str = ""


@dataclass(frozen=True, slots=True)
class Remembered:
    """The rows last sent for one episode, exactly as written (CSV text), their columns,
    and when they were sent."""

    text: str
    header: tuple[str, ...]
    exported_at: datetime


@dataclass(slots=True)
class Batch:
    """Up to :data:`BATCH` selected episodes: those of clients whose current NDTMS consent
    is yes, and how many were left out because it is not."""

    seen: int
    episodes: list[Extracted] = field(default_factory=list)
    no_consent: int = 0


@dataclass(frozen=True, slots=True)
class ExportRecord:
    """One past export, as the history lists it. No copy of the file is kept."""

    batch_id: str
    dataset: str
    period: str
    created_at: datetime
    created_by: str
    file_name: str
    rows: int
    episodes: int
    held_back: int
    sha256: str


# The client's current NDTMS consent: the newest event, else the episode's own CONSENT.
CONSENT_NOW = current_ndtms("e")


class Extract:
    """Reads for the submission inside one transaction of the store (see :func:`reading`)."""

    def __init__(self, store: Store, session: Session) -> None:
        self.store = store
        self.session = session
        self.db = raw(session)
        self._headers: dict[str, tuple[str, ...]] = {}

    # ------------------------------------------------------------------ selection

    def last_export_at(self, dataset: str) -> datetime | None:
        row = self.db.execute(
            "SELECT max(created_at) FROM export_batches WHERE dataset = ?", (dataset,)
        ).fetchone()
        return None if row is None or row[0] is None else unstamp(str(row[0]))

    def select(self, dataset: str, start: date, end: date, yes_code: str = "Y") -> Selection:
        """Every episode of ``dataset`` that was open at any time from
        ``start`` to ``end``, was closed in that time, or was changed (or its client or
        the client's consent was) since the previous export of the dataset; changes to
        episodes opened after ``end`` wait for their own month."""
        return Selection(dataset, start, end, self.last_export_at(dataset), yes_code)

    def _where(self, sel: Selection) -> tuple[str, dict[str, object]]:
        params: dict[str, object] = {
            "dataset": sel.dataset,
            "start": sel.start.isoformat(),
            "end": sel.end.isoformat(),
            "yes": sel.yes_code,
        }
        period = (
            "(e.opened_on <= :end AND (e.closed_on IS NULL OR e.closed_on >= :start))"
            " OR (e.closed_on >= :start AND e.closed_on <= :end)"
        )
        if sel.since is not None:
            params["since"] = stamp(sel.since)
            period += (
                " OR ((e.opened_on IS NULL OR e.opened_on <= :end) AND (e.updated_at > :since"
                " OR c.updated_at > :since OR EXISTS (SELECT 1 FROM consent_events cs"
                " WHERE cs.client_id = e.client_id AND cs.recorded_at > :since)))"
            )
        return f"e.dataset = :dataset AND ({period})", params

    def count(self, sel: Selection) -> int:
        """How many episodes the selection looks at (consent not yet decided)."""
        where, params = self._where(sel)
        row = self.db.execute(
            f"SELECT count(*) FROM episodes e JOIN clients c ON c.id = e.client_id WHERE {where}",
            params,
        ).fetchone()
        return int(row[0])

    def episodes(
        self, sel: Selection, *, batch: int = BATCH, remembered: bool = False
    ) -> Iterator[Batch]:
        """The selected episodes in batches, in the order they were first saved (read
        straight through, never sorted in memory). Only episodes of clients whose current
        NDTMS consent is yes have their fields read; the others are counted, by id only."""
        where, params = self._where(sel)
        cursor = self.db.cursor()
        try:
            # One evaluation of the consent rule per episode; the two JSON texts come
            # joined by a record separator (JSON text never holds a raw control character).
            cursor.execute(
                "SELECT e.id, e.client_id, e.state,"
                f" CASE WHEN {CONSENT_NOW} = 'given'"
                " THEN c.fields || char(30) || e.fields END"
                f" FROM episodes e JOIN clients c ON c.id = e.client_id WHERE {where}"
                " ORDER BY e.rowid",
                params,
            )
            while True:
                rows = cursor.fetchmany(batch)
                if not rows:
                    return
                out = Batch(seen=len(rows))
                for eid, cid, state, fields in rows:
                    if fields is not None:
                        client, _, own = str(fields).partition("\x1e")
                        values = {**loads(client), **loads(own)}
                        out.episodes.append(Extracted(str(eid), str(cid), values, [], None, state))
                    else:
                        out.no_consent += 1
                if out.episodes:
                    self._attach(sel.dataset, out.episodes, remembered)
                yield out
        finally:
            cursor.close()

    def _attach(self, dataset: str, batch: list[Extracted], remembered: bool) -> None:
        by_id = {e.episode_id: e for e in batch}
        ids = list(by_id)
        marks = ",".join("?" * len(ids))
        spec = self.store.refdata.datasets[dataset]
        id_header = spec.item_fields[0].header
        table = ITEM_TABLES[dataset].__tablename__
        for item_id, episode_id, fields in self.db.execute(
            f"SELECT id, episode_id, fields FROM {table} WHERE episode_id IN ({marks})"
            " ORDER BY episode_id, position",
            ids,
        ):
            by_id[str(episode_id)].items.append({id_header: str(item_id), **loads(fields)})
        if remembered:
            for episode_id, text, batch_id, at in self.db.execute(
                "SELECT episode_id, fields, batch_id, exported_at FROM exported_values"
                f" WHERE episode_id IN ({marks})",
                ids,
            ).fetchall():
                by_id[str(episode_id)].exported = Remembered(
                    str(text), self._header(str(batch_id)), unstamp(str(at))
                )

    def _header(self, batch_id: str) -> tuple[str, ...]:
        header = self._headers.get(batch_id)
        if header is None:
            row = self.db.execute(
                "SELECT header FROM export_batches WHERE id = ?", (batch_id,)
            ).fetchone()
            found = json.loads(row[0]) if row is not None and row[0] else []
            header = tuple(str(h) for h in found) if isinstance(found, list) else ()
            self._headers[batch_id] = header
        return header

    # ------------------------------------------------------------------ history

    def last_export(self, dataset: str, period: str) -> tuple[str, datetime] | None:
        """The SHA-256 and time (UTC) of the newest export of this dataset and month."""
        row = self.db.execute(
            "SELECT sha256, created_at FROM export_batches WHERE dataset = ? AND period = ?"
            " ORDER BY created_at DESC LIMIT 1",
            (dataset, period),
        ).fetchone()
        return None if row is None else (str(row[0]), unstamp(str(row[1])))

    def version(self) -> str:
        """A token that changes whenever a record is saved, deleted or re-consented."""
        seq = self.db.execute("SELECT coalesce(max(seq), 0) FROM audit_events").fetchone()[0]
        newest = self.db.execute("SELECT max(updated_at) FROM episodes").fetchone()[0]
        return f"{seq}:{newest}"


class ExportWriter(Extract):
    """An :class:`Extract` holding the write lock, which also records the export."""

    def __init__(self, store: Store, tx: Unit) -> None:
        super().__init__(store, tx.session)
        self.tx = tx

    def begin(self, dataset: str, period: str, file_name: str, header: Sequence[str]) -> str:
        """Start the history row of this export (completed by :meth:`finish`)."""
        batch_id = new_id()
        self.session.add(
            ExportBatch(
                id=batch_id,
                dataset=dataset,
                period=period,
                created_at=audit.utcnow(),
                created_by=self.store.user.id,
                file_name=file_name,
                rows=0,
                sha256="",
                episode_ids="[]",
                episodes=0,
                held_back=0,
                header=json.dumps(list(header)),
            )
        )
        self.session.flush()
        return batch_id

    def remember(self, batch_id: str, dataset: str, values: Sequence[tuple[str, str]]) -> None:
        """Keep the rows just sent for each (episode id, CSV text) pair; where the text is
        the same as last time, the older record (and its date) stays."""
        now = stamp(audit.utcnow())
        self.db.executemany(
            "INSERT INTO exported_values (episode_id, dataset, batch_id, exported_at, fields)"
            " VALUES (?, ?, ?, ?, ?) ON CONFLICT (episode_id) DO UPDATE SET"
            " batch_id = excluded.batch_id, exported_at = excluded.exported_at,"
            " fields = excluded.fields WHERE exported_values.fields != excluded.fields",
            [(episode_id, dataset, batch_id, now, cells) for episode_id, cells in values],
        )

    def finish(
        self,
        batch_id: str,
        *,
        rows: int,
        episodes: int,
        held_back: int,
        neutralised: int,
        include_errors: bool,
        sha256: str,
        episode_ids: str,
    ) -> None:
        """Complete the history row and leave an audit event (committed with the rest)."""
        batch = self.session.get(ExportBatch, batch_id)
        if batch is None:  # pragma: no cover - begun in this transaction
            raise RuntimeError("the export's history row went missing")
        batch.rows = rows
        batch.episodes = episodes
        batch.held_back = held_back
        batch.sha256 = sha256
        batch.episode_ids = episode_ids
        self.session.flush()
        self.tx.audit(
            "export",
            "export_batch",
            batch_id,
            {
                "dataset": (None, batch.dataset),
                "period": (None, batch.period),
                "file": (None, batch.file_name),
                "rows": (None, rows),
                "episodes": (None, episodes),
                "held_back": (None, held_back),
                "neutralised": (None, neutralised),
                "include_errors": (None, include_errors),
                "sha256": (None, sha256),
            },
        )


@contextlib.contextmanager
def _larger_cache(db: Any) -> Iterator[None]:
    before = db.execute("PRAGMA cache_size").fetchone()[0]
    db.execute(f"PRAGMA cache_size = {-CACHE_KIB}")
    try:
        yield
    finally:
        with contextlib.suppress(sqlcipher3.Error):  # a broken connection is not reused
            db.execute(f"PRAGMA cache_size = {int(before)}")


@contextlib.contextmanager
def reading(store: Store) -> Iterator[Extract]:
    """One read transaction: a consistent view of the store for the pre-upload check."""
    try:
        with store.reading() as s:
            extract = Extract(store, s)
            with _larger_cache(extract.db):
                yield extract
    except sqlcipher3.Error as exc:
        raise translate(exc, store.path) from None


@contextlib.contextmanager
def exporting(store: Store) -> Iterator[ExportWriter]:
    """One write transaction for a whole export; it commits only if the block ends cleanly."""
    try:
        with store.writing() as tx:
            writer = ExportWriter(store, tx)
            with _larger_cache(writer.db):
                yield writer
    except (sqlcipher3.Error, DBAPIError) as exc:
        raise translate(exc, store.path) from None


def history(store: Store, dataset: str | None = None) -> list[ExportRecord]:
    """Every export made from this store, newest first (optionally of one dataset)."""
    sql = (
        "SELECT b.id, b.dataset, b.period, b.created_at, coalesce(u.name, b.created_by),"
        " b.file_name, b.rows, b.episodes, b.held_back, b.sha256"
        " FROM export_batches b LEFT JOIN users u ON u.id = b.created_by"
    )
    params: tuple[object, ...] = ()
    if dataset is not None:
        sql += " WHERE b.dataset = ?"
        params = (dataset,)
    sql += " ORDER BY b.created_at DESC"
    with reading(store) as extract:
        return [
            ExportRecord(
                batch_id=str(r[0]),
                dataset=str(r[1]),
                period=str(r[2]),
                created_at=unstamp(str(r[3])),
                created_by=str(r[4]),
                file_name=str(r[5]),
                rows=int(r[6]),
                episodes=int(r[7]),
                held_back=int(r[8]),
                sha256=str(r[9]),
            )
            for r in extract.db.execute(sql, params).fetchall()
        ]


def report_rows(
    store: Store, dataset: str, fields: Sequence[str], item_fields: Sequence[str]
) -> Iterator[tuple[dict[str, object], tuple[Mapping[str, object], ...]]]:
    """Every episode of ``dataset`` with only ``fields`` of it (client and episode level)
    and ``item_fields`` of each of its items, for the monthly report.

    Names, notes and every other field stay in the store. Episodes and items are read in
    episode order and joined as they stream, so memory stays flat as the store grows.
    """
    table = ITEM_TABLES[dataset]
    episodes = (
        select(Episode.id, Episode.fields, Client.fields)
        .join(Client, Episode.client_id == Client.id)
        .where(Episode.dataset == dataset)
        .order_by(Episode.id)
        .execution_options(yield_per=500)
    )
    items = (
        select(table.episode_id, table.fields)
        .join(Episode, table.episode_id == Episode.id)
        .where(Episode.dataset == dataset)
        .order_by(table.episode_id, table.position)
        .execution_options(yield_per=500)
    )
    with store.reading() as s:
        item_rows = iter(s.execute(items))
        pending = next(item_rows, None)
        for episode_id, episode_json, client_json in s.execute(episodes):
            values = {**loads(client_json), **loads(episode_json)}
            own: list[Mapping[str, object]] = []
            while pending is not None and pending[0] <= episode_id:
                if pending[0] == episode_id:
                    item = loads(pending[1])
                    own.append({h: item[h] for h in item_fields if h in item})
                pending = next(item_rows, None)
            yield {h: values[h] for h in fields if h in values}, tuple(own)


__all__ = [
    "BATCH",
    "Batch",
    "ExportRecord",
    "ExportWriter",
    "Extract",
    "Extracted",
    "Remembered",
    "Selection",
    "exporting",
    "history",
    "reading",
    "report_rows",
]
