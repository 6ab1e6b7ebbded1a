"""A kill -9 during an export leaves either no file or the complete one.

Rules cited: reliability #5 (kill -9 during special operations: no partial export file at
its final name, no temporary file left after the next start) and #15 (a file only ever
absent or complete); issue 6 item 4 (temporary file, fsync, atomic rename).
"""

from __future__ import annotations

import contextlib
import os
import random
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from desktop.export.submission import IdenticalFile, export, history
from tests.conftest import REPO
from tests.export.conftest import clock, reopen
from tests.fixtures import new_store, synthetic_records
from tests.storage.storekit import copy_store

pytestmark = pytest.mark.slow

EPISODES = 3000  # about 1,260 in each month: two batches, so a kill can land between them
MONTHS = [f"2026-{m:02d}" for m in range(1, 11)]


def _store(path: Path) -> None:
    store = new_store(path, clock=clock)
    try:
        # random technical ids, as the window gives them
        batch = synthetic_records(EPISODES, seed=401)
        store.episodes.load_synthetic(batch, "cjit-q")
    finally:
        store.close(backup_reason=None)


def _reference(path: Path, folder: Path) -> dict[str, bytes]:
    """Every month exported, uncut, from a copy of the store."""
    copy = folder / "copy.store"
    copy_store(path, copy)
    store = reopen(copy)
    try:
        return {m: export(store, "cjit-q", m, folder).path.read_bytes() for m in MONTHS}
    finally:
        store.close(backup_reason=None)


def test_kill_during_export_leaves_no_file_or_the_complete_one(tmp_path: Path) -> None:
    """Reliability #5/#15, seed 401, ten SIGKILLs: after each, the month's file is absent
    or byte-identical to an uncut export; every export the store recorded has its complete
    file; the next export clears temporary files; the store stays intact."""
    path = tmp_path / "team.store"
    _store(path)
    reference = _reference(path, tmp_path / "reference")
    rng = random.Random(401)
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    cut_short = 0
    folders: dict[str, Path] = {}
    for n, month in enumerate(MONTHS):
        folder = tmp_path / f"out-{month}"
        folder.mkdir()
        folders[month] = folder
        child = subprocess.Popen(
            [sys.executable, "-m", "tests.export.killkit", str(path), str(folder), month],
            cwd=REPO,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert child.stdout is not None
        lines = [child.stdout.readline().strip()]
        # Half the kills land at a random moment of the export; the other half just
        # after the first batch was written, while the rest is being written.
        wanted = 1 if n % 2 == 0 else 2
        while sum(line.startswith("progress") for line in lines) < wanted and lines[-1]:
            lines.append(child.stdout.readline().strip())
        delay = rng.uniform(0.0, 0.4) if n % 2 == 0 else rng.uniform(0.0, 0.02)
        try:
            child.wait(timeout=delay)
        except subprocess.TimeoutExpired:
            os.kill(child.pid, signal.SIGKILL)
        child.wait()
        rest = child.stdout.read()
        child.stdout.close()
        finished = "done" in rest.split()
        cut_short += not finished
        files = [p for p in folder.iterdir() if not p.name.startswith(".")]
        for final in files:
            assert final.read_bytes() == reference[month]
        if finished:
            assert len(files) == 1
    assert cut_short >= 1  # the kills did land during exports

    store = reopen(path)
    try:
        assert store.backups.integrity_problems() == []
        assert store.backups.verify_audit().ok
        for entry in history(store):
            made = folders[entry.period] / entry.file_name
            assert made.read_bytes() == reference[entry.period]
        for month, folder in folders.items():
            with contextlib.suppress(IdenticalFile):
                export(store, "cjit-q", month, folder)
            assert [p.name for p in folder.iterdir() if p.name.endswith(".tmp")] == []
            (final,) = list(folder.iterdir())
            assert final.read_bytes() == reference[month]
    finally:
        store.close(backup_reason=None)
