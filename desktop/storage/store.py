"""An open, unlocked store: the only door to the records for the window and the command line.

``Store.create`` sets up a new store; ``Store.open`` unlocks one with a user's password;
``lock`` and ``close`` take a checked backup and forget the key. Every method takes and
returns plain records (dicts in the ``validate`` JSON shape and small dataclasses), never
a database session.
"""

from __future__ import annotations

import contextlib
import json
import logging
import time
import uuid
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

import sqlcipher3
from sqlalchemy import Engine, delete, func, insert, literal_column, or_, select
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from desktop import CMSID
from desktop.domain import prison
from desktop.domain.findings import Severity
from desktop.domain.record import Context
from desktop.domain.spec import DatasetSpec, Level, RefData
from desktop.domain.summary import Summary, summarise
from desktop.domain.validation import Validator
from desktop.storage import audit, keys
from desktop.storage import backup as backup_files
from desktop.storage.attempts import Attempts
from desktop.storage.engine import check_library, make_engine
from desktop.storage.errors import (
    BackupChoice,
    DiskFull,
    ForeignFile,
    ImportRejected,
    NewerStore,
    NoStore,
    NotPermitted,
    RecordNotFound,
    StoreDamaged,
    StoreError,
    StoreExists,
    WrongPassword,
)
from desktop.storage.location import InstanceLock, check_location
from desktop.storage.models import (
    Client,
    ConsentEvent,
    Draft,
    Episode,
    Intervention,
    ItemRow,
    Referral,
    Setting,
    User,
)

log = logging.getLogger(__name__)

DATASETS = ("cjit-q", "secure-r")
KINDS = {"cjit": "cjit-q", "secure": "secure-r"}
BACKUP_EVERY = timedelta(hours=1)
MIGRATIONS = Path(__file__).resolve().parent / "migrations"
ITEM_TABLES: dict[str, type[ItemRow]] = {
    "cjit-q": Referral,
    "secure-r": Intervention,
}
def _raw(conn: Any) -> Any:
    """The keyed ``sqlcipher3`` connection under a SQLAlchemy connection."""
    return conn.connection.dbapi_connection


def new_id() -> str:
    """A random technical id: 32 hex digits, identifying no one, unique across laptops."""
    return uuid.uuid4().hex


def keys_path(store: Path) -> Path:
    return store.with_name(store.name + ".keys")


def backups_folder(store: Path) -> Path:
    return store.with_name(store.stem + "-backups")


def default_store(data_dir: Path) -> Path:
    return data_dir / "pathway.store"


@dataclass(frozen=True, slots=True)
class UserInfo:
    id: str
    name: str
    role: str

    @property
    def is_manager(self) -> bool:
        return self.role == "manager"


@dataclass(frozen=True, slots=True)
class StoreSettings:
    store_id: str
    agency: str
    kind: str  # "cjit" or "secure"
    dat: str | None

    @property
    def dataset(self) -> str:
        return KINDS[self.kind]


@dataclass(frozen=True, slots=True)
class SavedEpisode:
    """``client_changed``: the client-level fields this save changed (they hold for every
    episode of the client); ``other_episodes``: how many other episodes the client has."""

    client_id: str
    episode_id: str
    version: int
    summary: Summary
    client_changed: tuple[str, ...] = ()
    other_episodes: int = 0


@dataclass(frozen=True, slots=True)
class StoredEpisode:
    """One episode as entered: ``raw`` holds client and episode fields plus the items list."""

    dataset: str
    raw: dict[str, object]
    client_id: str
    episode_id: str
    client_name: str | None
    client_notes: str | None
    notes: str | None
    state: str
    version: int
    owner: str
    updated_at: datetime


@dataclass(frozen=True, slots=True)
class CaseloadQuery:
    dataset: str | None = None
    search: str | None = None  # client reference, initials, or date of birth (YYYY-MM-DD)
    owner_id: str | None = None
    open_only: bool = False
    closed_from: date | None = None
    closed_to: date | None = None
    with_errors: bool = False
    order_by: str = "updated_at"
    descending: bool = True
    offset: int = 0
    limit: int = 200
    extract: tuple[str, ...] = ()  # stored field values to bring back with each row
    states: tuple[str, ...] = ()  # only episodes in one of these workflow states
    fields_in: tuple[tuple[str, tuple[str, ...]], ...] = ()  # stored field holds one of codes


@dataclass(frozen=True, slots=True)
class CaseloadRow:
    episode_id: str
    client_id: str
    dataset: str
    client_ref: str | None
    finitial: str | None
    sinitial: str | None
    dob: date | None
    state: str
    opened_on: date | None
    closed_on: date | None
    consent: str | None
    errors: int
    warnings: int
    last_contact: date | None
    owner_id: str
    updated_at: datetime
    extra: Mapping[str, object] = field(default_factory=dict)  # the query's ``extract``


@dataclass(frozen=True, slots=True)
class ClientMatch:
    client_id: str
    client_ref: str | None
    name: str | None
    episodes: int
    last_opened: date | None


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    kind: str
    value: str
    recorded_on: date
    recorded_by: str
    agencies: str | None
    episode_id: str | None


@dataclass(frozen=True, slots=True)
class ImportResult:
    episodes: int
    warnings: int


@dataclass(slots=True)
class _Split:
    client: dict[str, object] = field(default_factory=dict)
    episode: dict[str, object] = field(default_factory=dict)
    items: list[dict[str, object]] = field(default_factory=list)


# The newest schema revision. A test checks it against the Alembic scripts, so the
# migration tool is loaded only when a store is created or needs upgrading.
HEAD_REVISION = "0006"


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


def _revision(raw: Any) -> str | None:
    """The store's schema revision, or None for a file without one."""
    table = raw.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'alembic_version'"
    ).fetchone()
    if table is None:
        return None
    row = raw.execute("SELECT version_num FROM alembic_version").fetchone()
    return None if row is None else str(row[0])


def _json(values: Mapping[str, object]) -> str:
    return json.dumps(values, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _loads(text: str | None) -> dict[str, object]:
    if not text:
        return {}
    value = json.loads(text)
    return value if isinstance(value, dict) else {}


def _diff(old: Mapping[str, object], new: Mapping[str, object]) -> dict[str, tuple[object, object]]:
    return {
        k: (old.get(k), new.get(k)) for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)
    }


def _stamp(moment: datetime) -> str:
    """A timestamp as SQLAlchemy's DateTime stores it in SQLite."""
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f")


def _day(day: date | None) -> str | None:
    return None if day is None else day.isoformat()


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


def _is_storage_full(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "disk is full" in text or "disk i/o error" in text or "database or disk is full" in text


def _is_damage(exc: BaseException) -> bool:
    text = str(exc).lower()
    return "malformed" in text or "not a database" in text or "hmac" in text or "corrupt" in text


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
        self._engine: Engine | None = engine
        self._writer = engine.execution_options(writer=True)
        self._key = key
        self.user = user
        self.settings = settings
        self._instance = instance
        self.refdata = refdata
        self._clock = clock
        self._validators = {d: Validator(refdata, d) for d in DATASETS}
        self.last_backup: datetime | None = None
        self._pending: list[audit.Pending] = []
        self._head: tuple[int, str] | None = None  # the audit chain's newest (seq, hash)

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
            try:
                wrap = keys.wrap_key(
                    key,
                    password,
                    store_id=store_id,
                    user_id=user_id,
                    name=user.strip(),
                    role="manager",
                )
            except ValueError as exc:
                raise StoreError(f"{str(exc).capitalize()}.") from None
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
            with store._write() as s:
                now = store._utcnow()
                for k, v in (
                    ("store_id", store_id),
                    ("agency", settings.agency),
                    ("kind", kind),
                    ("dat", dat or ""),
                    ("created_at", now.isoformat()),
                ):
                    s.add(Setting(key=k, value=v))
                s.add(User(id=user_id, name=info.name, role="manager", created_at=now))
                s.flush()
                store._audit(s, "create", "store", store_id, {"agency": (None, settings.agency)})
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
            from desktop.storage.errors import TryLater

            raise TryLater(wait)
        keyfile = cls._read_keys(path)
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
            with store._read() as s:
                row = s.get(User, wrap.user_id)
                if row is None or row.removed_at is not None:
                    raise WrongPassword()
            with store._write() as s:
                store._audit(s, "unlock", "user", info.id)
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
        keyfile = cls._read_keys(path)
        try:
            key = keys.unwrap_recovery(keyfile, private_pem)
        except keys.KeyFileError as exc:
            raise StoreError(str(exc)) from None
        try:
            wrap = keyfile.find(name)
            if wrap is None:
                raise StoreError(f"There is no user called {name}.")
            try:
                fresh = keys.wrap_key(
                    key,
                    new_password,
                    store_id=keyfile.store_id,
                    user_id=wrap.user_id,
                    name=wrap.name,
                    role=wrap.role,
                )
            except ValueError as exc:
                raise StoreError(f"{str(exc).capitalize()}.") from None
        finally:
            keys.zero(key)
        keys.write_keyfile(keys_path(path), keyfile.with_wrap(fresh))
        Attempts(path.with_name(path.name + ".attempts")).succeeded()
        store = cls.open(path, wrap.name, new_password, refdata=refdata, clock=clock)
        with store._write() as s:
            store._audit(s, "recover", "user", wrap.user_id)
        return store

    @staticmethod
    def _read_keys(path: Path) -> keys.KeyFile:
        try:
            return keys.read_keyfile(keys_path(path))
        except keys.KeyFileError as exc:
            raise StoreDamaged(str(exc).rstrip("."), newest_backup(path)) from None

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
                raw = _raw(conn)
                problems = [str(r[0]) for r in raw.execute("PRAGMA quick_check").fetchall()]
                if problems != ["ok"]:
                    log.error("store failed quick_check at unlock (%d findings)", len(problems))
                    raise StoreDamaged("a check of its pages failed", newest_backup(path))
                current = _revision(raw)
                found = dict(
                    raw.execute("SELECT key, value FROM settings").fetchall()
                    if current is not None
                    else []
                )
        except StoreError:
            raise
        except Exception as exc:
            if _is_damage(exc):
                raise StoreDamaged("it does not open", newest_backup(path)) from None
            if _is_storage_full(exc):
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
                    _raw(conn),
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
        return self._engine is not None

    def close(self, backup_reason: str | None = "close") -> BackupChoice | None:
        """Take a checked backup (unless told not to), then forget the key and unlock the file."""
        made: BackupChoice | None = None
        if self._engine is None:
            return None
        try:
            if backup_reason is not None:
                with contextlib.suppress(StoreError, backup_files.BackupFailed):
                    info = self.backup(backup_reason)
                    made = BackupChoice(info.path, info.taken)
            with contextlib.suppress(StoreError), self._write() as s:
                self._audit(s, "lock", "user", self.user.id)
        finally:
            engine, self._engine = self._engine, None
            engine.dispose()
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

    # ------------------------------------------------------------------ sessions

    def _utcnow(self) -> datetime:
        return audit.utcnow()

    def _live(self) -> Engine:
        if self._engine is None:
            raise StoreError("The store is locked. Unlock it with your password.")
        return self._engine

    @contextlib.contextmanager
    def _read(self) -> Iterator[Session]:
        self._live()
        try:
            with Session(self._live(), expire_on_commit=False) as s, s.begin():
                yield s
        except DBAPIError as exc:
            raise self._translate(exc) from None

    @contextlib.contextmanager
    def _write(self) -> Iterator[Session]:
        """One write transaction; its audit events are chained and written just before commit."""
        self._live()
        self._pending = []
        try:
            with Session(self._writer, expire_on_commit=False) as s, s.begin():
                yield s
                s.flush()
                head = audit.append_all(s, self.settings.store_id, self._pending, self._head)
            self._head = head or self._head
        except (DBAPIError, sqlcipher3.Error) as exc:
            self._head = None  # read it again from the store next time
            raise self._translate(exc) from None
        except BaseException:
            self._head = None
            raise
        finally:
            self._pending = []

    def _translate(self, exc: Exception) -> Exception:
        if _is_storage_full(exc):
            log.warning("store write failed: storage full or I/O error")
            return DiskFull()
        if _is_damage(exc):
            log.error("store read failed: damage detected")
            return StoreDamaged("a page failed its check", newest_backup(self.path))
        if isinstance(exc, (sqlcipher3.IntegrityError, IntegrityError)):
            log.error("store write refused by a constraint")
            return StoreError("This could not be saved because it conflicts with a saved record.")
        return exc

    def _audit(
        self,
        s: Session,
        action: str,
        entity: str,
        entity_id: str | None,
        changes: audit.Changes | None = None,
    ) -> None:
        del s  # written with the rest of the transaction's events, just before commit
        self._pending.append(
            audit.pending(
                user_id=self.user.id,
                action=action,
                entity=entity,
                entity_id=entity_id,
                changes=changes,
            )
        )

    def _require_manager(self, what: str) -> None:
        if not self.user.is_manager:
            raise NotPermitted(what)

    # ------------------------------------------------------------------ episodes

    def _own_dataset(self, dataset: str | None) -> str:
        """A store keeps one team's dataset: a CJIT store never holds prison episodes."""
        own = self.settings.dataset
        if dataset is not None and dataset != own:
            other = self.refdata.datasets.get(dataset)
            raise StoreError(
                f"This store is for {self.refdata.datasets[own].title}; that record is for"
                f" {other.title if other is not None else dataset}."
            )
        return own

    def validator(self, dataset: str) -> Validator:
        return self._validators[dataset]

    def context(self, today: date | None = None) -> Context:
        return Context(today=today or self._clock().date(), agency_dat=self.settings.dat)

    def _split(self, spec: DatasetSpec, raw: Mapping[str, object]) -> _Split:
        split = _Split()
        for key, value in raw.items():
            if key == spec.items_key:
                continue
            if _blank(value):
                continue
            fs = spec.by_header.get(key)
            if fs is not None and fs.level is Level.CLIENT:
                split.client[key] = value
            else:
                split.episode[key] = value
        items = raw.get(spec.items_key)
        if isinstance(items, list):
            for item in items:
                if isinstance(item, Mapping):
                    split.items.append({str(k): v for k, v in item.items() if not _blank(v)})
        return split

    def prepare(self, raw: Mapping[str, object], dataset: str) -> dict[str, object]:
        """Fill what the system provides: technical ids, AGNCY and CMSID."""
        spec = self.refdata.datasets[dataset]
        out: dict[str, object] = dict(raw)
        for header in ("CLIENTID", "EPISODID"):
            if _blank(out.get(header)):
                out[header] = new_id()
        if _blank(out.get("AGNCY")):
            out["AGNCY"] = self.settings.agency
        out["CMSID"] = CMSID
        id_header = spec.item_fields[0].header if spec.item_fields else None
        items = out.get(spec.items_key)
        if isinstance(items, list) and id_header:
            filled = []
            for item in items:
                if isinstance(item, Mapping):
                    item = dict(item)
                    if _blank(item.get(id_header)):
                        item[id_header] = new_id()
                filled.append(item)
            out[spec.items_key] = filled
        return out

    def save_episode(
        self,
        raw: Mapping[str, object],
        *,
        dataset: str | None = None,
        client_name: str | None = None,
        client_notes: str | None = None,
        notes: str | None = None,
        last_contact: date | None = None,
        today: date | None = None,
        consent_on: date | None = None,
        cleared: Collection[str] = (),
    ) -> SavedEpisode:
        """Save one episode (new or changed) with its client and items in one transaction.

        What is saved is the record: there is no second, "final" state. Whatever was
        entered is kept, even values that do not pass the rules yet; the findings come
        back in the summary. "Saved" may be shown once this returns. A client detail left
        blank never erases the one stored for the client (a returning client's new
        sheet); ``cleared`` names the client fields the worker emptied on purpose. A
        changed NDTMS consent answer is a consent event dated ``consent_on`` (default
        today), recorded by this user in the same transaction.
        """
        dataset = self._own_dataset(dataset)
        prepared = self.prepare(raw, dataset)
        with self._write() as s:
            return self._store_episode(
                s,
                dataset,
                prepared,
                client_name=client_name,
                client_notes=client_notes,
                notes=notes,
                last_contact=last_contact,
                consent_on=consent_on or today,
                today=today,
                cleared=cleared,
            )

    def _store_episode(
        self,
        s: Session,
        dataset: str,
        raw: Mapping[str, object],
        *,
        summary: Summary | None = None,
        client_name: str | None = None,
        client_notes: str | None = None,
        notes: str | None = None,
        last_contact: date | None = None,
        consent_on: date | None = None,
        today: date | None = None,
        cleared: Collection[str] = (),
    ) -> SavedEpisode:
        """Write one episode with plain statements on the session's connection.

        This is the path every keystroke-driven autosave takes, so it issues the fewest
        statements that do the job: one read and one write per table, items in one batch.
        The client's stored details fill the client fields ``raw`` leaves blank (except
        those in ``cleared``); ``summary`` is worked out here unless the caller has it for
        exactly this record.
        """
        db = _raw(s.connection())
        spec = self.refdata.datasets[dataset]
        client_id = str(raw["CLIENTID"])
        episode_id = str(raw["EPISODID"])
        now = self._utcnow()
        stamp = _stamp(now)
        found = db.execute(
            "SELECT fields, name, notes, client_ref, finitial, sinitial, dob, sex"
            " FROM clients WHERE id = ?",
            (client_id,),
        ).fetchone()
        old_client: dict[str, object] = {}
        if found is not None:
            stored = _loads(found[0])
            kept = {
                k: v for k, v in stored.items() if k not in cleared and _blank(raw.get(k))
            }
            if kept:  # blanks on this sheet never erase what is known of the client
                raw = {**raw, **kept}
                summary = None
            old_client = {**stored, "name": found[1], "notes": found[2]}
        if summary is None:
            summary = summarise(
                self._validators[dataset], self.refdata, dict(raw), self.context(today)
            )
        split = self._split(spec, raw)
        name = old_client.get("name") if client_name is None else (client_name or None)
        cnotes = old_client.get("notes") if client_notes is None else (client_notes or None)
        client_values = (
            _json(split.client),
            summary.client_ref,
            summary.finitial,
            summary.sinitial,
            _day(summary.dob),
            summary.sex,
            name,
            cnotes,
            stamp,
        )
        if found is None:
            db.execute(
                "INSERT INTO clients (fields, client_ref, finitial, sinitial, dob, sex, name,"
                " notes, updated_at, created_at, id) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (*client_values, stamp, client_id),
            )
        elif tuple(found) != (
            client_values[0],
            name,
            cnotes,
            *client_values[1:6],
        ):  # an episode-only change leaves the client row alone
            db.execute(
                "UPDATE clients SET fields = ?, client_ref = ?, finitial = ?, sinitial = ?,"
                " dob = ?, sex = ?, name = ?, notes = ?, updated_at = ? WHERE id = ?",
                (*client_values, client_id),
            )
        client_changes = _diff(old_client, {**split.client, "name": name, "notes": cnotes})
        if client_changes or found is None:
            self._audit(
                s, "create" if found is None else "update", "client", client_id, client_changes
            )

        row = db.execute(
            "SELECT dataset, client_id, fields, notes, consent, version, last_contact"
            " FROM episodes WHERE id = ?",
            (episode_id,),
        ).fetchone()
        old_episode: dict[str, object] = {}
        old_consent: str | None = None
        version = 1
        contact = _day(last_contact)
        if row is not None:
            if row[0] != dataset:
                raise StoreError("That episode belongs to the other dataset; it was not changed.")
            if row[1] != client_id:
                raise StoreError("An episode cannot be moved to another client.")
            old_episode = {**_loads(row[2]), "notes": row[3]}
            old_consent = row[4]
            version = int(row[5]) + 1
            contact = contact or row[6]
        enotes = old_episode.get("notes") if notes is None else (notes or None)
        contact = contact or _day(summary.opened_on)
        episode_values = (
            _json(split.episode),
            enotes,
            summary.state,
            _day(summary.opened_on),
            _day(summary.closed_on),
            summary.consent,
            summary.errors,
            summary.warnings,
            contact,
            version,
            stamp,
        )
        if row is None:
            db.execute(
                "INSERT INTO episodes (fields, notes, state, opened_on, closed_on,"
                " consent, errors, warnings, last_contact, version, updated_at, id, client_id,"
                " dataset, owner_id, created_at) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (*episode_values, episode_id, client_id, dataset, self.user.id, stamp),
            )
        else:
            db.execute(
                "UPDATE episodes SET fields = ?, notes = ?, state = ?, opened_on = ?,"
                " closed_on = ?, consent = ?, errors = ?, warnings = ?, last_contact = ?,"
                " version = ?, updated_at = ? WHERE id = ?",
                (*episode_values, episode_id),
            )
        changes = _diff(old_episode, {**split.episode, "notes": enotes})
        if changes or row is None:
            self._audit(s, "create" if row is None else "update", "episode", episode_id, changes)
        self._store_items(s, db, dataset, episode_id, split.items)
        if summary.consent_decision is not None and summary.consent != old_consent:
            db.execute(
                "INSERT INTO consent_events (id, client_id, episode_id, kind, value, agencies,"
                " recorded_on, recorded_by, recorded_at) VALUES (?,?,?,?,?,?,?,?,?)",
                (
                    new_id(),
                    client_id,
                    episode_id,
                    "ndtms",
                    summary.consent_decision,
                    None,
                    _day(consent_on or today or self._clock().date()),
                    self.user.id,
                    stamp,
                ),
            )
            self._audit(
                s, "consent", "episode", episode_id, {"CONSENT": (old_consent, summary.consent)}
            )
        others = 0
        if found is not None and client_changes:
            others = int(
                db.execute(
                    "SELECT count(*) FROM episodes WHERE client_id = ? AND id != ?",
                    (client_id, episode_id),
                ).fetchone()[0]
            )
        return SavedEpisode(
            client_id,
            episode_id,
            version,
            summary,
            tuple(k for k in client_changes if k not in ("name", "notes")) if found else (),
            others,
        )

    def _store_items(
        self, s: Session, db: Any, dataset: str, episode_id: str, items: list[dict[str, object]]
    ) -> None:
        table = ITEM_TABLES[dataset].__tablename__
        spec = self.refdata.datasets[dataset]
        id_header = spec.item_fields[0].header
        entity = spec.item_label.lower()
        existing = {
            str(r[0]): (int(r[1]), str(r[2]))
            for r in db.execute(
                f"SELECT id, position, fields FROM {table} WHERE episode_id = ?", (episode_id,)
            ).fetchall()
        }
        given = [str(item.get(id_header)) for item in items if item.get(id_header)]
        elsewhere = [i for i in given if i not in existing]
        if elsewhere:
            marks = ",".join("?" * len(elsewhere))
            taken = db.execute(
                f"SELECT count(*) FROM {table} WHERE id IN ({marks})", elsewhere
            ).fetchone()[0]
            if taken:
                raise StoreError(f"That {entity} belongs to another episode; nothing was saved.")
        seen: set[str] = set()
        inserts: list[tuple[object, ...]] = []
        updates: list[tuple[object, ...]] = []
        for position, item in enumerate(items):
            item_id = str(item.get(id_header) or new_id())
            if item_id in seen:
                raise StoreError(f"Two {entity}s share the id {item_id}; nothing was saved.")
            seen.add(item_id)
            values = {k: v for k, v in item.items() if k != id_header}
            encoded = _json(values)
            before = existing.get(item_id)
            if before is None:
                inserts.append((item_id, episode_id, position, encoded))
                self._audit(s, "create", entity, item_id, _diff({}, values))
            elif before != (position, encoded):
                updates.append((position, encoded, item_id))
                old = _loads(before[1])
                if old != values:
                    self._audit(s, "update", entity, item_id, _diff(old, values))
        if inserts:
            db.executemany(
                f"INSERT INTO {table} (id, episode_id, position, fields) VALUES (?,?,?,?)",
                inserts,
            )
        if updates:
            db.executemany(f"UPDATE {table} SET position = ?, fields = ? WHERE id = ?", updates)
        gone = [item_id for item_id in existing if item_id not in seen]
        for item_id in gone:
            self._audit(s, "delete", entity, item_id, _diff(_loads(existing[item_id][1]), {}))
        if gone:
            db.executemany(f"DELETE FROM {table} WHERE id = ?", [(i,) for i in gone])

    def load_episode(self, episode_id: str) -> StoredEpisode:
        with self._read() as s:
            episode = s.get(Episode, episode_id)
            if episode is None:
                raise RecordNotFound("That episode")
            client = episode.client
            spec = self.refdata.datasets[episode.dataset]
            table = ITEM_TABLES[episode.dataset]
            id_header = spec.item_fields[0].header
            rows = s.execute(
                select(table).where(table.episode_id == episode_id).order_by(table.position)
            ).scalars()
            items: list[dict[str, object]] = [
                {id_header: row.id, **_loads(row.fields)} for row in rows
            ]
            raw: dict[str, object] = {**_loads(client.fields), **_loads(episode.fields)}
            raw[spec.items_key] = items
            return StoredEpisode(
                dataset=episode.dataset,
                raw=raw,
                client_id=client.id,
                episode_id=episode.id,
                client_name=client.name,
                client_notes=client.notes,
                notes=episode.notes,
                state=episode.state,
                version=episode.version,
                owner=episode.owner_id,
                updated_at=episode.updated_at,
            )

    def reopen_episode(
        self, episode_id: str, reason: str, today: date | None = None
    ) -> SavedEpisode:
        """Re-open a prison episode as dataset R allows (DISD; appendix D court transfers).

        The discharge and exit are cleared, the old interventions stay closed, and the
        re-open is an audit event with its reason. Refused with a plain message otherwise.
        """
        stored = self.load_episode(episode_id)
        if stored.dataset != KINDS["secure"]:
            raise StoreError("Only a prison episode is re-opened; a CJIT case is not.")
        try:
            why = prison.ReopenReason(reason)
        except ValueError:
            raise StoreError("Choose why the episode is re-opened.") from None
        now = self._clock().date()
        day = today or now  # the day the client came back
        if day > now:
            raise StoreError(
                f"The return date {day:%d/%m/%Y} is after today: re-open on the day the"
                " client is back."
            )
        spec, validator = self.refdata.datasets[stored.dataset], self._validators[stored.dataset]
        record, _ = validator.check(stored.raw, self.context(day))
        decision = prison.can_reopen(record, spec, self.refdata, why, day)
        if not decision.allowed:
            raise StoreError(decision.message)
        raw = prison.reopen_changes(stored.raw, spec, record, why, day)
        raw.update(CLIENTID=stored.client_id, EPISODID=episode_id)
        with self._write() as s:
            saved = self._store_episode(s, stored.dataset, raw, consent_on=day, today=day)
            self._audit(s, "reopen", "episode", episode_id, {"reason": (None, str(why))})
        return saved

    def _sent(self, s: Session, episode_id: str) -> bool:
        """Whether NDTMS has received this episode in a submission file."""
        row = _raw(s.connection()).execute(
            "SELECT 1 FROM exported_values WHERE episode_id = ?", (episode_id,)
        ).fetchone()
        return row is not None

    def delete_episode(self, episode_id: str) -> None:
        """Delete an episode (a manager, or the worker who recorded it while NDTMS has not
        received it).

        The client goes too when this was their only episode. Both are audit events.
        """
        with self._write() as s:
            episode = s.get(Episode, episode_id)
            if episode is None:
                raise RecordNotFound("That episode")
            own_unsent = episode.owner_id == self.user.id and not self._sent(s, episode_id)
            if not (self.user.is_manager or own_unsent):
                raise NotPermitted(
                    "delete an episode that another worker recorded or that NDTMS has received"
                )
            client_id = episode.client_id
            table = ITEM_TABLES[episode.dataset]
            s.execute(delete(table).where(table.episode_id == episode_id))
            s.execute(delete(ConsentEvent).where(ConsentEvent.episode_id == episode_id))
            self._audit(s, "delete", "episode", episode_id, _diff(_loads(episode.fields), {}))
            s.delete(episode)
            s.flush()
            others = s.scalar(select(func.count()).where(Episode.client_id == client_id))
            if not others:
                client = s.get(Client, client_id)
                if client is not None:
                    s.execute(delete(ConsentEvent).where(ConsentEvent.client_id == client_id))
                    self._audit(s, "delete", "client", client_id, _diff(_loads(client.fields), {}))
                    s.delete(client)

    def client_fields(self, client_id: str) -> dict[str, object]:
        """The client-level NDTMS fields stored for a client (the same for all its episodes)."""
        with self._read() as s:
            client = s.get(Client, client_id)
            if client is None:
                raise RecordNotFound("That client")
            return _loads(client.fields)

    def link_episode(self, episode_id: str, client_id: str) -> None:
        """Make a new contact an episode of an existing client (a returning client).

        The contact's own client, made when the sheet was first saved, goes; the existing
        client's details stay as they are, and the contact's consent decisions move with it
        (the newest decides, as always). Only a contact that is its client's only episode
        and that NDTMS has not received is moved; audited as a link and a delete.
        """
        with self._write() as s:
            db = _raw(s.connection())
            row = db.execute(
                "SELECT client_id, owner_id FROM episodes WHERE id = ?", (episode_id,)
            ).fetchone()
            if row is None:
                raise RecordNotFound("That episode")
            old = str(row[0])
            if old == client_id:
                return
            if db.execute("SELECT 1 FROM clients WHERE id = ?", (client_id,)).fetchone() is None:
                raise RecordNotFound("That client")
            others = db.execute(
                "SELECT count(*) FROM episodes WHERE client_id = ? AND id != ?",
                (old, episode_id),
            ).fetchone()[0]
            if others or self._sent(s, episode_id):
                raise StoreError(
                    "Only a new contact can be joined to an existing client; this episode"
                    " already belongs to a client with other episodes or was sent to NDTMS."
                )
            if str(row[1]) != self.user.id and not self.user.is_manager:
                raise NotPermitted("join another worker's contact to a client")
            stamp = _stamp(self._utcnow())
            db.execute(
                "UPDATE episodes SET client_id = ?, version = version + 1, updated_at = ?"
                " WHERE id = ?",
                (client_id, stamp, episode_id),
            )
            db.execute(
                "UPDATE consent_events SET client_id = ? WHERE client_id = ?", (client_id, old)
            )
            self._audit(s, "link", "episode", episode_id, {"client": (old, client_id)})
            gone = db.execute("SELECT fields FROM clients WHERE id = ?", (old,)).fetchone()
            db.execute("DELETE FROM clients WHERE id = ?", (old,))
            self._audit(s, "delete", "client", old, _diff(_loads(gone[0] if gone else None), {}))

    def caseload(self, query: CaseloadQuery = CaseloadQuery()) -> list[CaseloadRow]:
        """One page of the caseload, sorted and filtered in the store (never every row)."""
        columns = {
            "updated_at": Episode.updated_at,
            "opened_on": Episode.opened_on,
            "closed_on": Episode.closed_on,
            "last_contact": Episode.last_contact,
            "client_ref": Client.client_ref,
            "dob": Client.dob,
            "state": Episode.state,
            "errors": Episode.errors,
        }
        order = columns.get(query.order_by, Episode.updated_at)
        ordered = order.desc() if query.descending else order.asc()
        keys = [k for k in query.extract if _field_key(k)]
        extracted = [_stored_field(k) for k in keys]
        if query.dataset == self.settings.dataset:
            query = replace(query, dataset=None)  # a store holds its own dataset only
        if order.table is Client.__table__:
            # Walked in the order of the client index (which holds the rowid), episodes
            # found by their client; only an episode's ties with its client's are sorted.
            # The unary plus makes SQLite take clients as the outer loop.
            stmt = self._filtered(
                select(Episode, Client, *extracted)
                .select_from(Client)
                .join(Episode, Episode.client_id == literal_column("+clients.id"))
                .order_by(ordered, *(_same_way(c, query) for c in ("clients", "episodes")))
                .offset(query.offset)
                .limit(query.limit),
                query,
            )
        else:
            # Choose the page on narrow rows (an index often covers them), then read the
            # wide rows of that page only: sorting 40,000 whole episodes to show 200 is
            # what this avoids.
            rowid: ColumnElement[int] = literal_column("episodes.rowid")
            tie = _same_way("episodes", query)
            page = select(rowid).select_from(Episode)
            if (query.search or "").strip():
                page = page.join(Client, Episode.client_id == Client.id)
            page = self._filtered(
                page.order_by(ordered, tie).offset(query.offset).limit(query.limit), query
            )
            stmt = (
                select(Episode, Client, *extracted)
                .join(Client, Episode.client_id == Client.id)
                .where(rowid.in_(page))
                .order_by(ordered, tie)
            )
        with self._read() as s:
            return [
                CaseloadRow(
                    episode_id=e.id,
                    client_id=c.id,
                    dataset=e.dataset,
                    client_ref=c.client_ref,
                    finitial=c.finitial,
                    sinitial=c.sinitial,
                    dob=c.dob,
                    state=e.state,
                    opened_on=e.opened_on,
                    closed_on=e.closed_on,
                    consent=e.consent,
                    errors=e.errors,
                    warnings=e.warnings,
                    last_contact=e.last_contact,
                    owner_id=e.owner_id,
                    updated_at=e.updated_at,
                    extra=dict(zip(keys, rest, strict=True)),
                )
                for e, c, *rest in s.execute(stmt)
            ]

    def count_caseload(self, query: CaseloadQuery = CaseloadQuery()) -> int:
        stmt = select(func.count()).select_from(Episode)
        if (query.search or "").strip():
            stmt = stmt.join(Client, Episode.client_id == Client.id)
        if query.dataset == self.settings.dataset:
            # A store holds its team's dataset only, so counting needs no look at wide rows.
            query = replace(query, dataset=None)
        stmt = self._filtered(stmt, query)
        with self._read() as s:
            return int(s.scalar(stmt) or 0)

    @staticmethod
    def _filtered(stmt: Any, query: CaseloadQuery) -> Any:
        if query.dataset:
            stmt = stmt.where(Episode.dataset == query.dataset)
        if query.owner_id:
            stmt = stmt.where(Episode.owner_id == query.owner_id)
        if query.open_only:
            stmt = stmt.where(Episode.closed_on.is_(None))
        if query.closed_from:
            stmt = stmt.where(Episode.closed_on >= query.closed_from)
        if query.closed_to:
            stmt = stmt.where(Episode.closed_on <= query.closed_to)
        if query.with_errors:
            stmt = stmt.where(Episode.errors > 0)
        if query.states:
            # With a closing-date range, that range is the narrower index to walk; the
            # unary plus keeps SQLite from choosing the state index instead.
            state = literal_column("+episodes.state") if query.closed_from else Episode.state
            stmt = stmt.where(state.in_(query.states))
        for key, codes in query.fields_in:
            if _field_key(key):
                stored = func.upper(_stored_field(key))
                stmt = stmt.where(stored.in_(codes))
        text = (query.search or "").strip()
        if text:
            try:
                day = date.fromisoformat(text)
            except ValueError:
                day = None
            upper = text.upper()
            # Prefix ranges rather than LIKE, so the client-reference index is used.
            conditions: list[ColumnElement[bool]] = [
                (Client.client_ref >= prefix) & (Client.client_ref < prefix + "\uffff")
                for prefix in dict.fromkeys((upper, text))
            ]
            if day is not None:
                conditions.append(Client.dob == day)
            if len(upper) == 2 and upper.isalpha():
                conditions.append((Client.finitial == upper[0]) & (Client.sinitial == upper[1]))
            stmt = stmt.where(or_(*conditions))
        return stmt

    def find_clients(self, finitial: str, sinitial: str, dob: date, sex: str) -> list[ClientMatch]:
        """Existing clients with the same attributors (NDTMS links episodes on these)."""
        stmt = (
            select(Client, func.count(Episode.id), func.max(Episode.opened_on))
            .outerjoin(Episode, Episode.client_id == Client.id)
            .where(
                Client.finitial == finitial.upper(),
                Client.sinitial == sinitial.upper(),
                Client.dob == dob,
                Client.sex == sex,
            )
            .group_by(Client.id)
        )
        with self._read() as s:
            return [
                ClientMatch(c.id, c.client_ref, c.name, int(n), last)
                for c, n, last in s.execute(stmt)
            ]

    # ------------------------------------------------------------------ consent

    def record_consent(
        self,
        client_id: str,
        kind: str,
        value: str,
        recorded_on: date,
        *,
        episode_id: str | None = None,
        agencies: str | None = None,
    ) -> None:
        """A dated consent decision (``kind`` ndtms or sharing; given, refused or withdrawn)."""
        if kind not in ("ndtms", "sharing") or value not in ("given", "refused", "withdrawn"):
            raise StoreError("Consent is given, refused or withdrawn, for NDTMS or for sharing.")
        with self._write() as s:
            if s.get(Client, client_id) is None:
                raise RecordNotFound("That client")
            s.add(
                ConsentEvent(
                    id=new_id(),
                    client_id=client_id,
                    episode_id=episode_id,
                    kind=kind,
                    value=value,
                    agencies=agencies,
                    recorded_on=recorded_on,
                    recorded_by=self.user.id,
                    recorded_at=self._utcnow(),
                )
            )
            self._audit(
                s,
                "consent",
                "client",
                client_id,
                {kind: (None, value), "agencies": (None, agencies)},
            )

    def consent_history(self, client_id: str) -> list[ConsentRecord]:
        with self._read() as s:
            rows = s.execute(
                select(ConsentEvent)
                .where(ConsentEvent.client_id == client_id)
                .order_by(ConsentEvent.recorded_on, ConsentEvent.recorded_at)
            ).scalars()
            return [
                ConsentRecord(
                    r.kind, r.value, r.recorded_on, r.recorded_by, r.agencies, r.episode_id
                )
                for r in rows
            ]

    # ------------------------------------------------------------------ drafts

    def save_draft(self, payload: Mapping[str, object], episode_id: str | None = None) -> None:
        """Keep a half-filled sheet for this user only (replaces their draft of that episode)."""
        with self._write() as s:
            existing = s.execute(
                select(Draft).where(Draft.user_id == self.user.id, Draft.episode_id == episode_id)
            ).scalar_one_or_none()
            if existing is None:
                s.add(
                    Draft(
                        id=new_id(),
                        user_id=self.user.id,
                        episode_id=episode_id,
                        payload=_json(payload),
                        updated_at=self._utcnow(),
                    )
                )
            else:
                existing.payload = _json(payload)
                existing.updated_at = self._utcnow()

    def drafts(self) -> list[tuple[str | None, dict[str, object]]]:
        """This user's drafts as (episode id or None, payload); other users' stay hidden."""
        with self._read() as s:
            rows = s.execute(
                select(Draft).where(Draft.user_id == self.user.id).order_by(Draft.updated_at)
            ).scalars()
            return [(r.episode_id, _loads(r.payload)) for r in rows]

    def discard_draft(self, episode_id: str | None = None) -> None:
        with self._write() as s:
            s.execute(
                delete(Draft).where(Draft.user_id == self.user.id, Draft.episode_id == episode_id)
            )

    # ------------------------------------------------------------------ import

    def import_records(
        self, records: Sequence[object], dataset: str | None = None, today: date | None = None
    ) -> ImportResult:
        """Import records in the ``validate`` format, all or nothing.

        A file in which any record has an error (a value NDTMS would reject) changes
        nothing; the message lists the first problems by record number and field.
        """
        dataset = self._own_dataset(dataset)
        problems: list[str] = []
        prepared: list[tuple[dict[str, object], Summary]] = []
        ids: set[str] = set()
        for number, raw in enumerate(records, start=1):
            if not isinstance(raw, Mapping):
                problems.append(f"record {number} is not a set of named fields")
                continue
            rec = self.prepare(raw, dataset)
            summary = summarise(self._validators[dataset], self.refdata, rec, self.context(today))
            problems.extend(
                f"record {number}, {f.field or 'record'}: {f.message.rstrip('.')}"
                for f in summary.findings
                if f.severity is Severity.ERROR
            )
            episode_id = str(rec["EPISODID"])
            if episode_id in ids:
                problems.append(f"record {number} repeats episode {episode_id}")
            ids.add(episode_id)
            prepared.append((rec, summary))
        if problems:
            raise ImportRejected(problems)
        warnings = 0
        with self._write() as s:
            for rec, summary in prepared:
                self._store_episode(s, dataset, rec, summary=summary, today=today)
                warnings += summary.warnings
            self._audit(
                s, "import", "store", self.settings.store_id, {"episodes": (None, len(prepared))}
            )
        return ImportResult(len(prepared), warnings)

    def load_synthetic(self, records: Sequence[dict[str, object]], dataset: str) -> int:
        """Bulk-load synthetic demo records in one transaction (one audit event per batch).

        Only for demo and benchmark stores: real records go through :meth:`save_episode`
        or :meth:`import_records`, which audit every field.
        """
        dataset = self._own_dataset(dataset)
        spec = self.refdata.datasets[dataset]
        table = ITEM_TABLES[dataset]
        id_header = spec.item_fields[0].header
        now = self._utcnow()
        clients: list[dict[str, object]] = []
        episodes: list[dict[str, object]] = []
        items: list[dict[str, object]] = []
        consents: list[dict[str, object]] = []
        for raw in records:
            rec = self.prepare(raw, dataset)
            summary = summarise(self._validators[dataset], self.refdata, rec, self.context())
            split = self._split(spec, rec)
            cid, eid = str(rec["CLIENTID"]), str(rec["EPISODID"])
            clients.append(
                {
                    "id": cid,
                    "fields": _json(split.client),
                    "client_ref": summary.client_ref,
                    "finitial": summary.finitial,
                    "sinitial": summary.sinitial,
                    "dob": summary.dob,
                    "sex": summary.sex,
                    "name": None,
                    "notes": None,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            episodes.append(
                {
                    "id": eid,
                    "client_id": cid,
                    "dataset": dataset,
                    "fields": _json(split.episode),
                    "notes": None,
                    "state": summary.state,
                    "opened_on": summary.opened_on,
                    "closed_on": summary.closed_on,
                    "consent": summary.consent,
                    "errors": summary.errors,
                    "warnings": summary.warnings,
                    "last_contact": summary.opened_on,
                    "owner_id": self.user.id,
                    "version": 1,
                    "created_at": now,
                    "updated_at": now,
                }
            )
            for position, item in enumerate(split.items):
                values = {k: v for k, v in item.items() if k != id_header}
                items.append(
                    {
                        "id": str(item.get(id_header) or new_id()),
                        "episode_id": eid,
                        "position": position,
                        "fields": _json(values),
                    }
                )
            if summary.consent_decision is not None:
                consents.append(
                    {
                        "id": new_id(),
                        "client_id": cid,
                        "episode_id": eid,
                        "kind": "ndtms",
                        "value": summary.consent_decision,
                        "agencies": None,
                        "recorded_on": summary.opened_on or self._clock().date(),
                        "recorded_by": self.user.id,
                        "recorded_at": now,
                    }
                )
        with self._write() as s:
            for model, rows in (
                (Client, clients),
                (Episode, episodes),
                (table, items),
                (ConsentEvent, consents),
            ):
                if rows:
                    s.execute(insert(model), rows)
            self._audit(
                s,
                "import",
                "store",
                self.settings.store_id,
                {"synthetic episodes": (None, len(episodes))},
            )
        return len(episodes)

    # ------------------------------------------------------------------ users

    def users(self) -> list[UserInfo]:
        with self._read() as s:
            rows = s.execute(
                select(User).where(User.removed_at.is_(None)).order_by(User.name)
            ).scalars()
            return [UserInfo(u.id, u.name, u.role) for u in rows]

    def add_user(self, name: str, password: str, role: str = "worker") -> UserInfo:
        self._require_manager("add users")
        name = name.strip()
        if not name:
            raise StoreError("Give the new user a name.")
        keyfile = self._read_keys(self.path)
        if keyfile.find(name) is not None:
            raise StoreError(f"There is already a user called {name}.")
        user_id = new_id()
        try:
            wrap = keys.wrap_key(
                self._key,
                password,
                store_id=self.settings.store_id,
                user_id=user_id,
                name=name,
                role=role,
            )
        except ValueError as exc:
            raise StoreError(f"{str(exc).capitalize()}.") from None
        with self._write() as s:
            taken = s.execute(select(User).where(func.lower(User.name) == name.lower())).first()
            if taken is not None:
                raise StoreError(f"The name {name} was used before; choose another.")
            s.add(User(id=user_id, name=name, role=role, created_at=self._utcnow()))
            self._audit(s, "create", "user", user_id, {"role": (None, role)})
            # Written inside the transaction: if the wrap cannot be saved, the user is not added.
            keys.write_keyfile(keys_path(self.path), keyfile.with_wrap(wrap))
        return UserInfo(user_id, name, role)

    def remove_user(self, name: str) -> None:
        self._require_manager("remove users")
        keyfile = self._read_keys(self.path)
        wrap = keyfile.find(name)
        if wrap is None:
            raise StoreError(f"There is no user called {name}.")
        if wrap.user_id == self.user.id:
            raise StoreError("You cannot remove yourself; ask another manager.")
        managers = [w for w in keyfile.wraps if w.role == "manager" and w.user_id != wrap.user_id]
        if not managers:
            raise StoreError("A store needs at least one manager.")
        with self._write() as s:
            row = s.get(User, wrap.user_id)
            if row is not None:
                row.removed_at = self._utcnow()
            s.execute(delete(Draft).where(Draft.user_id == wrap.user_id))
            self._audit(s, "delete", "user", wrap.user_id, {"role": (wrap.role, None)})
            keys.write_keyfile(keys_path(self.path), keyfile.without(name))

    def change_password(self, old: str, new: str) -> None:
        """Re-wrap the store key for this user: no page of the store is rewritten."""
        keyfile = self._read_keys(self.path)
        try:
            check, _ = keys.unwrap_key(keyfile, self.user.name, old)
        except keys.WrongPassword:
            raise WrongPassword() from None
        keys.zero(check)
        self._rewrap(keyfile, self.user.name, new)

    def reset_password(self, name: str, new: str) -> None:
        """A manager sets a new password for a user who forgot theirs."""
        self._require_manager("reset another user's password")
        self._rewrap(self._read_keys(self.path), name, new)

    def _rewrap(self, keyfile: keys.KeyFile, name: str, new: str) -> None:
        wrap = keyfile.find(name)
        if wrap is None:
            raise StoreError(f"There is no user called {name}.")
        try:
            fresh = keys.wrap_key(
                self._key,
                new,
                store_id=self.settings.store_id,
                user_id=wrap.user_id,
                name=wrap.name,
                role=wrap.role,
            )
        except ValueError as exc:
            raise StoreError(f"{str(exc).capitalize()}.") from None
        keys.write_keyfile(keys_path(self.path), keyfile.with_wrap(fresh))
        with self._write() as s:
            self._audit(s, "password", "user", wrap.user_id)

    # ------------------------------------------------------------------ checks and backups

    def counts(self) -> dict[str, int]:
        with self._live().connect() as conn:
            return backup_files.row_counts(_raw(conn))

    def integrity_problems(self) -> list[str]:
        with self._live().connect() as conn:
            return backup_files.integrity_problems(_raw(conn))

    def verify_audit(self) -> audit.AuditReport:
        with self._read() as s:
            return audit.verify(s, self.settings.store_id)

    def note_event(self, action: str, entity: str, entity_id: str | None) -> None:
        """Put something done outside the store in the audit trail (e.g. ``"print_sheet"``
        of an ``"episode"``): who, when, what and which record by id; never any value."""
        with self._write() as s:
            self._audit(s, action, entity, entity_id)

    def backup(self, reason: str = "manual") -> backup_files.BackupInfo:
        """A checked, encrypted backup beside the store; the oldest beyond ten are removed."""
        try:
            with self._live().connect() as conn:
                info = backup_files.make_backup(
                    _raw(conn),
                    self._key,
                    self.path,
                    keys_path(self.path),
                    backups_folder(self.path),
                    reason,
                    self._clock(),
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
            if _is_storage_full(exc):
                raise DiskFull("backup") from None
            if isinstance(exc, DBAPIError):
                raise self._translate(exc) from None
            raise
        self.last_backup = info.taken
        return info

    def vacuum(self) -> None:
        """Rebuild the file to reclaim space (temporary data stays in memory, never on disk)."""
        with self._live().connect() as conn:
            try:
                _raw(conn).execute("VACUUM")
            except Exception as exc:
                if _is_storage_full(exc):
                    raise DiskFull() from None
                raise

    def maybe_backup(self) -> backup_files.BackupInfo | None:
        """At most one backup an hour while the store is in use."""
        if self.last_backup is not None and self._clock() - self.last_backup < BACKUP_EVERY:
            return None
        return self.backup("hourly")


def _field_key(key: str) -> bool:
    """A field name safe to put in a JSON path (letters, digits, underscores)."""
    return key.replace("_", "").isalnum()


def _stored_field(key: str) -> ColumnElement[Any]:
    """An episode's stored value of one field, read in SQL (no row is loaded)."""
    return func.json_extract(Episode.fields, f"$.{key}")


def _same_way(table: str, query: CaseloadQuery) -> ColumnElement[int]:
    """A table's rowid as the tie-breaker, sorted the same way as the page (an index that
    ends in the rowid then gives the whole order without a sort)."""
    rowid: ColumnElement[int] = literal_column(f"{table}.rowid")
    return rowid.desc() if query.descending else rowid.asc()


def _clear_stale_temporaries(store: Path) -> None:
    """Half-written key files left by a crash (only ours can exist while we hold the lock)."""
    for stale in store.parent.glob(f".{store.name}.keys.*.tmp"):
        with contextlib.suppress(OSError):
            stale.unlink()


def newest_backup(store: Path) -> BackupChoice | None:
    found = backup_files.list_backups(backups_folder(store), store.stem)
    return BackupChoice(found[0].path, found[0].taken) if found else None
