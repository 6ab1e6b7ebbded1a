"""Sealed bundles: only the recipient opens one, and anything not intact changes nothing.

Issue 8, items 1 and 5: a changed, truncated, foreign or wrong-key bundle is refused with
a clear message and the store is unchanged; the laptop that made a bundle cannot read it
back; the store's private key never leaves the encrypted store.
"""

from __future__ import annotations

import base64
import json
import struct
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.export import bundle
from desktop.export.bundle import MAGIC, BundleRefused
from desktop.storage import transfer
from desktop.storage.store import Store
from desktop.storage.transfer import MergeResult, TransferError
from tests.fixtures import MakeStore, new_store
from tests.transfer.conftest import digest, fresh, key_of


@dataclass
class Kit:
    folder: Path
    manager: Store
    worker: Store
    other: Store  # another CJIT (another agency)
    keys: dict[str, Path]
    good: bytes  # the worker's first bundle, sealed for the manager

    def write(self, name: str, data: bytes) -> Path:
        path = self.folder / name
        path.write_bytes(data)
        return path


@pytest.fixture(scope="module")
def kit(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Kit]:
    folder = tmp_path_factory.mktemp("bundles")
    manager = new_store(folder / "manager.store", user="meg")
    worker = new_store(folder / "worker.store", user="wes")
    other = new_store(folder / "other.store", user="oli", agency="CJ456", dat="A09B")
    try:
        keys = {
            "manager": key_of(manager, folder / "manager-key"),
            "worker": key_of(worker, folder / "worker-key"),
            "other": key_of(other, folder / "other-key"),
        }
        worker.episodes.import_records(fresh(6, seed=5))
        other.episodes.import_records(fresh(3, seed=6))
        made = bundle.export_team(worker, keys["manager"], folder / "good.pwbundle")
        yield Kit(folder, manager, worker, other, keys, made.path.read_bytes())
    finally:
        for s in (manager, worker, other):
            if s.is_open:
                s.close(backup_reason=None)


def refused(kit: Kit, data: bytes, name: str = "x.pwbundle", store: Store | None = None) -> str:
    """Import ``data`` into the manager's store (or ``store``): it must be refused, and
    the store must be exactly as before. Returns the message."""
    target = store or kit.manager
    before = digest(target)
    with pytest.raises((BundleRefused, TransferError)) as caught:
        bundle.import_bundle(target, kit.write(name, data))
    assert digest(target) == before
    message = str(caught.value)
    assert "Nothing was imported" in message or "nothing was imported" in message
    assert "Traceback" not in message
    return message


def test_a_bundle_file_starts_with_its_header_in_the_clear_and_the_rest_sealed(kit: Kit) -> None:
    assert kit.good.startswith(MAGIC)
    header, _prefix, body = bundle.read_header(kit.good)
    assert header.sender_agency == "CJ123" and header.kind == "team" and header.sequence == 1
    assert header.recipient == json.loads(kit.keys["manager"].read_text())["fingerprint"]
    assert b"CJ123" not in body and b"R000001" not in kit.good  # no record in the clear


def test_a_changed_byte_in_the_sealed_part_is_refused(kit: Kit) -> None:
    for offset in (len(kit.good) - 1, len(kit.good) - 20, len(kit.good) // 2):
        data = bytearray(kit.good)
        data[offset] ^= 0x01
        message = refused(kit, bytes(data))
        assert "changed after it was sealed" in message


def test_a_changed_header_is_refused(kit: Kit) -> None:
    """The header is the associated data of the encryption: editing it breaks the seal."""
    _header, prefix, body = bundle.read_header(kit.good)
    start = len(MAGIC) + 4
    doc = json.loads(prefix[start:])
    doc["sequence"] = 7
    doc["sender_agency"] = "CJ999"
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    data = MAGIC + struct.pack(">I", len(raw)) + raw + body
    assert "changed after it was sealed" in refused(kit, data)


def test_a_truncated_bundle_is_refused_as_cut_short(kit: Kit) -> None:
    for keep in (len(kit.good) - 1, len(kit.good) // 2, 40, 10):
        assert "cut short" in refused(kit, kit.good[:keep])


def test_bytes_added_to_a_bundle_are_refused(kit: Kit) -> None:
    assert "changed after it was sealed" in refused(kit, kit.good + b"\0")


def test_a_file_that_is_not_a_bundle_is_refused(kit: Kit) -> None:
    assert "is not a Pathway bundle" in refused(kit, b"AGNCY,CLIENTID\r\nCJ123,1\r\n", "x.csv")
    assert "is not a Pathway bundle" in refused(kit, b"")


def test_a_bundle_sealed_for_another_key_is_refused(kit: Kit) -> None:
    """The wrong key: a worker's bundle sealed for another store, brought to this one."""
    made = bundle.export_team(kit.worker, kit.keys["manager"], kit.folder / "w2.pwbundle")
    data = made.path.read_bytes()
    message = refused(kit, data, store=kit.other)
    assert "sealed for another store's key" in message


def test_the_laptop_that_made_a_bundle_cannot_read_it_back(kit: Kit) -> None:
    message = refused(kit, kit.good, store=kit.worker)
    assert "sealed for another store's key" in message
    # Not even by pretending it was addressed to the worker's own key.
    private = transfer.private_key(kit.worker)
    assert private is not None
    _header, prefix, body = bundle.read_header(kit.good)
    start = len(MAGIC) + 4
    doc = json.loads(prefix[start:])
    doc["recipient"] = transfer.fingerprint(transfer.public_from_private(private))
    raw = json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    forged = MAGIC + struct.pack(">I", len(raw)) + raw + body
    with pytest.raises(BundleRefused, match="changed after it was sealed"):
        bundle.open_sealed(forged, private)


def test_another_teams_bundle_is_refused(kit: Kit) -> None:
    """A foreign bundle: another agency's store sealed its records for this manager's key.
    One submission per agency: a team merges only its own laptops."""
    with pytest.raises(BundleRefused, match="team bundle goes to your own team"):
        bundle.export_team(kit.other, kit.keys["manager"], kit.folder / "no.pwbundle")
    assert not (kit.folder / "no.pwbundle").exists()
    data = _seal_as(kit.other, kit.keys["manager"])
    assert "another team (CJ456" in refused(kit, data)


def _seal_as(
    store: Store, key_file: Path, *, private: bytes | None = None, sequence: int = 1
) -> bytes:
    key = bundle.read_public_key(key_file)
    out = transfer.collect_team(store, key.recipient.fingerprint, full=True)
    data, _header = bundle.seal(
        out.payload,
        kind="team",
        sender_private=private or transfer.ensure_private_key(store),
        sender_store=store.settings.store_id,
        sender_agency=store.settings.agency,
        sender_kind=store.settings.kind,
        recipient_public=key.raw,
        sequence=sequence,
        full=True,
        sealed_at=datetime.now(UTC).replace(tzinfo=None),
    )
    return data


def test_a_bundle_from_a_known_laptop_sealed_with_another_key_is_refused(kit: Kit) -> None:
    """The sender's key is pinned at its first bundle; a later bundle that claims the same
    laptop but was sealed with another key is refused."""
    first = bundle.import_bundle(kit.manager, kit.write("first.pwbundle", kit.good))
    assert isinstance(first, MergeResult) and not first.already
    impostor = transfer.ensure_private_key(kit.other)
    data = _seal_as(kit.worker, kit.keys["manager"], private=impostor, sequence=5)
    assert "sealed with a different key" in refused(kit, data)


def test_a_bundle_from_a_newer_version_is_refused(kit: Kit) -> None:
    _header, prefix, body = bundle.read_header(kit.good)
    doc = json.loads(prefix[len(MAGIC) + 4 :])
    doc["format"] = 2
    raw = json.dumps(doc).encode()
    assert "newer version of Pathway" in refused(
        kit, MAGIC + struct.pack(">I", len(raw)) + raw + body
    )


def test_a_store_without_a_bundle_key_says_how_to_make_one(kit: Kit, make_store: MakeStore) -> None:
    fresh_store = make_store(name="new.store", user="nia")
    try:
        message = refused(kit, kit.good, store=fresh_store)
        assert "pathway keys make" in message
    finally:
        fresh_store.close(backup_reason=None)


def test_public_key_files_are_checked(kit: Kit) -> None:
    doc = json.loads(kit.keys["manager"].read_text())
    doc["key"] = base64.b64encode(b"\1" * 32).decode()
    bad = kit.write("bad.key", json.dumps(doc).encode())
    with pytest.raises(BundleRefused, match="not a Pathway public key file"):
        bundle.read_public_key(bad)
    pem = kit.write("recovery.public.pem", b"-----BEGIN PUBLIC KEY-----\nAAAA\n")
    with pytest.raises(BundleRefused, match="recovery key"):
        bundle.read_public_key(pem)
    with pytest.raises(BundleRefused, match="this store's own"):
        bundle.export_team(kit.manager, kit.keys["manager"], kit.folder / "self.pwbundle")
    with pytest.raises(BundleRefused, match="already exists"):
        bundle.export_team(kit.worker, kit.keys["manager"], kit.folder / "good.pwbundle")


def test_the_private_key_stays_inside_the_encrypted_store(kit: Kit) -> None:
    """The public half goes to DIR/public.key; the private half is only in the store."""
    private = transfer.private_key(kit.manager)
    assert private is not None and len(private) == 32
    doc = json.loads(kit.keys["manager"].read_text())
    assert set(doc) == {"format", "agency", "kind", "store_id", "key", "fingerprint"}
    assert base64.b64decode(doc["key"]) == transfer.public_from_private(private)
    kit.manager.backups.backup("manual")
    needles = (private, base64.b64encode(private), private.hex().encode())
    for path in kit.folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            assert not any(n in data for n in needles), path


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(
    cut=st.integers(min_value=0, max_value=10_000),
    flips=st.lists(st.tuples(st.integers(min_value=0), st.integers(1, 255)), max_size=4),
)
def test_any_damage_to_a_bundle_is_refused_and_changes_nothing(
    kit: Kit, cut: int, flips: list[tuple[int, int]]
) -> None:
    """Research note, check 16: an import of a damaged file changes nothing."""
    data = bytearray(kit.good[: max(0, len(kit.good) - cut)])
    for offset, mask in flips:
        if data:
            data[offset % len(data)] ^= mask
    if bytes(data) == kit.good:
        return
    refused(kit, bytes(data), "fuzz.pwbundle")
