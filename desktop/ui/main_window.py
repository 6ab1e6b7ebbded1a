"""The main window: caseload on the left, the sheet on the right, saved as the worker goes."""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import date, datetime

from PySide6.QtCore import QEvent, QModelIndex, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QApplication,
    QCheckBox,
    QDialog,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QScrollArea,
    QSplitter,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop import APP_NAME
from desktop.domain.consent import latest_sharing
from desktop.domain.spec import Level
from desktop.domain.values import is_blank
from desktop.domain.workflow import last_contact
from desktop.storage.errors import StoreError
from desktop.storage.store import CaseloadQuery, ConsentRecord, Store
from desktop.ui.caseload import CaseloadModel
from desktop.ui.guidance import CjitGuidance
from desktop.ui.prison import PrisonMode
from desktop.ui.prison import attach as attach_prison
from desktop.ui.sheet import Sheet

log = logging.getLogger(__name__)

AUTOSAVE_MS = 800
IDLE_LOCK_MS = 5 * 60 * 1000


class ActivityWatch(QObject):
    """Any key or mouse use restarts the idle-lock timer."""

    def __init__(self, timer: QTimer) -> None:
        super().__init__()
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
    """``locked`` fires after the window has hidden every piece of client data; ``closed``
    when the worker closes the window (after what was typed is saved)."""

    locked = Signal()
    closed = Signal()

    def __init__(self, store: Store, *, idle_ms: int = IDLE_LOCK_MS) -> None:
        super().__init__()
        self.store = store
        self.setWindowTitle(f"{APP_NAME} — {store.settings.agency} — {store.user.name}")
        dataset = store.settings.dataset
        self.episode_id: str | None = None
        self.client_id: str | None = None
        self.dirty = False
        self.model = CaseloadModel(store, CaseloadQuery(dataset=dataset))
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.setAccessibleName("Caseload")
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.table.activated.connect(self._open_row)
        self.table.clicked.connect(self._open_row)
        self.search = QLineEdit()
        self.search.setPlaceholderText(
            "Find: client ref, initials (e.g. JB) or birth date (YYYY-MM-DD)"
        )
        self.search.setAccessibleName("Find a client")
        self.search.textChanged.connect(self._filter)
        self.only_mine = QCheckBox("Mine")
        self.only_open = QCheckBox("Open")
        self.only_errors = QCheckBox("With errors")
        self.closed_month = QCheckBox("Closed this month")
        boxes = (self.only_mine, self.only_open, self.closed_month, self.only_errors)
        for box in boxes:
            box.toggled.connect(self._filter)
        filters = QHBoxLayout()
        for box in boxes:
            filters.addWidget(box)
        filters.addStretch(1)
        self.count = QLabel()
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.addWidget(self.search)
        left_layout.addLayout(filters)
        left_layout.addWidget(self.table)
        left_layout.addWidget(self.count)
        self.sheet = Sheet(store.refdata.datasets[dataset], store.refdata, store.validator(dataset))
        self.sheet.agency_dat = store.settings.dat
        self.sheet.system_values = lambda raw: store.episodes.prepare(raw, dataset)
        self.guidance: CjitGuidance | None = None
        if dataset == "cjit-q":
            self.guidance = CjitGuidance(self.sheet, store.user.name)
            self.guidance.consent.share.connect(self._share)
            self.guidance.consent.withdraw.connect(self._withdraw_sharing)
        self.prison: PrisonMode | None = None
        if store.settings.kind == "secure":
            self.prison = attach_prison(self)
        self.sheet.changed.connect(self._changed)
        self.match = QLabel()
        self.match.setWordWrap(True)
        self.match.setAccessibleName("Existing client")
        self.match.setStyleSheet("background: #e8f0fe; color: #0b2e59; padding: 6px;")
        self.match.hide()
        self.use_match = QPushButton("Use this client")
        self.use_match.hide()
        self.use_match.clicked.connect(self._use_match)
        self._match_id: str | None = None
        self._match_key: tuple[object, ...] | None = None  # what the offer was worked out for
        self._fresh_client = False  # a client first made by this sheet, not yet linked
        spec = self.sheet.spec
        self._client_headers = tuple(
            f.header for f in spec.record_fields if f.level is Level.CLIENT and not f.system
        )
        self._stored_client: dict[str, object] = {}  # the client's details as stored
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
        splitter.addWidget(left)
        splitter.addWidget(right)
        splitter.setStretchFactor(1, 3)
        splitter.setSizes([300, 1066])
        splitter.setCollapsible(1, False)
        self.left = left
        self.splitter = splitter
        self.setCentralWidget(splitter)
        self.autosave = QTimer(self)
        self.autosave.setSingleShot(True)
        self.autosave.setInterval(AUTOSAVE_MS)
        self.autosave.timeout.connect(lambda: self.save())
        self.idle = QTimer(self)
        self.idle.setSingleShot(True)
        self.idle.setInterval(idle_ms)
        self.idle.timeout.connect(self.lock)
        self.idle.start()
        self._watch = ActivityWatch(self.idle)
        self._actions()
        self._update_count()
        self.statusBar().showMessage("Ready")

    def _actions(self) -> None:
        toolbar = self.addToolBar("Actions")
        toolbar.setObjectName("actions")
        for text, shortcut, slot in (
            ("&New contact", QKeySequence.StandardKey.New, self.new_episode),
            ("&Save", QKeySequence.StandardKey.Save, self.save_now),
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
                lambda: open_bundles(self, self.store).changed.connect(self._filter)
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

        self.month_end = install(self)  # menu; .busy: an export holds the write lock

    def hand_over(self) -> None:
        """Continuity-of-care handover of the open client (seed 004)."""
        if self.dirty:
            self.save()
        if self.client_id is None or self.episode_id is None:
            self.say("Open the client's sheet first, then hand over.")
            return
        from desktop.ui.bundles import hand_over

        name = str(self.sheet.raw().get("CLIENT") or "client")
        hand_over(self, self.store, self.client_id, "".join(c for c in name if c.isalnum()))

    def find_client(self) -> None:
        self.left.show()
        self.search.setFocus()
        self.search.selectAll()

    def toggle_caseload(self) -> None:
        """Give the whole width to the sheet (F4), or bring the caseload back."""
        self.left.setVisible(not self.left.isVisible())
        if self.left.isVisible():
            self.search.setFocus()

    def install_activity_watch(self, app: QObject) -> None:
        app.installEventFilter(self._watch)

    # -- caseload
    def _filter(self) -> None:
        month_start = date.today().replace(day=1)
        query = replace(
            self.model.query,
            search=self.search.text().strip() or None,
            owner_id=self.store.user.id if self.only_mine.isChecked() else None,
            open_only=self.only_open.isChecked(),
            with_errors=self.only_errors.isChecked(),
            closed_from=month_start if self.closed_month.isChecked() else None,
            closed_to=date.today() if self.closed_month.isChecked() else None,
        )
        self.model.set_query(query)
        self._update_count()

    def _update_count(self) -> None:
        self.count.setText(f"{self.model.total} episode{'s' if self.model.total != 1 else ''}")

    def _open_row(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        self.open_episode(str(self.model.data(index, Qt.ItemDataRole.UserRole)))

    # -- the sheet
    def open_episode(self, episode_id: str) -> None:
        if self.dirty:
            self.save()
        try:
            stored = self.store.episodes.load(episode_id)
        except StoreError as exc:
            self.say(str(exc))
            return
        self.episode_id = episode_id
        self.client_id = stored.client_id
        self._fresh_client = False
        self._match_key = None
        self.match.hide()
        self.use_match.hide()
        self.sheet.load(stored.raw)
        self._remember_client(stored.raw)
        self._show_consent()
        self.dirty = False
        self._remember_place(episode_id)
        self.statusBar().showMessage(f"Opened, last saved {stored.updated_at:%d/%m/%Y %H:%M} UTC")

    def new_episode(self) -> None:
        if self.dirty:
            self.save()
        self.episode_id = None
        self.client_id = None
        self._fresh_client = True
        self._match_key = None
        self.match.hide()
        self.use_match.hide()
        self.sheet.clear()
        self._stored_client = {}
        self._show_consent()
        self.dirty = False
        self._remember_place(None)
        self.statusBar().showMessage("New contact: start with consent")
        first = next(iter(self.sheet.editors.values()), None)
        if first is not None:
            first.input.setFocus()

    def _changed(self) -> None:
        self.dirty = True
        self.autosave.start()
        self._offer_existing_client()

    def _offer_existing_client(self) -> None:
        """Before a new client is made, offer the ones NDTMS would link this episode to
        (same initials, date of birth and sex). Asked again only when those change."""
        record = self.sheet.record
        finitial, sinitial = record.text("FINITIAL"), record.text("SINITIAL")
        dob, sex = record.date("DOB"), record.text("SEX")
        key = (finitial, sinitial, dob, sex) if self._fresh_client else None
        if key == self._match_key:
            return
        self._match_key = key
        self.match.hide()
        self.use_match.hide()
        self._match_id = None
        if not (finitial and sinitial and dob and sex):
            return
        matches = [
            m
            for m in self.store.caseload.find_clients(finitial, sinitial, dob, sex)
            if m.client_id != self.client_id
        ]
        if not matches:
            return
        best = matches[0]
        more = f" (and {len(matches) - 1} more)" if len(matches) > 1 else ""
        self.match.setText(
            f"A client with these initials, date of birth and sex is already recorded:"
            f" {best.client_ref or 'no reference'}, {best.episodes} episode"
            f"{'s' if best.episodes != 1 else ''}{more}. A returning client gets a new"
            " episode under the same client."
        )
        self._match_id = best.client_id
        self.match.show()
        self.use_match.show()

    def _use_match(self) -> None:
        """Link this contact to the existing client: a new episode of the same client.

        The sheet's client details are filled from the client; nothing stored about the
        client is blanked. Where the worker had typed something else, the stored answer is
        kept and the worker is told which, to change on the sheet if it is wrong.
        """
        if self._match_id is None:
            return
        typed = self.sheet.raw()
        try:
            if self.episode_id is not None:
                # Saved as the worker went under a client of its own: join it to this one.
                self.store.episodes.link(self.episode_id, self._match_id)
            known = self.store.episodes.client_fields(self._match_id)
        except StoreError as exc:
            self.say(str(exc))
            return
        self._fresh_client = False
        self.client_id = self._match_id
        self.match.hide()
        self.use_match.hide()
        kept = {h: v for h, v in known.items() if h in self._client_headers and not is_blank(v)}
        differ = [
            self.sheet.spec.by_header[h].label
            for h, v in kept.items()
            if not is_blank(typed.get(h)) and str(typed.get(h)).upper() != str(v).upper()
        ]
        self._stored_client = dict(known)
        self.sheet.apply(kept)
        message = "A new episode of the existing client, whose details are filled in"
        if differ:
            message += (
                f". Kept as recorded for the client: {', '.join(differ)}. If the client's"
                " answer has changed, change it on the sheet."
            )
        self.dirty = True
        if self.save():
            self.statusBar().showMessage(message)

    def _remember_client(self, raw: dict[str, object]) -> None:
        self._stored_client = {
            h: raw[h] for h in self._client_headers if h in raw and not is_blank(raw[h])
        }

    def _remember_place(self, episode_id: str | None) -> None:
        """The record this worker is on, to open again after a restart, a crash or a lock."""
        try:
            self.store.places.remember(episode_id)
        except StoreError as exc:
            log.warning("remember place: %s", type(exc).__name__)

    def save_now(self) -> None:
        """Ctrl+S: everything is saved as the worker goes; this saves at once and says so."""
        self.dirty = self.dirty or (self.episode_id is None and bool(self.sheet.record.values))
        if self.save():
            self.statusBar().showMessage(f"Saved at {datetime.now():%H:%M:%S}")

    def save(self) -> bool:
        """Save what is on the sheet; "Saved" is shown only after the store has it.

        What is saved is the record: Check counts it and the month's file sends it when it
        passes, whether or not Ctrl+S was ever pressed.
        """
        self.autosave.stop()
        if not self.store.is_open:
            return False
        if not self.dirty:
            return True
        raw = self.sheet.raw()
        if self.client_id is not None:
            raw["CLIENTID"] = self.client_id
        if self.episode_id is not None:
            raw["EPISODID"] = self.episode_id
        cleared = [
            h for h in self._stored_client if h in self._client_headers and is_blank(raw.get(h))
        ]
        try:
            saved = self.store.episodes.save(
                raw,
                last_contact=last_contact(self.sheet.record, raw, self.sheet.spec.id),
                consent_on=self.guidance.consent.consent_date() if self.guidance else None,
                cleared=cleared,
            )
        except StoreError as exc:
            self.say(str(exc))
            return False
        first_save = self.episode_id is None
        self.episode_id = saved.episode_id
        self.client_id = saved.client_id
        self.dirty = False
        self._remember_client(raw)
        self._show_consent()
        if first_save:
            self._remember_place(saved.episode_id)
            self.sheet.load(self.store.episodes.load(saved.episode_id).raw)
        self.model.reload()
        self._update_count()
        if saved.client_changed and saved.other_episodes:
            labels = ", ".join(
                self.sheet.spec.by_header[h].label
                for h in saved.client_changed
                if h in self.sheet.spec.by_header
            )
            self.statusBar().showMessage(
                f"Saved. Client details changed ({labels}): the change holds for all"
                f" {saved.other_episodes + 1} episodes of this client."
            )
        else:
            self.statusBar().showMessage(f"Saved as you go at {datetime.now():%H:%M:%S}")
        return True

    # -- consent events
    def _consent_events(self) -> list[ConsentRecord]:
        if self.client_id is None or not self.store.is_open:
            return []
        try:
            return self.store.consent.history(self.client_id)
        except StoreError:
            return []

    def _show_consent(self) -> None:
        if self.guidance is None:
            return
        names = {u.id: u.name for u in self.store.users.all()} if self.store.is_open else {}
        events = self._consent_events()

        def said(e: ConsentRecord) -> str:
            return f"on {e.recorded_on:%d/%m/%Y} by {names.get(e.recorded_by, 'another user')}"

        lines = [f"NDTMS consent {e.value} {said(e)}" for e in events if e.kind == "ndtms"]
        latest = latest_sharing(events)  # the decision in force (seed 004)
        shared = latest is not None and latest.value == "given"
        if latest is None:
            sharing = "Not asked"
        elif shared:
            sharing = f"Agreed {said(latest)} to share with {latest.agencies}"
        else:
            sharing = f"{latest.value.capitalize()} {said(latest)}"
        self.guidance.consent.show_history(lines, sharing, shared)

    def _share(self, agencies: str) -> None:
        self._sharing("given", agencies)

    def _withdraw_sharing(self) -> None:
        self._sharing("withdrawn", None)

    def _sharing(self, value: str, agencies: str | None) -> None:
        """Continuity-of-care sharing consent (DIR briefing, seed 004): a separate, dated
        decision naming the agencies, which the client may withdraw at any time."""
        if self.guidance is None:
            return
        if self.client_id is None:
            self.dirty = True
            if not self.save() or self.client_id is None:
                return
        try:
            self.store.consent.record(
                self.client_id,
                "sharing",
                value,
                self.guidance.consent.consent_date(),
                episode_id=self.episode_id,
                agencies=agencies,
            )
        except StoreError as exc:
            self.say(str(exc))
            return
        self.guidance.consent.agencies.clear()
        self._show_consent()
        self.statusBar().showMessage(
            "Sharing consent recorded" if value == "given" else "Sharing consent withdrawn"
        )

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
        """Closing the window saves what was typed first; no timer outlives the window."""
        if self.dirty:
            self.save()
        self.autosave.stop()
        self.idle.stop()
        super().closeEvent(event)
        if event.isAccepted():
            self.closed.emit()

    def retire(self, app: QObject) -> None:
        """After a lock: this window is done with (a new one opens at unlock)."""
        app.removeEventFilter(self._watch)
        self.idle.stop()
        self.autosave.stop()
        self.deleteLater()

    # -- locking
    def lock(self) -> None:
        """Save, hide every piece of client data, forget the key. The lock always wins."""
        self._watch.active = False
        self.idle.stop()
        if self.dirty:
            self.save()
        for widget in QApplication.topLevelWidgets():
            if isinstance(widget, QDialog) and widget.isVisible():
                widget.reject()  # the lock wins over any open dialog, even a modal one
        for widget in self.findChildren(QMessageBox):
            widget.close()
        self.sheet.clear()
        self.search.clear()
        self.model.clear()
        try:
            self.store.lock()
        except StoreError as exc:
            log.warning("lock: %s", type(exc).__name__)
        self.hide()
        self.locked.emit()
