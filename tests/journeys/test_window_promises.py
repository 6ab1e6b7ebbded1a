"""The window keeps its promises (issue 13 item 3): an idle lock in the middle of typing
keeps what was typed, unlocking never closes the window, Cancel on the lock asks first, and
a window killed with kill -9 loses nothing that was saved as the worker went; the next
start opens the record the worker was on.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QEvent, Qt
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop.domain.spec import RefData
from desktop.storage.store import Store
from desktop.ui.app import Session
from tests.fixtures import PASSWORD
from tests.journeys import kit

REPO = Path(__file__).resolve().parents[2]


def start(qtbot: QtBot, path: Path, refdata: RefData) -> Session:
    """Start Pathway on the store: the unlock window, then the main window."""
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    session = Session(app, path, refdata, "amy")
    kit.answer_dialogs(qtbot, kit.unlock_with(qtbot, PASSWORD))
    assert session.start()
    assert session.window is not None and session.window.isVisible()
    return session


def stop(session: Session) -> None:
    """Quit as Pathway does (save, close the store), without ending the test's own app."""
    window = session.window
    session.close()
    if window is not None:
        window.closed.disconnect()
        window.close()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete.value)


def test_an_idle_lock_mid_typing_keeps_the_value_and_cancel_asks_first(
    qtbot: QtBot, cjit_store: Store, refdata: RefData
) -> None:
    path = cjit_store.path
    cjit_store.close(backup_reason=None)
    session = start(qtbot, path, refdata)
    window = session.window
    assert window is not None
    kit.shortcut(qtbot, window, Qt.Key.Key_N, Qt.KeyboardModifier.ControlModifier)
    for header, text in (("FINITIAL", "k"), ("SINITIAL", "m"), ("DOB", "02/03/1991")):
        kit.type_into(qtbot, window, header, text)
    kit.saved_as_you_go(qtbot, window)
    episode = window.editing.episode_id
    window.idle.setInterval(150)  # the worker is called away mid-word
    seen = kit.answer_dialogs(qtbot, kit.unlock_with(qtbot, PASSWORD))
    kit.type_into(qtbot, window, "CLIENT", "AB12")
    qtbot.waitUntil(lambda: session.window is not window, timeout=10_000)
    assert seen == ["Pathway: unlock"]
    again = session.window
    assert again is not None and again.isVisible()
    assert again.editing.episode_id == episode
    assert again.sheet.editors["CLIENT"].value() == "AB12"
    assert not again.editing.dirty

    # Ctrl+L, then Cancel at the unlock window: Pathway asks, and No keeps it open.
    asked = kit.answer_dialogs(
        qtbot, kit.cancel(qtbot), kit.say_no(qtbot), kit.unlock_with(qtbot, PASSWORD)
    )
    kit.shortcut(qtbot, again, Qt.Key.Key_L, Qt.KeyboardModifier.ControlModifier)
    qtbot.waitUntil(lambda: session.window is not again, timeout=10_000)
    assert asked[0] == "Pathway: unlock" and asked[1].startswith("Quit Pathway?")
    last = session.window
    assert last is not None and last.isVisible() and last.editing.episode_id == episode
    stop(session)


def test_a_window_killed_while_typing_opens_where_it_was_with_what_was_saved(
    qtbot: QtBot, cjit_store: Store, refdata: RefData, out: Path
) -> None:
    """kill -9 of the window's process while the worker types: the next start opens the
    record the worker was on, with everything saved as they went, and it is in the file."""
    path = cjit_store.path
    cjit_store.close(backup_reason=None)
    env = {**os.environ, "QT_QPA_PLATFORM": "offscreen", "PYTHONPATH": str(REPO)}
    typist = subprocess.Popen(
        [sys.executable, "-m", "tests.journeys.typist", str(path), PASSWORD],
        cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        assert typist.stdout is not None
        saved_line = typist.stdout.readline().split()
        assert saved_line[:1] == ["SAVED"], typist.stderr.read() if typist.stderr else ""
        assert typist.stdout.readline().strip() == "TYPING"
        typist.send_signal(signal.SIGKILL)
    finally:
        typist.wait(timeout=30)
        if typist.stdout is not None:
            typist.stdout.close()
        if typist.stderr is not None:
            typist.stderr.close()
    assert typist.returncode == -signal.SIGKILL
    episode, initials = saved_line[1], saved_line[2]

    session = start(qtbot, path, refdata)
    window = session.window
    assert window is not None
    assert window.editing.episode_id == episode  # opened where the worker was
    assert (
        window.sheet.editors["FINITIAL"].value() + window.sheet.editors["SINITIAL"].value()
        == initials
    )
    written = kit.month_end_export(qtbot, window)
    assert [r["EPISODID"] for r in kit.rows(written.path)] == [episode]
    stop(session)
