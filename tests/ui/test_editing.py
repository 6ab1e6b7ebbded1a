"""The editing session and the jobs as the window's parts see them: their signals and public
methods only (what prison mode and month end are allowed to use)."""

from __future__ import annotations

import threading
import time

from pytestqt.qtbot import QtBot

from desktop.storage.store import Store
from desktop.ui.jobs import Job, Jobs, Progress
from desktop.ui.main_window import MainWindow


def test_the_session_says_what_it_saves_and_opens_and_when_typing_waits(
    window: MainWindow, qtbot: QtBot, store: Store
) -> None:
    editing = window.editing
    seen: list[tuple[str, object]] = []
    editing.dirtyChanged.connect(lambda dirty: seen.append(("dirty", dirty)))
    editing.saved.connect(lambda episode: seen.append(("saved", episode)))
    editing.opened.connect(lambda episode: seen.append(("opened", episode)))
    window.new_episode()
    qtbot.keyClicks(window.sheet.editors["FINITIAL"].input, "Q")
    assert editing.dirty and editing.save_pending
    assert editing.save()
    episode = editing.episode_id
    assert episode is not None and editing.client_id is not None
    assert not editing.dirty and not editing.save_pending
    assert editing.open(episode)
    assert seen == [("dirty", True), ("dirty", False), ("saved", episode), ("opened", episode)]
    assert store.episodes.load(episode).raw["FINITIAL"] == "Q"


def test_a_writer_holds_the_saves_back_and_they_are_made_after(
    window: MainWindow, qtbot: QtBot
) -> None:
    """An export holds the store's write lock: what was typed goes in first, then typing
    waits, and is saved once the export has ended."""
    editing = window.editing
    window.new_episode()
    qtbot.keyClicks(window.sheet.editors["FINITIAL"].input, "Q")
    editing.hold_saves()
    assert not editing.dirty and editing.episode_id is not None
    editing.autosave_ms = 0
    qtbot.keyClicks(window.sheet.editors["SINITIAL"].input, "R")
    qtbot.wait(30)
    assert editing.dirty  # held back
    editing.release_saves()
    qtbot.waitUntil(lambda: not editing.dirty, timeout=5000)


def test_a_window_put_away_unsaved_forgets_the_typing(window: MainWindow, qtbot: QtBot) -> None:
    editing = window.editing
    window.new_episode()
    qtbot.keyClicks(window.sheet.editors["FINITIAL"].input, "Q")
    editing.discard()
    assert not editing.dirty and not editing.save_pending and editing.episode_id is None


def test_a_new_episode_of_a_known_client_is_saved_under_that_client(
    window: MainWindow, qtbot: QtBot, store: Store
) -> None:
    editing = window.editing
    window.new_episode()
    qtbot.keyClicks(window.sheet.editors["FINITIAL"].input, "Q")
    assert editing.save()
    client, first = editing.client_id, editing.episode_id
    editing.new(client)
    assert editing.episode_id is None and editing.client_id == client
    qtbot.keyClicks(window.sheet.editors["SINITIAL"].input, "R")
    assert editing.save()
    assert editing.episode_id not in (None, first)
    assert store.episodes.load(str(editing.episode_id)).client_id == client


# ---------------------------------------------------------------------- jobs


class Saves:
    """Stands in for the editing session: notes when saves are held and released."""

    def __init__(self) -> None:
        self.calls: list[object] = []

    def hold_saves(self) -> None:
        self.calls.append("hold")

    def release_saves(self, *, resume: bool = True) -> None:
        self.calls.append(("release", resume))


def _until(gate: threading.Event) -> Job:
    def work(progress: Progress) -> object:
        while not gate.is_set():
            if not progress(0, 1):
                return "stopped"
            time.sleep(0.005)
        return "done"

    return Job(work, writes=True)


def test_a_writer_makes_the_jobs_busy_and_its_result_is_delivered(qtbot: QtBot) -> None:
    saves, gate = Saves(), threading.Event()
    jobs = Jobs(saves)
    busy: list[bool] = []
    jobs.busy_changed.connect(busy.append)
    done: list[object] = []
    job = jobs.run(_until(gate), lambda j: done.append(j.result))
    assert jobs.busy and jobs.active == (job,) and saves.calls == ["hold"]
    gate.set()
    qtbot.waitUntil(lambda: not jobs.running, timeout=5000)
    assert done == ["done"] and busy == [True, False]
    assert saves.calls == ["hold", ("release", True)]


def test_the_idle_lock_cancels_a_writer_and_is_due_when_it_has_ended(qtbot: QtBot) -> None:
    saves, gate = Saves(), threading.Event()
    jobs = Jobs(saves)
    assert not jobs.defer_lock()  # nothing writes: lock now
    due: list[bool] = []
    jobs.lock_due.connect(lambda: due.append(True))
    done: list[object] = []
    job = jobs.run(_until(gate), done.append)
    assert jobs.defer_lock()
    qtbot.waitUntil(lambda: not jobs.running, timeout=5000)
    assert job.cancelled and job.result == "stopped"
    assert due == [True] and done == []  # the lock, not the result
    assert saves.calls == ["hold", ("release", False)]


def test_stopping_the_jobs_delivers_nothing(qtbot: QtBot) -> None:
    saves, gate = Saves(), threading.Event()
    jobs = Jobs(saves)
    done: list[object] = []
    jobs.run(_until(gate), done.append)
    jobs.stop_all()
    assert not jobs.running and not jobs.busy and done == []
    assert saves.calls == ["hold", ("release", False)]
