"""Putting a backup back in place of the live store, without ever losing the live one.

The backup is copied beside the store and that copy is checked (opens with the user's
password from the backup's own key file, both integrity checks, the same store id). The
live store, if any, is then preserved first: as a checked encrypted backup when the same
password opens it, otherwise as an exact copy of its files (compared by SHA-256). Only then
is the checked copy renamed over the live store.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from desktop.app.files import atomic_write_bytes, fsync_dir
from desktop.storage import backup, keys
from desktop.storage.engine import check_library, raw_connect
from desktop.storage.errors import ForeignFile, StoreDamaged, StoreError, WrongPassword
from desktop.storage.location import InstanceLock, backups_folder, check_location, keys_path


@dataclass(frozen=True, slots=True)
class Restored:
    store: Path
    from_backup: Path
    kept_as: Path | None  # where the replaced live store was preserved


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _copy_checked(source: Path, target: Path) -> None:
    shutil.copyfile(source, target)
    with open(target, "rb+") as fh:
        os.fsync(fh.fileno())
    if _sha256(source) != _sha256(target):
        raise StoreError(f"A copy of {source.name} did not match; nothing was changed.")


def _store_id_of(path: Path, key: bytes | bytearray) -> str | None:
    conn = raw_connect(path, key)
    try:
        row = conn.execute("SELECT value FROM settings WHERE key = 'store_id'").fetchone()
        return None if row is None else str(row[0])
    finally:
        conn.close()


def _preserve_live(store: Path, user: str | None, password: str, now: datetime) -> Path:
    """Keep the live store before it is replaced; return where it went."""
    folder = backups_folder(store)
    folder.mkdir(parents=True, exist_ok=True)
    try:
        keyfile = keys.read_keyfile(keys_path(store))
        name = user if user is not None else keyfile.names()[0]
        key, _ = keys.unwrap_key(keyfile, name, password)
    except (keys.KeyFileError, keys.WrongPassword, IndexError):
        key = None
    if key is not None:
        try:
            conn = raw_connect(store, key)
            try:
                info = backup.make_backup(
                    conn, key, store, keys_path(store), folder, "before-restore", now
                )
            finally:
                conn.close()
            return info.path
        except Exception:
            pass
        finally:
            keys.zero(key)
    kept = folder / f"{store.stem}-{now:%Y%m%d-%H%M%S}-replaced"
    kept.mkdir()
    for part in (store, Path(f"{store}-wal"), Path(f"{store}-shm"), keys_path(store)):
        if part.exists():
            _copy_checked(part, kept / part.name)
    fsync_dir(kept)
    return kept


def restore(
    backup_file: Path,
    store: Path,
    user: str | None,
    password: str,
    now: datetime | None = None,
) -> Restored:
    """Replace ``store`` by ``backup_file`` after checking it and keeping the live store."""
    check_library()
    now = now or datetime.now()
    store = store.absolute()
    backup_file = backup_file.absolute()
    if not backup_file.is_file():
        raise StoreError(f"There is no backup at {backup_file}.")
    backup_keys = backup.keys_path_for(backup_file)
    if not backup_keys.is_file():
        raise ForeignFile(backup_file)
    try:
        keyfile = keys.read_keyfile(backup_keys)
    except keys.KeyFileError:
        raise ForeignFile(backup_file) from None
    name = user if user is not None else (keyfile.names()[0] if len(keyfile.wraps) == 1 else "")
    try:
        key, _ = keys.unwrap_key(keyfile, name, password)
    except keys.WrongPassword:
        raise WrongPassword() from None
    store.parent.mkdir(parents=True, exist_ok=True)
    check_location(store)
    instance = InstanceLock(store)
    instance.acquire()
    incoming = store.with_name(f".{store.name}.restoring")
    try:
        for side in (incoming, Path(f"{incoming}-wal"), Path(f"{incoming}-shm")):
            with contextlib.suppress(FileNotFoundError):
                side.unlink()
        shutil.copyfile(backup_file, incoming)
        try:
            backup.check_copy(incoming, key, None)
            same_store = _store_id_of(incoming, key) == keyfile.store_id
        except backup.BackupFailed as exc:
            raise StoreDamaged(f"the backup {backup_file.name} is damaged: {exc}", None) from None
        except Exception:
            raise ForeignFile(backup_file) from None
        if not same_store:
            raise ForeignFile(backup_file)
        with open(incoming, "rb+") as fh:
            os.fsync(fh.fileno())
        kept = _preserve_live(store, user, password, now) if store.exists() else None
        for side in (Path(f"{store}-wal"), Path(f"{store}-shm")):
            with contextlib.suppress(FileNotFoundError):
                side.unlink()
        os.replace(incoming, store)
        atomic_write_bytes(keys_path(store), backup_keys.read_bytes())
        fsync_dir(store.parent)
        backup.check_copy(store, key, None)
        return Restored(store, backup_file, kept)
    finally:
        for side in (incoming, Path(f"{incoming}-wal"), Path(f"{incoming}-shm")):
            with contextlib.suppress(FileNotFoundError):
                side.unlink()
        keys.zero(key)
        instance.release()
