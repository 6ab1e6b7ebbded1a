"""The growing wait after failed unlocks, with a fake clock so nothing sleeps."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.storage import attempts as attempts_module
from desktop.storage.attempts import Attempts

START = 1_800_000_000.0


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def path(tmp_path: Path) -> Path:
    return tmp_path / "store.attempts"


def _fail(attempts: Attempts, times: int) -> None:
    for _ in range(times):
        attempts.failed()


def test_no_file_means_no_wait(path: Path, clock: Clock) -> None:
    assert Attempts(path, clock).wait_seconds() == 0.0
    assert not path.exists()


def test_five_free_failures_then_30_then_60(path: Path, clock: Clock) -> None:
    attempts = Attempts(path, clock)
    _fail(attempts, 4)
    assert attempts.wait_seconds() == 0.0
    attempts.failed()
    assert attempts.wait_seconds() == 30.0
    clock.now += 10
    assert attempts.wait_seconds() == 20.0
    clock.now += 20
    assert attempts.wait_seconds() == 0.0
    attempts.failed()
    assert attempts.wait_seconds() == 60.0
    clock.now += 60
    attempts.failed()
    assert attempts.wait_seconds() == 120.0


def test_wait_is_capped(path: Path, clock: Clock) -> None:
    attempts = Attempts(path, clock)
    _fail(attempts, 9)
    assert attempts.wait_seconds() == 480.0
    attempts.failed()
    assert attempts.wait_seconds() == Attempts.MAX_DELAY == 900.0
    _fail(attempts, 200)
    assert attempts.wait_seconds() == 900.0


def test_success_resets(path: Path, clock: Clock) -> None:
    attempts = Attempts(path, clock)
    _fail(attempts, 7)
    attempts.succeeded()
    assert not path.exists()
    assert attempts.wait_seconds() == 0.0
    _fail(attempts, 4)
    assert attempts.wait_seconds() == 0.0
    attempts.succeeded()
    attempts.succeeded()


def test_count_survives_a_restart(path: Path, clock: Clock) -> None:
    _fail(Attempts(path, clock), 6)
    clock.now += 15
    later = Attempts(path, clock)
    assert later.wait_seconds() == 45.0
    later.failed()
    assert Attempts(path, clock).wait_seconds() == 120.0


def test_file_holds_only_a_count_and_a_time(path: Path, clock: Clock) -> None:
    _fail(Attempts(path, clock), 3)
    assert json.loads(path.read_bytes()) == {"failures": 3, "last": START}
    assert [p.name for p in path.parent.iterdir()] == [path.name]


def test_clock_set_back_never_lengthens_the_wait(path: Path, clock: Clock) -> None:
    attempts = Attempts(path, clock)
    _fail(attempts, 5)
    clock.now -= 86_400
    assert attempts.wait_seconds() == 30.0


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"not json",
        b"\xff\xfe\x00",
        b"[]",
        b"null",
        b'{"failures": 2}',
        b'{"last": 0}',
        b'{"failures": -1, "last": 0}',
        b'{"failures": "9", "last": 0}',
        b'{"failures": true, "last": 0}',
        b'{"failures": 2.5, "last": 0}',
        b'{"failures": 2, "last": "yesterday"}',
        b'{"failures": 2, "last": NaN}',
        b'{"failures": 2, "last": 1e999}',
        b"[" * 50_000,
        b" " * 10_000 + b'{"failures": 0, "last": 0}',
    ],
)
def test_damaged_file_counts_as_five_failures_at_its_mtime(
    path: Path, clock: Clock, data: bytes
) -> None:
    path.write_bytes(data)
    os.utime(path, (START - 10, START - 10))
    attempts = Attempts(path, clock)
    assert attempts.wait_seconds() == 20.0
    clock.now += 20
    assert attempts.wait_seconds() == 0.0
    attempts.failed()
    assert attempts.wait_seconds() == 60.0
    assert json.loads(path.read_bytes())["failures"] == 6


def test_old_damaged_file_does_not_lock(path: Path, clock: Clock) -> None:
    path.write_bytes(b"garbage")
    os.utime(path, (START - 3600, START - 3600))
    assert Attempts(path, clock).wait_seconds() == 0.0


def test_unreadable_file_is_handled(path: Path, clock: Clock) -> None:
    path.mkdir()
    os.utime(path, (START, START))
    attempts = Attempts(path, clock)
    assert attempts.wait_seconds() == 30.0
    attempts.failed()
    assert attempts.wait_seconds() == 60.0
    attempts.succeeded()
    assert attempts.wait_seconds() == 0.0


def test_read_only_folder_keeps_the_count_in_memory(
    path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    def refuse(target: Path, data: bytes) -> None:
        raise PermissionError(13, "Permission denied", str(target))

    monkeypatch.setattr(attempts_module, "atomic_write_bytes", refuse)
    attempts = Attempts(path, clock)
    _fail(attempts, 5)
    assert not path.exists()
    assert attempts.wait_seconds() == 30.0
    attempts.succeeded()
    assert attempts.wait_seconds() == 0.0


def test_stale_file_that_cannot_be_removed_is_ignored_after_success(
    path: Path, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    attempts = Attempts(path, clock)
    _fail(attempts, 6)

    def refuse(self: Path, missing_ok: bool = False) -> None:
        raise PermissionError(13, "Permission denied", str(self))

    monkeypatch.setattr(Path, "unlink", refuse)
    attempts.succeeded()
    assert path.exists()
    assert attempts.wait_seconds() == 0.0


@settings(
    max_examples=50, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(data=st.binary(max_size=200), age=st.floats(-1e6, 1e6))
def test_any_file_contents_give_a_bounded_wait(path: Path, data: bytes, age: float) -> None:
    path.write_bytes(data)
    clock = Clock()
    clock.now += age
    wait = Attempts(path, clock).wait_seconds()
    assert 0.0 <= wait <= Attempts.MAX_DELAY
