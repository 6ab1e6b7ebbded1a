"""Several workers on one laptop: each with their own password, one window at a time,
and wrong passwords that all look the same and slow a guesser down."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from pathlib import Path

import pytest

from desktop.storage import keys
from desktop.storage.errors import NotPermitted, StoreInUse, TryLater, WrongPassword
from desktop.storage.store import Store, keys_path
from tests.fixtures import MakeStore
from tests.storage.storekit import (
    PASSWORD,
    changed_pages,
    checkpoint,
    fresh,
    open_store,
    page_hashes,
    raw,
    write_figures,
)

BEN_PW = "Ben's own pass phrase 42"
NEW_PW = "A brand new phrase for Amy 9"


def _last_events(store: Store, n: int) -> list[tuple[str, str, str | None]]:
    with raw(store) as conn:
        rows = conn.execute(
            "SELECT action, user_id, entity_id FROM audit_events ORDER BY seq DESC LIMIT ?", (n,)
        ).fetchall()
    return [(str(a), str(u), e) for a, u, e in reversed(rows)]


@pytest.fixture
def shared(tmp_path: Path, make_store: MakeStore) -> Path:
    """A store with a manager (amy) and a worker (ben), closed."""
    path = tmp_path / "team.store"
    store = make_store(name=path.name)
    store.users.add("ben", BEN_PW)
    for rec in fresh(5, seed=4):
        store.episodes.save(rec)
    store.close(backup_reason=None)
    return path


def test_each_worker_opens_with_their_own_password(shared: Path) -> None:
    """reliability #19: two wraps of one key; each user is who their password says."""
    amy = open_store(shared, "amy", PASSWORD)
    amy_info = amy.user
    amy.close(backup_reason=None)
    ben = open_store(shared, "ben", BEN_PW)
    ben_info = ben.user
    assert ben.caseload.count() == 5
    ben.close(backup_reason=None)
    assert (amy_info.name, amy_info.role) == ("amy", "manager")
    assert (ben_info.name, ben_info.role) == ("ben", "worker")
    assert amy_info.id != ben_info.id
    for user, password in (("amy", BEN_PW), ("ben", PASSWORD)):
        with pytest.raises(WrongPassword):
            open_store(shared, user, password)


def test_a_worker_cannot_add_or_remove_users(shared: Path) -> None:
    """reliability #19: only a manager changes who may open the store."""
    ben = open_store(shared, "ben", BEN_PW)
    try:
        before = keys_path(shared).read_bytes()
        with pytest.raises(NotPermitted):
            ben.users.add("cat", "Cat's pass phrase 1")
        with pytest.raises(NotPermitted):
            ben.users.remove("amy")
        with pytest.raises(NotPermitted):
            ben.users.reset_password("amy", "taken over 1234")
        assert keys_path(shared).read_bytes() == before
        assert [u.name for u in ben.users.all()] == ["amy", "ben"]
    finally:
        ben.close(backup_reason=None)


def test_each_change_of_users_is_one_audit_event_by_the_manager(shared: Path) -> None:
    """reliability #19: adding a user, resetting a password and removing a user are one
    audit event each, naming the manager who did it and the user it was done to."""
    amy = open_store(shared, "amy", PASSWORD)
    try:

        def events() -> int:
            with raw(amy) as conn:
                return int(conn.execute("SELECT count(*) FROM audit_events").fetchone()[0])

        start = events()
        cat = amy.users.add("cat", "Cat's own phrase 77")
        assert _last_events(amy, 1) == [("create", amy.user.id, cat.id)]
        amy.users.reset_password("cat", "Cat's reset phrase 78")
        assert _last_events(amy, 1) == [("password", amy.user.id, cat.id)]
        amy.users.remove("cat")
        assert _last_events(amy, 1) == [("delete", amy.user.id, cat.id)]
        assert events() == start + 3
        assert amy.backups.verify_audit().ok
    finally:
        amy.close(backup_reason=None)


def test_a_removed_worker_cannot_open(shared: Path) -> None:
    """reliability #19: removal is one audit event; afterwards the worker is told exactly
    what a wrong password is told, even with a key file from before the removal."""
    old_keys = keys_path(shared).read_bytes()
    amy = open_store(shared, "amy", PASSWORD)
    ben_id = next(u.id for u in amy.users.all() if u.name == "ben")
    amy.users.remove("ben")
    assert _last_events(amy, 1) == [("delete", amy.user.id, ben_id)]
    amy.close(backup_reason=None)
    with pytest.raises(WrongPassword) as removed:
        open_store(shared, "ben", BEN_PW)
    with pytest.raises(WrongPassword) as wrong:
        open_store(shared, "amy", PASSWORD + "x")
    assert str(removed.value) == str(wrong.value)
    # A key file copied back from before the removal still does not let the worker in.
    keys_path(shared).write_bytes(old_keys)
    with pytest.raises(WrongPassword) as restored:
        open_store(shared, "ben", BEN_PW)
    assert str(restored.value) == str(wrong.value)


def _pages_changed_by(store: Store, action: Callable[[], None]) -> int:
    checkpoint(store)
    before = page_hashes(store.path)
    action()
    checkpoint(store)
    return changed_pages(before, page_hashes(store.path))


def test_a_password_change_rewrites_no_data_pages(shared: Path) -> None:
    """reliability #19: a password change re-wraps the key; it does not re-encrypt the store.

    Pages changed by ``change_password`` (checkpointed before and after) are compared with
    the pages changed by one small write (one consent decision): a re-key would change
    every page."""
    amy = open_store(shared, "amy", PASSWORD)
    try:
        client_id = amy.caseload.page()[0].client_id
        total = len(page_hashes(shared))
        keys_before = keys_path(shared).read_bytes()
        salt_before = shared.read_bytes()[:16]
        by_consent = _pages_changed_by(
            amy, lambda: amy.consent.record(client_id, "sharing", "given", date(2026, 1, 5))
        )
        by_password = _pages_changed_by(amy, lambda: amy.users.change_password(PASSWORD, NEW_PW))
        assert _last_events(amy, 1) == [("password", amy.user.id, amy.user.id)]
        assert shared.read_bytes()[:16] == salt_before
    finally:
        amy.close(backup_reason=None)
    write_figures(
        "password-change-pages",
        total_pages=total,
        changed_by_password_change=by_password,
        changed_by_one_consent_write=by_consent,
    )
    assert keys_path(shared).read_bytes() != keys_before
    assert 0 < by_consent < total
    assert by_password <= by_consent
    with pytest.raises(WrongPassword):
        open_store(shared, "amy", PASSWORD)
    again = open_store(shared, "amy", NEW_PW)
    assert again.caseload.count() == 5
    again.close(backup_reason=None)
    # The other worker's wrap is untouched.
    open_store(shared, "ben", BEN_PW).close(backup_reason=None)


def _near_misses() -> list[tuple[str | None, str]]:
    pw = PASSWORD
    return [
        ("amy", pw.lower()),
        ("amy", pw.upper()),
        ("amy", pw.swapcase()),
        ("amy", pw + " "),
        ("amy", " " + pw),
        ("amy", pw[:-1]),
        ("amy", pw[:-1] + "8"),
        ("amy", pw[1:]),
        ("amy", pw + pw[-1]),
        ("amy", pw.replace("-", "_")),
        ("amy", pw[::-1]),
        ("amy", ""),
        ("amy", BEN_PW),
        ("amy", "password"),
        ("amy", "Correct-horse-battery-7\n"),
        ("amy", "Соrrect-horse-battery-7"),  # a Cyrillic "С" that looks Latin
        ("amy", pw + "\0"),
        ("nobody", pw),
        ("", pw),
        ("ben", pw),
    ]


def test_every_wrong_password_gets_the_same_message(shared: Path) -> None:
    """reliability #10: 20 wrong attempts (near misses, empty, unknown users): one message,
    no other exception. The fake clock moves on between attempts so none is held back."""
    t = [1_000_000.0]
    messages: set[str] = set()
    others: list[str] = []
    attempts = _near_misses()
    assert len(attempts) == 20
    for user, password in attempts:
        t[0] += 10_000
        try:
            store = open_store(shared, user, password, wall=lambda: t[0])
        except WrongPassword as exc:
            messages.add(str(exc))
        except Exception as exc:
            others.append(f"{user!r}/{password!r}: {type(exc).__name__}: {exc}")
        else:
            store.close(backup_reason=None)
            others.append(f"{user!r}/{password!r} opened the store")
    assert others == []
    assert messages == {"The user name or password is not right."}
    write_figures("wrong-passwords", attempts=len(attempts), distinct_messages=len(messages))


def test_a_guesser_is_made_to_wait_after_five_failures(shared: Path) -> None:
    """reliability #10: after 5 failures the next attempt (even the right one) waits at least
    30 s on the fake clock; after the wait the right password works and clears the count."""
    t = [5_000_000.0]

    def wall() -> float:
        return t[0]

    for _ in range(5):
        t[0] += 1
        with pytest.raises(WrongPassword):
            open_store(shared, "amy", "not it at all", wall=wall)
    with pytest.raises(TryLater) as held:
        open_store(shared, "amy", PASSWORD, wall=wall)
    assert held.value.seconds >= 30
    assert "Wait" in str(held.value)
    t[0] += held.value.seconds / 2
    with pytest.raises(TryLater):
        open_store(shared, "amy", PASSWORD, wall=wall)
    t[0] += held.value.seconds + 1
    open_store(shared, "amy", PASSWORD, wall=wall).close(backup_reason=None)
    # The count starts again: five more wrong attempts are allowed before the next wait.
    for _ in range(5):
        t[0] += 1
        with pytest.raises(WrongPassword):
            open_store(shared, "amy", "still not it", wall=wall)
    with pytest.raises(TryLater):
        open_store(shared, "amy", PASSWORD, wall=wall)
    write_figures("unlock-backoff", free_attempts=5, first_wait_seconds=held.value.seconds)


def test_one_window_at_a_time(shared: Path) -> None:
    """reliability #19: a second open of the same store in this process is refused while
    the first is open, and works once it is closed."""
    first = open_store(shared, "amy", PASSWORD)
    try:
        with pytest.raises(StoreInUse):
            open_store(shared, "ben", BEN_PW)
        with pytest.raises(StoreInUse):
            open_store(shared, "amy", PASSWORD)
        assert first.caseload.count() == 5
    finally:
        first.close(backup_reason=None)
    second = open_store(shared, "ben", BEN_PW)
    assert second.user.name == "ben"
    second.close(backup_reason=None)


def test_key_wraps_hold_no_password(shared: Path) -> None:
    """reliability #19: the key file holds wraps, not passwords or the key."""
    text = keys_path(shared).read_bytes()
    key, _ = keys.unwrap_key(keys.read_keyfile(keys_path(shared)), "ben", BEN_PW)
    try:
        for secret in (PASSWORD, BEN_PW):
            assert secret.encode() not in text
        assert bytes(key) not in text and bytes(key).hex().encode() not in text
    finally:
        keys.zero(key)
