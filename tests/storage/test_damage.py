"""Damaged store files are found and said plainly; none opens as healthy, none is replaced.

reliability #7: mutants of one closed store (about 50 episodes, a few free pages) made from a
pristine template: bit flips in the data, IV and HMAC areas of random pages (seeded, so the
same pages every run), flips in free pages, truncations, swapped pages, a zeroed salt, an
empty file and files of random bytes. Each one must be refused at open (StoreDamaged or
ForeignFile), or be reported by ``integrity_problems`` (``cipher_integrity_check`` covers
every page, used or free), or fail a full read with StoreDamaged. Nothing may crash with
anything but a StoreError, and no attempt may change the damaged file or leave a new store.
"""

from __future__ import annotations

import hashlib
import json
import random
import re
import shutil
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from desktop.storage import keys
from desktop.storage.backup import BackupInfo
from desktop.storage.errors import ForeignFile, StoreDamaged, StoreError
from desktop.storage.store import CaseloadQuery, Store, backups_folder, keys_path
from tests.fixtures import new_store
from tests.storage.storekit import (
    HMAC_AT,
    IV_AT,
    PAGE,
    PASSWORD,
    SALT,
    checkpoint,
    copy_store,
    decrypt_page,
    free_pages,
    fresh,
    open_store,
    page_hmac_ok,
    pages,
    sidecar,
    write_figures,
)

SEED = 20260707
EPISODES = 50
# What belongs in a log, not in a message for a worker: SQLite's check output, page numbers.
TECHNICAL = re.compile(r"\*\*\*|btree|error code|sqlite|tree \d|page \d|traceback|\n", re.I)


@dataclass(frozen=True)
class Template:
    path: Path
    data: bytes
    key: bytes
    free_leaves: tuple[int, ...]
    free_trunks: tuple[int, ...]
    backup: BackupInfo
    episodes: int
    counts: dict[str, int]

    @property
    def page_count(self) -> int:
        return len(self.data) // PAGE

    @property
    def used_pages(self) -> list[int]:
        free = set(self.free_leaves) | set(self.free_trunks)
        return [p for p in range(2, self.page_count + 1) if p not in free]


@pytest.fixture(scope="module")
def template(tmp_path_factory: pytest.TempPathFactory) -> Template:
    """One closed, fully checkpointed store with a checked backup beside it."""
    path = tmp_path_factory.mktemp("template") / "team.store"
    store = new_store(path)
    saved = []
    for i, rec in enumerate(fresh(EPISODES + 4, seed=11)):
        long_notes = i < 6  # rows with overflow pages, some deleted below to free pages
        saved.append(
            store.episodes.save(
                rec,
                client_name=f"Client {i}",
                notes=("Seen at the custody suite. " * 400) if long_notes else "Seen.",
            )
        )
    for s in saved[:4]:
        store.episodes.delete(s.episode_id)
    backup = store.backups.backup("manual")
    counts = store.backups.counts()
    store.close(backup_reason=None)
    assert not sidecar(path, "-wal").exists() or sidecar(path, "-wal").stat().st_size == 0
    assert not sidecar(path, "-journal").exists()
    data = path.read_bytes()
    assert len(data) % PAGE == 0 and len(data) // PAGE >= 10
    key, _ = keys.unwrap_key(keys.read_keyfile(keys_path(path)), "amy", PASSWORD)
    trunks, leaves = free_pages(data, key)
    return Template(path, data, bytes(key), tuple(leaves), tuple(trunks), backup, EPISODES, counts)


def test_template_is_laid_out_as_the_mutants_assume(template: Template) -> None:
    """reliability #7: the IV and HMAC areas are where the mutants flip them. Every page's
    HMAC checks out at offset 4032 (over ciphertext, IV and page number); a flip at offset
    4016 changes only the first block of plaintext (it is the CBC IV) and breaks the HMAC;
    a flip in the HMAC leaves the plaintext alone and breaks the HMAC."""
    data, key = template.data, template.key
    assert all(page_hmac_ok(data, n, key) for n in range(1, 1 + len(pages(data))))
    interior_or_leaf = {0x02, 0x05, 0x0A, 0x0D}
    page = template.used_pages[0]
    plain = decrypt_page(data, page, key)
    assert plain[0] in interior_or_leaf
    at = (page - 1) * PAGE
    iv_flipped = data[: at + IV_AT] + bytes([data[at + IV_AT] ^ 1]) + data[at + IV_AT + 1 :]
    changed = decrypt_page(iv_flipped, page, key)
    assert changed[:16] != plain[:16] and changed[16:] == plain[16:]
    assert not page_hmac_ok(iv_flipped, page, key)
    mac_flipped = data[: at + HMAC_AT] + bytes([data[at + HMAC_AT] ^ 1]) + data[at + HMAC_AT + 1 :]
    assert decrypt_page(mac_flipped, page, key) == plain
    assert not page_hmac_ok(mac_flipped, page, key)
    assert template.free_leaves, "the template needs free pages to damage"
    assert template.counts["episodes"] == template.episodes


# ------------------------------------------------------------------ mutants


@dataclass(frozen=True)
class Mutant:
    kind: str
    label: str
    data: bytes


def _flip(data: bytes, offset: int, rng: random.Random) -> bytes:
    out = bytearray(data)
    out[offset] ^= 1 << rng.randrange(8)
    return bytes(out)


def _swap(data: bytes, a: int, b: int) -> bytes:
    ps = pages(data)
    ps[a - 1], ps[b - 1] = ps[b - 1], ps[a - 1]
    return b"".join(ps)


def mutants(t: Template) -> list[Mutant]:
    rng = random.Random(SEED)
    data = t.data
    n = t.page_count
    out: list[Mutant] = []

    def at(page: int, lo: int, hi: int) -> int:
        return (page - 1) * PAGE + rng.randrange(lo, hi)

    for _ in range(16):
        page = rng.choice(t.used_pages)
        off = at(page, 0, IV_AT)
        out.append(Mutant("data", f"page {page} byte {off % PAGE}", _flip(data, off, rng)))
    for _ in range(2):
        off = at(1, SALT, IV_AT)
        out.append(Mutant("data", f"page 1 byte {off}", _flip(data, off, rng)))
    for kind, lo, hi in (("iv", IV_AT, HMAC_AT), ("hmac", HMAC_AT, PAGE)):
        for _ in range(10):
            page = rng.randrange(1, n + 1)
            off = at(page, lo, hi)
            out.append(Mutant(kind, f"page {page} byte {off % PAGE}", _flip(data, off, rng)))
    for page in [*rng.sample(t.free_leaves, min(3, len(t.free_leaves))), t.free_trunks[0]]:
        off = at(page, 0, IV_AT)
        out.append(Mutant("free", f"free page {page} byte {off % PAGE}", _flip(data, off, rng)))
    for size in (len(data) - 1000, len(data) - 1, len(data) - PAGE, 10 * PAGE, PAGE):
        out.append(Mutant("truncated", f"to {size} bytes", data[:size]))
    for _ in range(2):
        a, b = sorted(rng.sample(range(1, n + 1), 2))
        out.append(Mutant("swapped", f"pages {a} and {b}", _swap(data, a, b)))
    out.append(Mutant("salt", "salt zeroed", bytes(SALT) + data[SALT:]))
    out.append(Mutant("empty", "zero bytes", b""))
    out.append(Mutant("random", "random, same size", rng.randbytes(len(data))))
    out.append(Mutant("random", "random, 3000 bytes", rng.randbytes(3000)))
    return out


KINDS = ("data", "iv", "hmac", "free", "truncated", "swapped", "salt", "empty", "random")


@dataclass
class Outcome:
    mutant: Mutant
    result: str  # refused | found-by-check | found-by-read | silent | crash | wrong-error
    message: str = ""
    altered: str = ""


def _listing(folder: Path) -> dict[str, str]:
    return {
        p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir() if p.is_file()
    }


def attempt(t: Template, mutant: Mutant, folder: Path, with_backup: bool = False) -> Outcome:
    """Put the mutant in place of the store, try to use it, and say what happened."""
    path = folder / t.path.name
    copy_store(t.path, path)
    path.write_bytes(mutant.data)
    if with_backup:
        shutil.copytree(backups_folder(t.path), backups_folder(path))
    before = _listing(folder)
    outcome = Outcome(mutant, "silent")
    store: Store | None = None
    try:
        store = open_store(path)
        problems = store.backups.integrity_problems()
        if problems:
            outcome.result = "found-by-check"
        else:
            rows = store.caseload.page(CaseloadQuery(limit=10_000))
            for row in rows:
                store.episodes.load(row.episode_id)
            # Opened, passed both checks and read back: silent, and worse if records are gone.
            outcome.message = f"{len(rows)} of {t.episodes} episodes read back"
    except (StoreDamaged, ForeignFile) as exc:
        outcome.result = "refused" if store is None else "found-by-read"
        outcome.message = str(exc)
    except StoreError as exc:
        outcome.result = "wrong-error"
        outcome.message = f"{type(exc).__name__}: {exc}"
    except Exception as exc:
        outcome.result = "crash"
        outcome.message = f"{type(exc).__name__}: {exc}"
    finally:
        if store is not None:
            store.close(backup_reason=None)
    after = _listing(folder)
    if outcome.result == "refused":
        changed = sorted(
            name
            for name in set(before) | set(after)
            if before.get(name) != after.get(name) and not name.endswith(".lock")
        )
        if changed:
            outcome.altered = f"a refused open changed {changed}"
    elif not path.is_file() or path.stat().st_size < len(mutant.data):
        outcome.altered = "the store file was replaced or cut"
    if after.get(keys_path(path).name) != before.get(keys_path(path).name):
        outcome.altered += " the key file was changed"
    return outcome


@pytest.fixture(scope="module")
def outcomes(
    template: Template, tmp_path_factory: pytest.TempPathFactory
) -> dict[str, list[Outcome]]:
    root = tmp_path_factory.mktemp("mutants")
    found: dict[str, list[Outcome]] = {k: [] for k in KINDS}
    all_mutants = mutants(template)
    assert len(all_mutants) >= 50
    for i, m in enumerate(all_mutants):
        found[m.kind].append(attempt(template, m, root / f"m{i:02d}"))
    tally = Counter((o.mutant.kind, o.result) for os_ in found.values() for o in os_)
    write_figures(
        "damage-mutants",
        mutants=len(all_mutants),
        by_kind={k: len(v) for k, v in found.items()},
        outcomes={f"{k}/{r}": c for (k, r), c in sorted(tally.items())},
        technical_messages=sum(
            1 for os_ in found.values() for o in os_ if TECHNICAL.search(o.message)
        ),
        altered=sum(1 for os_ in found.values() for o in os_ if o.altered),
    )
    return found


@pytest.mark.parametrize("kind", KINDS)
def test_no_damaged_store_opens_as_healthy(kind: str, outcomes: dict[str, list[Outcome]]) -> None:
    """reliability #7: per kind of damage, 0 silent opens, 0 crashes, 0 stores replaced."""
    done = outcomes[kind]
    assert done
    silent = [f"{o.mutant.label}: {o.message}" for o in done if o.result == "silent"]
    crashes = [f"{o.mutant.label}: {o.message}" for o in done if o.result == "crash"]
    wrong = [f"{o.mutant.label}: {o.message}" for o in done if o.result == "wrong-error"]
    altered = [f"{o.mutant.label}: {o.altered}" for o in done if o.altered]
    assert silent == []
    assert crashes == []
    assert wrong == []
    assert altered == []


@pytest.mark.parametrize("kind", KINDS)
def test_damage_is_said_plainly(kind: str, outcomes: dict[str, list[Outcome]]) -> None:
    """reliability #7: the message says the store is damaged, in a worker's words."""
    said = [o.message for o in outcomes[kind] if o.result in ("refused", "found-by-read")]
    not_damage = [m for m in said if "damaged" not in m]
    technical = [m for m in said if TECHNICAL.search(m)]
    assert not_damage == []
    assert technical == []


def test_free_page_damage_is_found_by_the_page_check(outcomes: dict[str, list[Outcome]]) -> None:
    """reliability #7: a flip in a free page escapes every read, but not the HMAC check."""
    assert {o.result for o in outcomes["free"]} <= {"refused", "found-by-check"}
    assert any(o.result == "found-by-check" for o in outcomes["free"])


def test_damage_offers_the_newest_checked_backup_by_date(
    template: Template, tmp_path: Path
) -> None:
    """reliability #7: "store damaged, restore from backup <date>?" when a backup exists."""
    rng = random.Random(SEED + 1)
    page = rng.choice(template.used_pages)
    damaged = _flip(template.data, (page - 1) * PAGE + rng.randrange(0, IV_AT), rng)
    folder = tmp_path / "with-backup"
    path = folder / template.path.name
    outcome = attempt(template, Mutant("data", f"page {page}", damaged), folder, with_backup=True)
    assert outcome.result == "refused"
    assert outcome.altered == ""
    with pytest.raises(StoreDamaged) as caught:
        open_store(path)
    offered = caught.value.newest_backup
    copied = backups_folder(path) / template.backup.path.name
    assert offered is not None and offered.path == copied
    assert offered.taken == template.backup.taken
    message = str(caught.value)
    assert "damaged" in message
    assert f"{template.backup.taken:%d %B %Y at %H:%M}" in message
    assert str(copied) in message


def test_garbage_beside_the_store_costs_no_record(template: Template, tmp_path: Path) -> None:
    """reliability #7: a -wal file of garbage beside a checkpointed store. SQLite ignores a
    log whose header fails its checksum, so the store must either be refused as damaged or
    open with every record and pass both checks; it must never open with records missing."""
    path = tmp_path / template.path.name
    copy_store(template.path, path)
    garbage = random.Random(SEED + 2).randbytes(3 * PAGE + 100)
    sidecar(path, "-wal").write_bytes(garbage)
    refused: StoreDamaged | None = None
    try:
        store = open_store(path)
    except StoreDamaged as exc:
        refused = exc
    if refused is not None:
        assert "damaged" in str(refused)
        assert path.read_bytes() == template.data
        return
    try:
        assert store.backups.integrity_problems() == []
        assert store.backups.counts() | {"audit_events": 0} == template.counts | {"audit_events": 0}
        checkpoint(store)
    finally:
        store.close(backup_reason=None)
    assert len(path.read_bytes()) >= len(template.data)


def _edited(change: Callable[[dict[str, Any]], object]) -> Callable[[bytes], bytes]:
    def edit(data: bytes) -> bytes:
        doc = json.loads(data)
        change(doc)
        return json.dumps(doc).encode()

    return edit


KEYFILE_DAMAGE: dict[str, Callable[[bytes], bytes | None]] = {
    "empty": lambda b: b"",
    "cut in half": lambda b: b[: len(b) // 2],
    "binary garbage": lambda b: random.Random(SEED + 3).randbytes(len(b)),
    "not an object": lambda b: b"[1, 2, 3]",
    "users not a list": _edited(lambda d: d.update(users={"amy": d["users"]})),
    "a wrap without its nonce": _edited(lambda d: d["users"][0].pop("nonce")),
    "memory cost not a number": _edited(lambda d: d["users"][0]["kdf"].update(memory_kib="x")),
    "salt not base64": lambda b: b.replace(b'"salt": "', b'"salt": "!!', 1),
    "nested too deep": lambda b: b"[" * 100_000 + b"]" * 100_000,
    "missing": lambda b: None,
}


@pytest.mark.parametrize("damage", sorted(KEYFILE_DAMAGE))
def test_a_damaged_key_file_is_said_plainly(
    template: Template, tmp_path: Path, damage: str
) -> None:
    """reliability #7: a damaged key file gives StoreDamaged, never a KeyError or JSON error,
    and the store itself is not touched."""
    path = tmp_path / template.path.name
    copy_store(template.path, path)
    content = KEYFILE_DAMAGE[damage](keys_path(path).read_bytes())
    if content is None:
        keys_path(path).unlink()
    else:
        keys_path(path).write_bytes(content)
    with pytest.raises(StoreDamaged) as caught:
        open_store(path)
    message = str(caught.value)
    assert "key file" in message and "damaged" in message
    for word in ("Expecting", "line 1", "KeyError", "Traceback", "JSON", "base64", "\n"):
        assert word not in message
    assert path.read_bytes() == template.data
