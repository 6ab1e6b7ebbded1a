"""Encrypted, verified backups of a store, and checks of any store file.

A backup is made with ``sqlcipher_export`` into a hidden temporary file in the backup
folder (same key, same cipher settings), fsynced, then reopened and checked
(``cipher_integrity_check``, ``quick_check`` and the row count of every table against the
source, read in the same transaction). Only a copy that passed is renamed to its final
name, beside a copy of the key file of that moment, so every ``*.backup`` file on disk is a
checked one. The newest ten are kept; the newest is never removed.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from desktop.app.files import fsync_dir
from desktop.storage.engine import key_pragma, raw_connect
from desktop.storage.errors import (
    SQLITE_CORRUPT,
    SQLITE_ERROR,
    SQLITE_FULL,
    SQLITE_IOERR,
    SQLITE_NOTADB,
    BackupChoice,
)
from desktop.storage.location import backups_folder

KEEP = 10
SUFFIX = ".backup"
KEYS_SUFFIX = ".keys"
# ``sqlcipher_export()`` reports a failed copy as SQLITE_ERROR whose message is SQLite's own
# text for the real result code (``sqlite3ErrStr``); the code is read back from that text.
_EXPORT_CODES = {
    "database or disk is full": SQLITE_FULL,
    "disk I/O error": SQLITE_IOERR,
    "database disk image is malformed": SQLITE_CORRUPT,
    "file is not a database": SQLITE_NOTADB,
}
_NAME = re.compile(r"^(?P<stem>.+)-(?P<stamp>\d{8}-\d{6}-\d{6})-(?P<reason>[a-z-]+)\.backup$")


class BackupFailed(Exception):
    """The copy could not be made or did not check out; the store itself is untouched.

    ``sqlite_errorcode`` is the SQLite result code of the error behind it, if any (the
    same attribute the driver's own errors carry), so a full disk is still told apart.
    """

    def __init__(self, message: str, sqlite_errorcode: int | None = None) -> None:
        super().__init__(message)
        self.sqlite_errorcode = sqlite_errorcode


@dataclass(frozen=True, slots=True)
class BackupInfo:
    path: Path
    taken: datetime
    reason: str
    counts: dict[str, int]

    @property
    def keys_path(self) -> Path:
        return keys_path_for(self.path)


def keys_path_for(backup: Path) -> Path:
    return backup.with_name(backup.name + KEYS_SUFFIX)


def user_tables(conn: Any, schema: str = "main") -> list[str]:
    rows = conn.execute(
        f"SELECT name FROM {schema}.sqlite_master WHERE type = 'table'"
        " AND name NOT LIKE 'sqlite_%' ORDER BY name"
    ).fetchall()
    return [str(r[0]) for r in rows]


def row_counts(conn: Any, schema: str = "main") -> dict[str, int]:
    return {
        t: int(conn.execute(f'SELECT count(*) FROM {schema}."{t}"').fetchone()[0])
        for t in user_tables(conn, schema)
    }


def integrity_problems(conn: Any) -> list[str]:
    """Both checks SQLCipher offers: page HMACs, then the b-tree structure."""
    problems = [str(r[0]) for r in conn.execute("PRAGMA cipher_integrity_check").fetchall()]
    quick = [str(r[0]) for r in conn.execute("PRAGMA quick_check").fetchall()]
    if quick != ["ok"]:
        problems.extend(quick)
    return problems


def _fsync_file(path: Path) -> None:
    with open(path, "rb+") as fh:
        os.fsync(fh.fileno())


def _remove_with_sidecars(path: Path) -> None:
    for p in (path, Path(f"{path}-wal"), Path(f"{path}-shm"), Path(f"{path}-journal")):
        with contextlib.suppress(FileNotFoundError):
            p.unlink()


def export_copy(conn: Any, key: bytes | bytearray, target: Path) -> dict[str, int]:
    """Write an encrypted copy of the open store to ``target`` (which must not exist)
    and return the row counts read in the same transaction."""
    conn.execute(f"ATTACH DATABASE ? AS copy KEY \"x'{bytes(key).hex()}'\"", (str(target),))
    try:
        conn.execute("BEGIN")
        try:
            counts = row_counts(conn)
            try:
                conn.execute("SELECT sqlcipher_export('copy')").fetchall()
            except Exception as exc:
                code = _EXPORT_CODES.get(str(exc))
                if getattr(exc, "sqlite_errorcode", None) == SQLITE_ERROR and code is not None:
                    exc.sqlite_errorcode = code  # type: ignore[attr-defined]
                raise
            conn.execute(f"PRAGMA copy.user_version = {_user_version(conn)}")
        finally:
            conn.execute("COMMIT")
    finally:
        conn.execute("DETACH DATABASE copy")
    return counts


def _user_version(conn: Any) -> int:
    return int(conn.execute("PRAGMA main.user_version").fetchone()[0])


def check_copy(path: Path, key: bytes | bytearray, counts: dict[str, int] | None) -> None:
    """Open a copy with ``key`` and check it; raise :class:`BackupFailed` on any doubt."""
    try:
        conn = raw_connect(path, key)
    except Exception as exc:
        code = getattr(exc, "sqlite_errorcode", None)
        raise BackupFailed(f"the copy does not open ({exc})", code) from None
    try:
        problems = integrity_problems(conn)
        if problems:
            raise BackupFailed(f"the copy failed its checks ({problems[0]})")
        if counts is not None:
            got = row_counts(conn)
            if got != counts:
                raise BackupFailed("the copy does not hold the same number of records")
    finally:
        conn.close()


def make_backup(
    conn: Any,
    key: bytes | bytearray,
    store: Path,
    keys_file: Path,
    folder: Path,
    reason: str,
    now: datetime,
) -> BackupInfo:
    """Make, check and keep one backup; then prune old ones. The store is never touched."""
    folder.mkdir(parents=True, exist_ok=True)
    stamp = now.strftime("%Y%m%d-%H%M%S-%f")
    final = folder / f"{store.stem}-{stamp}-{reason}{SUFFIX}"
    tmp = folder / f".{final.name}.partial"
    _remove_with_sidecars(tmp)
    try:
        counts = export_copy(conn, key, tmp)
        check_copy(tmp, key, counts)
        _fsync_file(tmp)
        shutil.copyfile(keys_file, keys_path_for(tmp))
        _fsync_file(keys_path_for(tmp))
        os.replace(keys_path_for(tmp), keys_path_for(final))
        os.replace(tmp, final)
        fsync_dir(folder)
    except BaseException:
        _remove_with_sidecars(tmp)
        with contextlib.suppress(FileNotFoundError):
            keys_path_for(tmp).unlink()
        raise
    finally:
        for side in (Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
            with contextlib.suppress(FileNotFoundError):
                side.unlink()
    prune(folder, store.stem)
    return BackupInfo(final, now, reason, counts)


def list_backups(folder: Path, stem: str | None = None) -> list[BackupInfo]:
    """Checked backups in ``folder``, newest first (a backup without its key file is skipped)."""
    found: list[BackupInfo] = []
    if not folder.is_dir():
        return found
    for path in folder.iterdir():
        m = _NAME.match(path.name)
        if m is None or (stem is not None and m["stem"] != stem):
            continue
        if not keys_path_for(path).is_file():
            continue
        taken = datetime.strptime(m["stamp"], "%Y%m%d-%H%M%S-%f")
        found.append(BackupInfo(path, taken, m["reason"], {}))
    found.sort(key=lambda b: b.taken, reverse=True)
    return found


def newest_backup(store: Path) -> BackupChoice | None:
    """The newest checked backup of a store, as offered when the store is damaged."""
    found = list_backups(backups_folder(store), store.stem)
    return BackupChoice(found[0].path, found[0].taken) if found else None


def prune(folder: Path, stem: str, keep: int = KEEP) -> list[Path]:
    """Remove all but the newest ``keep`` backups (never fewer than one)."""
    removed: list[Path] = []
    for info in list_backups(folder, stem)[max(keep, 1) :]:
        for p in (info.path, info.keys_path):
            with contextlib.suppress(FileNotFoundError):
                p.unlink()
        removed.append(info.path)
    # Half-made copies left by a crash: never at a final name, safe to remove; and key
    # files whose backup never got its name (a crash between the two renames).
    for leftover in _partials(folder):
        with contextlib.suppress(FileNotFoundError):
            leftover.unlink()
    for orphan in folder.glob(f"{stem}-*{SUFFIX}{KEYS_SUFFIX}"):
        if not orphan.with_name(orphan.name[: -len(KEYS_SUFFIX)]).exists():
            with contextlib.suppress(FileNotFoundError):
                orphan.unlink()
    return removed


def _partials(folder: Path) -> Iterable[Path]:
    return [p for p in folder.iterdir() if p.name.startswith(".") and ".partial" in p.name]


__all__ = [
    "KEEP",
    "BackupFailed",
    "BackupInfo",
    "check_copy",
    "export_copy",
    "integrity_problems",
    "key_pragma",
    "list_backups",
    "make_backup",
    "newest_backup",
    "prune",
    "row_counts",
]
