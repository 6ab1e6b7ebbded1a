"""Per-user wraps of the store key, the key file, and organisational recovery."""

from __future__ import annotations

import base64
import contextlib
import json
import secrets
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.kdf.argon2 import Argon2id
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.storage import keys
from desktop.storage.keys import (
    DEFAULT_KDF,
    FORMAT,
    KdfParams,
    KeyFile,
    KeyFileError,
    WrongPassword,
    decode_keyfile,
    encode_keyfile,
    make_recovery_keypair,
    new_store_key,
    read_keyfile,
    unwrap_key,
    unwrap_recovery,
    wrap_for_recovery,
    wrap_key,
    write_keyfile,
    zero,
)

MESSAGE = "The user name or password is not right."
STORE_ID = "store-5f1c"
# Cheap settings for tests about something other than strength; files read back refuse them.
WEAK = KdfParams(memory_kib=64, iterations=1, lanes=1, salt=b"")
ALICE_PW = "Correct horse battery"
BOB_PW = "tr0ub4dor&3 staple"


def _weak_file(store_key: bytearray) -> KeyFile:
    alice = wrap_key(
        store_key, ALICE_PW, store_id=STORE_ID, user_id="u1", name="Alice", role="worker",
        params=WEAK,
    )  # fmt: skip
    return KeyFile(STORE_ID, (alice,))


class Strong:
    """One default-strength key file, made once for the whole module."""

    def __init__(self) -> None:
        self.key = new_store_key()
        self.private_pem, public_pem = make_recovery_keypair()
        alice = wrap_key(
            self.key, ALICE_PW, store_id=STORE_ID, user_id="u1", name="Alice", role="worker"
        )
        bob = wrap_key(
            self.key, BOB_PW, store_id=STORE_ID, user_id="u2", name="Bob", role="manager"
        )
        recovery = wrap_for_recovery(self.key, public_pem, STORE_ID)
        self.keyfile = KeyFile(STORE_ID, (alice, bob), recovery)
        self.data = encode_keyfile(self.keyfile)

    def doc(self) -> Any:
        return json.loads(self.data)


@pytest.fixture(scope="module")
def strong() -> Strong:
    return Strong()


def _write_doc(path: Path, doc: Any) -> Path:
    path.write_text(json.dumps(doc), encoding="utf-8")
    return path


# --- strength --------------------------------------------------------------------------------


def test_default_kdf_meets_rfc9106_second_option() -> None:
    assert DEFAULT_KDF.memory_kib >= 65536
    assert DEFAULT_KDF.iterations >= 3
    assert DEFAULT_KDF.lanes == 4


def test_default_strength_is_used_and_stored(strong: Strong) -> None:
    for wrap in strong.keyfile.wraps:
        assert (wrap.kdf.memory_kib, wrap.kdf.iterations, wrap.kdf.lanes) == (65536, 3, 4)
        assert len(wrap.kdf.salt) == 16
        assert len(wrap.nonce) == 12


def test_stored_params_are_used_to_unwrap(tmp_path: Path) -> None:
    key = new_store_key()
    stronger = replace(DEFAULT_KDF, iterations=4)
    wrap = wrap_key(
        key, ALICE_PW, store_id=STORE_ID, user_id="u1", name="Alice", role="worker",
        params=stronger,
    )  # fmt: skip
    path = tmp_path / "store.keys"
    write_keyfile(path, KeyFile(STORE_ID, (wrap,)))
    loaded = read_keyfile(path)
    assert loaded.wraps[0].kdf.iterations == 4
    opened, _ = unwrap_key(loaded, "Alice", ALICE_PW)
    assert opened == key


@pytest.mark.parametrize(
    ("field", "value"),
    [("memory_kib", 32768), ("iterations", 2), ("lanes", 0), ("algorithm", "scrypt")],
)
def test_weak_or_unknown_kdf_in_file_is_refused(
    strong: Strong, tmp_path: Path, field: str, value: object
) -> None:
    doc = strong.doc()
    doc["users"][0]["kdf"][field] = value
    with pytest.raises(KeyFileError, match="damaged"):
        read_keyfile(_write_doc(tmp_path / "store.keys", doc))


# --- wrapping and unwrapping -----------------------------------------------------------------


def test_round_trip() -> None:
    key = new_store_key()
    keyfile = _weak_file(key)
    opened, wrap = unwrap_key(keyfile, "Alice", ALICE_PW)
    assert opened == key
    assert isinstance(opened, bytearray)
    assert (wrap.user_id, wrap.name, wrap.role) == ("u1", "Alice", "worker")
    assert wrap.created.endswith("+00:00")


def test_round_trip_through_file_for_two_users(strong: Strong, tmp_path: Path) -> None:
    path = tmp_path / "store.keys"
    write_keyfile(path, strong.keyfile)
    loaded = read_keyfile(path)
    assert loaded == strong.keyfile
    alice_key, alice = unwrap_key(loaded, "alice", ALICE_PW)
    bob_key, bob = unwrap_key(loaded, "BOB", BOB_PW)
    assert alice_key == bob_key == strong.key
    assert (alice.role, bob.role) == ("worker", "manager")


def test_name_ignores_case_and_surrounding_spaces() -> None:
    key = new_store_key()
    keyfile = _weak_file(key)
    assert unwrap_key(keyfile, "  aLiCe ", ALICE_PW)[0] == key


@pytest.mark.parametrize(
    ("name", "password"),
    [
        ("Alice", "wrong password"),
        ("Alice", ALICE_PW.lower()),
        ("Alice", ALICE_PW + " "),
        ("Alice", ALICE_PW[:-1]),
        ("Alice", ""),
        ("Nobody", ALICE_PW),
        ("", ""),
    ],
)
def test_every_failure_gives_the_same_message(name: str, password: str) -> None:
    keyfile = _weak_file(new_store_key())
    with pytest.raises(WrongPassword) as caught:
        unwrap_key(keyfile, name, password)
    assert str(caught.value) == MESSAGE


def test_unknown_user_still_runs_one_full_derivation(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[int, int, int]] = []
    real = Argon2id

    def counting(**kwargs: Any) -> Any:
        calls.append((kwargs["memory_cost"], kwargs["iterations"], kwargs["lanes"]))
        return real(**kwargs)

    keyfile = _weak_file(new_store_key())
    monkeypatch.setattr(keys, "Argon2id", counting)
    with pytest.raises(WrongPassword):
        unwrap_key(keyfile, "Nobody", "anything")
    assert calls == [(65536, 3, 4)]


def test_tampered_ciphertext_or_nonce_fails() -> None:
    keyfile = _weak_file(new_store_key())
    wrap = keyfile.wraps[0]
    flipped = bytes([wrap.ciphertext[0] ^ 1]) + wrap.ciphertext[1:]
    for bad in (replace(wrap, ciphertext=flipped), replace(wrap, nonce=bytes(12))):
        with pytest.raises(WrongPassword, match=MESSAGE):
            unwrap_key(keyfile.with_wrap(bad), "Alice", ALICE_PW)


@pytest.mark.parametrize(
    ("edit", "login"),
    [
        (lambda doc: doc["users"][0].update(role="manager"), "Alice"),
        (lambda doc: doc["users"][0].update(name="Alicia"), "Alicia"),
        (lambda doc: doc["users"][0].update(user_id="u2"), "Alice"),
        (lambda doc: doc.update(store_id="store-other"), "Alice"),
    ],
    ids=["role", "name", "user_id", "store_id"],
)
def test_editing_the_file_makes_unwrap_fail(
    strong: Strong, tmp_path: Path, edit: Any, login: str
) -> None:
    doc = strong.doc()
    edit(doc)
    loaded = read_keyfile(_write_doc(tmp_path / "store.keys", doc))
    with pytest.raises(WrongPassword, match=MESSAGE):
        unwrap_key(loaded, login, ALICE_PW)


def test_each_wrap_gets_fresh_salt_and_nonce() -> None:
    key = new_store_key()
    a = wrap_key(key, "pw", store_id=STORE_ID, user_id="u", name="A", role="worker", params=WEAK)
    b = wrap_key(key, "pw", store_id=STORE_ID, user_id="u", name="A", role="worker", params=WEAK)
    assert a.kdf.salt != b.kdf.salt
    assert a.nonce != b.nonce
    assert a.ciphertext != b.ciphertext


@pytest.mark.parametrize(
    ("password", "role", "name"),
    [("", "worker", "A"), ("pw", "admin", "A"), ("pw", "Worker", "A"), ("pw", "worker", " ")],
)
def test_wrap_refuses_bad_input(password: str, role: str, name: str) -> None:
    with pytest.raises(ValueError, match="must"):
        wrap_key(
            new_store_key(), password, store_id=STORE_ID, user_id="u", name=name, role=role,
            params=WEAK,
        )  # fmt: skip


def test_new_store_key_and_zero() -> None:
    a, b = new_store_key(), new_store_key()
    assert isinstance(a, bytearray)
    assert len(a) == 32
    assert a != b
    zero(a)
    assert a == bytearray(32)


def test_keyfile_find_with_wrap_without_and_names() -> None:
    key = new_store_key()
    keyfile = _weak_file(key)
    bob = wrap_key(key, BOB_PW, store_id=STORE_ID, user_id="u2", name="Bob", role="manager",
                   params=WEAK)  # fmt: skip
    keyfile = keyfile.with_wrap(bob)
    assert keyfile.names() == ["Alice", "Bob"]
    assert keyfile.find(" bob ") == bob
    alice2 = wrap_key(key, "new password", store_id=STORE_ID, user_id="u1", name="ALICE",
                      role="worker", params=WEAK)  # fmt: skip
    keyfile = keyfile.with_wrap(alice2)
    assert keyfile.names() == ["Bob", "ALICE"]
    assert unwrap_key(keyfile, "alice", "new password")[0] == key
    with pytest.raises(WrongPassword):
        unwrap_key(keyfile, "alice", ALICE_PW)
    assert keyfile.without("aLiCe").names() == ["Bob"]
    assert keyfile.without("nobody") == keyfile


# --- the key file ----------------------------------------------------------------------------


def test_file_is_sorted_indented_json_with_base64(strong: Strong, tmp_path: Path) -> None:
    path = tmp_path / "store.keys"
    write_keyfile(path, strong.keyfile)
    text = path.read_text(encoding="utf-8")
    doc = json.loads(text)
    assert doc["format"] == FORMAT
    assert text == json.dumps(doc, sort_keys=True, indent=1) + "\n"
    salt = doc["users"][0]["kdf"]["salt"]
    assert base64.b64decode(salt, validate=True) == strong.keyfile.wraps[0].kdf.salt
    assert ALICE_PW not in text
    assert base64.b64encode(bytes(strong.key)).decode() not in text


def test_write_is_atomic_and_replaces(strong: Strong, tmp_path: Path) -> None:
    path = tmp_path / "store.keys"
    path.write_bytes(b"old contents")
    write_keyfile(path, strong.keyfile)
    smaller = strong.keyfile.without("Bob")
    write_keyfile(path, smaller)
    assert read_keyfile(path) == smaller
    assert [p.name for p in tmp_path.iterdir()] == ["store.keys"]


def test_missing_or_unreadable_file(tmp_path: Path) -> None:
    with pytest.raises(KeyFileError, match="missing"):
        read_keyfile(tmp_path / "nothing.keys")
    (tmp_path / "folder.keys").mkdir()
    with pytest.raises(KeyFileError, match="could not be read"):
        read_keyfile(tmp_path / "folder.keys")


# A default-looking file made cheaply: decoding never derives, so the key inside does not matter.
SAMPLE_DATA = encode_keyfile(
    KeyFile(
        STORE_ID,
        tuple(
            replace(w, kdf=replace(DEFAULT_KDF, salt=bytes(16)))
            for w in _weak_file(new_store_key()).wraps
        ),
        wrap_for_recovery(new_store_key(), make_recovery_keypair()[1], STORE_ID),
    )
)


def _leaf_paths(doc: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(doc, dict):
        items: Any = doc.items()
    elif isinstance(doc, list):
        items = enumerate(doc)
    else:
        return []
    paths = []
    for key, value in items:
        paths.append((*prefix, key))
        paths.extend(_leaf_paths(value, (*prefix, key)))
    return paths


def _field_paths() -> list[tuple[Any, ...]]:
    return [p for p in _leaf_paths(json.loads(SAMPLE_DATA)) if not isinstance(p[-1], int)]


def _remove(doc: Any, path: tuple[Any, ...]) -> None:
    for key in path[:-1]:
        doc = doc[key]
    del doc[path[-1]]


FIELD_PATHS = _field_paths()


@pytest.mark.parametrize("path", FIELD_PATHS, ids=["/".join(map(str, p)) for p in FIELD_PATHS])
def test_each_missing_field_is_damage(
    strong: Strong, tmp_path: Path, path: tuple[Any, ...]
) -> None:
    doc = strong.doc()
    _remove(doc, path)
    with pytest.raises(KeyFileError, match="damaged"):
        read_keyfile(_write_doc(tmp_path / "store.keys", doc))


@pytest.mark.parametrize(
    "make",
    [
        lambda data: data[: len(data) // 2],
        lambda data: b"",
        lambda data: b"not json at all",
        lambda data: secrets.token_bytes(300),
        lambda data: b"\xff\xfe" + data,
        lambda data: b"[" * 100_000,
        lambda data: b"[]",
        lambda data: b"null",
        lambda data: data.replace(FORMAT.encode(), b"other-keys/1"),
        lambda data: data.replace(b'"users": [', b'"users": [1, '),
        lambda data: data.replace(b'"worker"', b'"admin"'),
        lambda data: data.replace(b'"lanes": 4', b'"lanes": true'),
        lambda data: data.replace(b'"iterations": 3', b'"iterations": 3.0'),
        lambda data: data.replace(b'"iterations": 3', b'"iterations": 99999999999'),
        lambda data: data.replace(b'"memory_kib": 65536', b'"memory_kib": 1e999'),
        lambda data: data.replace(b'"salt": "', b'"salt": "!'),
        lambda data: data.replace(b'"nonce": "', b'"nonce": "AAAA'),
        lambda data: data.replace(b'"name": "Bob"', b'"name": " alice"'),
        lambda data: data.replace(b'"name": "Bob"', b'"name": ""'),
        lambda data: b" " * (2 << 20),
    ],
)
def test_damaged_files_give_only_keyfile_error(strong: Strong, tmp_path: Path, make: Any) -> None:
    path = tmp_path / "store.keys"
    data = make(strong.data)
    assert data != strong.data
    path.write_bytes(data)
    with pytest.raises(KeyFileError, match="damaged"):
        read_keyfile(path)


def test_newer_format_asks_for_an_update(strong: Strong) -> None:
    with pytest.raises(KeyFileError, match="newer version"):
        decode_keyfile(strong.data.replace(FORMAT.encode(), b"pathway-keys/2"))


def test_no_recovery_is_allowed(strong: Strong) -> None:
    data = encode_keyfile(replace(strong.keyfile, recovery=None))
    assert decode_keyfile(data).recovery is None


@settings(max_examples=50, deadline=None)
@given(st.binary())
def test_any_bytes_give_keyfile_or_keyfile_error(data: bytes) -> None:
    with contextlib.suppress(KeyFileError):
        assert isinstance(decode_keyfile(data), KeyFile)


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(index=st.integers(min_value=0), value=JSON)
def test_any_field_value_gives_keyfile_or_keyfile_error(index: int, value: Any) -> None:
    doc = json.loads(SAMPLE_DATA)
    path = FIELD_PATHS[index % len(FIELD_PATHS)]
    target = doc
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    with contextlib.suppress(KeyFileError):
        assert isinstance(decode_keyfile(json.dumps(doc).encode("utf-8")), KeyFile)


# --- organisational recovery -----------------------------------------------------------------


def test_recovery_keypair_is_pem() -> None:
    private_pem, public_pem = make_recovery_keypair()
    assert private_pem.startswith(b"-----BEGIN PRIVATE KEY-----")
    assert public_pem.startswith(b"-----BEGIN PUBLIC KEY-----")


def test_recovery_round_trip_through_file(strong: Strong, tmp_path: Path) -> None:
    path = tmp_path / "store.keys"
    write_keyfile(path, strong.keyfile)
    assert unwrap_recovery(read_keyfile(path), strong.private_pem) == strong.key


def test_wrong_recovery_key_is_refused(strong: Strong) -> None:
    other_private, _ = make_recovery_keypair()
    with pytest.raises(KeyFileError) as caught:
        unwrap_recovery(strong.keyfile, other_private)
    assert str(caught.value) == "That recovery key does not open this store."


def test_recovery_is_bound_to_the_store(strong: Strong) -> None:
    moved = replace(strong.keyfile, store_id="store-other")
    with pytest.raises(KeyFileError, match="does not open this store"):
        unwrap_recovery(moved, strong.private_pem)


def test_no_recovery_key(strong: Strong) -> None:
    with pytest.raises(KeyFileError) as caught:
        unwrap_recovery(replace(strong.keyfile, recovery=None), strong.private_pem)
    assert str(caught.value) == "This store has no recovery key."


def test_bad_recovery_keys_are_refused_plainly(strong: Strong) -> None:
    ed = Ed25519PrivateKey.generate()
    ed_public = ed.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    ed_private = ed.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    private_pem, public_pem = make_recovery_keypair()
    for bad in (b"", b"not a key", ed_public, private_pem):
        with pytest.raises(KeyFileError, match="not a recovery public key"):
            wrap_for_recovery(strong.key, bad, STORE_ID)
    for bad in (b"", b"not a key", ed_private, public_pem):
        with pytest.raises(KeyFileError, match="not a recovery private key"):
            unwrap_recovery(strong.keyfile, bad)


def test_two_threads_can_unlock_at_once() -> None:
    """Multi-lane Argon2id in two threads at once must not hang (derivations are serialised)."""
    import threading

    key = keys.new_store_key()
    wrap = keys.wrap_key(
        key, "pw one", store_id="s" * 32, user_id="u" * 32, name="a", role="worker"
    )
    keyfile = keys.KeyFile("s" * 32, (wrap,))
    results: list[bytes] = []

    def unlock() -> None:
        got, _ = keys.unwrap_key(keyfile, "a", "pw one")
        results.append(bytes(got))

    threads = [threading.Thread(target=unlock, daemon=True) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert results == [bytes(key), bytes(key)]
