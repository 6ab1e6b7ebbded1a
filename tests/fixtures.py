"""The fixtures every test folder shares, registered once from tests/conftest.py.

- ``refdata``: the shipped reference data (session scope; never an agency's imported lists);
- ``make_store``: makes stores in the test's temporary folder and closes, at teardown, every
  one of them still open;
- ``records``: valid synthetic records, by default without technical ids;
- ``PASSWORD``: the password of the stores the tests make.

Fixtures of a wider scope than one test (a store built once per module) cannot ask for the
function-scoped ones: they use the plain functions behind them, :func:`shipped`,
:func:`new_store` and :func:`synthetic_records`, and close their stores themselves.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

import pytest

from desktop.domain.refdata import load_refdata
from desktop.domain.spec import RefData
from desktop.domain.synthetic import records as synthetic
from desktop.storage.store import Store
from tests.conftest import REFDATA

PASSWORD = "Correct-horse-battery-7"
USER = "amy"
DAT = "A12B"
AGENCY = {"cjit": "CJ123", "secure": "L0001"}

Record = dict[str, Any]


@functools.cache
def shipped() -> RefData:
    """The shipped reference data (no agency's imported lists), loaded once per process."""
    return load_refdata(REFDATA)


@pytest.fixture(scope="session")
def refdata() -> RefData:
    """The shipped reference data, without any agency's imported lists."""
    return shipped()


# ---------------------------------------------------------------------- stores


def new_store(
    path: Path,
    kind: str = "cjit",
    *,
    agency: str | None = None,
    user: str = USER,
    password: str = PASSWORD,
    dat: str | None = DAT,
    clock: Callable[[], datetime] = datetime.now,
    refdata: RefData | None = None,
) -> Store:
    """A new, empty store at ``path`` whose manager is ``user``; the caller closes it.

    The agency is CJ123 for a CJIT store and L0001 for a secure setting unless given;
    ``dat=None`` makes a store without a DAT.
    """
    return Store.create(
        path,
        agency=AGENCY[kind] if agency is None else agency,
        kind=kind,
        user=user,
        password=password,
        refdata=shipped() if refdata is None else refdata,
        dat=dat,
        clock=clock,
    )


class MakeStore(Protocol):
    def __call__(
        self,
        kind: str = "cjit",
        *,
        name: str | Path = "team.store",
        agency: str | None = None,
        user: str = USER,
        password: str = PASSWORD,
        dat: str | None = DAT,
        clock: Callable[[], datetime] = datetime.now,
        refdata: RefData | None = None,
    ) -> Store: ...


@pytest.fixture
def make_store(tmp_path: Path) -> Iterator[MakeStore]:
    """Make a store in the test's temporary folder: ``make_store("secure", name=...)``.

    ``name`` is the store's file name (or a path under the test's folder); the other
    arguments are those of :func:`new_store`. Every store made and still open at the end
    of the test is closed then, without a backup.
    """
    made: list[Store] = []

    def make(
        kind: str = "cjit",
        *,
        name: str | Path = "team.store",
        agency: str | None = None,
        user: str = USER,
        password: str = PASSWORD,
        dat: str | None = DAT,
        clock: Callable[[], datetime] = datetime.now,
        refdata: RefData | None = None,
    ) -> Store:
        path = tmp_path / name
        assert path.is_relative_to(tmp_path), f"{path} is outside the test's folder"
        store = new_store(
            path,
            kind,
            agency=agency,
            user=user,
            password=password,
            dat=dat,
            clock=clock,
            refdata=refdata,
        )
        made.append(store)
        return store

    yield make
    for store in reversed(made):
        if store.is_open:
            store.close(backup_reason=None)


# ---------------------------------------------------------------------- records


def synthetic_records(
    n: int,
    dataset: str = "cjit-q",
    *,
    seed: int = 1,
    without_ids: bool = True,
    refdata: RefData | None = None,
) -> list[Record]:
    """``n`` valid synthetic records of ``dataset`` (desktop.domain.synthetic.records).

    ``without_ids`` takes out the technical ids (CLIENTID, EPISODID, REFERID, MODID), so
    that the store makes random ones: synthetic ids repeat from one seed to the next.
    """
    out = []
    for rec in synthetic(shipped() if refdata is None else refdata, dataset, n, seed=seed):
        if without_ids:
            rec.pop("CLIENTID")
            rec.pop("EPISODID")
            for item in rec.get("referrals") or rec.get("interventions") or []:
                item.pop("REFERID", None)
                item.pop("MODID", None)
        out.append(rec)
    return out


class MakeRecords(Protocol):
    def __call__(
        self,
        n: int,
        dataset: str = "cjit-q",
        *,
        seed: int = 1,
        without_ids: bool = True,
        refdata: RefData | None = None,
    ) -> list[Record]: ...


@pytest.fixture
def records() -> MakeRecords:
    """Synthetic records: ``records(n, dataset="cjit-q", *, seed=1, without_ids=True)``."""
    return synthetic_records
