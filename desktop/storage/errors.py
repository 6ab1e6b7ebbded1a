"""What can go wrong with a store, each said in a worker's words with what to do next.

``str(error)`` is the whole message; the window and the command line show it as it is.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

# SQLite's primary result codes that mean something to a worker (https://sqlite.org/rescode.html).
SQLITE_ERROR = 1
SQLITE_BUSY = 5
SQLITE_IOERR = 10
SQLITE_CORRUPT = 11
SQLITE_FULL = 13
SQLITE_CONSTRAINT = 19
SQLITE_NOTADB = 26


class StoreError(Exception):
    """Base class: the message is for the worker; nothing here holds client data."""


class WrongPassword(StoreError):
    def __init__(self) -> None:
        super().__init__("The user name or password is not right.")


class TryLater(StoreError):
    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        wait = max(1, round(seconds))
        super().__init__(
            f"Too many wrong passwords. Wait {wait} seconds, then try again."
            " A manager can reset a forgotten password."
        )


class NoStore(StoreError):
    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(
            f"There is no Pathway store at {path}. Check the location, or set one up first."
        )


class StoreExists(StoreError):
    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"A Pathway store already exists at {path}; it was left as it is.")


class StoreInUse(StoreError):
    def __init__(self) -> None:
        super().__init__(
            "This store is already open in another Pathway window on this laptop."
            " Use that window, or close it first."
        )


@dataclass(frozen=True, slots=True)
class BackupChoice:
    path: Path
    taken: datetime


class StoreDamaged(StoreError):
    """The file cannot be trusted. ``newest_backup`` is offered; nothing is replaced silently."""

    def __init__(self, detail: str, newest_backup: BackupChoice | None) -> None:
        self.detail = detail
        self.newest_backup = newest_backup
        if newest_backup is not None:
            offer = (
                " The newest checked backup is from "
                f"{newest_backup.taken:%d %B %Y at %H:%M}; restore it with"
                f" 'pathway restore {newest_backup.path}'."
            )
        else:
            offer = " There is no checked backup of it; ask your manager or IT for help."
        super().__init__(f"The store is damaged and cannot be used safely ({detail}).{offer}")


class ForeignFile(StoreError):
    def __init__(self, path: Path) -> None:
        self.path = path
        super().__init__(f"{path.name} is not a Pathway store or backup, or it is damaged.")


class DiskFull(StoreError):
    def __init__(self, what: str = "save") -> None:
        if what == "backup":
            text = (
                "The laptop's disk is full or could not be written, so the backup was not"
                " made. Nothing already saved is lost. Free some space; the next backup"
                " will be tried again."
            )
        else:
            text = (
                "The laptop's disk is full or could not be written, so this was not saved."
                " Nothing already saved is lost and what you typed is kept."
                " Free some space and save again."
            )
        super().__init__(text)


class BadLocation(StoreError):
    """Read-only, network or synced locations: SQLite's locking and WAL need a local disk."""


class NotPermitted(StoreError):
    def __init__(self, what: str) -> None:
        super().__init__(f"Only a manager can {what}.")


class NewerStore(StoreError):
    def __init__(self) -> None:
        super().__init__(
            "This store was made by a newer version of Pathway. Install that version to open it;"
            " the store was not changed."
        )


class RecordNotFound(StoreError):
    def __init__(self, what: str) -> None:
        super().__init__(f"{what} is not in this store (it may have been deleted).")


class ImportRejected(StoreError):
    """A file of records that would be rejected; nothing was imported."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        shown = "; ".join(problems[:5])
        more = f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""
        super().__init__(f"Nothing was imported: {shown}{more}.")
