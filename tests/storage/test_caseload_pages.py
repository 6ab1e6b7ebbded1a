"""Caseload pages: every episode exactly once, in order, however it is sorted or filtered,
even when many share the sort value (issue: CJIT sheet item 2, a query never loading every row)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest

from desktop.storage.store import CaseloadQuery, CaseloadRow, Store
from tests.fixtures import new_store
from tests.storage.storekit import fresh

SAME_MOMENT = datetime(2026, 11, 24, 9, 0, 0)


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Store]:
    path: Path = tmp_path_factory.mktemp("pages") / "team.store"
    # every save at one moment: the order has many ties
    s = new_store(path, clock=lambda: SAME_MOMENT)
    for i, rec in enumerate(fresh(45, seed=7)):
        if i % 3 == 0:
            rec["DISD"] = rec.get("TRIAGED")  # some closed, for the filters
        s.episodes.save(rec)
    yield s
    s.close(backup_reason=None)


def _all_pages(store: Store, query: CaseloadQuery, size: int) -> list[CaseloadRow]:
    rows: list[CaseloadRow] = []
    while True:
        page = store.caseload.page(replace(query, offset=len(rows), limit=size))
        rows += page
        if len(page) < size:
            return rows


@pytest.mark.parametrize("order_by", ["updated_at", "client_ref", "dob", "opened_on"])
@pytest.mark.parametrize("descending", [True, False])
def test_pages_hold_every_episode_once_in_order(
    store: Store, order_by: str, descending: bool
) -> None:
    query = CaseloadQuery(order_by=order_by, descending=descending)
    rows = _all_pages(store, query, size=7)
    ids = [r.episode_id for r in rows]
    assert len(ids) == len(set(ids)) == store.caseload.count(query) == 45
    keys = {
        "updated_at": lambda r: r.updated_at,
        "client_ref": lambda r: r.client_ref or "",
        "dob": lambda r: r.dob,
        "opened_on": lambda r: r.opened_on or datetime.min.date(),
    }[order_by]
    values = [keys(r) for r in rows]
    assert values == sorted(values, reverse=descending)  # type: ignore[type-var]
    assert _all_pages(store, query, size=45) == rows  # the same order whatever the page size


def test_filtered_pages_match_the_count(store: Store) -> None:
    for query in (
        CaseloadQuery(open_only=True),
        CaseloadQuery(states=("closed",)),
        CaseloadQuery(states=("closed", "on_caseload", "caseload_decision", "triaged")),
    ):
        rows = _all_pages(store, query, size=4)
        assert len({r.episode_id for r in rows}) == len(rows) == store.caseload.count(query)
    closed = _all_pages(store, CaseloadQuery(states=("closed",)), size=4)
    assert closed and all(r.state == "closed" for r in closed)
