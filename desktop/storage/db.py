"""The database under every part of a store: its sessions, one row codec, and its errors.

- **Sessions**: :class:`Database` holds the engine of one open store file; a read is
  ``with database.reading() as session``, and a raw keyed connection for checks and
  backups is ``with database.connect() as conn``. Writes go through a unit of work
  (``desktop.storage.unit``), which chains its audit events just before it commits.
- **Row codec**: how values are kept in rows, the same for every part (episodes, consent,
  the month's extract, transfers): :func:`dumps` and :func:`loads` for the JSON of
  entered fields, :func:`stamp` and :func:`unstamp` for moments, :func:`day` for dates,
  :func:`blank`, :func:`diff` and :func:`raw` (the ``sqlcipher3`` connection under a
  session or connection).
- **Errors**: what went wrong is read from the SQLite result code the driver attaches
  (``sqlite_errorcode``), never from the wording of its message, and said in the worker's
  words by :func:`translate`.
"""

from __future__ import annotations

import contextlib
import enum
import json
import logging
import uuid
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from desktop.storage.backup import newest_backup
from desktop.storage.errors import (
    SQLITE_BUSY,
    SQLITE_CONSTRAINT,
    SQLITE_CORRUPT,
    SQLITE_FULL,
    SQLITE_IOERR,
    SQLITE_NOTADB,
    DiskFull,
    StoreDamaged,
    StoreError,
)

log = logging.getLogger(__name__)

CHUNK = 500
"""Ids bound in one ``IN (...)`` (well under SQLite's limit on parameters)."""


# ---------------------------------------------------------------------- row codec


def new_id() -> str:
    """A random technical id: 32 hex digits, identifying no one, unique across laptops."""
    return uuid.uuid4().hex


def dumps(values: Mapping[str, object]) -> str:
    """Entered fields as stored: compact JSON, keys sorted, text as typed (not escaped)."""
    return json.dumps(values, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def loads(text: str | None) -> dict[str, object]:
    """Stored fields back as a dict (an empty or non-object value reads as no fields)."""
    if not text:
        return {}
    value = json.loads(text)
    return value if isinstance(value, dict) else {}


def stamp(moment: datetime) -> str:
    """A moment as SQLAlchemy's DateTime stores it in SQLite (so text comparison works)."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def unstamp(text: str) -> datetime:
    return datetime.fromisoformat(text)


def day(value: date | None) -> str | None:
    return None if value is None else value.isoformat()


def blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def diff(old: Mapping[str, object], new: Mapping[str, object]) -> dict[str, tuple[object, object]]:
    """The fields that differ, as ``{field: (old, new)}`` in name order (an audit change)."""
    return {
        k: (old.get(k), new.get(k)) for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)
    }


def raw(conn: Connection | Session) -> Any:
    """The keyed ``sqlcipher3`` connection under a SQLAlchemy connection or session."""
    if isinstance(conn, Session):
        conn = conn.connection()
    return conn.connection.dbapi_connection


def chunks(ids: Sequence[str]) -> Iterator[list[str]]:
    for start in range(0, len(ids), CHUNK):
        yield list(ids[start : start + CHUNK])


def rows_in(db: Any, sql: str, ids: Sequence[str]) -> list[tuple[Any, ...]]:
    """Run ``sql`` (holding one ``{marks}``) for ``ids`` in batches; every row found."""
    out: list[tuple[Any, ...]] = []
    for part in chunks(list(ids)):
        out.extend(db.execute(sql.format(marks=",".join("?" * len(part))), part).fetchall())
    return out


# ---------------------------------------------------------------------- errors


class Fault(enum.Enum):
    """What a database error means for the worker, from its SQLite result code."""

    FULL = "full"  # no room, or the disk could not be written (SQLITE_FULL, SQLITE_IOERR)
    DAMAGE = "damage"  # the file fails its checks (SQLITE_CORRUPT, SQLITE_NOTADB)
    CONSTRAINT = "constraint"  # a row conflicts with a stored one (SQLITE_CONSTRAINT)
    BUSY = "busy"  # another connection holds the lock past the busy timeout
    OTHER = "other"


FAULTS = {
    SQLITE_FULL: Fault.FULL,
    SQLITE_IOERR: Fault.FULL,
    SQLITE_CORRUPT: Fault.DAMAGE,
    SQLITE_NOTADB: Fault.DAMAGE,
    SQLITE_CONSTRAINT: Fault.CONSTRAINT,
    SQLITE_BUSY: Fault.BUSY,
}


def error_code(exc: BaseException) -> int | None:
    """The primary SQLite result code of an error, if it carries one: the driver's own
    exception, or the one a SQLAlchemy error wraps. Extended codes (``SQLITE_IOERR_WRITE``
    and the like) count as their primary code."""
    code = getattr(exc, "sqlite_errorcode", None)
    if code is None and isinstance(exc, DBAPIError):
        code = getattr(exc.orig, "sqlite_errorcode", None)
    return code & 0xFF if isinstance(code, int) else None


def fault(exc: BaseException) -> Fault:
    code = error_code(exc)
    return Fault.OTHER if code is None else FAULTS.get(code, Fault.OTHER)


def is_storage_full(exc: BaseException) -> bool:
    return fault(exc) is Fault.FULL


def is_damage(exc: BaseException) -> bool:
    return fault(exc) is Fault.DAMAGE


def translate(exc: Exception, path: Path) -> Exception:
    """A database error of the store at ``path`` as the worker's message (other errors
    are returned as they are)."""
    kind = fault(exc)
    if kind is Fault.FULL:
        log.warning("store write failed: storage full or I/O error")
        return DiskFull()
    if kind is Fault.DAMAGE:
        log.error("store read failed: damage detected")
        return StoreDamaged("a page failed its check", newest_backup(path))
    if kind is Fault.CONSTRAINT:
        log.error("store write refused by a constraint")
        return StoreError("This could not be saved because it conflicts with a saved record.")
    return exc


# ---------------------------------------------------------------------- sessions


class Database:
    """The engine of one open store file; :meth:`close` disposes of it for good."""

    def __init__(self, engine: Engine, path: Path) -> None:
        self.path = path
        self._engine: Engine | None = engine
        self.writer = engine.execution_options(writer=True)  # BEGIN IMMEDIATE

    @property
    def is_open(self) -> bool:
        return self._engine is not None

    def live(self) -> Engine:
        if self._engine is None:
            raise StoreError("The store is locked. Unlock it with your password.")
        return self._engine

    def close(self) -> None:
        engine, self._engine = self._engine, None
        if engine is not None:
            engine.dispose()

    def translate(self, exc: Exception) -> Exception:
        return translate(exc, self.path)

    @contextlib.contextmanager
    def reading(self) -> Iterator[Session]:
        """One read transaction: a consistent view of the store."""
        engine = self.live()
        try:
            with Session(engine, expire_on_commit=False) as s, s.begin():
                yield s
        except DBAPIError as exc:
            raise self.translate(exc) from None

    @contextlib.contextmanager
    def connect(self) -> Iterator[Any]:
        """A pooled raw connection outside any transaction (checks, backups, VACUUM)."""
        with self.live().connect() as conn:
            yield raw(conn)


__all__ = [
    "CHUNK",
    "Database",
    "Fault",
    "blank",
    "chunks",
    "day",
    "diff",
    "dumps",
    "error_code",
    "fault",
    "is_damage",
    "is_storage_full",
    "loads",
    "new_id",
    "raw",
    "rows_in",
    "stamp",
    "translate",
    "unstamp",
]
