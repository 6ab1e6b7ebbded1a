"""Shared helpers for the store's file-level tests: records, page layout, hashing, figures.

SQLCipher 4 with 4096-byte pages keeps 80 reserved bytes at the end of every page: a 16-byte
IV at offset 4016, then a 64-byte HMAC-SHA512 at offset 4032. The HMAC covers the page's
ciphertext and IV plus the page number (4 bytes, little-endian). Page 1 starts with the
16-byte salt in place of the SQLite header, so its ciphertext starts at offset 16. With a raw
key the page key is the key itself and the HMAC key is PBKDF2-HMAC-SHA512(key, salt XOR 0x3a,
2 iterations). :func:`page_hmac_ok` and :func:`decrypt_page` use exactly that layout, so the
tests that mutate the IV or HMAC area check first that those areas are where they think.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import math
import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

from desktop.storage.store import Store, keys_path
from tests.fixtures import PASSWORD, shipped, synthetic_records

PAGE = 4096
RESERVE = 80
IV_AT = PAGE - RESERVE  # 4016
HMAC_AT = IV_AT + 16  # 4032
SALT = 16
SQLITE_HEADER = b"SQLite format 3\0"


def fresh(n: int, *, seed: int = 1, dataset: str = "cjit-q") -> list[dict[str, Any]]:
    """``n`` valid synthetic records without technical ids (the ``records`` fixture, for
    the storage and transfer helpers and module-scoped fixtures that cannot ask for it)."""
    return synthetic_records(n, dataset, seed=seed)


def open_store(path: Path, user: str | None = "amy", password: str = PASSWORD, **kw: Any) -> Store:
    return Store.open(path, user, password, refdata=shipped(), **kw)


@contextlib.contextmanager
def raw(store: Store) -> Iterator[Any]:
    """A raw keyed ``sqlcipher3`` connection borrowed from the store's pool."""
    with store.database.live().connect() as conn:
        yield conn.connection.dbapi_connection


def checkpoint(store: Store) -> None:
    """Move everything from the WAL into the main file and empty the WAL."""
    with raw(store) as conn:
        busy, _, _ = conn.execute("PRAGMA wal_checkpoint(TRUNCATE)").fetchone()
        assert busy == 0, "the checkpoint was blocked by a reader"


def sidecar(path: Path, suffix: str) -> Path:
    return path.with_name(path.name + suffix)


def copy_store(src: Path, dest: Path) -> None:
    """Copy a closed store and its key file (nothing else) to ``dest``."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    dest.write_bytes(src.read_bytes())
    keys_path(dest).write_bytes(keys_path(src).read_bytes())


# ------------------------------------------------------------------ page layout


def pages(data: bytes) -> list[bytes]:
    return [data[i : i + PAGE] for i in range(0, len(data), PAGE)]


def page_hashes(path: Path) -> list[str]:
    return [hashlib.sha256(p).hexdigest() for p in pages(path.read_bytes())]


def changed_pages(before: list[str], after: list[str]) -> int:
    """Pages that differ, counting pages added or cut off as changed."""
    common = sum(1 for a, b in zip(before, after, strict=False) if a != b)
    return common + abs(len(before) - len(after))


def _hmac_key(key: bytes | bytearray, salt: bytes) -> bytes:
    return hashlib.pbkdf2_hmac("sha512", bytes(key), bytes(b ^ 0x3A for b in salt), 2, 32)


def page_hmac_ok(data: bytes, pgno: int, key: bytes | bytearray) -> bool:
    """Whether page ``pgno`` (1-based) of a file carries a valid HMAC where we expect it."""
    page = data[(pgno - 1) * PAGE : pgno * PAGE]
    start = SALT if pgno == 1 else 0
    mac = hmac.new(
        _hmac_key(key, data[:SALT]), page[start:HMAC_AT] + pgno.to_bytes(4, "little"), "sha512"
    )
    return hmac.compare_digest(mac.digest(), page[HMAC_AT:])


def decrypt_page(data: bytes, pgno: int, key: bytes | bytearray) -> bytes:
    """The plaintext of page ``pgno`` (for page 1, from offset 16 of the SQLite page)."""
    page = data[(pgno - 1) * PAGE : pgno * PAGE]
    start = SALT if pgno == 1 else 0
    dec = Cipher(algorithms.AES(bytes(key)), modes.CBC(page[IV_AT:HMAC_AT])).decryptor()
    return dec.update(page[start:IV_AT]) + dec.finalize()


def free_pages(data: bytes, key: bytes | bytearray) -> tuple[list[int], list[int]]:
    """(trunk pages, leaf pages) of the free list, read from the decrypted file."""
    header = decrypt_page(data, 1, key)  # SQLite header bytes 16.. of page 1
    trunk = int.from_bytes(header[32 - SALT : 36 - SALT], "big")
    trunks: list[int] = []
    leaves: list[int] = []
    while trunk:
        trunks.append(trunk)
        body = decrypt_page(data, trunk, key)
        count = int.from_bytes(body[4:8], "big")
        leaves.extend(int.from_bytes(body[8 + 4 * i : 12 + 4 * i], "big") for i in range(count))
        trunk = int.from_bytes(body[0:4], "big")
    return trunks, leaves


def entropy(data: bytes) -> float:
    """Shannon entropy in bits per byte."""
    counts = Counter(data)
    total = len(data)
    return -sum(c / total * math.log2(c / total) for c in counts.values())


# ------------------------------------------------------------------ scanning and figures


def files_under(*roots: Path) -> list[Path]:
    seen: dict[Path, None] = {}
    for root in roots:
        if root.is_file():
            seen[root] = None
        elif root.is_dir():
            for p in sorted(root.rglob("*")):
                if p.is_file() and not p.is_symlink():
                    seen[p] = None
    return list(seen)


def write_figures(name: str, **values: object) -> None:
    """Append one JSON line of figures to the file named by ``PATHWAY_FIGURES``, if set."""
    target = os.environ.get("PATHWAY_FIGURES")
    if not target:
        return
    with open(target, "a", encoding="utf-8") as fh:
        fh.write(json.dumps({"check": name, **values}, default=str) + "\n")
