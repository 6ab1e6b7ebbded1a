"""Starting the window: set up or unlock, then the main window; lock and unlock again."""

from __future__ import annotations

import functools
import logging
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

from PySide6.QtCore import QByteArray, QSettings
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QDialog, QMessageBox

from desktop import APP_NAME
from desktop.app import crash, resources, settings
from desktop.storage.errors import StoreError
from desktop.ui.dialogs import SetupDialog, UnlockDialog, resolve

if TYPE_CHECKING:  # loaded once the unlock window is on screen
    from desktop.domain.spec import RefData
    from desktop.storage.store import Store
    from desktop.ui.main_window import MainWindow

log = logging.getLogger(__name__)
DEMO_EPISODES = 300


def _safe_excepthook(
    kind: type[BaseException], exc: BaseException, tb: TracebackType | None
) -> None:
    """A failure in a slot: log where (never the message, which may hold client data), and
    tell the worker in plain words."""
    import traceback  # only when something went wrong

    frames = "".join(traceback.format_tb(tb))
    log.error("unexpected %s\n%s", kind.__name__, frames)
    crash.write_report(kind, exc, tb)
    if threading.current_thread() is not threading.main_thread():
        return  # a window may be shown only from the window's own thread
    QMessageBox.critical(
        None, APP_NAME, "Something went wrong. Your record is saved. Carry on, or close Pathway."
    )


def _window_state() -> QSettings:
    """Window size and position only (QSettings, in the settings folder)."""
    return QSettings(str(settings.window_state_file()), QSettings.Format.IniFormat)


def ensure_demo_store(path: Path, refdata: RefData) -> None:
    """A demo store of synthetic clients (user demo, password demo), made once."""
    if path.exists():
        return
    from desktop.storage.demo import make_demo_store

    make_demo_store(path, refdata, episodes=DEMO_EPISODES)


class Session:
    """One run of the window: unlock → main window → (lock → unlock)* → quit."""

    def __init__(
        self,
        app: QApplication,
        path: Path,
        refdata: RefData | Callable[[], RefData],
        user: str = "",
    ) -> None:
        self.app = app
        self.path = path
        self.refdata = refdata
        self.user = user
        self.window: MainWindow | None = None

    def start(self) -> bool:
        if not self.path.exists():
            setup = SetupDialog(self.path, self.refdata)
            if setup.exec() != QDialog.DialogCode.Accepted or setup.store is None:
                return False
            self.show_window(setup.store)
            return True
        return self.unlock()

    def unlock(self) -> bool:
        """Ask for the password; after a lock, Cancel asks before Pathway quits."""
        self._remember_geometry()
        locked = self.window is not None
        while True:
            dialog = UnlockDialog(self.path, self.refdata, user=self.user)
            if dialog.exec() == QDialog.DialogCode.Accepted and dialog.store is not None:
                break
            if not locked or self._really_quit():
                self.app.quit()
                return False
        self.user = dialog.store.user.name
        self.show_window(dialog.store)
        return True

    def _really_quit(self) -> bool:
        answer = QMessageBox.question(
            None,
            APP_NAME,
            "Quit Pathway? Everything typed before the lock is saved; the next start opens"
            " the same record.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def show_window(self, store: Store) -> None:
        from desktop.ui.main_window import MainWindow

        old, self.window = self.window, None
        if old is not None:  # the window that locked: its watch and timers go with it
            old.retire(self.app)
        window = MainWindow(store, idle_ms=settings.load().settings.idle_lock_ms)
        window.install_activity_watch(self.app)
        window.locked.connect(self.unlock)
        window.closed.connect(self.app.quit)
        self.window = window
        geometry = _window_state().value("main/geometry")
        if not (isinstance(geometry, QByteArray) and window.restoreGeometry(geometry)):
            window.resize(1366, 740)
        window.show()
        place = store.places.last()  # the record the worker was on
        if place is not None:
            window.editing.open(place)

    def _remember_geometry(self) -> None:
        if self.window is not None:
            _window_state().setValue("main/geometry", self.window.saveGeometry())

    def close(self) -> None:
        self._remember_geometry()
        window = self.window
        if window is not None and window.store.is_open:
            if window.editing.dirty:
                window.editing.save()
            try:  # the record the worker was on is kept, to open at the next start
                window.store.close()
            except StoreError as exc:
                log.warning("close: %s", type(exc).__name__)


def run_app(store: Path | None = None, demo: bool = False) -> int:
    from desktop.app import paths

    # Loaded when first needed, so the unlock window is on screen first.
    refdata = functools.cache(paths.load)
    app = QApplication.instance() or QApplication(sys.argv[:1])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    # Pathway quits when its window is closed or the worker says so at the lock, never
    # because no window happens to be on screen between the lock and the unlock.
    app.setQuitOnLastWindowClosed(False)
    app.setWindowIcon(QIcon(str(resources.icon_file())))
    crash.install()
    sys.excepthook = _safe_excepthook
    user = ""
    if demo:
        path = store or paths.data_dir() / "demo.store"
        ensure_demo_store(path, resolve(refdata))
        user = "demo"
    else:
        path = store or paths.data_dir() / "pathway.store"
    session = Session(app, path, refdata, user)
    if not session.start():
        return 0
    app.aboutToQuit.connect(session.close)
    return app.exec()
