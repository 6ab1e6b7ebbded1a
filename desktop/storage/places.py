"""The ``store.places`` part: the record each worker was on, to open again.

After a restart, a crash or a lock, the window opens the record the worker was on. That
place is kept per user in the ``drafts`` table (which once held half-filled sheets, and
keeps its shape so that older stores read the same): one row for the user, with no
episode of its own, whose payload names the episode. Only its own user gets it back.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import delete, select

from desktop.storage import audit
from desktop.storage.db import dumps, loads, new_id
from desktop.storage.models import Draft

if TYPE_CHECKING:
    from desktop.storage.store import Store


class Places:
    """Where this user was: :meth:`remember` it, and read it back with :meth:`last`."""

    def __init__(self, store: Store) -> None:
        self.store = store

    def remember(self, episode_id: str | None) -> None:
        """Keep the episode this user is on (None: on no record, so forget the place)."""
        user_id = self.store.user.id
        with self.store.writing() as tx:
            s = tx.session
            if episode_id is None:
                s.execute(delete(Draft).where(Draft.user_id == user_id, Draft.episode_id.is_(None)))
                return
            payload = dumps({"episode_id": episode_id})
            row = s.execute(
                select(Draft).where(Draft.user_id == user_id, Draft.episode_id.is_(None))
            ).scalar_one_or_none()
            if row is None:
                s.add(
                    Draft(
                        id=new_id(),
                        user_id=user_id,
                        episode_id=None,
                        payload=payload,
                        updated_at=audit.utcnow(),
                    )
                )
            else:
                row.payload = payload
                row.updated_at = audit.utcnow()

    def last(self) -> str | None:
        """The episode this user was on, or None."""
        with self.store.reading() as s:
            rows = s.execute(
                select(Draft.payload)
                .where(Draft.user_id == self.store.user.id, Draft.episode_id.is_(None))
                .order_by(Draft.updated_at)
            ).scalars()
            for payload in rows:
                found = loads(payload).get("episode_id")
                if isinstance(found, str):
                    return found
        return None


__all__ = ["Places"]
