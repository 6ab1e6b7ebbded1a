"""Sealed transfer bundles: files that carry records from one store to another offline.

A bundle file is::

    b"PWBUNDLE" | header length (4 bytes, big-endian) | header (JSON) | AES-256-GCM ciphertext

The header is in the clear so that a store can say, before opening, who a bundle is from
and whether it was sealed for this store; it is authenticated as the associated data of
the encryption, so changing any byte of it makes the bundle fail to open. It holds the
format version, the sender's store id, agency and bundle key, the fingerprint of the
recipient's key, the bundle's sequence number and the length of the ciphertext.

The key is HKDF-SHA256 over two X25519 agreements: a fresh ephemeral key with the
recipient's key, and the sending store's own bundle key with the recipient's key. Only
the recipient's private key opens the bundle (the ephemeral half is forgotten once
sealed, so the laptop that made a bundle cannot read it back), and the second agreement
proves which store sealed it: a store pins each sender's key at its first bundle.

The payload inside is zlib-compressed JSON. Orchestration lives here too: ``export_team``,
``export_handover`` and ``import_bundle`` read and write the files the user chose and
call ``desktop.storage.transfer`` for the records.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import struct
import zlib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric.x25519 import X25519PrivateKey, X25519PublicKey
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from desktop.app.files import atomic_write_bytes
from desktop.storage import transfer
from desktop.storage.errors import StoreError
from desktop.storage.store import Store, new_id
from desktop.storage.transfer import (
    Arrival,
    HandoverResult,
    MergeResult,
    Outgoing,
    Recipient,
    fingerprint,
    public_from_private,
    show_fingerprint,
)

log = logging.getLogger(__name__)

MAGIC = b"PWBUNDLE"
VERSION = 1
KEY_FORMAT = "pathway-bundle-key/1"
INFO = b"pathway bundle v1"
NONCE_BYTES = 12
MAX_HEADER = 64 * 1024
MAX_PAYLOAD = 1 << 31
PUBLIC_KEY_NAME = "public.key"
KINDS = ("team", "handover")


class BundleRefused(StoreError):
    """A bundle or key file that cannot be used; nothing was changed. Says why plainly."""


# ---------------------------------------------------------------------------- key files


def public_key_document(store: Store) -> bytes:
    """The store's public bundle key as a small JSON file (made on first use)."""
    private = transfer.ensure_private_key(store)
    public = public_from_private(private)
    doc = {
        "format": KEY_FORMAT,
        "agency": store.settings.agency,
        "kind": store.settings.kind,
        "store_id": store.settings.store_id,
        "key": base64.b64encode(public).decode("ascii"),
        "fingerprint": fingerprint(public),
    }
    return (json.dumps(doc, indent=2) + "\n").encode("utf-8")


def write_public_key(store: Store, folder: Path) -> Path:
    """Write ``folder/public.key``: the file a team gives to those who send it bundles."""
    path = folder / PUBLIC_KEY_NAME
    data = public_key_document(store)
    if path.exists():
        try:
            if path.read_bytes() == data:
                return path
        except OSError:
            pass
        raise BundleRefused(
            f"{path} already exists and holds another key; nothing was overwritten."
            " Choose an empty folder."
        )
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise BundleRefused(f"{folder}: the key could not be written ({exc.strerror}).") from None
    return path


def store_fingerprint(store: Store) -> str | None:
    private = transfer.private_key(store)
    return None if private is None else fingerprint(public_from_private(private))


@dataclass(frozen=True, slots=True)
class PublicKey:
    raw: bytes
    recipient: Recipient


def read_public_key(path: Path) -> PublicKey:
    """A public key file written by ``keys make``; anything else is refused plainly."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BundleRefused(f"{path}: no such file.") from None
    except OSError as exc:
        raise BundleRefused(f"{path}: the key file cannot be read ({exc.strerror}).") from None
    if data.lstrip().startswith(b"-----BEGIN"):
        raise BundleRefused(
            f"{path.name} is a PEM key (such as an organisational recovery key), not a"
            " team's bundle key. Use the public.key made by 'pathway keys make'."
        )
    try:
        doc = json.loads(data.decode("utf-8"))
        if not isinstance(doc, dict) or doc.get("format") != KEY_FORMAT:
            raise ValueError("format")
        raw = base64.b64decode(str(doc["key"]), validate=True)
        if len(raw) != 32 or fingerprint(raw) != doc.get("fingerprint"):
            raise ValueError("key")
        X25519PublicKey.from_public_bytes(raw)
        recipient = Recipient(
            fingerprint=fingerprint(raw),
            store_id=str(doc["store_id"]),
            agency=str(doc["agency"]).upper(),
            kind=str(doc["kind"]),
        )
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise BundleRefused(
            f"{path.name} is not a Pathway public key file, or it has been changed."
            " Ask the receiving team for their public.key again."
        ) from None
    return PublicKey(raw, recipient)


# ---------------------------------------------------------------------------- sealing


@dataclass(frozen=True, slots=True)
class Header:
    version: int
    kind: str
    bundle_id: str
    sender_store: str
    sender_agency: str
    sender_kind: str
    sender_key: bytes
    recipient: str
    sequence: int
    full: bool
    sealed_at: datetime
    ephemeral: bytes
    nonce: bytes
    length: int

    def encode(self) -> bytes:
        doc = {
            "format": VERSION,
            "kind": self.kind,
            "bundle_id": self.bundle_id,
            "sender_store": self.sender_store,
            "sender_agency": self.sender_agency,
            "sender_kind": self.sender_kind,
            "sender_key": base64.b64encode(self.sender_key).decode("ascii"),
            "recipient": self.recipient,
            "sequence": self.sequence,
            "full": self.full,
            "sealed_at": self.sealed_at.isoformat(),
            "ephemeral": base64.b64encode(self.ephemeral).decode("ascii"),
            "nonce": base64.b64encode(self.nonce).decode("ascii"),
            "length": self.length,
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode("utf-8")

    @property
    def arrival(self) -> Arrival:
        return Arrival(
            bundle_id=self.bundle_id,
            kind=self.kind,
            sender_store=self.sender_store,
            sender_agency=self.sender_agency,
            sender_kind=self.sender_kind,
            sender_key=fingerprint(self.sender_key),
            sequence=self.sequence,
            full=self.full,
            sealed_at=self.sealed_at,
        )


def _key(ikm: bytes, ephemeral: bytes, sender: bytes, recipient: bytes) -> bytes:
    return HKDF(
        algorithm=hashes.SHA256(),
        length=32,
        salt=ephemeral + sender + recipient,
        info=INFO,
    ).derive(ikm)


def seal(
    payload: Mapping[str, object],
    *,
    kind: str,
    sender_private: bytes,
    sender_store: str,
    sender_agency: str,
    sender_kind: str,
    recipient_public: bytes,
    sequence: int,
    full: bool,
    sealed_at: datetime,
    bundle_id: str | None = None,
) -> tuple[bytes, Header]:
    """Encrypt ``payload`` to ``recipient_public``; return the file's bytes and its header."""
    body = zlib.compress(
        json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8"), 6
    )
    ephemeral = X25519PrivateKey.generate()
    sender = X25519PrivateKey.from_private_bytes(sender_private)
    recipient = X25519PublicKey.from_public_bytes(recipient_public)
    eph_public = public_from_private(ephemeral.private_bytes_raw())
    sender_public = public_from_private(sender_private)
    ikm = ephemeral.exchange(recipient) + sender.exchange(recipient)
    header = Header(
        version=VERSION,
        kind=kind,
        bundle_id=bundle_id or new_id(),
        sender_store=sender_store,
        sender_agency=sender_agency,
        sender_kind=sender_kind,
        sender_key=sender_public,
        recipient=fingerprint(recipient_public),
        sequence=sequence,
        full=full,
        sealed_at=sealed_at,
        ephemeral=eph_public,
        nonce=os.urandom(NONCE_BYTES),
        length=len(body) + 16,
    )
    encoded = header.encode()
    prefix = MAGIC + struct.pack(">I", len(encoded)) + encoded
    cipher = AESGCM(_key(ikm, eph_public, sender_public, recipient_public))
    return prefix + cipher.encrypt(header.nonce, body, prefix), header


def _damaged(name: str) -> BundleRefused:
    return BundleRefused(
        f"The bundle {name} is damaged or was changed after it was sealed, so it cannot be"
        " trusted. Nothing was imported; ask for it to be exported again."
    )


def read_header(data: bytes, name: str = "file") -> tuple[Header, bytes, bytes]:
    """The header, the authenticated prefix and the ciphertext of a bundle's bytes."""
    if not data.startswith(MAGIC):
        raise BundleRefused(
            f"{name} is not a Pathway bundle (it may be another kind of file)."
            " Nothing was imported."
        )
    if len(data) < len(MAGIC) + 4:
        raise _cut_short(name)
    (size,) = struct.unpack(">I", data[len(MAGIC) : len(MAGIC) + 4])
    start = len(MAGIC) + 4
    if size > MAX_HEADER:
        raise _damaged(name)
    if len(data) < start + size:
        raise _cut_short(name)
    try:
        doc = json.loads(data[start : start + size].decode("utf-8"))
        if not isinstance(doc, dict):
            raise ValueError("header")
        version = int(doc["format"])
        if version > VERSION:
            raise BundleRefused(
                f"{name} was made by a newer version of Pathway; update Pathway to import it."
                " Nothing was imported."
            )
        header = Header(
            version=version,
            kind=str(doc["kind"]),
            bundle_id=str(doc["bundle_id"]),
            sender_store=str(doc["sender_store"]),
            sender_agency=str(doc["sender_agency"]),
            sender_kind=str(doc["sender_kind"]),
            sender_key=base64.b64decode(str(doc["sender_key"]), validate=True),
            recipient=str(doc["recipient"]),
            sequence=int(doc["sequence"]),
            full=bool(doc["full"]),
            sealed_at=datetime.fromisoformat(str(doc["sealed_at"])),
            ephemeral=base64.b64decode(str(doc["ephemeral"]), validate=True),
            nonce=base64.b64decode(str(doc["nonce"]), validate=True),
            length=int(doc["length"]),
        )
        if (
            header.kind not in KINDS
            or len(header.sender_key) != 32
            or len(header.ephemeral) != 32
            or len(header.nonce) != NONCE_BYTES
            or len(header.bundle_id) != 32
        ):
            raise ValueError("header")
    except (ValueError, KeyError, TypeError, UnicodeDecodeError):
        raise _damaged(name) from None
    body = data[start + size :]
    if len(body) < header.length:
        raise _cut_short(name)
    if len(body) > header.length:
        raise _damaged(name)
    return header, data[: start + size], body


def _cut_short(name: str) -> BundleRefused:
    return BundleRefused(
        f"The bundle {name} is cut short (it may not have finished copying)."
        " Nothing was imported; copy it again from the laptop that made it."
    )


def open_sealed(data: bytes, private: bytes, name: str = "file") -> tuple[Header, Any]:
    """Decrypt a bundle with the recipient's private key; refuse anything not intact."""
    header, prefix, body = read_header(data, name)
    ours = public_from_private(private)
    if header.recipient != fingerprint(ours):
        raise BundleRefused(
            f"{name} was sealed for another store's key"
            f" ({show_fingerprint(header.recipient)}), not this store's"
            f" ({show_fingerprint(fingerprint(ours))}). Nothing was imported; check which"
            " public key file was used to make it."
        )
    me = X25519PrivateKey.from_private_bytes(private)
    try:
        ikm = me.exchange(X25519PublicKey.from_public_bytes(header.ephemeral)) + me.exchange(
            X25519PublicKey.from_public_bytes(header.sender_key)
        )
        key = _key(ikm, header.ephemeral, header.sender_key, ours)
        compressed = AESGCM(key).decrypt(header.nonce, body, prefix)
    except (InvalidTag, ValueError):
        raise _damaged(name) from None
    try:
        inflater = zlib.decompressobj()
        raw = inflater.decompress(compressed, MAX_PAYLOAD)
        if inflater.unconsumed_tail:
            raise ValueError("too large")
        payload = json.loads(raw.decode("utf-8"))
        if not isinstance(payload, dict):
            raise ValueError("payload")
    except (ValueError, zlib.error, UnicodeDecodeError):
        raise BundleRefused(
            f"{name} opened but its contents could not be read (it may come from a different"
            " version of Pathway). Nothing was imported."
        ) from None
    return header, payload


# ---------------------------------------------------------------------------- operations


@dataclass(frozen=True, slots=True)
class ExportedBundle:
    path: Path
    kind: str
    sequence: int
    full: bool
    recipient: Recipient
    counts: dict[str, int]

    def describe(self) -> str:
        what = (
            f"{self.counts.get('episodes', 0)} episodes, {self.counts.get('clients', 0)}"
            f" clients, {self.counts.get('consents', 0)} consent decisions,"
            f" {self.counts.get('deleted', 0)} deletions"
            if self.kind == "team"
            else "one client's sheet, consent and episode history"
        )
        scope = "everything" if self.full else "changes since the last bundle"
        return (
            f"Sealed bundle {self.sequence} ({scope}: {what}) for {self.recipient.agency}"
            f" (key {show_fingerprint(self.recipient.fingerprint)}): {self.path}"
        )


def _seal_and_write(store: Store, out: Outgoing, key: PublicKey, path: Path) -> ExportedBundle:
    if path.exists():
        raise BundleRefused(f"{path} already exists; choose another file name.")
    private = transfer.ensure_private_key(store)
    sealed_at = datetime.now(UTC).replace(tzinfo=None)
    data, header = seal(
        out.payload,
        kind=out.kind,
        sender_private=private,
        sender_store=store.settings.store_id,
        sender_agency=store.settings.agency,
        sender_kind=store.settings.kind,
        recipient_public=key.raw,
        sequence=out.sequence,
        full=out.full,
        sealed_at=sealed_at,
    )
    try:
        atomic_write_bytes(path, data)
    except OSError as exc:
        raise BundleRefused(
            f"{path}: the bundle could not be written ({exc.strerror}); nothing was sent."
        ) from None
    try:
        transfer.record_sent(store, out, key.recipient, header.bundle_id, sealed_at)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    log.info("bundle sealed: kind %s, %d bytes", out.kind, len(data))
    return ExportedBundle(path, out.kind, out.sequence, out.full, key.recipient, out.counts)


def _check_not_self(store: Store, key: PublicKey) -> None:
    if key.recipient.store_id == store.settings.store_id:
        raise BundleRefused(
            "That public key is this store's own; seal bundles with the receiving store's key."
        )


def export_team(store: Store, key_file: Path, out: Path, *, full: bool = False) -> ExportedBundle:
    """Seal what changed since the last bundle to that key (or everything) into ``out``."""
    key = read_public_key(key_file)
    _check_not_self(store, key)
    st = store.settings
    if key.recipient.agency != st.agency or key.recipient.kind != st.kind:
        raise BundleRefused(
            f"That key belongs to {key.recipient.agency}; a team bundle goes to your own"
            f" team's manager ({st.agency}). To pass one client to another team, use a"
            " handover."
        )
    outgoing = transfer.collect_team(store, key.recipient.fingerprint, full=full)
    return _seal_and_write(store, outgoing, key, out)


def export_handover(store: Store, client_ref: str, key_file: Path, out: Path) -> ExportedBundle:
    """Seal one client's sheet, consent and history for another team, if consent allows."""
    key = read_public_key(key_file)
    _check_not_self(store, key)
    client_id = transfer.find_client(store, client_ref)
    outgoing = transfer.collect_handover(store, client_id, key.recipient)
    return _seal_and_write(store, outgoing, key, out)


def open_file(store: Store, path: Path) -> tuple[Header, Any]:
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise BundleRefused(f"{path}: no such file.") from None
    except IsADirectoryError:
        raise BundleRefused(f"{path} is a folder, not a bundle file.") from None
    except OSError as exc:
        raise BundleRefused(f"{path}: the bundle cannot be read ({exc.strerror}).") from None
    private = transfer.private_key(store)
    if private is None:
        raise BundleRefused(
            "This store has no bundle key yet, so nothing can have been sealed for it, and"
            " nothing was imported. Make one with 'pathway keys make --out FOLDER' and give"
            " public.key to the team."
        )
    return open_sealed(data, private, path.name)


def import_bundle(store: Store, path: Path) -> MergeResult | HandoverResult:
    """Open a bundle sealed for this store and merge it (team) or open it (handover).

    A bundle that is not intact, not sealed for this store or from another team changes
    nothing; importing the same bundle again changes nothing either.
    """
    header, payload = open_file(store, path)
    if header.kind == "handover":
        return transfer.receive_handover(store, header.arrival, payload)
    return transfer.merge_team(store, header.arrival, payload)


__all__ = [
    "BundleRefused",
    "ExportedBundle",
    "Header",
    "PublicKey",
    "export_handover",
    "export_team",
    "import_bundle",
    "open_sealed",
    "read_header",
    "read_public_key",
    "seal",
    "store_fingerprint",
    "write_public_key",
]
