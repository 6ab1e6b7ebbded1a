"""Processes to kill: a store operation repeated until SIGKILL (reliability #4 and #5).

``python -m tests.storage.crashkit`` (run from the repository folder with the repository
on ``PYTHONPATH``) starts a *launcher*: it imports the store and loads the reference data
once, writes ``warm``, then reads one JSON command per line on stdin:

- ``{"mode": M, "store": PATH, "password": P, "seed": N}`` forks a child that opens the
  store and repeats operation M until it is killed; the launcher writes ``child PID``.
- ``{"reap": PID}`` waits for that child and writes ``reaped PID CODE`` (CODE -9 when it
  died of SIGKILL). Every line the child wrote comes before this one.
- End of input ends the launcher.

Forking from a warm launcher keeps each kill cheap (no second of Python start-up per
child), and the child is a separate process from the test: a kill never touches pytest.
The child writes one line after each operation has *returned* (its acknowledgement),
flushed at once:

- ``saves``: ``ready`` after ``Store.open``; ``intent EID NREFS`` just before
  ``save_episode``, ``ack EID CID VERSION NREFS`` after it returned. New episodes (the
  client and referral ids left for the store to make), updates of stored episodes (a
  field changed, referrals added or removed, consent turned over) and new episodes of
  stored clients, at random.
- ``backup``: ``ready``, then ``ack PATH`` after each ``store.backups.backup()``.
- ``password``: ``ready``, then ``pw INDEX`` after each ``change_password`` between the
  two :data:`PASSWORDS` (INDEX is the one now current).
- ``vacuum``: ``ready``, then ``ack`` after each ``store.backups.vacuum()``.
- ``migrate``: ``ready`` *before* ``Store.open`` (which backs up and upgrades an older
  store), ``opened`` after it; then it waits to be killed.

A child that fails writes ``error ...`` and exits with status 1 (its traceback goes to
stderr, which the tests send to a log file).
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import random
import select
import signal
import subprocess
import sys
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

REPO = Path(__file__).resolve().parent.parent.parent
USER = "amy"
PASSWORDS = ("kestrel orchard 41 lantern", "harbour violet 73 compass")
MODES = ("saves", "backup", "password", "vacuum", "migrate")
WAIT_SECONDS = 120.0  # generous: only reached when something is wrong


# ---------------------------------------------------------------------- parent side


@dataclass(frozen=True, slots=True)
class ChildRun:
    """What one child wrote before it died, and how it died."""

    lines: list[str]
    code: int  # -9 when our SIGKILL ended it
    delay: float  # seconds from its "ready" line to the kill (nan if it never got ready)

    @property
    def killed(self) -> bool:
        """Ended by our SIGKILL while running (not by an error of its own)."""
        return self.code == -signal.SIGKILL and "ready" in self.lines

    @property
    def failure(self) -> str | None:
        if self.killed:
            return None
        errors = [line for line in self.lines if line.startswith("error")]
        return errors[0] if errors else f"exit code {self.code}, lines {self.lines[:3]}"


@dataclass(frozen=True, slots=True)
class Order:
    """One child to run in a round: on which launcher, what, and when to kill it: its
    ``delay`` after "ready", or (with ``until``) once it has written a line starting with
    that word, so that a round can be sure to kill after an operation has returned."""

    launcher: Launcher
    mode: str
    store: Path
    password: str
    seed: int
    delay: float
    until: str | None = None


class Launcher:
    """The warm launcher process, seen from the test."""

    def __init__(self, log: IO[bytes]) -> None:
        env = dict(os.environ, PYTHONPATH=str(REPO), PYTHONDONTWRITEBYTECODE="1")
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "tests.storage.crashkit"],
            cwd=REPO,
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=log,
        )
        assert self.proc.stdout is not None
        self.fd = self.proc.stdout.fileno()
        self.lines: list[str] = []
        self.ended = False
        self._partial = b""
        self._mark = 0
        if self._until(lambda line: line == "warm") is None:
            self.close()
            raise RuntimeError("the crashkit launcher did not start (see the log)")

    def pump(self) -> None:
        """Take what the launcher and its child have written (call when readable)."""
        chunk = os.read(self.fd, 1 << 16)
        if not chunk:
            self.ended = True
        *complete, self._partial = (self._partial + chunk).split(b"\n")
        self.lines.extend(line.decode("utf-8") for line in complete)

    def _until(self, test: Any) -> str | None:
        """The first line since the last start that passes ``test`` (None at end/timeout)."""
        deadline = time.monotonic() + WAIT_SECONDS
        seen = self._mark
        while True:
            for line in self.lines[seen:]:
                if test(line):
                    return line
            seen = len(self.lines)
            left = deadline - time.monotonic()
            if self.ended or left <= 0 or not select.select([self.fd], [], [], left)[0]:
                return None
            self.pump()

    def state(self) -> str | None:
        """The running child's state: "ready" or "error" once it said so, else None."""
        for line in self.lines[self._mark :]:
            if line == "ready" or line.startswith("error"):
                return line.split()[0]
        return "error" if self.ended else None

    def said(self, word: str) -> bool:
        """Whether the running child has written a line starting with ``word``."""
        return any(line.split()[:1] == [word] for line in self.lines[self._mark :])

    def _send(self, command: dict[str, Any]) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(command) + "\n").encode("utf-8"))
        self.proc.stdin.flush()

    def start(self, mode: str, store: Path, password: str, seed: int) -> int:
        """Fork a child running ``mode`` on ``store``; its pid."""
        self._mark = len(self.lines)
        self._send({"mode": mode, "store": str(store), "password": password, "seed": seed})
        line = self._until(lambda line: line.startswith("child "))
        if line is None:
            raise RuntimeError("the crashkit launcher did not start a child (see the log)")
        return int(line.split()[1])

    def kill(self, pid: int, delay: float) -> ChildRun:
        """SIGKILL the child, have the launcher reap it, and return every line it wrote."""
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        self._send({"reap": pid})
        done = self._until(lambda line: line.startswith(f"reaped {pid} "))
        if done is None:
            raise RuntimeError(f"the crashkit launcher did not reap child {pid}")
        end = self.lines.index(done, self._mark)
        lines = [line for line in self.lines[self._mark : end] if not line.startswith("child ")]
        return ChildRun(lines, int(done.split()[2]), delay)

    def close(self) -> None:
        if self.proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.close()
        try:
            self.proc.wait(timeout=WAIT_SECONDS)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        if self.proc.stdout is not None:
            self.proc.stdout.close()


@contextlib.contextmanager
def launchers(count: int, log: IO[bytes]) -> Iterator[list[Launcher]]:
    started: list[Launcher] = []
    try:
        for _ in range(count):
            started.append(Launcher(log))
        yield started
    finally:
        for one in started:
            one.close()


def run_round(orders: list[Order]) -> list[ChildRun]:
    """Start one child per order (each on its own launcher and store), kill each one its
    delay after it wrote "ready" (at once if it failed), and return what each wrote.

    Children of one round run side by side; nothing else runs in the test meanwhile, so
    every kill lands on time."""
    pids = [o.launcher.start(o.mode, o.store, o.password, o.seed) for o in orders]
    ready_at: dict[int, float] = {}
    runs: dict[int, ChildRun] = {}
    give_up = time.monotonic() + WAIT_SECONDS
    while len(runs) < len(orders):
        now = time.monotonic()
        for i, o in enumerate(orders):
            if i in runs:
                continue
            state = o.launcher.state()
            if state == "ready" and i not in ready_at:
                ready_at[i] = now
            if state == "error" or now >= give_up:
                runs[i] = o.launcher.kill(pids[i], math.nan)
            elif i in ready_at and (
                o.launcher.said(o.until) if o.until is not None else now >= ready_at[i] + o.delay
            ):
                runs[i] = o.launcher.kill(pids[i], now - ready_at[i])
        live = [i for i in range(len(orders)) if i not in runs]
        if not live:
            break
        deadlines = [
            ready_at[i] + orders[i].delay
            for i in live
            if i in ready_at and orders[i].until is None
        ]
        timeout = max(0.0, min([*deadlines, give_up]) - time.monotonic())
        waiting = [
            orders[i].launcher.fd
            for i in live
            if i not in ready_at or orders[i].until is not None
        ]
        readable, _, _ = select.select(waiting, [], [], timeout)
        for o in orders:
            if o.launcher.fd in readable:
                o.launcher.pump()
    return [runs[i] for i in range(len(orders))]


# ---------------------------------------------------------------------- child side


def _say(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _new_record(raw: dict[str, object], rng: random.Random) -> dict[str, object]:
    """A synthetic record with fresh ids: the store makes the client and referral ids; the
    episode id is made here (the same way) so that the intent line can name it."""
    from desktop.storage.store import new_id

    rec = dict(raw)
    rec.pop("CLIENTID", None)
    rec["EPISODID"] = new_id()
    refs = []
    for item in rec.get("referrals") or []:
        assert isinstance(item, dict)
        refs.append({k: v for k, v in item.items() if k != "REFERID"})
    for _ in range(rng.choice((0, 0, 1, 2))):
        refs.append({"REFDATE": str(rec.get("REFLD") or "2026-06-01")})
    rec["referrals"] = refs
    return rec


def _edited(raw: dict[str, object], rng: random.Random) -> dict[str, object]:
    """A stored episode with one to three changes: a field, consent, referrals."""
    rec = dict(raw)
    refs = [dict(r) for r in rec.get("referrals") or [] if isinstance(r, dict)]
    for _ in range(rng.randint(1, 3)):
        change = rng.randrange(4)
        if change == 0:
            rec["ALCUNITS"] = rng.randrange(0, 300)
        elif change == 1:
            rec["CONSENT"] = "N" if rec.get("CONSENT") == "Y" else "Y"
        elif change == 2:
            refs.append({"REFDATE": str(rec.get("REFLD") or "2026-06-01")})
        elif refs:
            refs.pop(rng.randrange(len(refs)))
    rec["referrals"] = refs
    return rec


def _saves(store: Any, rng: random.Random) -> None:
    from desktop.domain.synthetic import records
    from desktop.storage.store import CaseloadQuery

    known = [(r.episode_id, r.client_id) for r in store.caseload.page(CaseloadQuery(limit=60))]
    fresh = records(store.refdata, "cjit-q", 1 << 30, seed=rng.randrange(1 << 30))
    while True:
        roll = rng.random()
        if known and roll < 0.4:
            episode_id, _ = rng.choice(known)
            rec = _edited(store.episodes.load(episode_id).raw, rng)
        else:
            rec = _new_record(next(fresh), rng)
            if known and roll > 0.9:
                rec["CLIENTID"] = rng.choice(known)[1]
        refs = rec["referrals"]
        assert isinstance(refs, list)
        _say(f"intent {rec['EPISODID']} {len(refs)}")
        saved = store.episodes.save(
            rec,
            client_name=rng.choice((None, "Pat Example", "")),
            notes=rng.choice((None, "seen at court", "phoned twice " * rng.randrange(1, 40))),
        )
        _say(f"ack {saved.episode_id} {saved.client_id} {saved.version} {len(refs)}")
        if (saved.episode_id, saved.client_id) not in known:
            known.append((saved.episode_id, saved.client_id))


def _backups(store: Any) -> None:
    while True:
        info = store.backups.backup()
        _say(f"ack {info.path}")


def _passwords(store: Any, current: int) -> None:
    while True:
        new = 1 - current
        store.users.change_password(PASSWORDS[current], PASSWORDS[new])
        current = new
        _say(f"pw {current}")


def _vacuums(store: Any) -> None:
    while True:
        store.backups.vacuum()
        _say("ack")


def _child(command: dict[str, Any], refdata: Any) -> None:
    from desktop.storage.store import Store

    mode, path, password = command["mode"], Path(command["store"]), command["password"]
    rng = random.Random(command["seed"])
    if mode == "migrate":
        _say("ready")
        Store.open(path, USER, password, refdata=refdata)
        _say("opened")
        while True:
            time.sleep(1)
    store = Store.open(path, USER, password, refdata=refdata)
    _say("ready")
    if mode == "saves":
        _saves(store, rng)
    elif mode == "backup":
        _backups(store)
    elif mode == "password":
        _passwords(store, PASSWORDS.index(password))
    else:
        _vacuums(store)


def _warm_up(refdata: Any) -> None:
    """Run every operation once on a scratch store before forking, so that each child
    starts with the code paths (and Argon2's memory) already warm."""
    import tempfile

    from desktop.domain.synthetic import records
    from desktop.storage.store import CaseloadQuery, Store

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "warm.store"
        store = Store.create(
            path, agency="CJ123", kind="cjit", user=USER, password=PASSWORDS[0], refdata=refdata
        )
        saved = store.episodes.save(
            _new_record(next(records(refdata, "cjit-q", 1)), random.Random())
        )
        store.episodes.save(_edited(store.episodes.load(saved.episode_id).raw, random.Random()))
        store.caseload.page(CaseloadQuery())
        store.backups.backup()
        store.backups.vacuum()
        store.close(backup_reason=None)
        Store.open(path, USER, PASSWORDS[0], refdata=refdata).close(backup_reason=None)


def main() -> int:
    """The launcher: fork one child per command until the end of input."""
    from desktop.domain.refdata import load_refdata

    refdata = load_refdata(REPO / "refdata")
    _warm_up(refdata)
    _say("warm")
    for line in sys.stdin:
        command = json.loads(line)
        if "reap" in command:
            pid = int(command["reap"])
            _, status = os.waitpid(pid, 0)
            _say(f"reaped {pid} {os.waitstatus_to_exitcode(status)}")
            continue
        if command["mode"] not in MODES:
            _say(f"error unknown mode {command['mode']}")
            continue
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                _child(command, refdata)
                code = 0
            except BaseException as exc:
                with contextlib.suppress(BaseException):
                    traceback.print_exc()
                    sys.stderr.flush()
                    _say(f"error {type(exc).__name__}")
            finally:
                os._exit(code)
        _say(f"child {pid}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
