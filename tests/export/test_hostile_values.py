"""Hostile text in the submission file: it round-trips and never starts a formula.

Rules cited: reliability #15 (export robustness: values with commas, quotes, CR/LF,
non-ASCII and leading = + - @ TAB round-trip through ``csv.reader``; no cell starts a
formula, ASVS 1.2.10); issue 6 item 1 (RFC 4180 quoting, UTF-8 without BOM).
"""

from __future__ import annotations

import csv
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.export.submission import FORMULA_START, export
from desktop.storage.store import Store
from tests.export.conftest import IN_OCTOBER, TODAY, cjit, clock
from tests.fixtures import new_store

OCTOBER = "2026-10"
HOSTILE = st.text(
    alphabet=st.one_of(
        st.sampled_from([",", '"', "\r", "\n", "=", "+", "-", "@", "\t", " ", "'", ";"]),
        st.sampled_from(["é", "ŵ", "ŷ", "Ł", "中", "\u0301", "\ufeff", "😀", "\x00", "\x1b"]),
        st.characters(codec="utf-8"),
    ),
    min_size=1,
    max_size=40,
)


@pytest.fixture(scope="module")
def shared(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Store, Path]]:
    """One store for every example: each example adds an episode and exports October."""
    folder = tmp_path_factory.mktemp("hostile")
    store = new_store(folder / "team.store", clock=clock)
    out = folder / "out"
    out.mkdir()
    yield store, out
    store.close(backup_reason=None)


def _expected(value: str, *, capitals: bool = False) -> str:
    cell = value.strip()
    if capitals:
        cell = cell.upper()
    return "'" + cell if cell.startswith(FORMULA_START) else cell


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(client=HOSTILE, offence=HOSTILE)
def test_hostile_values_round_trip_and_never_start_a_formula(
    shared: tuple[Store, Path], client: str, offence: str
) -> None:
    """Reliability #15: the row of this example's episode reads back through csv.reader
    with exactly the values sent (trimmed, code fields in capitals, a leading ' before a
    formula character); no cell of the whole file starts with = + - @ TAB or CR."""
    store, out = shared
    saved = store.episodes.save(
        cjit(301, triaged=IN_OCTOBER, CLIENT=client, OFFENCE=offence), today=TODAY
    )
    result = export(store, "cjit-q", OCTOBER, out, include_errors=True)
    data = result.path.read_bytes()
    assert not data.startswith(b"\xef\xbb\xbf")
    with open(result.path, newline="", encoding="utf-8") as fh:
        header, *rows = list(csv.reader(fh))
    assert all(len(r) == len(header) for r in rows)
    assert sum(len(r) for r in rows) == result.rows * len(header)
    mine = [dict(zip(header, r, strict=True)) for r in rows if saved.episode_id in r]
    assert mine and all(r["CLIENT"] == _expected(client) for r in mine)
    assert all(r["OFFENCE"] == _expected(offence, capitals=True) for r in mine)
    assert not any(cell.startswith(FORMULA_START) for r in rows for cell in r)
