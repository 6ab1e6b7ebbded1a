"""The store's bundle key pair (X25519), kept in the ``settings`` table inside the
encrypted store and nowhere else, and fingerprints for comparing keys by eye."""

from __future__ import annotations

import base64
import hashlib

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey

from desktop.storage.models import Setting
from desktop.storage.store import Store

KEY_SETTING = "bundle_key"


def fingerprint(public_raw: bytes) -> str:
    """SHA-256 of the raw 32-byte public key, as 64 hex digits."""
    return hashlib.sha256(public_raw).hexdigest()


def show_fingerprint(hex_digest: str) -> str:
    """The first 96 bits in groups of four, for reading aloud or comparing by eye."""
    head = hex_digest[:24].upper()
    return "-".join(head[i : i + 4] for i in range(0, len(head), 4))


def public_from_private(private_raw: bytes) -> bytes:
    return (
        X25519PrivateKey.from_private_bytes(private_raw)
        .public_key()
        .public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
    )


def private_key(store: Store) -> bytes | None:
    """This store's bundle private key, or None before one is made."""
    with store.reading() as s:
        row = s.get(Setting, KEY_SETTING)
        return None if row is None else base64.b64decode(row.value)


def ensure_private_key(store: Store) -> bytes:
    """The store's bundle key, made on first use (an audit event); kept inside the store."""
    found = private_key(store)
    if found is not None:
        return found
    raw = X25519PrivateKey.generate().private_bytes(
        serialization.Encoding.Raw,
        serialization.PrivateFormat.Raw,
        serialization.NoEncryption(),
    )
    with store.writing() as tx:
        row = tx.session.get(Setting, KEY_SETTING)
        if row is not None:  # made meanwhile by another window
            return base64.b64decode(row.value)
        tx.session.add(Setting(key=KEY_SETTING, value=base64.b64encode(raw).decode("ascii")))
        tx.audit("create", "bundle key", fingerprint(public_from_private(raw))[:32], {})
    return raw


__all__ = [
    "KEY_SETTING",
    "ensure_private_key",
    "fingerprint",
    "private_key",
    "public_from_private",
    "show_fingerprint",
]
