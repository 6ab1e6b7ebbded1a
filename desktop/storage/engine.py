"""Connections to an encrypted store: keyed with a raw key, configured, and checked every time.

Every new connection is keyed with ``PRAGMA key = "x'…'"`` from the store key (never a
password, never in the URL), then set to WAL with ``synchronous=FULL``, in-memory temporary
storage and foreign keys, and every setting is read back. A connection that does not hold
the pinned SQLCipher 4 defaults is closed and refused.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import sqlcipher3
from sqlalchemy import Engine, create_engine, event
from sqlalchemy.dialects import registry
from sqlalchemy.dialects.sqlite.pysqlcipher import SQLiteDialect_pysqlcipher
from sqlalchemy.dialects.sqlite.pysqlite import SQLiteDialect_pysqlite
from sqlalchemy.pool import QueuePool

from desktop.storage.errors import SQLITE_NOTADB, StoreError

log = logging.getLogger(__name__)


class _NoRows(logging.Filter):
    """SQLAlchemy's engine logger prints fetched rows at DEBUG: those are client data."""

    def filter(self, record: logging.LogRecord) -> bool:
        message = str(record.msg)
        return not (message.startswith(("Row ", "Col ")) or "[generated in" in message)


logging.getLogger("sqlalchemy.engine.Engine").addFilter(_NoRows())

MIN_SQLITE = (3, 51, 3)  # the WAL-reset corruption bug is fixed from 3.51.3
CIPHER_MAJOR = 4
BUSY_TIMEOUT_MS = 10_000

# What every connection must report; checked after keying.
EXPECTED_PRAGMAS: dict[str, str] = {
    "journal_mode": "wal",
    "synchronous": "2",
    "temp_store": "2",
    "foreign_keys": "1",
    "cipher_page_size": "4096",
    "cipher_use_hmac": "1",
    "cipher_plaintext_header_size": "0",
    "cipher_hmac_algorithm": "HMAC_SHA512",
    "cipher_kdf_algorithm": "PBKDF2_HMAC_SHA512",
}


class EngineMismatch(StoreError):
    """The encryption library or a connection is not what the app was built and tested with."""


@dataclass(frozen=True, slots=True)
class Versions:
    cipher: str
    sqlite: str
    temp_store_compiled: int


def library_versions() -> Versions:
    """The SQLCipher and SQLite versions bundled with ``sqlcipher3``, checked once at start."""
    conn = sqlcipher3.connect(":memory:")
    try:
        conn.execute("PRAGMA cipher_log_level = NONE")
        conn.execute("PRAGMA key = \"x'" + "00" * 32 + "'\"")
        cipher = str(conn.execute("PRAGMA cipher_version").fetchone()[0])
        sqlite = str(conn.execute("SELECT sqlite_version()").fetchone()[0])
        options = [str(row[0]) for row in conn.execute("PRAGMA compile_options")]
    finally:
        conn.close()
    temp = next((int(o.split("=", 1)[1]) for o in options if o.startswith("TEMP_STORE=")), 1)
    return Versions(cipher=cipher, sqlite=sqlite, temp_store_compiled=temp)


def check_library() -> Versions:
    """Refuse to run on an encryption library we cannot vouch for (reliability.md #1, #20)."""
    versions = library_versions()
    major = versions.cipher.split(".", 1)[0]
    sqlite = tuple(int(p) for p in versions.sqlite.split(".")[:3])
    problems = []
    if major != str(CIPHER_MAJOR):
        problems.append(f"SQLCipher {versions.cipher} (need 4.x)")
    if sqlite < MIN_SQLITE:
        problems.append(f"SQLite {versions.sqlite} (need 3.51.3 or later)")
    if versions.temp_store_compiled < 2:
        problems.append("temporary files on disk")
    if problems:
        raise EngineMismatch(
            "This copy of Pathway has the wrong encryption library ("
            + ", ".join(problems)
            + "). Reinstall Pathway; your records are untouched."
        )
    return versions


class _Dialect(SQLiteDialect_pysqlcipher):
    """``sqlite+pysqlcipher`` without its passphrase handling: we key each connection ourselves."""

    supports_statement_cache = True

    def on_connect_url(self, url: Any) -> Callable[[Any], None] | None:
        result: Callable[[Any], None] | None = SQLiteDialect_pysqlite.on_connect_url(self, url)
        return result


registry.register("sqlite.pathway", __name__, "_Dialect")


def key_pragma(key: bytes | bytearray) -> str:
    if len(key) != 32:
        raise ValueError("a store key is 32 bytes")
    return "PRAGMA key = \"x'" + bytes(key).hex() + "'\""


def configure(conn: Any, key: bytes | bytearray) -> None:
    """Key and configure one raw ``sqlcipher3`` connection, then check it (raises on mismatch)."""
    conn.execute("PRAGMA cipher_log_level = NONE")
    conn.execute(key_pragma(key))
    # The first real statement reads page 1: a wrong key or a damaged file fails here.
    conn.execute("SELECT count(*) FROM sqlite_master").fetchone()
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    conn.execute("PRAGMA journal_mode = WAL").fetchone()
    conn.execute("PRAGMA synchronous = FULL")
    conn.execute("PRAGMA temp_store = MEMORY")
    conn.execute("PRAGMA foreign_keys = ON")
    conn.execute("PRAGMA secure_delete = ON")
    mismatches = {
        name: value
        for name, wanted in EXPECTED_PRAGMAS.items()
        if (value := _pragma(conn, name)) != wanted
    }
    if mismatches:
        raise EngineMismatch(
            "The store could not be opened with the required safety settings "
            f"({', '.join(f'{k}={v}' for k, v in sorted(mismatches.items()))})."
        )


def _pragma(conn: Any, name: str) -> str:
    row = conn.execute(f"PRAGMA {name}").fetchone()
    return "" if row is None else str(row[0]).lower() if name == "journal_mode" else str(row[0])


def connection_settings(conn: Any) -> dict[str, str]:
    """What a connection reports for every pinned setting (for the configuration check)."""
    return {name: _pragma(conn, name) for name in EXPECTED_PRAGMAS}


def raw_connect(path: Path, key: bytes | bytearray) -> Any:
    """A keyed, configured ``sqlcipher3`` connection in autocommit mode (we issue BEGIN)."""
    if path.exists() and path.stat().st_size == 0:
        # SQLite would quietly make an empty database of it; an empty store file is damage,
        # reported as SQLite reports any file that is not a database.
        error = sqlcipher3.DatabaseError("file is not a database")
        error.sqlite_errorcode = SQLITE_NOTADB
        error.sqlite_errorname = "SQLITE_NOTADB"
        raise error
    conn = sqlcipher3.connect(str(path), isolation_level=None, check_same_thread=False)
    try:
        configure(conn, key)
    except BaseException:
        conn.close()
        raise
    return conn


def make_engine(path: Path, key: bytearray) -> Engine:
    """An engine over one store file. The key is read from ``key`` at each new connection,
    so zeroing it after :meth:`Engine.dispose` leaves no way to open another connection.
    """
    url = "sqlite+pathway:///" + str(path)

    def creator() -> Any:
        return raw_connect(path, key)

    engine = create_engine(
        url,
        creator=creator,
        module=sqlcipher3,
        poolclass=QueuePool,
        pool_size=1,
        max_overflow=2,
        pool_reset_on_return="rollback",
        hide_parameters=True,
    )

    @event.listens_for(engine, "begin")
    def _begin(conn: Any) -> None:
        # Writes take the write lock at BEGIN, so a save never fails half-way on a busy store.
        immediate = conn.get_execution_options().get("writer", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")

    return engine
