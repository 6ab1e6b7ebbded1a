"""Stores and records for the submission tests: a fixed "today", valid CJIT and secure records
whose dates, referrals, consent and postcode each test chooses."""

from __future__ import annotations

import csv
from datetime import date, datetime, timedelta
from pathlib import Path

import pytest

from desktop.storage.store import Store
from tests.fixtures import PASSWORD, MakeStore, shipped, synthetic_records

TODAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 12, 0)
IN_OCTOBER = date(2026, 3, 1)  # triaged then and still open: open during October 2026
EXIT_FIELDS = (
    "EXITD", "EXITRSN", "RECONNECT", "MHTXEXIT", "SENTENCED", "THNALOX", "REFHEPCTX",
    "LIVSCRN", "HOMELESSEXIT", "RTOAGNCY", "EXITDEST",
)  # fmt: skip


def clock() -> datetime:
    return NOW


def reopen(path: Path, user: str = "amy", password: str = PASSWORD) -> Store:
    return Store.open(path, user, password, refdata=shipped(), clock=clock)


@pytest.fixture
def store(make_store: MakeStore) -> Store:
    """An empty CJIT store (CJ123, DAT A12B) on the fixed clock; amy is its manager."""
    return make_store(name="team.store", clock=clock)


@pytest.fixture
def out(tmp_path: Path) -> Path:
    folder = tmp_path / "out"
    folder.mkdir()
    return folder


def cjit(
    seed: int,
    *,
    triaged: date,
    closed: date | None = None,
    referrals: int = 1,
    consent: str | None = "Y",
    **fields: object,
) -> dict[str, object]:
    """A valid CJIT (dataset Q) episode: on the caseload from the day after ``triaged``,
    with ``referrals`` referrals, closed on ``closed`` if given; ids left to the store."""
    (rec,) = synthetic_records(1, "cjit-q", seed=seed)
    rec.pop("DISD", None)
    rec.pop("CJDISRSN", None)
    rec.update(
        DOB="1985-05-17",
        REFLD=triaged.isoformat(),
        TRIAGED=triaged.isoformat(),
        CPLANDT=(triaged + timedelta(days=1)).isoformat(),
        referrals=[
            {"REFDATE": (triaged + timedelta(days=2 + k)).isoformat()} for k in range(referrals)
        ],
    )
    if closed is not None:
        rec["DISD"] = closed.isoformat()
        rec["CJDISRSN"] = sorted(shipped().lists["CJDISRSN_CASELOAD"].codes)[0]
    if consent is None:
        rec.pop("CONSENT")
    else:
        rec["CONSENT"] = consent
    rec.update(fields)
    return rec


def secure(seed: int, **fields: object) -> dict[str, object]:
    """A secure-setting (dataset R) episode still open (no exit); ids left to the store."""
    (rec,) = synthetic_records(1, "secure-r", seed=seed)
    for header in EXIT_FIELDS:
        rec.pop(header, None)
    rec.update(fields)
    return rec


def read_rows(path: Path) -> list[list[str]]:
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.reader(fh))


def as_dicts(path: Path) -> list[dict[str, str]]:
    header, *rows = read_rows(path)
    assert all(len(r) == len(header) for r in rows)
    return [dict(zip(header, r, strict=True)) for r in rows]
