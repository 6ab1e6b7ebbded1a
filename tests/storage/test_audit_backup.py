"""Audit chain, checked backups, restore and migrations (reliability #8; store items 1, 4, 5)."""

from __future__ import annotations

import hashlib
import shutil
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from desktop.app import paths
from desktop.domain.spec import RefData
from desktop.domain.synthetic import records
from desktop.storage import backup, keys
from desktop.storage.engine import raw_connect
from desktop.storage.errors import ForeignFile, StoreDamaged, WrongPassword
from desktop.storage.restore import restore
from desktop.storage.store import Store, backups_folder, head_revision, keys_path
from tests.fixtures import PASSWORD, MakeStore


class Clock:
    def __init__(self) -> None:
        self.now = datetime(2026, 11, 24, 8, 0)

    def __call__(self) -> datetime:
        self.now += timedelta(minutes=1)
        return self.now


@pytest.fixture
def store(make_store: MakeStore, refdata: RefData) -> Store:
    s = make_store(name="team.store", dat=None, clock=Clock())
    for rec in records(refdata, "cjit-q", 8, seed=5):
        rec.pop("CLIENTID")
        rec.pop("EPISODID")
        s.episodes.save(rec)
    return s


def raw(store_path: Path, password: str = PASSWORD, user: str = "amy") -> Any:
    key, _ = keys.unwrap_key(keys.read_keyfile(keys_path(store_path)), user, password)
    try:
        return raw_connect(store_path, key)
    finally:
        keys.zero(key)


def dump_hash(store_path: Path) -> str:
    """A hash of every row of every table, in a stable order (the logical content)."""
    conn = raw(store_path)
    try:
        digest = hashlib.sha256()
        for table in backup.user_tables(conn):
            if table in ("audit_events", "settings"):
                continue
            for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY 1').fetchall():
                digest.update(repr(row).encode())
        return digest.hexdigest()
    finally:
        conn.close()


# ---------------------------------------------------------------- audit trail


def test_audit_chain_verifies(store: Store) -> None:
    report = store.backups.verify_audit()
    assert report.ok
    assert report.events >= 8


@pytest.mark.parametrize(
    ("tamper", "found"),
    [
        ("UPDATE audit_events SET changes = '{}' WHERE seq = 3", "event 3 has been altered"),
        ("UPDATE audit_events SET user_id = 'x' WHERE seq = 2", "event 2 has been altered"),
        ("DELETE FROM audit_events WHERE seq = 4", "events 4 to 4 are missing"),
        (
            "DELETE FROM audit_events WHERE seq = (SELECT max(seq) FROM audit_events)",
            "are missing",
        ),
    ],
)
def test_audit_verify_finds_a_removed_or_altered_event(
    store: Store, tamper: str, found: str
) -> None:
    """Store issue item 4: events chained by hash so that a removed or altered event is found."""
    path = store.path
    store.close(backup_reason=None)
    conn = raw(path)
    for statement in tamper.split(";"):
        conn.execute(statement)
    conn.close()
    reopened = Store.open(path, "amy", PASSWORD, refdata=store.refdata)
    try:
        report = reopened.backups.verify_audit()
    finally:
        reopened.close(backup_reason=None)
    assert not report.ok
    assert any(found in p for p in report.problems), report.problems


# ---------------------------------------------------------------- backups


def test_backup_is_checked_encrypted_and_complete(store: Store) -> None:
    """reliability #8: every backup is reopened and checked, with the same row counts."""
    info = store.backups.backup("manual")
    assert info.path.is_file()
    assert info.keys_path.is_file()
    assert info.path.read_bytes()[:16] != b"SQLite format 3\x00"
    key, _ = keys.unwrap_key(keys.read_keyfile(info.keys_path), "amy", PASSWORD)
    try:
        backup.check_copy(info.path, key, info.counts)
    finally:
        keys.zero(key)
    assert info.counts["episodes"] == 8
    assert not [p for p in info.path.parent.iterdir() if p.name.startswith(".")]


def test_backup_at_lock_and_close(store: Store, refdata: RefData) -> None:
    path = store.path
    made = store.lock()
    assert made is not None
    assert made.path.name.endswith("-lock.backup")
    again = Store.open(path, "amy", PASSWORD, refdata=refdata)
    closed = again.close()
    assert closed is not None
    assert closed.path.name.endswith("-close.backup")


def test_only_the_newest_ten_backups_are_kept(store: Store) -> None:
    made = [store.backups.backup("manual").path for _ in range(13)]
    kept = backup.list_backups(backups_folder(store.path), store.path.stem)
    assert len(kept) == backup.KEEP
    assert kept[0].path == made[-1]
    assert {k.path for k in kept} == set(made[-10:])
    for gone in made[:3]:
        assert not gone.exists()
        assert not backup.keys_path_for(gone).exists()


def test_leftover_partial_backup_is_cleared(store: Store) -> None:
    folder = backups_folder(store.path)
    folder.mkdir(exist_ok=True)
    partial = folder / ".team-20260101-000000-000000-manual.backup.partial"
    partial.write_bytes(b"half")
    store.backups.backup("manual")
    assert not partial.exists()


# ---------------------------------------------------------------- restore


def test_restore_brings_back_the_backup_and_keeps_the_live_store(
    store: Store, refdata: RefData
) -> None:
    path = store.path
    info = store.backups.backup("manual")
    store.close(backup_reason=None)
    expected = dump_hash(path)
    # Change the live store after the backup.
    live = Store.open(path, "amy", PASSWORD, refdata=refdata)
    rec = next(records(refdata, "cjit-q", 1, seed=77))
    rec.pop("CLIENTID")
    rec.pop("EPISODID")
    live.episodes.save(rec)
    live.close(backup_reason=None)
    assert dump_hash(path) != expected

    done = restore(info.path, path, "amy", PASSWORD)
    assert dump_hash(path) == expected
    assert done.kept_as is not None
    assert done.kept_as.exists()
    back = Store.open(path, "amy", PASSWORD, refdata=refdata)
    try:
        assert back.caseload.count() == 8
        assert back.backups.integrity_problems() == []
    finally:
        back.close(backup_reason=None)


def test_restore_into_a_new_place(store: Store, tmp_path: Path) -> None:
    info = store.backups.backup("manual")
    target = tmp_path / "elsewhere" / "copy.store"
    done = restore(info.path, target, "amy", PASSWORD)
    assert done.kept_as is None
    assert dump_hash(target) == dump_hash_open(store)


def dump_hash_open(store: Store) -> str:
    path = store.path
    store.close(backup_reason=None)
    return dump_hash(path)


def test_restore_refuses_a_wrong_password_and_changes_nothing(store: Store) -> None:
    info = store.backups.backup("manual")
    path = store.path
    store.close(backup_reason=None)
    before = path.read_bytes()
    with pytest.raises(WrongPassword):
        restore(info.path, path, "amy", "not it")
    assert path.read_bytes() == before


def test_restore_refuses_a_foreign_file(store: Store, tmp_path: Path) -> None:
    path = store.path
    store.close(backup_reason=None)
    foreign = tmp_path / "holiday.backup"
    foreign.write_bytes(b"PK\x03\x04 not a store at all" * 100)
    with pytest.raises(ForeignFile, match="not a Pathway store"):
        restore(foreign, path, "amy", PASSWORD)
    shutil.copyfile(keys_path(path), backup.keys_path_for(foreign))
    with pytest.raises((ForeignFile, StoreDamaged)):
        restore(foreign, path, "amy", PASSWORD)
    assert Store.open(path, "amy", PASSWORD, refdata=paths.load()).close(None) is None


def test_restore_refuses_a_damaged_backup(store: Store) -> None:
    info = store.backups.backup("manual")
    path = store.path
    store.close(backup_reason=None)
    data = bytearray(info.path.read_bytes())
    data[4096 * 2 + 100] ^= 0xFF
    info.path.write_bytes(bytes(data))
    before = path.read_bytes()
    with pytest.raises((StoreDamaged, ForeignFile)):
        restore(info.path, path, "amy", PASSWORD)
    assert path.read_bytes() == before


def test_a_damaged_store_offers_the_newest_backup_by_date(store: Store, refdata: RefData) -> None:
    """Store issue item 6: offer the newest verified backup, named by its date."""
    info = store.backups.backup("manual")
    path = store.path
    store.close(backup_reason=None)
    data = bytearray(path.read_bytes())
    for offset in range(4096, len(data), 4096):
        data[offset + 200] ^= 0x55
    path.write_bytes(bytes(data))
    with pytest.raises(StoreDamaged) as caught:
        Store.open(path, "amy", PASSWORD, refdata=refdata)
    assert caught.value.newest_backup is not None
    assert caught.value.newest_backup.path == info.path
    assert f"{info.taken:%d %B %Y}" in str(caught.value)
    restore(info.path, path, "amy", PASSWORD)
    with Store.open(path, "amy", PASSWORD, refdata=refdata) as back:
        assert back.caseload.count() == 8


# ---------------------------------------------------------------- migrations


def test_models_and_migrations_agree(store: Store) -> None:
    """The Alembic revisions build exactly the tables the ORM describes."""
    from alembic.autogenerate import compare_metadata
    from alembic.runtime.migration import MigrationContext

    from desktop.storage.models import Base

    with store.database.live().connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_an_older_store_is_migrated_at_unlock_after_a_backup(
    store: Store, refdata: RefData
) -> None:
    """Store issue item 1: an older store is migrated at unlock, after a verified backup."""
    path = store.path
    store.close(backup_reason=None)
    conn = raw(path)
    conn.execute("DROP INDEX ix_episodes_owner_open")
    conn.execute("DROP INDEX ix_episodes_state")
    conn.execute("UPDATE alembic_version SET version_num = '0001'")
    conn.close()
    with Store.open(path, "amy", PASSWORD, refdata=refdata) as s:
        assert s.caseload.count() == 8
    made = backup.list_backups(backups_folder(path), path.stem)
    assert any(b.reason == "before-upgrade" for b in made)
    conn = raw(path)
    try:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == (
            head_revision()
        )
        names = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='index'")]
        assert "ix_episodes_owner_open" in names
        assert "ix_episodes_state" in names
    finally:
        conn.close()


def test_episodes_once_kept_as_drafts_are_records_after_the_upgrade(
    store: Store, refdata: RefData
) -> None:
    """Issue 13 item 1 (revision 0006): a store whose episodes were saved as drafts (saved
    as the worker went, never with Ctrl+S) is migrated at unlock; those episodes are then
    counted by Check like every other record, and none is lost."""
    from desktop.export.submission import check

    path = store.path
    today = store.context().today
    before = check(store, "cjit-q", f"{today:%Y-%m}")
    store.close(backup_reason=None)
    conn = raw(path)
    conn.execute("ALTER TABLE episodes ADD COLUMN draft BOOLEAN NOT NULL DEFAULT 1")
    conn.execute("UPDATE alembic_version SET version_num = '0005'")
    conn.commit()
    conn.close()
    with Store.open(path, "amy", PASSWORD, refdata=refdata) as s:
        assert s.caseload.count() == 8
        after = check(s, "cjit-q", f"{today:%Y-%m}")
    assert (after.records, after.left_out_no_consent, len(after.undecided)) == (
        before.records,
        before.left_out_no_consent,
        len(before.undecided),
    )
    assert after.records + after.left_out_no_consent + len(after.undecided) > 0
    conn = raw(path)
    try:
        columns = [r[1] for r in conn.execute("PRAGMA table_info(episodes)")]
        assert "draft" not in columns
        assert conn.execute("SELECT version_num FROM alembic_version").fetchone()[0] == "0006"
    finally:
        conn.close()


def test_a_store_from_a_newer_version_is_left_alone(store: Store, refdata: RefData) -> None:
    from desktop.storage.errors import NewerStore

    path = store.path
    store.close(backup_reason=None)
    conn = raw(path)
    conn.execute("UPDATE alembic_version SET version_num = '9999'")
    conn.close()
    with pytest.raises(NewerStore, match="newer version"):
        Store.open(path, "amy", PASSWORD, refdata=refdata)


def test_a_key_file_whose_backup_never_got_its_name_is_cleared(store: Store) -> None:
    folder = backups_folder(store.path)
    folder.mkdir(exist_ok=True)
    orphan = folder / "team-20260101-000000-000000-manual.backup.keys"
    orphan.write_text("{}", encoding="utf-8")
    made = store.backups.backup("manual")
    assert not orphan.exists()
    assert made.keys_path.exists()


def test_the_head_revision_the_store_expects_is_the_newest_script() -> None:
    """The store compares revisions without loading Alembic; the constant must keep up."""
    from desktop.storage.store import HEAD_REVISION

    assert head_revision() == HEAD_REVISION
