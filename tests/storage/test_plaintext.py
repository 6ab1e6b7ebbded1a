"""No client data in plaintext on disk or in the logs, through a whole working session.

reliability #3 and #11: every text value a worker can type carries a unique marker
(``ZQXMARK-`` and a random id); a full session runs (create, about 50 saves, edits, drafts,
consent, searches and sorts, VACUUM, backups, lock and unlock, a wrong password, and a save
loop in another process killed with SIGKILL). Then every file under the store folder, the
Pathway folder, HOME, TMPDIR, SQLITE_TMPDIR and the XDG folders is searched for the marker
prefix (which every marker starts with) in UTF-8, UTF-16-LE and UTF-16-BE, upper and lower
case, and for the store key. Log records at DEBUG are searched the same way.
"""

from __future__ import annotations

import ctypes
import logging
import os
import re
import signal
import subprocess
import sys
import tempfile
import uuid
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import pytest

from desktop.app import paths
from desktop.domain.spec import RefData
from desktop.storage import keys
from desktop.storage.errors import WrongPassword
from desktop.storage.store import CaseloadQuery, Store, default_store, keys_path
from tests.conftest import REFDATA, REPO
from tests.fixtures import new_store
from tests.storage.storekit import files_under, fresh, raw, sidecar, write_figures

PREFIX = "ZQXMARK-"
ENV_DIRS = {
    "HOME": "home",
    "TMPDIR": "tmp",
    "SQLITE_TMPDIR": "sqlite-tmp",
    "XDG_DATA_HOME": "xdg-data",
    "XDG_CONFIG_HOME": "xdg-config",
    "XDG_CACHE_HOME": "xdg-cache",
    "PATHWAY_DATA_DIR": "pathway-data",
}
SAVES = 50
CHILD_SAVES_BEFORE_KILL = 5

# Run in a child process: open the store and save marked records until killed.
CHILD = r"""
import os, sys, uuid
from pathlib import Path
from desktop.domain.refdata import load_refdata
from desktop.domain.synthetic import records
from desktop.storage.store import Store

store_path, refdata_dir = Path(sys.argv[1]), Path(sys.argv[2])
base = os.environ["PATHWAY_TEST_MARKER"]
refdata = load_refdata(refdata_dir)
store = Store.open(store_path, "amy", os.environ["PATHWAY_PASSWORD"], refdata=refdata)
print("ready", flush=True)
for i, rec in enumerate(records(refdata, "cjit-q", 500, seed=77)):
    rec.pop("CLIENTID")
    rec.pop("EPISODID")
    for item in rec.get("referrals", []):
        item.pop("REFERID", None)
    rec["CLIENT"] = "ZQXMARK-" + uuid.uuid4().hex[:22]
    store.episodes.save(
        rec,
        client_name=f"{base}-name-{i}",
        client_notes=f"{base}-client-notes-{i}",
        notes=f"{base}-notes-{i}",
    )
    print(f"saved {i + 1}", flush=True)
"""


def marker() -> str:
    return f"{PREFIX}{uuid.uuid4()}"


def client_marker() -> str:
    """CLIENT holds at most 30 characters: the prefix and 22 random hex digits."""
    return PREFIX + uuid.uuid4().hex[:22]


def needles(extra: tuple[bytes, ...] = ()) -> list[tuple[str, bytes]]:
    out = []
    for text in (PREFIX, PREFIX.lower()):
        for enc in ("utf-8", "utf-16-le", "utf-16-be"):
            out.append((f"{text!r} {enc}", text.encode(enc)))
    out.extend((f"secret {i}", e) for i, e in enumerate(extra))
    return out


def scan(files: list[Path], extra: tuple[bytes, ...] = ()) -> list[str]:
    """'<file>: <needle> x<count>' for every needle found in any file."""
    found = []
    for path in files:
        try:
            data = path.read_bytes()
        except OSError:
            continue
        for name, needle in needles(extra):
            n = data.count(needle)
            if n:
                found.append(f"{path}: {name} x{n}")
    return found


@dataclass
class Sandbox:
    root: Path
    dirs: dict[str, Path]
    markers: list[str] = field(default_factory=list)

    def mark(self, client: bool = False) -> str:
        m = client_marker() if client else marker()
        self.markers.append(m)
        return m

    def files(self) -> list[Path]:
        return files_under(*self.dirs.values())


@pytest.fixture
def sandbox(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Sandbox:
    """HOME, TMPDIR, SQLITE_TMPDIR, XDG_* and the Pathway folder all inside this test."""
    dirs = {}
    for var, name in ENV_DIRS.items():
        d = tmp_path / "env" / name
        d.mkdir(parents=True)
        monkeypatch.setenv(var, str(d))
        dirs[var] = d
    monkeypatch.setattr(tempfile, "tempdir", None)  # recomputed from TMPDIR on next use
    assert tempfile.gettempdir() == str(dirs["TMPDIR"])
    return Sandbox(tmp_path, dirs)


def test_the_scan_finds_a_marker_in_every_encoding(tmp_path: Path) -> None:
    """The search itself can fail: a planted marker is found in each encoding."""
    m = marker()
    for enc in ("utf-8", "utf-16-le", "utf-16-be"):
        planted = tmp_path / f"planted-{enc}.bin"
        planted.write_bytes(os.urandom(5000) + m.encode(enc) + os.urandom(5000))
        # UTF-16-BE text also holds UTF-16-LE text one byte along: at least its own is found.
        assert f"{planted}: {PREFIX!r} {enc} x1" in scan([planted])
    lower = tmp_path / "lower.txt"
    lower.write_bytes(m.lower().encode())
    assert len(scan([lower])) == 1


def _temp_store_settings(store: Store) -> list[str]:
    engine = store.database.live()
    conns = [engine.connect() for _ in range(3)]
    try:
        return [
            str(c.connection.dbapi_connection.execute("PRAGMA temp_store").fetchone()[0])
            for c in conns
        ]
    finally:
        for c in conns:
            c.close()


def _session(box: Sandbox, path: Path, password: str) -> dict[str, int]:
    """Everything a worker does in a day, with a marker in every text value."""
    store = new_store(path, password=password)
    saved = []
    for rec in fresh(SAVES, seed=31):
        rec["CLIENT"] = box.mark(client=True)
        saved.append(
            store.episodes.save(
                rec,
                client_name=box.mark(),
                client_notes=box.mark(),
                notes=box.mark(),
            )
        )
    for s in saved[:8]:  # edits: new notes and names, and a changed client reference
        back = store.episodes.load(s.episode_id)
        raw_rec = dict(back.raw)
        raw_rec["CLIENT"] = box.mark(client=True)
        store.episodes.save(raw_rec, client_name=box.mark(), notes=box.mark())
    for s in saved[8:14]:
        store.consent.record(s.client_id, "sharing", "given", date(2026, 3, 2), agencies=box.mark())
    store.places.remember(saved[20].episode_id)
    store.places.remember(saved[21].episode_id)
    store.places.remember(None)
    imported = fresh(3, seed=32)
    for rec in imported:
        rec["CLIENT"] = box.mark(client=True)
    store.episodes.import_records(imported)
    found = store.caseload.page(CaseloadQuery(search=PREFIX, limit=1000))
    assert len(found) == SAVES + len(imported)
    for order in ("updated_at", "opened_on", "closed_on", "last_contact", "client_ref", "dob"):
        for descending in (True, False):
            rows = store.caseload.page(
                CaseloadQuery(search=PREFIX[:5], order_by=order, descending=descending, limit=20)
            )
            assert len(rows) == 20
    assert store.caseload.count(CaseloadQuery(search=PREFIX)) == SAVES + len(imported)
    store.episodes.delete(saved[30].episode_id)
    store.episodes.delete(saved[31].episode_id)
    assert _temp_store_settings(store) == ["2", "2", "2"]
    store.backups.vacuum()
    store.backups.backup("manual")
    assert store.backups.integrity_problems() == []
    store.lock()  # takes a backup too
    return {"episodes": SAVES + len(imported) - 2}


def _kill_a_saving_child(path: Path, password: str, base: str) -> int:
    """Run saves in another process and SIGKILL it mid-loop; return the saves it reported."""
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO)
    env["PATHWAY_PASSWORD"] = password
    env["PATHWAY_TEST_MARKER"] = base
    reported = 0
    with subprocess.Popen(
        [sys.executable, "-c", CHILD, str(path), str(REFDATA)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as proc:
        assert proc.stdout is not None and proc.stderr is not None
        for line in proc.stdout:
            if line.startswith("saved "):
                reported = int(line.split()[1])
                if reported >= CHILD_SAVES_BEFORE_KILL:
                    os.kill(proc.pid, signal.SIGKILL)
                    break
        proc.wait()
        stderr = proc.stderr.read()
        assert proc.returncode == -signal.SIGKILL, stderr
    assert PREFIX not in stderr and PREFIX.lower() not in stderr
    return reported


def _memory_copies(needle: bytes) -> int | None:
    """How many times ``needle`` is in this process's readable memory (a figure only)."""
    buf = bytearray(1 << 22)
    buf_at = ctypes.addressof((ctypes.c_char * len(buf)).from_buffer(buf))
    skip = (buf_at, buf_at + len(buf))
    count = 0
    try:
        regions = []
        for line in Path("/proc/self/maps").read_text().splitlines():
            span, perms = line.split()[:2]
            if "r" not in perms or line.rstrip().endswith(
                ("[vvar]", "[vsyscall]", "[vvar_vclock]")
            ):
                continue
            lo, hi = (int(x, 16) for x in span.split("-"))
            for a, b in ((lo, min(hi, skip[0])), (max(lo, skip[1]), hi)):
                if a < b:
                    regions.append((a, b))
        overlap = len(needle) - 1
        with open("/proc/self/mem", "rb", buffering=0) as mem:
            for lo, hi in regions:
                at = lo
                while at < hi:
                    size = min(len(buf), hi - at)
                    try:
                        mem.seek(at)
                        got = mem.readinto(memoryview(buf)[:size])
                    except OSError:
                        break
                    if not got:
                        break
                    count += bytes(memoryview(buf)[:got]).count(needle)
                    if at + got >= hi:
                        break
                    at += max(got - overlap, 1)
    except Exception:
        return None
    return count


def test_no_marker_reaches_disk_or_logs(
    sandbox: Sandbox, caplog: pytest.LogCaptureFixture, refdata: RefData
) -> None:
    """reliability #3 (0 marker hits in any file) and #11 (no marker, password or key in
    DEBUG logs; password only as a wrap in the key file; the attempts file holds none)."""
    caplog.set_level(logging.DEBUG)
    # SQLAlchemy keeps its own loggers at WARNING; show its statements (parameters hidden).
    caplog.set_level(logging.INFO, logger="sqlalchemy")
    password = sandbox.mark()
    control = marker()  # never given to the store: the copies the test itself holds
    path = default_store(paths.data_dir())
    assert path.parent == sandbox.dirs["PATHWAY_DATA_DIR"]
    path.parent.mkdir(parents=True, exist_ok=True)

    expected = _session(sandbox, path, password)

    # A wrong password (itself a marker) leaves an attempts file with no secret in it.
    wrong = sandbox.mark()
    with pytest.raises(WrongPassword):
        Store.open(path, "amy", wrong, refdata=refdata)
    attempts = sidecar(path, ".attempts")
    assert attempts.is_file()
    assert scan([attempts, keys_path(path)]) == []

    store = Store.open(path, "amy", password, refdata=refdata)  # unlock
    assert store.caseload.count() == expected["episodes"]
    assert _temp_store_settings(store) == ["2", "2", "2"]
    with raw(store) as conn:
        options = [str(r[0]) for r in conn.execute("PRAGMA compile_options")]
    assert any(re.fullmatch(r"TEMP_STORE=[23]", o) for o in options)
    store.close()

    reported = _kill_a_saving_child(path, password, sandbox.mark())
    after_kill = sandbox.files()
    wal = sidecar(path, "-wal")
    wal_bytes = wal.stat().st_size if wal.exists() else 0
    kill_hits = scan(after_kill)

    store = Store.open(path, "amy", password, refdata=refdata)  # recovery after the kill
    assert store.backups.integrity_problems() == []
    assert store.caseload.count() >= expected["episodes"] + reported
    store.close()

    key, _ = keys.unwrap_key(keys.read_keyfile(keys_path(path)), "amy", password)
    key_hex = bytes(key).hex()
    secrets = (bytes(key), key_hex.encode(), key_hex.upper().encode())
    keys.zero(key)

    files = sandbox.files()
    names = {p.name for p in files}
    assert path.name in names and keys_path(path).name in names
    assert any(n.endswith(".backup") for n in names)
    final_hits = scan(files, secrets)
    log_text = "\n".join(r.getMessage() + (r.exc_text or "") for r in caplog.records)
    log_hits = [
        what
        for what, needle in (
            ("marker prefix", PREFIX),
            ("marker prefix, lower case", PREFIX.lower()),
            ("key hex", key_hex),
            ("key hex, upper case", key_hex.upper()),
        )
        if needle in log_text
    ]
    copies = _memory_copies(password.encode())
    control_copies = _memory_copies(control.encode())
    write_figures(
        "plaintext",
        markers=len(sandbox.markers),
        files_scanned=len(files),
        bytes_scanned=sum(p.stat().st_size for p in files),
        hits_after_kill=len(kill_hits),
        hits=len(final_hits),
        log_records=len(caplog.records),
        log_hits=len(log_hits),
        wal_bytes_after_kill=wal_bytes,
        child_saves_before_kill=reported,
        password_copies_in_memory=copies,
        control_copies_in_memory=control_copies,
    )
    assert kill_hits == []
    assert final_hits == []
    assert caplog.records, "nothing was logged, so the log check proves nothing"
    assert log_hits == []
