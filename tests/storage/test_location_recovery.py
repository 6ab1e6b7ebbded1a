"""Where a store may live (store issue item 6) and recovery with the organisation's key (item 2)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from desktop.cli import main
from desktop.domain.spec import RefData
from desktop.storage import location
from desktop.storage.errors import BadLocation, StoreError, WrongPassword
from desktop.storage.keys import make_recovery_keypair
from desktop.storage.store import Store


def create(path: Path, refdata: RefData, **kw: object) -> Store:
    return Store.create(
        path, agency="CJ1", kind="cjit", user="amy", password="first pass", refdata=refdata, **kw
    )


def test_network_drive_is_refused(
    tmp_path: Path, refdata: RefData, monkeypatch: pytest.MonkeyPatch
) -> None:
    """WAL needs one host and honest locks: network file systems are refused."""
    monkeypatch.setattr(location, "_mount_type", lambda _p: "nfs4")
    with pytest.raises(BadLocation, match="network drive"):
        create(tmp_path / "s.store", refdata)
    assert not (tmp_path / "s.store").exists()


def test_mount_type_reads_the_real_mount_table(tmp_path: Path) -> None:
    kind = location._mount_type(tmp_path)
    assert kind is not None
    assert kind not in location.NETWORK_FS


def test_cloud_synced_folder_is_refused(tmp_path: Path, refdata: RefData) -> None:
    synced = tmp_path / "OneDrive" / "work"
    synced.mkdir(parents=True)
    with pytest.raises(BadLocation, match="synced"):
        create(synced / "s.store", refdata)


def _mount_read_only(folder: Path) -> bool:
    if os.geteuid() != 0:
        return False
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", "ro,size=1m", "tmpfs", str(folder)],
        capture_output=True,
        check=False,
    )
    return done.returncode == 0


def test_read_only_folder_is_refused(tmp_path: Path, refdata: RefData) -> None:
    """A read-only folder: a real read-only mount where possible, else a folder without
    write permission (root ignores permissions, so root uses the mount)."""
    folder = tmp_path / "ro"
    folder.mkdir()
    mounted = _mount_read_only(folder)
    if not mounted:
        folder.chmod(0o555)
    try:
        with pytest.raises(BadLocation, match="cannot write"):
            create(folder / "s.store", refdata)
    finally:
        if mounted:
            subprocess.run(["umount", str(folder)], check=True)
        else:
            folder.chmod(0o755)


def test_missing_folder_is_explained(tmp_path: Path) -> None:
    with pytest.raises(BadLocation, match="does not exist"):
        location.check_location(tmp_path / "nowhere" / "s.store")


def test_recovery_key_sets_a_new_password(tmp_path: Path, refdata: RefData) -> None:
    private, public = make_recovery_keypair()
    path = tmp_path / "s.store"
    create(path, refdata, recovery_public=public).close(backup_reason=None)
    with Store.recover(path, private, "amy", "after recovery", refdata=refdata) as s:
        assert s.user.name == "amy"
        assert s.backups.verify_audit().ok
    with pytest.raises(WrongPassword):
        Store.open(path, "amy", "first pass", refdata=refdata)
    Store.open(path, "amy", "after recovery", refdata=refdata).close(backup_reason=None)


def test_recovery_needs_the_right_key(tmp_path: Path, refdata: RefData) -> None:
    _, public = make_recovery_keypair()
    other_private, _ = make_recovery_keypair()
    path = tmp_path / "s.store"
    create(path, refdata, recovery_public=public).close(backup_reason=None)
    with pytest.raises(StoreError, match="does not open this store"):
        Store.recover(path, other_private, "amy", "x y z", refdata=refdata)
    Store.open(path, "amy", "first pass", refdata=refdata).close(backup_reason=None)


def test_store_without_recovery_says_so(tmp_path: Path, refdata: RefData) -> None:
    private, _ = make_recovery_keypair()
    path = tmp_path / "s.store"
    create(path, refdata).close(backup_reason=None)
    with pytest.raises(StoreError, match="no recovery key"):
        Store.recover(path, private, "amy", "x y z", refdata=refdata)


def test_bad_recovery_public_key_is_a_plain_message(tmp_path: Path, refdata: RefData) -> None:
    with pytest.raises(StoreError, match="not a recovery public key"):
        create(tmp_path / "s.store", refdata, recovery_public=b"-----BEGIN nonsense")


def test_recovery_from_the_command_line(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    keys_dir = tmp_path / "keys"
    assert main(["recovery-keys", "--out", str(keys_dir)]) == 0
    assert (keys_dir / "recovery.private.pem").stat().st_mode & 0o077 == 0
    assert main(["recovery-keys", "--out", str(keys_dir)]) == 2
    store = tmp_path / "s.store"
    monkeypatch.setenv("PATHWAY_PASSWORD", "forgotten one")
    assert (
        main(
            [
                "init",
                "--store",
                str(store),
                "--agency",
                "CJ1",
                "--type",
                "cjit",
                "--user",
                "amy",
                "--recovery-key",
                str(keys_dir / "recovery.public.pem"),
            ]
        )
        == 0
    )
    monkeypatch.setenv("PATHWAY_NEW_PASSWORD", "brand new one")
    args = ["recover", "--store", str(store), "--user", "amy", "--private-key"]
    assert main([*args, str(keys_dir / "recovery.private.pem")]) == 0
    monkeypatch.setenv("PATHWAY_PASSWORD", "brand new one")
    assert main(["verify", "--store", str(store)]) == 0
    capsys.readouterr()
