"""kill -9 during saves and during the store's special operations (reliability #4, #5).

Every kill lands on a child process forked from a warm launcher (tests/storage/crashkit.py);
the test process only schedules the kills and examines the store afterwards. Two stores
are worked side by side, one child on each, so that the kills are many but cheap; each
child is killed its own random delay after it wrote "ready", and nothing else happens in
the test process until both are dead.

The figures of each test go into the assertion messages and, as one JSON line, to the file
named by ``PATHWAY_FIGURES`` when that is set.
"""

from __future__ import annotations

import contextlib
import json
import os
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from desktop.domain.spec import RefData
from desktop.storage import keys
from desktop.storage.backup import BackupFailed, check_copy
from desktop.storage.engine import raw_connect
from desktop.storage.store import Store, backups_folder, head_revision, keys_path
from tests.fixtures import new_store, synthetic_records
from tests.storage.crashkit import (
    PASSWORDS,
    USER,
    ChildRun,
    Launcher,
    Order,
    launchers,
    run_round,
)

pytestmark = pytest.mark.slow

LANES = 2  # stores worked side by side, one child each
SAVE_KILLS = 200
CHECK_EVERY = 10  # rounds between full checks of the saves stores (and once at the end)
SPECIAL_KILLS = 30  # per special operation
SEED = 20261124
OLD_REVISION = "0001"
NEW_INDEX = "ix_episodes_owner_open"  # what 0002 adds
ACK_WORDS = ("ack", "pw", "opened")  # a child's line after an operation returned

# Rows that may never exist, however a save was cut short.
INVARIANTS = {
    "episodes without a client": (
        "SELECT count(*) FROM episodes e LEFT JOIN clients c ON c.id = e.client_id"
        " WHERE c.id IS NULL"
    ),
    "referrals without an episode": (
        "SELECT count(*) FROM referrals r LEFT JOIN episodes e ON e.id = r.episode_id"
        " WHERE e.id IS NULL"
    ),
    "consent Y/N without an ndtms consent event": (
        "SELECT count(*) FROM episodes e WHERE e.consent IN ('Y', 'N') AND NOT EXISTS"
        " (SELECT 1 FROM consent_events ce WHERE ce.episode_id = e.id AND ce.kind = 'ndtms')"
    ),
    "foreign key violations": "SELECT count(*) FROM pragma_foreign_key_check",
}


# ---------------------------------------------------------------------- helpers


@dataclass
class Lane:
    """One store, with its key (for raw checks), and what is known about it."""

    path: Path
    key: bytearray
    counts: dict[str, int]
    password: int = 0  # index into PASSWORDS of the password that opens it


def _new_lane(path: Path, refdata: RefData, episodes: int) -> Lane:
    store = new_store(path, user=USER, password=PASSWORDS[0], refdata=refdata)
    try:
        if episodes:
            batch = synthetic_records(episodes, seed=SEED, refdata=refdata)
            store.episodes.load_synthetic(batch, "cjit-q")
        counts = store.backups.counts()
    finally:
        store.close(backup_reason=None)
    key, _ = keys.unwrap_key(keys.read_keyfile(keys_path(path)), USER, PASSWORDS[0])
    return Lane(path, key, counts)


@contextlib.contextmanager
def _lanes(tmp_path: Path, name: str, refdata: RefData, episodes: int) -> Iterator[list[Lane]]:
    made: list[Lane] = []
    try:
        for i in range(LANES):
            made.append(_new_lane(tmp_path / f"{name}-{i}.store", refdata, episodes))
        yield made
    finally:
        for lane in made:
            keys.zero(lane.key)


@contextlib.contextmanager
def _children(tmp_path: Path) -> Iterator[tuple[list[Launcher], Path]]:
    log = tmp_path / "children.log"
    with open(log, "ab") as fh, launchers(LANES, fh) as started:
        yield started, log


def _log_tail(log: Path) -> str:
    text = log.read_text(encoding="utf-8", errors="replace") if log.exists() else ""
    return text[-3000:]


def _report(test: str, figures: dict[str, Any]) -> None:
    """Append the figures as one JSON line to $PATHWAY_FIGURES (when it is set)."""
    target = os.environ.get("PATHWAY_FIGURES")
    if target:
        with open(target, "a", encoding="utf-8") as fh:
            fh.write(json.dumps({"test": test, **figures}, sort_keys=True) + "\n")


def _partials(store: Path) -> list[Path]:
    """Hidden, half-made backup copies (never at a final name)."""
    folder = backups_folder(store)
    if not folder.is_dir():
        return []
    return [p for p in folder.iterdir() if p.name.startswith(".") and ".partial" in p.name]


def _key_temps(store: Path) -> list[Path]:
    """Temporary files of an interrupted key-file write beside the store."""
    return sorted(store.parent.glob(f".{store.name}.keys.*.tmp"))


def _bad_backups(store: Path, key: bytearray) -> list[str]:
    """Backups at a final name that fail their check (there must be none)."""
    folder = backups_folder(store)
    bad = []
    for path in sorted(folder.glob("*.backup")) if folder.is_dir() else []:
        try:
            check_copy(path, key, None)
        except BackupFailed as exc:
            bad.append(f"{path.name}: {exc}")
    return bad


def _orphan_backup_keys(store: Path) -> int:
    """Key files of a backup at a final name whose backup is not there."""
    folder = backups_folder(store)
    found = folder.glob("*.backup.keys") if folder.is_dir() else []
    return sum(1 for k in found if not k.with_suffix("").exists())


def _open(lane: Lane, refdata: RefData) -> Store:
    return Store.open(lane.path, USER, PASSWORDS[lane.password], refdata=refdata)


# ---------------------------------------------------------------------- reliability #4


@dataclass
class Ledger:
    """What the children of one store acknowledged, and what they were saving when killed.

    ``acked`` holds each episode's newest acknowledged (client id, version, referrals);
    ``intents`` the referral counts of saves begun since that acknowledgement, any of which
    may have committed before the kill came (saved but not acknowledged).
    """

    acked: dict[str, tuple[str, int, int]] = field(default_factory=dict)
    intents: dict[str, list[int]] = field(default_factory=dict)
    acknowledged: int = 0
    cut: int = 0  # runs killed between an intent and its acknowledgement

    def take(self, run: ChildRun) -> None:
        open_intent = False
        for line in run.lines:
            parts = line.split()
            if parts[0] == "intent":
                self.intents.setdefault(parts[1], []).append(int(parts[2]))
                open_intent = True
            elif parts[0] == "ack":
                self.acked[parts[1]] = (parts[2], int(parts[3]), int(parts[4]))
                self.intents.pop(parts[1], None)
                self.acknowledged += 1
                open_intent = False
        self.cut += open_intent

    def check(self, rows: dict[str, tuple[str, int, int]]) -> tuple[set[str], set[str], int]:
        """(acknowledged episodes lost, episodes in a state no save produced, saves that
        committed without being acknowledged), against the stored (client, version, refs)."""
        lost: set[str] = set()
        torn: set[str] = set()
        unacknowledged = 0
        for episode_id in set(self.acked) | set(self.intents):
            row = rows.get(episode_id)
            ack = self.acked.get(episode_id)
            intents = self.intents.get(episode_id, [])
            if ack is not None and (row is None or row[0] != ack[0] or row[1] < ack[1]):
                lost.add(episode_id)
                continue
            if row is None:
                continue  # begun, never acknowledged, never committed
            steps = row[1] - (ack[1] if ack is not None else 0)
            if steps == 0:
                ok = ack is not None and row[2] == ack[2]
            else:
                # ``steps`` unacknowledged saves committed; the newest one to commit was
                # intent number ``steps`` or a later one.
                ok = 1 <= steps <= len(intents) and row[2] in intents[steps - 1 :]
                unacknowledged += 1
            if not ok:
                torn.add(episode_id)
        return lost, torn, unacknowledged


def _episode_rows(conn: Any) -> dict[str, tuple[str, int, int]]:
    """Every episode whose client exists: id -> (client id, version, referrals)."""
    rows = conn.execute(
        "SELECT e.id, c.id, e.version,"
        " (SELECT count(*) FROM referrals r WHERE r.episode_id = e.id)"
        " FROM episodes e JOIN clients c ON c.id = e.client_id"
    ).fetchall()
    return {str(r[0]): (str(r[1]), int(r[2]), int(r[3])) for r in rows}


def _broken(conn: Any) -> dict[str, int]:
    found = {name: int(conn.execute(sql).fetchone()[0]) for name, sql in INVARIANTS.items()}
    return {name: n for name, n in found.items() if n}


class SavesCheck:
    """Reopen each store and compare it with everything acknowledged so far."""

    def __init__(self, refdata: RefData) -> None:
        self.refdata = refdata
        self.lost: set[str] = set()
        self.torn: set[str] = set()
        self.unacknowledged = 0
        self.integrity_failures = 0
        self.audit_failures = 0
        self.failed_opens = 0
        self.broken: Counter[str] = Counter()
        self.notes: list[str] = []
        self.checks = 0

    def __call__(self, lane: Lane, ledger: Ledger) -> None:
        self.checks += 1
        try:
            store = _open(lane, self.refdata)
        except Exception as exc:
            self.failed_opens += 1
            self.notes.append(f"{lane.path.name} did not open: {exc!r}")
            return
        try:
            problems = store.backups.integrity_problems()
            audit = store.backups.verify_audit()
        finally:
            store.close(backup_reason=None)
        if problems:
            self.integrity_failures += 1
            self.notes.append(f"{lane.path.name}: {problems[:3]}")
        if not audit.ok:
            self.audit_failures += 1
            self.notes.append(f"{lane.path.name} audit: {audit.problems[:3]}")
        conn = raw_connect(lane.path, lane.key)
        try:
            rows = _episode_rows(conn)
            broken = _broken(conn)
        finally:
            conn.close()
        for name, n in broken.items():
            self.broken[name] = max(self.broken[name], n)
        lost, torn, unacknowledged = ledger.check(rows)
        self.lost |= lost
        self.torn |= torn
        self.unacknowledged = max(self.unacknowledged, unacknowledged)


def test_kill_9_during_saves_loses_no_acknowledged_save(tmp_path: Path, refdata: RefData) -> None:
    """reliability #4: kill -9 during saves. At least 200 SIGKILLs land while children save
    multi-table episodes (new ones, updates that add and remove referrals and turn consent
    over, new episodes of stored clients). Every save acknowledged before a kill is in the
    store as acknowledged (or as a later save that committed just before the kill); the
    store passes its integrity checks and audit verification; no episode lacks its client,
    no referral its episode, no Y/N consent its ndtms consent event."""
    started_at = time.monotonic()
    rng = random.Random(SEED)
    check = SavesCheck(refdata)
    failures: list[str] = []
    kills = 0
    delays: list[float] = []
    with _lanes(tmp_path, "saves", refdata, 0) as lanes, _children(tmp_path) as (kit, log):
        ledgers = [Ledger() for _ in lanes]
        rounds = 0
        while kills < SAVE_KILLS and len(failures) <= 3:
            orders = [
                Order(launcher, "saves", lane.path, PASSWORDS[0], rng.randrange(1 << 30), d)
                for launcher, lane, d in zip(
                    kit, lanes, (rng.uniform(0.05, 0.4) for _ in lanes), strict=True
                )
            ]
            for ledger, run in zip(ledgers, run_round(orders), strict=True):
                kills += 1
                ledger.take(run)
                if run.failure is not None:
                    failures.append(run.failure)
                else:
                    delays.append(run.delay)
            rounds += 1
            if rounds % CHECK_EVERY == 0 or kills >= SAVE_KILLS:
                for lane, ledger in zip(lanes, ledgers, strict=True):
                    check(lane, ledger)
        acknowledged = sum(ledger.acknowledged for ledger in ledgers)
        cut = sum(ledger.cut for ledger in ledgers)
    figures = {
        "iterations": kills,
        "acknowledged": acknowledged,
        "lost": len(check.lost),
        "torn": len(check.torn),
        "integrity_failures": check.integrity_failures,
        "audit_failures": check.audit_failures,
        "failed_opens": check.failed_opens,
        "broken_invariants": sum(check.broken.values()),
        "child_failures": len(failures),
        "killed_mid_save": cut,
        "committed_unacknowledged": check.unacknowledged,
        "checks": check.checks,
        "kill_delay_ms": [round(min(delays) * 1000), round(max(delays) * 1000)] if delays else [],
        "seconds": round(time.monotonic() - started_at, 1),
    }
    _report("kill-9-saves", figures)
    message = f"{figures} {dict(check.broken)} {check.notes[:5]} {failures[:3]}"
    assert not failures, f"children failed: {message}\n{_log_tail(log)}"
    assert kills >= SAVE_KILLS, message
    assert acknowledged > kills and cut > kills // 2, f"kills did not land mid-save: {message}"
    assert not check.lost, f"acknowledged saves lost: {message} {sorted(check.lost)[:5]}"
    assert not check.torn, f"half-made saves: {message} {sorted(check.torn)[:5]}"
    assert check.failed_opens == 0, message
    assert check.integrity_failures == 0, message
    assert check.audit_failures == 0, message
    assert not check.broken, f"broken invariants: {message}"


# ---------------------------------------------------------------------- reliability #5


class SpecialCheck:
    """What every kill during a special operation must leave: a store that opens with the
    right password and passes its checks, only checked backups at final names, and no
    temporary file once it has been opened and closed again."""

    mode = ""
    delay = (0.05, 0.4)  # seconds from "ready" to the kill
    kills = SPECIAL_KILLS
    # The first round kills one child at once and the other only after this line, so that
    # every run has a kill before and a kill after an operation, however busy the machine.
    returned = "ack"

    def __init__(self, refdata: RefData) -> None:
        self.refdata = refdata
        self.figures: Counter[str] = Counter()
        self.notes: list[str] = []

    def prepare(self, lane: Lane) -> None:
        """Before each child starts."""

    def before_open(self, lane: Lane, run: ChildRun) -> None:
        """Right after the kill, before the store is opened again."""

    def while_open(self, lane: Lane, store: Store) -> None:
        """With the store opened again after the kill."""

    def after_close(self, lane: Lane) -> None:
        """After that opening was closed."""

    def __call__(self, lane: Lane, run: ChildRun) -> None:
        f = self.figures
        f["iterations"] += 1
        f["acknowledged"] += sum(1 for line in run.lines if line.split()[0] in ACK_WORDS)
        f["kills_leaving_partials"] += bool(_partials(lane.path))
        f["kills_leaving_key_temps"] += bool(_key_temps(lane.path))
        bad = _bad_backups(lane.path, lane.key)
        f["bad_final_backups"] += len(bad)
        self.notes.extend(bad)
        self.before_open(lane, run)
        try:
            store = _open(lane, self.refdata)
        except Exception as exc:
            f["failed_opens"] += 1
            self.notes.append(f"{lane.path.name} did not open: {exc!r}")
            return
        try:
            problems = store.backups.integrity_problems()
            if problems:
                f["integrity_failures"] += 1
                self.notes.append(f"{lane.path.name}: {problems[:3]}")
            if not store.backups.verify_audit().ok:
                f["audit_failures"] += 1
            self.while_open(lane, store)
        finally:
            store.close()  # with its backup, as when a worker closes the window
        leftovers = [p.name for p in (*_partials(lane.path), *_key_temps(lane.path))]
        f["leftovers"] += len(leftovers)
        self.notes.extend(f"left behind: {name}" for name in leftovers)
        f["orphan_backup_keys"] = _orphan_backup_keys(lane.path)
        self.after_close(lane)

    def must_be_zero(self) -> dict[str, int]:
        names = (
            "child_failures",
            "failed_opens",
            "integrity_failures",
            "audit_failures",
            "bad_final_backups",
            "leftovers",
        )
        return {name: self.figures[name] for name in names if self.figures[name]}


class BackupCheck(SpecialCheck):
    mode = "backup"

    def before_open(self, lane: Lane, run: ChildRun) -> None:
        acked = [line.split(maxsplit=1)[1] for line in run.lines if line.startswith("ack ")]
        if acked:
            newest = Path(acked[-1])
            try:
                check_copy(newest, lane.key, None)
            except BackupFailed as exc:
                self.figures["acknowledged_backup_bad"] += 1
                self.notes.append(f"acknowledged {newest.name}: {exc}")

    def must_be_zero(self) -> dict[str, int]:
        found = super().must_be_zero()
        if self.figures["acknowledged_backup_bad"]:
            found["acknowledged_backup_bad"] = self.figures["acknowledged_backup_bad"]
        return found


class PasswordCheck(SpecialCheck):
    mode = "password"
    delay = (0.05, 0.8)  # a change takes two Argon2id runs: let some of them finish
    kills = 20  # each check costs three more Argon2id runs; this keeps the file near 2.5 min

    def before_open(self, lane: Lane, run: ChildRun) -> None:
        changed = [int(line.split()[1]) for line in run.lines if line.startswith("pw ")]
        acknowledged = changed[-1] if changed else lane.password
        keyfile = keys.read_keyfile(keys_path(lane.path))
        opens = []
        for index in (acknowledged, 1 - acknowledged):  # the acknowledged one, the next one
            try:
                key, _ = keys.unwrap_key(keyfile, USER, PASSWORDS[index])
            except keys.WrongPassword:
                continue
            if key != lane.key:
                self.figures["wrong_key"] += 1
            keys.zero(key)
            opens.append(index)
        if len(opens) != 1:
            self.figures["not_exactly_one_password"] += 1
            self.notes.append(f"{lane.path.name} opens with passwords {opens}")
        lane.password = opens[0] if opens else acknowledged

    def must_be_zero(self) -> dict[str, int]:
        found = super().must_be_zero()
        for name in ("not_exactly_one_password", "wrong_key"):
            if self.figures[name]:
                found[name] = self.figures[name]
        return found


class VacuumCheck(SpecialCheck):
    mode = "vacuum"

    def while_open(self, lane: Lane, store: Store) -> None:
        now = {t: n for t, n in store.backups.counts().items() if t != "audit_events"}
        before = {t: n for t, n in lane.counts.items() if t != "audit_events"}
        if now != before:
            self.figures["counts_changed"] += 1
            self.notes.append(f"{lane.path.name}: {before} -> {now}")

    def must_be_zero(self) -> dict[str, int]:
        found = super().must_be_zero()
        if self.figures["counts_changed"]:
            found["counts_changed"] = self.figures["counts_changed"]
        return found


def _all_revisions() -> set[str]:
    from alembic.config import Config
    from alembic.script import ScriptDirectory

    from desktop.storage.store import MIGRATIONS

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    return {r.revision for r in ScriptDirectory.from_config(cfg).walk_revisions()}


def _schema(lane: Lane) -> tuple[str, bool]:
    """(alembic revision, whether the index that 0002 adds is there)."""
    conn = raw_connect(lane.path, lane.key)
    try:
        revision = str(conn.execute("SELECT version_num FROM alembic_version").fetchone()[0])
        index = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name = ?", (NEW_INDEX,)
        ).fetchone()[0]
    finally:
        conn.close()
    return revision, bool(index)


def _downgrade(lane: Lane) -> None:
    """Make the store look as revision 0001 left it."""
    conn = raw_connect(lane.path, lane.key)
    try:
        conn.execute("BEGIN IMMEDIATE")
        conn.execute(f"DROP INDEX IF EXISTS {NEW_INDEX}")
        conn.execute("UPDATE alembic_version SET version_num = ?", (OLD_REVISION,))
        conn.execute("COMMIT")
    finally:
        conn.close()
    assert _schema(lane) == (OLD_REVISION, False)


class MigrationCheck(SpecialCheck):
    mode = "migrate"
    delay = (0.0, 0.4)
    returned = "opened"

    def prepare(self, lane: Lane) -> None:
        _downgrade(lane)

    def before_open(self, lane: Lane, run: ChildRun) -> None:
        revision, index = _schema(lane)
        # Each revision commits on its own: any revision from 0001 to the head is a
        # consistent place for a kill to leave the store, and 0002 onwards has the index.
        if (revision != OLD_REVISION) != index or revision not in _all_revisions():
            self.figures["inconsistent_schema"] += 1
            self.notes.append(f"{lane.path.name}: revision {revision}, index {index}")
        self.figures["migrated_before_kill"] += revision == head_revision()

    def after_close(self, lane: Lane) -> None:
        revision, index = _schema(lane)
        if revision != head_revision() or not index:
            self.figures["not_migrated"] += 1
            self.notes.append(f"{lane.path.name} after reopening: {revision}, index {index}")

    def must_be_zero(self) -> dict[str, int]:
        found = super().must_be_zero()
        for name in ("inconsistent_schema", "not_migrated"):
            if self.figures[name]:
                found[name] = self.figures[name]
        return found


def _kill_during(check: SpecialCheck, tmp_path: Path, refdata: RefData) -> dict[str, Any]:
    started_at = time.monotonic()
    rng = random.Random(f"{SEED}-{check.mode}")
    with _lanes(tmp_path, check.mode, refdata, 150) as lanes, _children(tmp_path) as (kit, log):
        while check.figures["iterations"] < check.kills and check.figures["child_failures"] <= 3:
            orders = []
            first = check.figures["iterations"] == 0
            for n, (launcher, lane) in enumerate(zip(kit, lanes, strict=True)):
                check.prepare(lane)
                delay = 0.0 if first and n == 0 else rng.uniform(*check.delay)
                until = check.returned if first and n == 1 else None
                seed = rng.randrange(1 << 30)
                password = PASSWORDS[lane.password]
                orders.append(
                    Order(launcher, check.mode, lane.path, password, seed, delay, until)
                )
            for lane, run in zip(lanes, run_round(orders), strict=True):
                if run.failure is not None:
                    check.figures["child_failures"] += 1
                    check.notes.append(run.failure)
                check(lane, run)
        tail = _log_tail(log) if check.figures["child_failures"] else ""
    figures: dict[str, Any] = dict(sorted(check.figures.items()))
    figures["seconds"] = round(time.monotonic() - started_at, 1)
    _report(f"kill-9-{check.mode}", figures)
    message = f"{figures} {check.notes[:6]} {tail}"
    assert check.figures["iterations"] >= check.kills, message
    assert check.must_be_zero() == {}, message
    return figures


def test_kill_9_during_backups_leaves_only_checked_backups(
    tmp_path: Path, refdata: RefData
) -> None:
    """reliability #5: kill -9 during store.backups.backup() in a loop. Every ``*.backup`` at a
    final name passes its check, the last acknowledged one too; half-made copies are hidden
    and gone once the store has been opened and closed again; the store opens and passes
    its checks."""
    figures = _kill_during(BackupCheck(refdata), tmp_path, refdata)
    assert figures["acknowledged"] > 0, figures


def test_kill_9_during_password_changes_leaves_exactly_one_password(
    tmp_path: Path, refdata: RefData
) -> None:
    """reliability #5: kill -9 during change_password between two passwords. The store
    opens with exactly one of the last acknowledged password and the next one (and that one
    unwraps the same store key); no temporary key file remains after the next open and
    close."""
    figures = _kill_during(PasswordCheck(refdata), tmp_path, refdata)
    assert figures["acknowledged"] > 0, figures


def test_kill_9_during_vacuum_changes_nothing(tmp_path: Path, refdata: RefData) -> None:
    """reliability #5: kill -9 during store.backups.vacuum() in a loop. The store opens, passes its
    checks and holds the same rows as before."""
    figures = _kill_during(VacuumCheck(refdata), tmp_path, refdata)
    assert figures["acknowledged"] > 0, figures


def test_kill_9_during_migration_at_unlock(tmp_path: Path, refdata: RefData) -> None:
    """reliability #5: kill -9 while Store.open backs up and upgrades a store left at
    revision 0001. Killed anywhere, the store is at 0001 or at head (never half-way); a
    normal Store.open then succeeds and leaves it at head, and every backup at a final
    name passes its check."""
    figures = _kill_during(MigrationCheck(refdata), tmp_path, refdata)
    assert 0 < figures.get("migrated_before_kill", 0) < figures["iterations"], figures


def test_open_and_close_clear_what_a_crash_left_behind(tmp_path: Path, refdata: RefData) -> None:
    """reliability #5: the temporary files a kill can leave (a half-made backup copy in the
    backups folder, a key file being written beside the store) are gone after the next
    Store.open and close."""
    lane = _new_lane(tmp_path / "left.store", refdata, 5)
    try:
        folder = backups_folder(lane.path)
        folder.mkdir(exist_ok=True)
        partial = folder / f".{lane.path.stem}-20261124-120000-000000-manual.backup.partial"
        partial.write_bytes(os.urandom(8192))
        keys_temp = lane.path.with_name(f".{lane.path.name}.keys.424242.tmp")
        keys_temp.write_bytes(keys_path(lane.path).read_bytes()[:100])
        assert _partials(lane.path) == [partial] and _key_temps(lane.path) == [keys_temp]
        _open(lane, refdata).close()
        assert _partials(lane.path) == []
        assert _key_temps(lane.path) == [], "a key file that was being written stays behind"
    finally:
        keys.zero(lane.key)
