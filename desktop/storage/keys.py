"""Per-user wraps of the random key that opens the encrypted store.

The store is keyed with 32 random bytes. Each user holds a copy of that key encrypted with a
key derived from their password (Argon2id, then AES-256-GCM). The associated data ties each
wrap to the store and to the user's id, name and role, so editing any of them in the file
makes the wrap fail to open. An optional recovery wrap lets a manager's offline X25519 key
open the store when every password is lost.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import threading
import unicodedata
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag, UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from desktop.app.files import atomic_write_bytes

FORMAT = "pathway-keys/1"
ROLES = ("worker", "manager")
KEY_BYTES = 32
SALT_BYTES = 16
NONCE_BYTES = 12
TAG_BYTES = 16
MAX_FILE_BYTES = 1 << 20
MIN_MEMORY_KIB, MAX_MEMORY_KIB = 65536, 1 << 20
MIN_ITERATIONS, MAX_ITERATIONS = 3, 64
MAX_LANES = 64
RECOVERY_INFO = b"pathway recovery v1"

DAMAGED = "The key file for this store is damaged. Restore it from a backup."
NEWER = "This store was made by a newer version of Pathway. Update Pathway to open it."
NO_RECOVERY = "This store has no recovery key."
BAD_PUBLIC = "That is not a recovery public key."
BAD_PRIVATE = "That is not a recovery private key."
NOT_THIS_STORE = "That recovery key does not open this store."


class KeyFileError(Exception):
    """The key file is missing, damaged or not ours; ``str(error)`` says so plainly."""


class WrongPassword(Exception):
    """Unknown user, wrong password or altered wrap: one message for all of them."""

    def __init__(self) -> None:
        super().__init__("The user name or password is not right.")


@dataclass(frozen=True, slots=True)
class KdfParams:
    memory_kib: int
    iterations: int
    lanes: int
    salt: bytes


DEFAULT_KDF = KdfParams(memory_kib=65536, iterations=3, lanes=4, salt=b"")


@dataclass(frozen=True, slots=True)
class Wrap:
    user_id: str
    name: str
    role: str
    kdf: KdfParams
    nonce: bytes
    ciphertext: bytes
    created: str


@dataclass(frozen=True, slots=True)
class RecoveryWrap:
    public_key_sha256: str
    ephemeral_public: bytes
    nonce: bytes
    ciphertext: bytes


def _fold(name: str) -> str:
    return name.strip().lower()


@dataclass(frozen=True, slots=True)
class KeyFile:
    store_id: str
    wraps: tuple[Wrap, ...]
    recovery: RecoveryWrap | None = None

    def find(self, name: str) -> Wrap | None:
        """The wrap for ``name``, ignoring case and surrounding spaces."""
        folded = _fold(name)
        return next((w for w in self.wraps if _fold(w.name) == folded), None)

    def with_wrap(self, wrap: Wrap) -> KeyFile:
        """A copy with ``wrap`` added, replacing any wrap with the same name."""
        return replace(self, wraps=(*self.without(wrap.name).wraps, wrap))

    def without(self, name: str) -> KeyFile:
        folded = _fold(name)
        return replace(self, wraps=tuple(w for w in self.wraps if _fold(w.name) != folded))

    def names(self) -> list[str]:
        return [w.name for w in self.wraps]


def new_store_key() -> bytearray:
    return bytearray(secrets.token_bytes(KEY_BYTES))


def zero(buf: bytearray) -> None:
    """Overwrite ``buf`` with zeros in place."""
    buf[:] = bytes(len(buf))


def _canonical(*parts: str) -> bytes:
    return json.dumps(list(parts), ensure_ascii=True, separators=(",", ":")).encode("ascii")


def _wrap_aad(store_id: str, user_id: str, name: str, role: str) -> bytes:
    return _canonical(FORMAT, "user", store_id, user_id, _fold(name), role)


# OpenSSL's multi-lane Argon2id hangs when two threads derive at once; one at a time.
_ARGON_LOCK = threading.Lock()


def _derive(password: str, kdf: KdfParams) -> bytes:
    secret = unicodedata.normalize("NFKC", password).encode("utf-8", "surrogatepass")
    argon = Argon2id(
        salt=kdf.salt,
        length=KEY_BYTES,
        iterations=kdf.iterations,
        lanes=kdf.lanes,
        memory_cost=kdf.memory_kib,
    )
    with _ARGON_LOCK:
        return argon.derive(secret)


def wrap_key(
    store_key: bytearray,
    password: str,
    *,
    store_id: str,
    user_id: str,
    name: str,
    role: str,
    params: KdfParams | None = None,
) -> Wrap:
    """Encrypt ``store_key`` under ``password`` for one user, with a fresh salt and nonce."""
    if not password:
        raise ValueError("The password must not be empty.")
    if role not in ROLES:
        raise ValueError(f"The role must be one of {', '.join(ROLES)}.")
    if not name.strip():
        raise ValueError("The user name must not be empty.")
    if len(store_key) != KEY_BYTES:
        raise ValueError("The store key must be 32 bytes.")
    kdf = replace(params or DEFAULT_KDF, salt=secrets.token_bytes(SALT_BYTES))
    nonce = secrets.token_bytes(NONCE_BYTES)
    aad = _wrap_aad(store_id, user_id, name, role)
    ciphertext = AESGCM(_derive(password, kdf)).encrypt(nonce, store_key, aad)
    created = datetime.now(UTC).isoformat(timespec="seconds")
    return Wrap(user_id, name.strip(), role, kdf, nonce, ciphertext, created)


def unwrap_key(keyfile: KeyFile, name: str, password: str) -> tuple[bytearray, Wrap]:
    """The store key and the user's wrap, or WrongPassword for any failure."""
    wrap = keyfile.find(name)
    if wrap is None or not password:
        _derive(password or "-", replace(DEFAULT_KDF, salt=bytes(SALT_BYTES)))
        raise WrongPassword
    aad = _wrap_aad(keyfile.store_id, wrap.user_id, wrap.name, wrap.role)
    try:
        key = AESGCM(_derive(password, wrap.kdf)).decrypt(wrap.nonce, wrap.ciphertext, aad)
    except (InvalidTag, ValueError):
        raise WrongPassword from None
    return bytearray(key), wrap


# --- the key file -------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")


def encode_keyfile(keyfile: KeyFile) -> bytes:
    users = [
        {
            "user_id": w.user_id,
            "name": w.name,
            "role": w.role,
            "kdf": {
                "algorithm": "argon2id",
                "memory_kib": w.kdf.memory_kib,
                "iterations": w.kdf.iterations,
                "lanes": w.kdf.lanes,
                "salt": _b64(w.kdf.salt),
            },
            "nonce": _b64(w.nonce),
            "ciphertext": _b64(w.ciphertext),
            "created": w.created,
        }
        for w in keyfile.wraps
    ]
    r = keyfile.recovery
    recovery = None
    if r is not None:
        recovery = {
            "public_key_sha256": r.public_key_sha256,
            "ephemeral_public": _b64(r.ephemeral_public),
            "nonce": _b64(r.nonce),
            "ciphertext": _b64(r.ciphertext),
        }
    doc = {"format": FORMAT, "store_id": keyfile.store_id, "users": users, "recovery": recovery}
    return (json.dumps(doc, sort_keys=True, indent=1) + "\n").encode("utf-8")


def _field(obj: Any, key: str, kind: type) -> Any:
    value = obj.get(key) if isinstance(obj, dict) else None
    if not isinstance(value, kind) or isinstance(value, bool) or (kind is str and not value):
        raise KeyFileError(DAMAGED)
    return value


def _bytes(obj: Any, key: str, size: int) -> bytes:
    try:
        data = base64.b64decode(_field(obj, key, str), validate=True)
    except ValueError:
        raise KeyFileError(DAMAGED) from None
    if len(data) != size:
        raise KeyFileError(DAMAGED)
    return data


def _int(obj: Any, key: str, low: int, high: int) -> int:
    value: int = _field(obj, key, int)
    if not low <= value <= high:
        raise KeyFileError(DAMAGED)
    return value


def _decode_wrap(obj: Any) -> Wrap:
    kdf = _field(obj, "kdf", dict)
    if kdf.get("algorithm") != "argon2id":
        raise KeyFileError(DAMAGED)
    lanes = _int(kdf, "lanes", 1, MAX_LANES)
    params = KdfParams(
        memory_kib=_int(kdf, "memory_kib", max(MIN_MEMORY_KIB, 8 * lanes), MAX_MEMORY_KIB),
        iterations=_int(kdf, "iterations", MIN_ITERATIONS, MAX_ITERATIONS),
        lanes=lanes,
        salt=_bytes(kdf, "salt", SALT_BYTES),
    )
    role = _field(obj, "role", str)
    if role not in ROLES:
        raise KeyFileError(DAMAGED)
    return Wrap(
        user_id=_field(obj, "user_id", str),
        name=_field(obj, "name", str),
        role=role,
        kdf=params,
        nonce=_bytes(obj, "nonce", NONCE_BYTES),
        ciphertext=_bytes(obj, "ciphertext", KEY_BYTES + TAG_BYTES),
        created=_field(obj, "created", str),
    )


def _decode_recovery(obj: Any) -> RecoveryWrap:
    return RecoveryWrap(
        public_key_sha256=_field(obj, "public_key_sha256", str),
        ephemeral_public=_bytes(obj, "ephemeral_public", 32),
        nonce=_bytes(obj, "nonce", NONCE_BYTES),
        ciphertext=_bytes(obj, "ciphertext", KEY_BYTES + TAG_BYTES),
    )


def decode_keyfile(data: bytes) -> KeyFile:
    """Parse a key file, raising only KeyFileError for anything that is not right."""
    try:
        doc = json.loads(data)
    except (ValueError, RecursionError):
        raise KeyFileError(DAMAGED) from None
    fmt = doc.get("format") if isinstance(doc, dict) else None
    if isinstance(fmt, str) and fmt.startswith("pathway-keys/") and fmt != FORMAT:
        raise KeyFileError(NEWER)
    if fmt != FORMAT or "recovery" not in doc:
        raise KeyFileError(DAMAGED)
    wraps = tuple(_decode_wrap(u) for u in _field(doc, "users", list))
    if len({_fold(w.name) for w in wraps}) != len(wraps):
        raise KeyFileError(DAMAGED)
    recovery = None if doc["recovery"] is None else _decode_recovery(doc["recovery"])
    return KeyFile(_field(doc, "store_id", str), wraps, recovery)


def read_keyfile(path: Path) -> KeyFile:
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
    except FileNotFoundError:
        raise KeyFileError(
            f"The key file for this store is missing ({path}). Restore it from a backup."
        ) from None
    except OSError:
        raise KeyFileError(
            f"The key file for this store could not be read ({path}). Check the folder."
        ) from None
    if len(data) > MAX_FILE_BYTES:
        raise KeyFileError(DAMAGED)
    return decode_keyfile(data)


def write_keyfile(path: Path, keyfile: KeyFile) -> None:
    atomic_write_bytes(path, encode_keyfile(keyfile))


# --- organisational recovery --------------------------------------------------------------


def make_recovery_keypair() -> tuple[bytes, bytes]:
    """A new X25519 pair: (private PEM, PKCS8 unencrypted; public PEM, SubjectPublicKeyInfo)."""
    private = X25519PrivateKey.generate()
    private_pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    public_pem = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return private_pem, public_pem


def _raw(public: X25519PublicKey) -> bytes:
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


def _recovery_cipher(shared: bytes, store_id: str) -> AESGCM:
    hkdf = HKDF(hashes.SHA256(), KEY_BYTES, salt=store_id.encode("utf-8"), info=RECOVERY_INFO)
    return AESGCM(hkdf.derive(shared))


def _recovery_aad(store_id: str, public_key_sha256: str) -> bytes:
    return _canonical(FORMAT, "recovery", store_id, public_key_sha256)


def wrap_for_recovery(store_key: bytearray, public_pem: bytes, store_id: str) -> RecoveryWrap:
    """Encrypt ``store_key`` to the manager's offline recovery public key."""
    try:
        public = serialization.load_pem_public_key(public_pem)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise KeyFileError(BAD_PUBLIC) from None
    if not isinstance(public, X25519PublicKey):
        raise KeyFileError(BAD_PUBLIC)
    ephemeral = X25519PrivateKey.generate()
    digest = hashlib.sha256(_raw(public)).hexdigest()
    nonce = secrets.token_bytes(NONCE_BYTES)
    cipher = _recovery_cipher(ephemeral.exchange(public), store_id)
    ciphertext = cipher.encrypt(nonce, store_key, _recovery_aad(store_id, digest))
    return RecoveryWrap(digest, _raw(ephemeral.public_key()), nonce, ciphertext)


def unwrap_recovery(keyfile: KeyFile, private_pem: bytes) -> bytearray:
    """The store key, opened with the manager's offline recovery private key."""
    r = keyfile.recovery
    if r is None:
        raise KeyFileError(NO_RECOVERY)
    try:
        private = serialization.load_pem_private_key(private_pem, password=None)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise KeyFileError(BAD_PRIVATE) from None
    if not isinstance(private, X25519PrivateKey):
        raise KeyFileError(BAD_PRIVATE)
    aad = _recovery_aad(keyfile.store_id, r.public_key_sha256)
    try:
        shared = private.exchange(X25519PublicKey.from_public_bytes(r.ephemeral_public))
        key = _recovery_cipher(shared, keyfile.store_id).decrypt(r.nonce, r.ciphertext, aad)
    except (InvalidTag, ValueError):
        raise KeyFileError(NOT_THIS_STORE) from None
    return bytearray(key)
