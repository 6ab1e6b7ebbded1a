"""Where a store may live, the files beside it, and the lock that keeps it to one Pathway
window at a time."""

from __future__ import annotations

import contextlib
import os
import sys
import tempfile
from pathlib import Path
from typing import IO

from desktop.storage.errors import BadLocation, StoreInUse

# File systems on which SQLite's locks and WAL cannot be trusted (https://www.sqlite.org/wal.html).
NETWORK_FS = frozenset(
    {"nfs", "nfs4", "cifs", "smbfs", "smb3", "9p", "afs", "fuse.sshfs", "sshfs", "davfs", "ncpfs"}
)
SYNCED_FOLDERS = ("OneDrive", "Dropbox", "Google Drive", "iCloudDrive", "Nextcloud")


def default_store(data_dir: Path) -> Path:
    return data_dir / "pathway.store"


def keys_path(store: Path) -> Path:
    """The store's key file: the store key wrapped for each user, beside the store."""
    return store.with_name(store.name + ".keys")


def backups_folder(store: Path) -> Path:
    return store.with_name(store.stem + "-backups")


def _mount_type(path: Path) -> str | None:
    """The file-system type of the mount holding ``path`` (Linux only; None elsewhere)."""
    try:
        lines = Path("/proc/self/mounts").read_text(encoding="utf-8").splitlines()
    except OSError:
        return None
    best, kind = "", None
    target = str(path.resolve())
    for line in lines:
        parts = line.split()
        if len(parts) < 3:
            continue
        mount = parts[1].replace("\\040", " ")
        inside = target == mount or target.startswith(mount.rstrip("/") + "/")
        if inside and len(mount) > len(best):
            best, kind = mount, parts[2]
    return kind


def _windows_remote(path: Path) -> bool:
    if sys.platform != "win32":
        return False
    text = str(path.resolve())
    if text.startswith("\\\\"):
        return True
    import ctypes

    drive_remote = 4
    return bool(ctypes.windll.kernel32.GetDriveTypeW(text[:3]) == drive_remote)


def check_location(path: Path) -> None:
    """Refuse folders where a store cannot be kept safely, saying why and what to do."""
    folder = path.parent
    if not folder.is_dir():
        raise BadLocation(f"The folder {folder} does not exist. Choose a folder on this laptop.")
    kind = _mount_type(folder)
    if (kind is not None and kind in NETWORK_FS) or _windows_remote(folder):
        raise BadLocation(
            f"{folder} is on a network drive. Keep the store on this laptop's own disk:"
            " network drives can damage it."
        )
    if any(part in SYNCED_FOLDERS for part in folder.resolve().parts):
        raise BadLocation(
            f"{folder} is synced to the cloud. Keep the store in a folder that is not synced:"
            " syncing can copy it half-written and would send client records off the laptop."
        )
    if not os.access(folder, os.W_OK):
        raise BadLocation(
            f"Pathway cannot write to {folder}. Choose a folder you can save files in,"
            " or ask IT to give you write access."
        )
    try:
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise BadLocation(
            f"Pathway cannot write to {folder} ({exc.strerror or 'read-only'})."
            " Choose a folder on this laptop's own disk."
        ) from None


class InstanceLock:
    """An exclusive lock on ``<store>.lock``. The operating system releases it if we crash."""

    def __init__(self, store: Path) -> None:
        self.path = store.with_name(store.name + ".lock")
        self._fh: IO[bytes] | None = None

    def acquire(self) -> None:
        fh = open(self.path, "a+b")  # noqa: SIM115 - held open for the life of the lock
        try:
            if sys.platform == "win32":
                import msvcrt

                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            fh.close()
            raise StoreInUse() from None
        self._fh = fh

    def release(self) -> None:
        fh, self._fh = self._fh, None
        if fh is None:
            return
        with contextlib.suppress(OSError):
            if sys.platform == "win32":
                import msvcrt

                fh.seek(0)
                msvcrt.locking(fh.fileno(), msvcrt.LK_UNLCK, 1)
            else:
                import fcntl

                fcntl.flock(fh.fileno(), fcntl.LOCK_UN)
        fh.close()

    @property
    def held(self) -> bool:
        return self._fh is not None
