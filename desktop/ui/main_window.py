"""The main window: caseload on the left, the sheet on the right, saved as the worker goes
(by :class:`~desktop.ui.editing.EditingSession`)."""

from __future__ import annotations

import logging

from PySide6.QtCore import QEvent, QObject, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QVBoxLayout,
    QWidget,
)

from desktop import APP_NAME
from desktop.domain.datasets import Workflow, profile
from desktop.storage.errors import StoreError
from desktop.storage.store import Store
from desktop.ui.caseload import CaseloadPane
from desktop.ui.editing import EditingSession
from desktop.ui.guidance import CjitGuidance
from desktop.ui.jobs import Jobs
from desktop.ui.prison import PrisonMode
from desktop.ui.prison import attach as attach_prison
from desktop.ui.sheet import Sheet

log = logging.getLogger(__name__)

IDLE_LOCK_MS = 5 * 60 * 1000


class ActivityWatch(QObject):
    """Any key or mouse use restarts the idle-lock timer."""

    def __init__(self, timer: QTimer) -> None:
        super().__init__(timer)  # goes with its timer, and so leaves the application's filters
        self._timer = timer
        self.active = True  # off once the window has locked: typing a password is no use

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        if self.active and event.type() in (
            QEvent.Type.KeyPress,
            QEvent.Type.MouseButtonPress,
            QEvent.Type.Wheel,
        ):
            self._timer.start()
        return False


class MainWindow(QMainWindow):
    """The layout and the actions; the open record is :attr:`editing`'s.

    ``locked`` fires after the window has hidden every piece of client data; ``closed``
    when the worker closes the window (after what was typed is saved)."""

    locked = Signal()
    closed = Signal()

    def __init__(self, store: Store, *, idle_ms: int = IDLE_LOCK_MS) -> None:
        super().__init__()
        self.store = store
        self.setWindowTitle(f"{APP_NAME} — {store.settings.agency} — {store.user.name}")
        dataset = store.settings.dataset
        self.caseload = CaseloadPane(store, dataset)
        self.sheet = Sheet(store.refdata.datasets[dataset], store.refdata, store.validator(dataset))
        self.sheet.agency_dat = store.settings.dat
        self.sheet.system_values = lambda raw: store.episodes.prepare(raw, dataset)
        self.editing = EditingSession(store, self.sheet, self)
        self.jobs = Jobs(self.editing, self)  # month end's work, one writer at a time
        self.caseload.chosen.connect(self.editing.open)
        self.guidance: CjitGuidance | None = None
        known_by = profile(dataset)
        if known_by.workflow is Workflow.CJIT:
            self.guidance = CjitGuidance(self.sheet, store.user.name)
            self.guidance.follow(self.editing)
        self.prison: PrisonMode | None = None
        if known_by.workflow is Workflow.SECURE:
            self.prison = attach_prison(self.editing, self.caseload)
        self.sheet.changed.connect(self.editing.edited)
        self.match = QLabel()
        self.match.setWordWrap(True)
        self.match.setAccessibleName("Existing client")
        self.match.setStyleSheet("background: #e8f0fe; color: #0b2e59; padding: 6px;")
        self.match.hide()
        self.use_match = QPushButton("Use this client")
        self.use_match.hide()
        self.use_match.clicked.connect(self.editing.use_match)
        self.editing.matchOffered.connect(self._offer_match)
        self.editing.matchWithdrawn.connect(self._withdraw_match)
        self.editing.saved.connect(lambda _episode: self.caseload.reload())
        self.editing.message.connect(lambda text: self.statusBar().showMessage(text))
        self.editing.problem.connect(lambda text: self.say(text))
        scroll = QScrollArea()
        scroll.setWidget(self.sheet)
        scroll.setWidgetResizable(True)
        right = QWidget()
        right_layout = QVBoxLayout(right)
        right_layout.setContentsMargins(0, 0, 0, 0)
        match_row = QHBoxLayout()
        match_row.addWidget(self.match, 1)
        match_row.addWidget(self.use_match)
        right_layout.addLayout(match_row)
        right_layout.addWidget(scroll, 1)
        splitter = QSplitter()
        splitter.addWidget(self.caseload)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([300, 1066])
        splitter.setCollapsible(1, False)
        self.splitter = splitter
        self.setCentralWidget(splitter)
        self.idle = QTimer(self)
        self.idle.setSingleShot(True)
        self.idle.setInterval(idle_ms)
        self.idle.timeout.connect(self._idle_lock)
        self.idle.start()
        self._watch = ActivityWatch(self.idle)
        self.jobs.lock_due.connect(self.lock)
        self.locked.connect(self.jobs.stop_all)
        self._actions()
        self.statusBar().showMessage("Ready")

    def _actions(self) -> None:
        toolbar = self.addToolBar("Actions")
        toolbar.setObjectName("actions")
        for text, shortcut, slot in (
            ("&New contact", QKeySequence.StandardKey.New, self.new_episode),
            ("&Save", QKeySequence.StandardKey.Save, self.editing.save_now),
            ("&Find", QKeySequence.StandardKey.Find, self.find_client),
            ("&Lock", QKeySequence("Ctrl+L"), self.lock),
            ("&Caseload (show/hide)", QKeySequence("F4"), self.toggle_caseload),
            ("Field &help", QKeySequence.StandardKey.HelpContents, self.field_help),
        ):
            action = QAction(text.replace("&", ""), self)
            action.setShortcut(QKeySequence(shortcut))
            action.triggered.connect(slot)
            toolbar.addAction(action)
        if self.store.user.is_manager:  # merge the team's laptops (sealed bundles)
            from desktop.ui.bundles import open_bundles

            bundles = QAction("Team bundles", self)
            bundles.triggered.connect(
                lambda: open_bundles(self, self.store).changed.connect(self.caseload.refilter)
            )
            toolbar.addAction(bundles)
        handover = QAction("Hand over…", self)
        handover.setToolTip(
            "Seal this client's sheet, consent and history for another team (continuity of"
            " care; needs the client's sharing consent)"
        )
        handover.triggered.connect(self.hand_over)
        toolbar.addAction(handover)
        from desktop.ui.month_end import install

        self.month_end = install(self, self.editing, self.jobs)
        self.locked.connect(self.month_end.close_windows)

    def hand_over(self) -> None:
        """Continuity-of-care handover of the open client (seed 004)."""
        editing = self.editing
        if editing.dirty:
            editing.save()
        if editing.client_id is None or editing.episode_id is None:
            self.say("Open the client's sheet first, then hand over.")
            return
        from desktop.ui.bundles import hand_over

        name = str(self.sheet.raw().get("CLIENT") or "client")
        hand_over(self, self.store, editing.client_id, "".join(c for c in name if c.isalnum()))

    def find_client(self) -> None:
        self.caseload.show()
        self.caseload.focus_finder()

    def toggle_caseload(self) -> None:
        """Give the whole width to the sheet (F4), or bring the caseload back."""
        self.caseload.setVisible(not self.caseload.isVisible())
        if self.caseload.isVisible():
            self.caseload.search.setFocus()

    def install_activity_watch(self, app: QObject) -> None:
        app.installEventFilter(self._watch)

    # -- the sheet
    def new_episode(self) -> None:
        """A new contact on an empty sheet, the cursor in its first field."""
        self.editing.new()
        first = next(iter(self.sheet.editors.values()), None)
        if first is not None:
            first.input.setFocus()

    def _offer_match(self, text: str) -> None:
        self.match.setText(text)
        self.match.show()
        self.use_match.show()

    def _withdraw_match(self) -> None:
        self.match.hide()
        self.use_match.hide()

    def field_help(self) -> None:
        spec = self.sheet.focused_field()
        if spec is None:
            self.say("Put the cursor in a field, then press F1 for what it means.")
            return
        QMessageBox.information(self, spec.label, f"{spec.header}: {spec.help}")

    def say(self, text: str) -> None:
        self.statusBar().showMessage(text)
        QMessageBox.warning(self, APP_NAME, text)

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing the window stops its jobs and saves what was typed first; no timer
        outlives the window."""
        self.jobs.stop_all()
        if self.editing.dirty:
            self.editing.save()
        self.editing.stop()
        self.idle.stop()
        super().closeEvent(event)
        if event.isAccepted():
            self.closed.emit()

    def retire(self, app: QObject) -> None:
        """After a lock: this window is done with (a new one opens at unlock)."""
        app.removeEventFilter(self._watch)
        self.idle.stop()
        self.editing.stop()
        self.deleteLater()

    # -- locking
    def _idle_lock(self) -> None:
        """Idle too long: lock. An export that is writing is cancelled first (it writes
        nothing) and the lock follows once it has ended (``jobs.lock_due``)."""
        if not self.jobs.defer_lock():
            self.lock()

    def lock(self) -> None:
        """Save, hide every piece of client data, forget the key. The lock always wins."""
        self._watch.active = False
        self.idle.stop()
        if self.editing.dirty:
            self.editing.save()
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QDialog) and widget.isVisible():
                widget.reject()  # the lock wins over any open dialog, even a modal one
        for widget in self.findChildren(QMessageBox):
            widget.close()
        self.sheet.clear()
        self.caseload.clear()
        try:
            self.store.lock()
        except StoreError as exc:
            log.warning("lock: %s", type(exc).__name__)
        self.hide()
        self.locked.emit()
