"""A unit of work: one write transaction with its own audit events.

``with store.writing() as tx:`` opens a write transaction (``BEGIN IMMEDIATE``, so a save
never fails half-way on a busy store). ``tx.session`` is its ORM session and ``tx.db`` the
keyed ``sqlcipher3`` connection under it, for the plain statements of the hot paths;
``tx.audit(...)`` notes an audit event. The events are chained and written just before
the commit, in one batch, so they commit with the change they describe or not at all.

The unit owns its events: nothing waits on the store between units, so any number of
callers (a background export and the window's autosave) may write through one store, one
after another as SQLite's write lock decides.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from typing import Any

import sqlcipher3
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import Session

from desktop.storage import audit
from desktop.storage.db import Database, raw


class Unit:
    """One write transaction: its session, its raw connection and its audit events."""

    def __init__(self, session: Session, user_id: str | None) -> None:
        self.session = session
        self.user_id = user_id
        self.events: list[audit.Pending] = []
        self._db: Any = None

    @property
    def db(self) -> Any:
        """The keyed ``sqlcipher3`` connection of this transaction."""
        if self._db is None:
            self._db = raw(self.session)
        return self._db

    def audit(
        self,
        action: str,
        entity: str,
        entity_id: str | None,
        changes: audit.Changes | None = None,
    ) -> None:
        """Note an event: who (this unit's user), when (now), what, and the changed fields
        as ``{field: (old, new)}``. Written with the unit's other events at commit."""
        self.events.append(
            audit.pending(
                user_id=self.user_id,
                action=action,
                entity=entity,
                entity_id=entity_id,
                changes=changes,
            )
        )


class Units:
    """Where the units of work of one store begin.

    It remembers the audit chain's head as the last unit committed it, which saves reading
    it again on every save. The head is written under a short lock held from the chaining
    of a unit's events to the end of its commit: a unit that committed after another
    always chains from that one's head. After any failure the head is read again.
    """

    def __init__(self, database: Database, store_id: str) -> None:
        self.database = database
        self.store_id = store_id
        self._head: tuple[int, str] | None = None  # the audit chain's newest (seq, hash)
        self._chaining = threading.Lock()

    @contextlib.contextmanager
    def writing(self, user_id: str | None) -> Iterator[Unit]:
        self.database.live()  # a locked store says so before anything begins
        chained = False
        try:
            with Session(self.database.writer, expire_on_commit=False) as s:
                try:
                    with s.begin():
                        unit = Unit(s, user_id)
                        yield unit
                        s.flush()
                        self._chaining.acquire()
                        chained = True
                        head = audit.append_all(s, self.store_id, unit.events, self._head)
                    self._head = head or self._head
                finally:
                    if chained:
                        self._chaining.release()
        except (DBAPIError, sqlcipher3.Error) as exc:
            self._head = None  # read it again from the store next time
            raise self.database.translate(exc) from None
        except BaseException:
            self._head = None
            raise


__all__ = ["Unit", "Units"]
