"""An open, unlocked store: the only door to the records for the window and the command line.

``Store.create`` sets up a new store; ``Store.open`` unlocks one with a user's password;
``lock`` and ``close`` take a checked backup and forget the key. The store itself only
opens and closes; what it holds is reached through its parts, each a room of its own:

- ``store.episodes``: saving, reading, re-opening, linking and deleting records (the only
  writer of client, episode and item rows), and ``store.episodes.merged`` for a merge;
- ``store.caseload``: pages of the caseload, their count, and client matching;
- ``store.consent``: a client's dated consent decisions;
- ``store.users``: who may unlock the store, and their passwords;
- ``store.backups``: backups and checks;
- ``store.places``: the record each worker was on.

Every part takes and returns plain records (dicts in the ``validate`` JSON shape and small
dataclasses). A write is one unit of work, ``with store.writing() as tx``, which writes
its audit events just before it commits (``desktop.storage.unit``).
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Engine
from sqlalchemy.orm import Session

from desktop.domain.datasets import DATASETS, KINDS
from desktop.domain.record import Context
from desktop.domain.spec import RefData
from desktop.domain.validation import Validator
from desktop.storage import audit, keys
from desktop.storage import backup as backup_files
from desktop.storage.attempts import Attempts
from desktop.storage.backup import newest_backup
from desktop.storage.caseload import Caseload, CaseloadQuery, CaseloadRow, ClientMatch
from desktop.storage.consent import Consent, ConsentRecord
from desktop.storage.db import Database, is_damage, is_storage_full, new_id, raw
from desktop.storage.engine import check_library, make_engine
from desktop.storage.episodes import Episodes, ImportResult, SavedEpisode, StoredEpisode
from desktop.storage.errors import (
    BackupChoice,
    DiskFull,
    ForeignFile,
    NewerStore,
    NoStore,
    StoreDamaged,
    StoreError,
    StoreExists,
    TryLater,
    WrongPassword,
)
from desktop.storage.location import (
    InstanceLock,
    backups_folder,
    check_location,
    default_store,
    keys_path,
)
from desktop.storage.maintenance import Backups
from desktop.storage.models import ITEM_TABLES, Setting, User
from desktop.storage.places import Places
from desktop.storage.unit import Unit, Units
from desktop.storage.users import UserInfo, Users, read_keys, wrap_for

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).resolve().parent / "migrations"

# The newest schema revision. A test checks it against the Alembic scripts, so the
# migration tool is loaded only when a store is created or needs upgrading.
HEAD_REVISION = "0006"


@dataclass(frozen=True, slots=True)
class StoreSettings:
    store_id: str
    agency: str
    kind: str  # "cjit" or "secure"
    dat: str | None

    @property
    def dataset(self) -> str:
        return KINDS[self.kind]


def _alembic(connection: Any) -> Any:
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.attributes["connection"] = connection
    return cfg


def _upgrade(connection: Any) -> None:
    from alembic import command

    command.upgrade(_alembic(connection), "head")


def head_revision() -> str:
    """The newest revision according to the Alembic scripts themselves."""
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(_alembic(None)).get_current_head()
    assert head is not None
    return head


def _revision(db: Any) -> str | None:
    """The store's schema revision, or None for a file without one."""
    table = db.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
    ).fetchone()
    if table is None:
        return None
    row = db.execute("SELECT version_num FROM alembic_version").fetchone()
    return None if row is None else str(row[0])


class Store:
    """An unlocked store. Create with :meth:`create` or :meth:`open`; end with :meth:`close`."""

    def __init__(
        self,
        path: Path,
        engine: Engine,
        key: bytearray,
        user: UserInfo,
        settings: StoreSettings,
        instance: InstanceLock,
        refdata: RefData,
        clock: Callable[[], datetime],
    ) -> None:
        self.path = path
        self._database = Database(engine, path)
        self._units = Units(self._database, settings.store_id)
        self._key = key
        self.user = user
        self.settings = settings
        self._instance = instance
        self.refdata = refdata
        self.clock = clock
        self._validators = {d: Validator(refdata, d) for d in DATASETS}
        self.episodes = Episodes(self)
        self.caseload = Caseload(self)
        self.consent = Consent(self)
        self.users = Users(self, key)
        self.backups = Backups(self, self._database, key)
        self.places = Places(self)

    # ------------------------------------------------------------------ life cycle

    @classmethod
    def create(
        cls,
        path: Path,
        *,
        agency: str,
        kind: str,
        user: str,
        password: str,
        refdata: RefData,
        dat: str | None = None,
        recovery_public: bytes | None = None,
        clock: Callable[[], datetime] = datetime.now,
    ) -> Store:
        """Set up a new, empty store whose first user is a manager."""
        if kind not in KINDS:
            raise StoreError("The store type must be 'cjit' or 'secure'.")
        if not agency.strip():
            raise StoreError("Give this team's NDTMS agency code.")
        if not user.strip():
            raise StoreError("Give the first manager's user name.")
        check_library()
        path = path.absolute()
        path.parent.mkdir(parents=True, exist_ok=True)
        check_location(path)
        if path.exists() or keys_path(path).exists():
            raise StoreExists(path)
        instance = InstanceLock(path)
        instance.acquire()
        key = keys.new_store_key()
        try:
            store_id = new_id()
            user_id = new_id()
            wrap = wrap_for(
                key, password, store_id=store_id, user_id=user_id, name=user.strip(),
                role="manager",
            )  # fmt: skip
            try:
                recovery = (
                    keys.wrap_for_recovery(key, recovery_public, store_id)
                    if recovery_public is not None
                    else None
                )
            except keys.KeyFileError as exc:
                raise StoreError(str(exc)) from None
            engine = make_engine(path, key)
            settings = StoreSettings(store_id, agency.strip().upper(), kind, dat)
            info = UserInfo(user_id, user.strip(), "manager")
            with engine.execution_options(writer=True).connect() as conn:
                _upgrade(conn)
                conn.commit()
            store = cls(path, engine, key, info, settings, instance, refdata, clock)
            with store.writing() as tx:
                now = audit.utcnow()
                for k, v in (
                    ("store_id", store_id),
                    ("agency", settings.agency),
                    ("kind", kind),
                    ("dat", dat or ""),
                    ("created_at", now.isoformat()),
                ):
                    tx.session.add(Setting(key=k, value=v))
                tx.session.add(User(id=user_id, name=info.name, role="manager", created_at=now))
                tx.session.flush()
                tx.audit("create", "store", store_id, {"agency": (None, settings.agency)})
            keys.write_keyfile(keys_path(path), keys.KeyFile(store_id, (wrap,), recovery))
            return store
        except BaseException:
            keys.zero(key)
            instance.release()
            raise

    @classmethod
    def open(
        cls,
        path: Path,
        user: str | None,
        password: str,
        *,
        refdata: RefData,
        clock: Callable[[], datetime] = datetime.now,
        wall: Callable[[], float] = time.time,
    ) -> Store:
        """Unlock a store with one user's password (migrating it, after a backup, if older)."""
        check_library()
        path = path.absolute()
        if not path.is_file():
            raise NoStore(path)
        if path.stat().st_size < 4096:
            raise StoreDamaged("the file is empty or cut short", newest_backup(path))
        check_location(path)
        attempts = Attempts(path.with_name(path.name + ".attempts"), wall)
        wait = attempts.wait_seconds()
        if wait > 0:
            raise TryLater(wait)
        keyfile = read_keys(path)
        if user is None and len(keyfile.wraps) != 1:
            raise StoreError(
                "This store has several users: say which user you are"
                " (PATHWAY_USER on the command line)."
            )
        name = user if user is not None else keyfile.names()[0]
        try:
            key, wrap = keys.unwrap_key(keyfile, name, password)
        except keys.WrongPassword:
            attempts.failed()
            raise WrongPassword() from None
        attempts.succeeded()
        instance = InstanceLock(path)
        try:
            instance.acquire()
        except BaseException:
            keys.zero(key)
            raise
        _clear_stale_temporaries(path)
        try:
            engine = make_engine(path, key)
            settings = cls._checked_open(path, engine, key, keyfile.store_id, clock)
            info = UserInfo(wrap.user_id, wrap.name, wrap.role)
            store = cls(path, engine, key, info, settings, instance, refdata, clock)
            with store.reading() as s:
                row = s.get(User, wrap.user_id)
                if row is None or row.removed_at is not None:
                    raise WrongPassword()
            with store.writing() as tx:
                tx.audit("unlock", "user", info.id)
            return store
        except BaseException:
            with contextlib.suppress(Exception):
                engine.dispose()
            keys.zero(key)
            instance.release()
            raise

    @classmethod
    def recover(
        cls,
        path: Path,
        private_pem: bytes,
        name: str,
        new_password: str,
        *,
        refdata: RefData,
        clock: Callable[[], datetime] = datetime.now,
    ) -> Store:
        """Give a user a new password with the organisational recovery key, then unlock.

        For a store whose only manager has left or forgotten their password; it needs the
        private key kept offline by the organisation, and leaves an audit event.
        """
        path = path.absolute()
        if not path.is_file():
            raise NoStore(path)
        keyfile = read_keys(path)
        try:
            key = keys.unwrap_recovery(keyfile, private_pem)
        except keys.KeyFileError as exc:
            raise StoreError(str(exc)) from None
        try:
            wrap = keyfile.find(name)
            if wrap is None:
                raise StoreError(f"There is no user called {name}.")
            fresh = wrap_for(
                key, new_password, store_id=keyfile.store_id, user_id=wrap.user_id,
                name=wrap.name, role=wrap.role,
            )  # fmt: skip
        finally:
            keys.zero(key)
        keys.write_keyfile(keys_path(path), keyfile.with_wrap(fresh))
        Attempts(path.with_name(path.name + ".attempts")).succeeded()
        store = cls.open(path, wrap.name, new_password, refdata=refdata, clock=clock)
        with store.writing() as tx:
            tx.audit("recover", "user", wrap.user_id)
        return store

    @staticmethod
    def _checked_open(
        path: Path,
        engine: Engine,
        key: bytearray,
        store_id: str,
        clock: Callable[[], datetime],
    ) -> StoreSettings:
        """Open, check integrity, confirm it is the store the keys belong to, migrate."""
        try:
            with engine.connect() as conn:
                db = raw(conn)
                problems = [str(r[0]) for r in db.execute("PRAGMA quick_check").fetchall()]
                if problems != ["ok"]:
                    log.error("store failed quick_check at unlock (%d findings)", len(problems))
                    raise StoreDamaged("a check of its pages failed", newest_backup(path))
                current = _revision(db)
                found = dict(
                    db.execute("SELECT key, value FROM settings").fetchall()
                    if current is not None
                    else []
                )
        except StoreError:
            raise
        except Exception as exc:
            if is_damage(exc):
                raise StoreDamaged("it does not open", newest_backup(path)) from None
            if is_storage_full(exc):
                raise DiskFull() from None
            raise
        if current is None or found.get("store_id") != store_id:
            raise ForeignFile(path)
        if current != HEAD_REVISION:
            from alembic.script import ScriptDirectory

            script = ScriptDirectory.from_config(_alembic(None))
            if current not in {r.revision for r in script.walk_revisions()}:
                raise NewerStore()
            with engine.connect() as conn:
                backup_files.make_backup(
                    raw(conn),
                    key,
                    path,
                    keys_path(path),
                    backups_folder(path),
                    "before-upgrade",
                    clock(),
                )
            with engine.execution_options(writer=True).connect() as conn:
                _upgrade(conn)
                conn.commit()
        return StoreSettings(
            store_id=store_id,
            agency=found.get("agency", ""),
            kind=found.get("kind", "cjit"),
            dat=found.get("dat") or None,
        )

    @property
    def is_open(self) -> bool:
        return self._database.is_open

    def close(self, backup_reason: str | None = "close") -> BackupChoice | None:
        """Take a checked backup (unless told not to), then forget the key and unlock the file."""
        made: BackupChoice | None = None
        if not self._database.is_open:
            return None
        try:
            if backup_reason is not None:
                with contextlib.suppress(StoreError, backup_files.BackupFailed):
                    info = self.backups.backup(backup_reason)
                    made = BackupChoice(info.path, info.taken)
            with contextlib.suppress(StoreError), self.writing() as tx:
                tx.audit("lock", "user", self.user.id)
        finally:
            self._database.close()
            keys.zero(self._key)
            self._instance.release()
        return made

    def lock(self) -> BackupChoice | None:
        """The same as :meth:`close`: the store must be unlocked again with a password."""
        return self.close("lock")

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ units of work

    @property
    def database(self) -> Database:
        """The open database (its engine and connections), for integrity checks and for
        inspecting how the engine is set up; records are read and written through the
        parts and :meth:`reading` / :meth:`writing`."""
        return self._database

    @property
    def key(self) -> bytearray:
        """The store key in memory while the store is open (zeroed when it locks); checking
        a copy of the store (a backup) needs it."""
        return self._key

    def reading(self) -> contextlib.AbstractContextManager[Session]:
        """One read transaction: ``with store.reading() as session``."""
        return self._database.reading()

    def writing(self) -> contextlib.AbstractContextManager[Unit]:
        """One write transaction by this user: ``with store.writing() as tx``; its audit
        events (``tx.audit``) are written just before it commits."""
        return self._units.writing(self.user.id)

    # ------------------------------------------------------------------ rules

    def validator(self, dataset: str) -> Validator:
        return self._validators[dataset]

    def context(self, today: date | None = None) -> Context:
        return Context(today=today or self.clock().date(), agency_dat=self.settings.dat)


def _clear_stale_temporaries(store: Path) -> None:
    """Half-written key files left by a crash (only ours can exist while we hold the lock)."""
    for stale in store.parent.glob(f".{store.name}.keys.*.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()


# The names the rest of the application reads a store with, from their parts.
__all__ = [
    "HEAD_REVISION",
    "ITEM_TABLES",
    "KINDS",
    "MIGRATIONS",
    "CaseloadQuery",
    "CaseloadRow",
    "ClientMatch",
    "ConsentRecord",
    "ImportResult",
    "SavedEpisode",
    "Store",
    "StoreSettings",
    "StoredEpisode",
    "UserInfo",
    "backups_folder",
    "default_store",
    "head_revision",
    "keys_path",
    "new_id",
    "newest_backup",
]
