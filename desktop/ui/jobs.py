"""Work off the window's thread, one writer at a time.

The check, the export and the report read every episode of the month, which takes seconds
on a large store, so each runs in a :class:`Job` (a ``QThread``) while the window shows its
progress and stays responsive. This is safe with the store's engine: every SQLAlchemy
session checks out its own pooled ``sqlcipher3`` connection (made with
``check_same_thread=False``; the bundled SQLite is built THREADSAFE=1, serialized), so a job
never shares a connection with the window, and WAL lets the window read and save while a
check or the report reads.

What is *not* safe is two writes at once through one store: a write transaction keeps its
pending audit events on the store object. An export is one long write transaction (it holds
the store's write lock until the file is in place), so while it runs the window writes
nothing of its own: what was typed is saved before the export starts and the autosave waits
(:meth:`Writes.hold_saves`), and :attr:`Jobs.busy` is True (``busy_changed`` says so). When
the export ends the save that waited is made. The idle lock wins: :meth:`Jobs.defer_lock`
cancels the export (a cancelled export writes nothing), and ``lock_due`` fires once it has
ended. Drawing (report pages, PDFs) stays on the window's thread, as Qt requires.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from typing import Protocol

from PySide6.QtCore import QObject, QThread, Signal
from PySide6.QtWidgets import QHBoxLayout, QProgressBar, QPushButton, QWidget

from desktop.storage.errors import StoreError

log = logging.getLogger(__name__)

Progress = Callable[[int, int], bool]
"""Told (done, total) now and then; returns False when the job is to stop."""
Work = Callable[[Progress], object]


def unexpected(what: str, exc: BaseException) -> str:
    """Why ``what`` gave no result, for a failure that is not the store's refusal: its type
    only (never its message, which may hold client data)."""
    log.error("%s failed: %s", what, type(exc).__name__)
    return (
        f"The {what} could not be finished because of an unexpected problem"
        f" ({type(exc).__name__}). Nothing was changed; try again, and report it if it"
        " happens again."
    )


class Job(QThread):
    """One piece of work off the window's thread. ``progressed`` arrives on the window's
    thread; :meth:`cancel` makes the next progress report return False. ``writes`` says
    whether the work writes to the store (one writer at a time)."""

    progressed = Signal(int, int)

    def __init__(self, work: Work, *, writes: bool) -> None:
        super().__init__()
        self._work = work
        self.writes = writes
        self._stop = threading.Event()
        self.result: object = None
        self.error: BaseException | None = None

    def run(self) -> None:
        try:
            self.result = self._work(self._progress)
        except BaseException as exc:  # reported on the window's thread
            self.error = exc

    def _progress(self, done: int, total: int) -> bool:
        self.progressed.emit(done, total)
        return not self._stop.is_set()

    def cancel(self) -> None:
        self._stop.set()

    @property
    def cancelled(self) -> bool:
        return self._stop.is_set()

    def problem(self, what: str) -> str:
        """Why the job gave no result: the store's own words, or an unexpected problem."""
        if isinstance(self.error, StoreError):
            return str(self.error)
        return unexpected(what, self.error or TypeError())


class ProgressRow(QWidget):
    """A progress bar with its Cancel button, shown while a job runs."""

    def __init__(self, what: str) -> None:
        super().__init__()
        self.bar = QProgressBar()
        self.bar.setAccessibleName(f"{what} progress")
        self.bar.setFormat("%v of %m episodes")
        self.cancel = QPushButton("Cancel")
        self.cancel.setAccessibleName(f"Cancel the {what.lower()}")
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.bar, 1)
        row.addWidget(self.cancel)
        self.hide()

    def start(self, job: Job) -> None:
        self.bar.setRange(0, 0)  # until the first report says how many
        self.cancel.setEnabled(True)
        job.progressed.connect(self.step)
        self.cancel.clicked.connect(job.cancel)
        self.cancel.clicked.connect(lambda: self.cancel.setEnabled(False))
        self.show()

    def step(self, done: int, total: int) -> None:
        if total > 0:
            self.bar.setRange(0, total)
            self.bar.setValue(min(done, total))

    def stop(self) -> None:
        self.hide()
        self.cancel.clicked.disconnect()


class Writes(Protocol):
    """What waits while a job writes: the window's own saves (the editing session)."""

    def hold_saves(self) -> None: ...

    def release_saves(self, *, resume: bool = True) -> None: ...


class Jobs(QObject):
    """The jobs of one main window.

    ``busy`` is True while a job writes (an export holds the store's write lock), and
    ``busy_changed`` fires when that starts and ends. ``lock_due`` fires when a lock that
    waited for a writer (see :meth:`defer_lock`) is due now.
    """

    busy_changed = Signal(bool)
    lock_due = Signal()

    def __init__(self, saves: Writes, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._saves = saves
        self._jobs: dict[Job, Callable[[Job], None]] = {}
        self._writing = 0
        self._lock_wanted = False

    @property
    def busy(self) -> bool:
        return self._writing > 0

    @property
    def running(self) -> bool:
        return bool(self._jobs)

    @property
    def active(self) -> tuple[Job, ...]:
        """The jobs still running (or ended, their results not yet delivered)."""
        return tuple(self._jobs)

    def run(self, job: Job, done: Callable[[Job], None]) -> Job:
        """Start ``job``; ``done(job)`` is called on the window's thread when it ends (not
        if the jobs were stopped meanwhile, nor when a lock that waited for it is due)."""
        if job.writes:
            self._saves.hold_saves()  # what was typed goes in before the export
            self._writing += 1
            if self._writing == 1:
                self.busy_changed.emit(True)
        self._jobs[job] = done
        job.finished.connect(lambda: self._settle(job, call=True))
        job.start()
        return job

    def _settle(self, job: Job, *, call: bool) -> None:
        done = self._jobs.pop(job, None)
        if done is None:
            return
        job.wait()  # ``finished`` is sent just before the thread ends
        if job.writes:
            self._writing -= 1
            if not self._writing:
                self.busy_changed.emit(False)
        lock_now = call and self._lock_wanted and not self.busy
        if job.writes:  # the save that waited is made now (not when locking or stopping)
            self._saves.release_saves(resume=call and not lock_now)
        if not call:
            return
        if lock_now:
            self._lock_wanted = False
            self.lock_due.emit()
            return
        done(job)

    def defer_lock(self) -> bool:
        """The idle lock wins over a writer: cancel it (a cancelled export writes nothing)
        and fire ``lock_due`` once it has ended. False when nothing writes: lock now."""
        if not self.busy:
            return False
        self._lock_wanted = True
        for job in self._jobs:
            if job.writes:
                job.cancel()
        return True

    def stop_all(self) -> None:
        """Cancel every job and wait for each to end (at its next batch of episodes); no
        result is delivered and no lock that waited follows (the window is locking or
        closing)."""
        for job in list(self._jobs):
            job.cancel()
        for job in list(self._jobs):
            job.wait()
            self._settle(job, call=False)
        self._lock_wanted = False
