"""The ``store.users`` part: who may unlock a store, and their passwords.

Each user's password wraps the store key in the key file beside the store; a new user, a
removed one or a changed password rewrites that file only, never a page of the store.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from sqlalchemy import delete, func, select

from desktop.storage import audit, keys
from desktop.storage.backup import newest_backup
from desktop.storage.db import new_id
from desktop.storage.errors import NotPermitted, StoreDamaged, StoreError, WrongPassword
from desktop.storage.location import keys_path
from desktop.storage.models import Draft, User

if TYPE_CHECKING:
    from desktop.storage.store import Store


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: str
    name: str
    role: str

    @property
    def is_manager(self) -> bool:
        return self.role == "manager"


def read_keys(store: Path) -> keys.KeyFile:
    """The key file beside a store; one that cannot be read is damage."""
    try:
        return keys.read_keyfile(keys_path(store))
    except keys.KeyFileError as exc:
        raise StoreDamaged(str(exc).rstrip("."), newest_backup(store)) from None


def wrap_for(
    key: bytearray, password: str, *, store_id: str, user_id: str, name: str, role: str
) -> keys.Wrap:
    """The store key wrapped with a user's password (a refused one said plainly)."""
    try:
        return keys.wrap_key(
            key, password, store_id=store_id, user_id=user_id, name=name, role=role
        )
    except ValueError as exc:
        raise StoreError(f"{str(exc).capitalize()}.") from None


class Users:
    """Adding and removing users, and their passwords (managers, except one's own)."""

    def __init__(self, store: Store, key: bytearray) -> None:
        self.store = store
        self._key = key  # the store's own key, zeroed when the store closes

    def _require_manager(self, what: str) -> None:
        if not self.store.user.is_manager:
            raise NotPermitted(what)

    def all(self) -> list[UserInfo]:
        """The users who may unlock the store, by name."""
        with self.store.reading() as s:
            rows = s.execute(
                select(User).where(User.removed_at.is_(None)).order_by(User.name)
            ).scalars()
            return [UserInfo(u.id, u.name, u.role) for u in rows]

    def add(self, name: str, password: str, role: str = "worker") -> UserInfo:
        self._require_manager("add users")
        st = self.store
        name = name.strip()
        if not name:
            raise StoreError("Give the new user a name.")
        keyfile = read_keys(st.path)
        if keyfile.find(name) is not None:
            raise StoreError(f"There is already a user called {name}.")
        user_id = new_id()
        wrap = wrap_for(
            self._key, password, store_id=st.settings.store_id, user_id=user_id, name=name,
            role=role,
        )  # fmt: skip
        with st.writing() as tx:
            s = tx.session
            taken = s.execute(select(User).where(func.lower(User.name) == name.lower())).first()
            if taken is not None:
                raise StoreError(f"The name {name} was used before; choose another.")
            s.add(User(id=user_id, name=name, role=role, created_at=audit.utcnow()))
            tx.audit("create", "user", user_id, {"role": (None, role)})
            # Written inside the transaction: if the wrap cannot be saved, the user is not added.
            keys.write_keyfile(keys_path(st.path), keyfile.with_wrap(wrap))
        return UserInfo(user_id, name, role)

    def remove(self, name: str) -> None:
        self._require_manager("remove users")
        st = self.store
        keyfile = read_keys(st.path)
        wrap = keyfile.find(name)
        if wrap is None:
            raise StoreError(f"There is no user called {name}.")
        if wrap.user_id == st.user.id:
            raise StoreError("You cannot remove yourself; ask another manager.")
        managers = [w for w in keyfile.wraps if w.role == "manager" and w.user_id != wrap.user_id]
        if not managers:
            raise StoreError("A store needs at least one manager.")
        with st.writing() as tx:
            row = tx.session.get(User, wrap.user_id)
            if row is not None:
                row.removed_at = audit.utcnow()
            tx.session.execute(delete(Draft).where(Draft.user_id == wrap.user_id))
            tx.audit("delete", "user", wrap.user_id, {"role": (wrap.role, None)})
            keys.write_keyfile(keys_path(st.path), keyfile.without(name))

    def change_password(self, old: str, new: str) -> None:
        """Re-wrap the store key for this user: no page of the store is rewritten."""
        keyfile = read_keys(self.store.path)
        try:
            check, _ = keys.unwrap_key(keyfile, self.store.user.name, old)
        except keys.WrongPassword:
            raise WrongPassword() from None
        keys.zero(check)
        self._rewrap(keyfile, self.store.user.name, new)

    def reset_password(self, name: str, new: str) -> None:
        """A manager sets a new password for a user who forgot theirs."""
        self._require_manager("reset another user's password")
        self._rewrap(read_keys(self.store.path), name, new)

    def _rewrap(self, keyfile: keys.KeyFile, name: str, new: str) -> None:
        st = self.store
        wrap = keyfile.find(name)
        if wrap is None:
            raise StoreError(f"There is no user called {name}.")
        fresh = wrap_for(
            self._key, new, store_id=st.settings.store_id, user_id=wrap.user_id, name=wrap.name,
            role=wrap.role,
        )  # fmt: skip
        keys.write_keyfile(keys_path(st.path), keyfile.with_wrap(fresh))
        with st.writing() as tx:
            tx.audit("password", "user", wrap.user_id)


__all__ = ["UserInfo", "Users", "read_keys", "wrap_for"]
