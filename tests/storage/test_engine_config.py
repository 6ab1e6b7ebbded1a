"""The encryption engine as shipped: pinned versions, pinned settings on every connection,
a file that is ciphertext end to end, and a key that is forgotten at lock."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import importlib.metadata
import sqlite3
import sys
from pathlib import Path

import pytest
import sqlcipher3
import sqlcipher3.dbapi2
from sqlalchemy.exc import DBAPIError

from desktop.storage import engine as engine_module
from desktop.storage import keys
from desktop.storage.engine import (
    EXPECTED_PRAGMAS,
    EngineMismatch,
    Versions,
    check_library,
    connection_settings,
)
from desktop.storage.errors import StoreError
from desktop.storage.store import CaseloadQuery, Store, keys_path
from tests.fixtures import MakeStore
from tests.storage.storekit import (
    PASSWORD,
    SQLITE_HEADER,
    entropy,
    fresh,
    open_store,
    write_figures,
)

SQLCIPHER3_DIST = "0.6.4"
CIPHER_VERSION = "4.19.0 community"
SQLITE_VERSION = "3.53.4"
OPENSSL_VERSION = "OpenSSL 3.6.0"
# Written out here rather than read from the engine, so a change to the engine's own
# expectations cannot quietly change what is tested.
PINNED = {
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


def _version(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(".")[:3])


@pytest.fixture
def store(make_store: MakeStore) -> Store:
    return make_store(name="team.store")


def test_every_pooled_connection_holds_the_pinned_settings(store: Store) -> None:
    """reliability #1: engine configuration, read back on every connection of the pool."""
    assert EXPECTED_PRAGMAS == PINNED
    engine = store.database.live()
    conns = [engine.connect() for _ in range(3)]  # pool_size 1 + max_overflow 2
    try:
        raws = [c.connection.dbapi_connection for c in conns]
        assert len({id(r) for r in raws}) == 3
        mismatches = []
        for conn in raws:
            cipher = str(conn.execute("PRAGMA cipher_version").fetchone()[0])
            sqlite = str(conn.execute("SELECT sqlite_version()").fetchone()[0])
            options = [str(r[0]) for r in conn.execute("PRAGMA compile_options")]
            settings = connection_settings(conn)
            if not cipher.startswith("4."):
                mismatches.append(f"cipher_version {cipher}")
            if _version(sqlite) < (3, 51, 3):
                mismatches.append(f"sqlite {sqlite}")
            if settings != PINNED:
                mismatches.append(f"settings {settings}")
            if not {"TEMP_STORE=2", "TEMP_STORE=3"} & set(options):
                mismatches.append("TEMP_STORE compiled below 2")
        assert mismatches == []
    finally:
        for c in conns:
            c.close()
    write_figures("engine-config", connections=len(raws), mismatches=len(mismatches))


def test_installed_versions_are_the_pinned_ones(store: Store) -> None:
    """reliability #20: the wheel, SQLCipher, SQLite and OpenSSL are exactly the versions
    pinned, and the compiled module is the wheel's own file, unchanged since install."""
    assert importlib.metadata.version("sqlcipher3") == SQLCIPHER3_DIST
    versions = check_library()
    assert versions.cipher == CIPHER_VERSION
    assert versions.sqlite == SQLITE_VERSION
    assert versions.temp_store_compiled >= 2
    with store.database.live().connect() as conn:
        dbapi = conn.connection.dbapi_connection
        provider = str(dbapi.execute("PRAGMA cipher_provider").fetchone()[0])
        provider_version = str(dbapi.execute("PRAGMA cipher_provider_version").fetchone()[0])
    assert provider == "openssl"
    assert provider_version.startswith(OPENSSL_VERSION + " ")
    dist = importlib.metadata.distribution("sqlcipher3")
    compiled = Path(sqlcipher3.dbapi2.__file__).with_name(
        Path(sys.modules["sqlcipher3._sqlite3"].__file__ or "").name
    )
    recorded = {Path(str(dist.locate_file(f))).resolve(): f for f in dist.files or ()}
    entry = recorded.get(compiled.resolve())
    assert entry is not None and entry.hash is not None
    assert entry.hash.mode == "sha256"
    digest = base64.urlsafe_b64encode(hashlib.sha256(compiled.read_bytes()).digest())
    assert digest.rstrip(b"=").decode() == entry.hash.value
    write_figures(
        "pins",
        sqlcipher3=SQLCIPHER3_DIST,
        cipher=versions.cipher,
        sqlite=versions.sqlite,
        provider=provider_version,
    )


@pytest.mark.parametrize(
    ("cipher", "sqlite", "named"),
    [
        ("4.19.0 community", "3.51.2", "SQLite 3.51.2"),
        ("5.0.0 community", "3.53.4", "SQLCipher 5.0.0"),
    ],
)
def test_an_unvetted_library_is_refused_in_plain_words(
    monkeypatch: pytest.MonkeyPatch, cipher: str, sqlite: str, named: str
) -> None:
    """reliability #1, #20: a library below the WAL-reset fix or of another major is refused."""
    monkeypatch.setattr(
        engine_module, "library_versions", lambda: Versions(cipher, sqlite, temp_store_compiled=2)
    )
    with pytest.raises(EngineMismatch) as caught:
        check_library()
    message = str(caught.value)
    assert named in message
    assert "Reinstall Pathway" in message
    assert "\n" not in message and "Traceback" not in message


def test_temporary_files_on_disk_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    """reliability #1: a build that may spill temporary tables to disk is not used."""
    monkeypatch.setattr(
        engine_module,
        "library_versions",
        lambda: Versions(CIPHER_VERSION, SQLITE_VERSION, temp_store_compiled=1),
    )
    with pytest.raises(EngineMismatch, match="temporary files on disk"):
        check_library()


def test_the_file_is_ciphertext_from_the_first_byte(tmp_path: Path, make_store: MakeStore) -> None:
    """reliability #2: 100 saved records; no SQLite header, unreadable without the key,
    and as random as ciphertext should be."""
    path = tmp_path / "team.store"
    s = make_store(name=path.name)
    for rec in fresh(100, seed=2):
        s.episodes.save(rec, client_name="Jo Bloggs", notes="seen at the custody suite")
    assert s.caseload.count(CaseloadQuery()) == 100
    s.close(backup_reason=None)
    data = path.read_bytes()
    assert len(data) > 40 * 4096
    assert data[:16] != SQLITE_HEADER
    assert SQLITE_HEADER not in data
    with (
        contextlib.closing(sqlite3.connect(path)) as conn,
        pytest.raises(sqlite3.DatabaseError, match="file is not a database"),
    ):
        conn.execute("select * from sqlite_master").fetchall()
    bits = entropy(data)
    assert bits >= 7.9
    write_figures("file-entropy", bytes=len(data), bits_per_byte=round(bits, 4))


def test_the_key_is_in_no_url_or_repr_and_is_forgotten_at_close(
    tmp_path: Path, make_store: MakeStore
) -> None:
    """reliability #11: key hygiene; the engine never shows the key and close zeroes it."""
    path = tmp_path / "team.store"
    make_store(name=path.name).close(backup_reason=None)
    key, _ = keys.unwrap_key(keys.read_keyfile(keys_path(path)), "amy", PASSWORD)
    key_hex = bytes(key).hex()
    keys.zero(key)
    store = open_store(path)
    engine = store.database.live()
    assert bytes(store.key).hex() == key_hex  # the store holds the real key while open
    shown = [
        repr(engine),
        str(engine.url),
        engine.url.render_as_string(hide_password=False),
        repr(store),
    ]
    assert not [s for s in shown if key_hex in s.lower()]
    assert PASSWORD not in " ".join(shown)
    store.close()
    assert len(store.key) == 32
    assert store.key == bytearray(32)
    assert store.is_open is False
    with pytest.raises(StoreError, match="locked"):
        store.episodes.save(fresh(1)[0])
    with pytest.raises(StoreError, match="locked"):
        store.caseload.page()
    # The disposed engine has only the zeroed key left: it cannot open the file again.
    with pytest.raises(DBAPIError):
        engine.connect()
