"""The ``store.caseload`` part: pages of the caseload, their count, and client matching.

Sorted and filtered in the store, a page at a time: the caseload list never loads every
row, however large the store.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from sqlalchemy import func, literal_column, or_, select
from sqlalchemy.sql.elements import ColumnElement

from desktop.storage.models import Client, Episode

if TYPE_CHECKING:
    from desktop.storage.store import Store


@dataclass(frozen=True, slots=True)
class CaseloadQuery:
    dataset: str | None = None
    search: str | None = None  # client reference, initials, or date of birth (YYYY-MM-DD)
    owner_id: str | None = None
    open_only: bool = False
    closed_from: date | None = None
    closed_to: date | None = None
    with_errors: bool = False
    order_by: str = "updated_at"
    descending: bool = True
    offset: int = 0
    limit: int = 200
    extract: tuple[str, ...] = ()  # stored field values to bring back with each row
    states: tuple[str, ...] = ()  # only episodes in one of these workflow states
    fields_in: tuple[tuple[str, tuple[str, ...]], ...] = ()  # stored field holds one of codes


@dataclass(frozen=True, slots=True)
class CaseloadRow:
    episode_id: str
    client_id: str
    dataset: str
    client_ref: str | None
    finitial: str | None
    sinitial: str | None
    dob: date | None
    state: str
    opened_on: date | None
    closed_on: date | None
    consent: str | None
    errors: int
    warnings: int
    last_contact: date | None
    owner_id: str
    updated_at: datetime
    extra: Mapping[str, object] = field(default_factory=dict)  # the query's ``extract``


@dataclass(frozen=True, slots=True)
class ClientMatch:
    client_id: str
    client_ref: str | None
    name: str | None
    episodes: int
    last_opened: date | None


SORTS = {
    "updated_at": Episode.updated_at,
    "opened_on": Episode.opened_on,
    "closed_on": Episode.closed_on,
    "last_contact": Episode.last_contact,
    "client_ref": Client.client_ref,
    "dob": Client.dob,
    "state": Episode.state,
    "errors": Episode.errors,
}


class Caseload:
    """Reading the caseload: never every row, always sorted and filtered in SQL."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def page(self, query: CaseloadQuery = CaseloadQuery()) -> list[CaseloadRow]:
        """One page of the caseload, sorted and filtered in the store (never every row)."""
        order = SORTS.get(query.order_by, Episode.updated_at)
        ordered = order.desc() if query.descending else order.asc()
        keys = [k for k in query.extract if _field_key(k)]
        extracted = [_stored_field(k) for k in keys]
        if query.dataset == self.store.settings.dataset:
            query = replace(query, dataset=None)  # a store holds its own dataset only
        if order.table is Client.__table__:
            # Walked in the order of the client index (which holds the rowid), episodes
            # found by their client; only an episode's ties with its client's are sorted.
            # The unary plus makes SQLite take clients as the outer loop.
            stmt = _filtered(
                select(Episode, Client, *extracted)
                .select_from(Client)
                .join(Episode, Episode.client_id == literal_column("+clients.id"))
                .order_by(ordered, *(_same_way(c, query) for c in ("clients", "episodes")))
                .offset(query.offset)
                .limit(query.limit),
                query,
            )
        else:
            # Choose the page on narrow rows (an index often covers them), then read the
            # wide rows of that page only: sorting 40,000 whole episodes to show 200 is
            # what this avoids.
            rowid: ColumnElement[int] = literal_column("episodes.rowid")
            tie = _same_way("episodes", query)
            page = select(rowid).select_from(Episode)
            if (query.search or "").strip():
                page = page.join(Client, Episode.client_id == Client.id)
            page = _filtered(
                page.order_by(ordered, tie).offset(query.offset).limit(query.limit), query
            )
            stmt = (
                select(Episode, Client, *extracted)
                .join(Client, Episode.client_id == Client.id)
                .where(rowid.in_(page))
                .order_by(ordered, tie)
            )
        with self.store.reading() as s:
            return [
                CaseloadRow(
                    episode_id=e.id,
                    client_id=c.id,
                    dataset=e.dataset,
                    client_ref=c.client_ref,
                    finitial=c.finitial,
                    sinitial=c.sinitial,
                    dob=c.dob,
                    state=e.state,
                    opened_on=e.opened_on,
                    closed_on=e.closed_on,
                    consent=e.consent,
                    errors=e.errors,
                    warnings=e.warnings,
                    last_contact=e.last_contact,
                    owner_id=e.owner_id,
                    updated_at=e.updated_at,
                    extra=dict(zip(keys, rest, strict=True)),
                )
                for e, c, *rest in s.execute(stmt)
            ]

    def count(self, query: CaseloadQuery = CaseloadQuery()) -> int:
        stmt = select(func.count()).select_from(Episode)
        if (query.search or "").strip():
            stmt = stmt.join(Client, Episode.client_id == Client.id)
        if query.dataset == self.store.settings.dataset:
            # A store holds its team's dataset only, so counting needs no look at wide rows.
            query = replace(query, dataset=None)
        stmt = _filtered(stmt, query)
        with self.store.reading() as s:
            return int(s.scalar(stmt) or 0)

    def find_clients(self, finitial: str, sinitial: str, dob: date, sex: str) -> list[ClientMatch]:
        """Existing clients with the same attributors (NDTMS links episodes on these)."""
        stmt = (
            select(Client, func.count(Episode.id), func.max(Episode.opened_on))
            .outerjoin(Episode, Episode.client_id == Client.id)
            .where(
                Client.finitial == finitial.upper(),
                Client.sinitial == sinitial.upper(),
                Client.dob == dob,
                Client.sex == sex,
            )
            .group_by(Client.id)
        )
        with self.store.reading() as s:
            return [
                ClientMatch(c.id, c.client_ref, c.name, int(n), last)
                for c, n, last in s.execute(stmt)
            ]


def _filtered(stmt: Any, query: CaseloadQuery) -> Any:
    if query.dataset:
        stmt = stmt.where(Episode.dataset == query.dataset)
    if query.owner_id:
        stmt = stmt.where(Episode.owner_id == query.owner_id)
    if query.open_only:
        stmt = stmt.where(Episode.closed_on.is_(None))
    if query.closed_from:
        stmt = stmt.where(Episode.closed_on >= query.closed_from)
    if query.closed_to:
        stmt = stmt.where(Episode.closed_on <= query.closed_to)
    if query.with_errors:
        stmt = stmt.where(Episode.errors > 0)
    if query.states:
        # With a closing-date range, that range is the narrower index to walk; the
        # unary plus keeps SQLite from choosing the state index instead.
        state = literal_column("+episodes.state") if query.closed_from else Episode.state
        stmt = stmt.where(state.in_(query.states))
    for key, codes in query.fields_in:
        if _field_key(key):
            stored = func.upper(_stored_field(key))
            stmt = stmt.where(stored.in_(codes))
    text = (query.search or "").strip()
    if text:
        try:
            day = date.fromisoformat(text)
        except ValueError:
            day = None
        upper = text.upper()
        # Prefix ranges rather than LIKE, so the client-reference index is used.
        conditions: list[ColumnElement[bool]] = [
            (Client.client_ref >= prefix) & (Client.client_ref < prefix + "\uffff")
            for prefix in dict.fromkeys((upper, text))
        ]
        if day is not None:
            conditions.append(Client.dob == day)
        if len(upper) == 2 and upper.isalpha():
            conditions.append((Client.finitial == upper[0]) & (Client.sinitial == upper[1]))
        stmt = stmt.where(or_(*conditions))
    return stmt


def _field_key(key: str) -> bool:
    """A field name safe to put in a JSON path (letters, digits, underscores)."""
    return key.replace("_", "").isalnum()


def _stored_field(key: str) -> ColumnElement[Any]:
    """An episode's stored value of one field, read in SQL (no row is loaded)."""
    return func.json_extract(Episode.fields, f"$.{key}")


def _same_way(table: str, query: CaseloadQuery) -> ColumnElement[int]:
    """A table's rowid as the tie-breaker, sorted the same way as the page (an index that
    ends in the rowid then gives the whole order without a sort)."""
    rowid: ColumnElement[int] = literal_column(f"{table}.rowid")
    return rowid.desc() if query.descending else rowid.asc()


__all__ = ["Caseload", "CaseloadQuery", "CaseloadRow", "ClientMatch"]
