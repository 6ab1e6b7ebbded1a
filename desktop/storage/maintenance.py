"""The ``store.backups`` part: checked backups of an open store, and its checks.

A backup is taken when the store closes or locks, and at most once an hour while it is in
use; how a backup is made and checked is ``desktop.storage.backup``. The checks read the
whole file (both SQLCipher checks) and walk the audit chain.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from sqlalchemy.exc import DBAPIError

from desktop.storage import audit
from desktop.storage import backup as backup_files
from desktop.storage.db import Database, is_storage_full
from desktop.storage.errors import DiskFull, StoreError
from desktop.storage.location import backups_folder, keys_path

if TYPE_CHECKING:
    from desktop.storage.store import Store

BACKUP_EVERY = timedelta(hours=1)


class Backups:
    """Backups, integrity checks and upkeep of one open store."""

    def __init__(self, store: Store, database: Database, key: bytearray) -> None:
        self.store = store
        self._database = database
        self._key = key  # the store's own key, zeroed when the store closes
        self.last: datetime | None = None  # when this session last took a backup

    def backup(self, reason: str = "manual") -> backup_files.BackupInfo:
        """A checked, encrypted backup beside the store; the oldest beyond ten are removed."""
        path = self.store.path
        try:
            with self._database.connect() as conn:
                info = backup_files.make_backup(
                    conn,
                    self._key,
                    path,
                    keys_path(path),
                    backups_folder(path),
                    reason,
                    self.store.clock(),
                )
        except OSError as exc:
            raise (
                DiskFull()
                if exc.errno in (28, 27, 5)
                else StoreError(
                    f"The backup could not be written ({exc.strerror}). The store is unchanged."
                )
            ) from None
        except Exception as exc:
            if is_storage_full(exc):
                raise DiskFull("backup") from None
            if isinstance(exc, DBAPIError):
                raise self._database.translate(exc) from None
            raise
        self.last = info.taken
        return info

    def maybe_backup(self) -> backup_files.BackupInfo | None:
        """At most one backup an hour while the store is in use."""
        if self.last is not None and self.store.clock() - self.last < BACKUP_EVERY:
            return None
        return self.backup("hourly")

    def vacuum(self) -> None:
        """Rebuild the file to reclaim space (temporary data stays in memory, never on disk)."""
        with self._database.connect() as conn:
            try:
                conn.execute("VACUUM")
            except Exception as exc:
                if is_storage_full(exc):
                    raise DiskFull() from None
                raise

    def counts(self) -> dict[str, int]:
        """The number of rows of every table."""
        with self._database.connect() as conn:
            return backup_files.row_counts(conn)

    def integrity_problems(self) -> list[str]:
        """What SQLCipher's page check and SQLite's structure check find (none: clean)."""
        with self._database.connect() as conn:
            return backup_files.integrity_problems(conn)

    def verify_audit(self) -> audit.AuditReport:
        """The whole audit chain walked from its first event, every break reported."""
        with self.store.reading() as s:
            return audit.verify(s, self.store.settings.store_id)


__all__ = ["BACKUP_EVERY", "Backups"]
