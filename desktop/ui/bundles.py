"""The manager's window for team bundles: what came from each laptop, and the conflicts.

A manager imports the bundles workers bring (sealed to this store's key), sees the
bundles received from each laptop and when, and decides every field two laptops changed
differently, with both values, who changed them and when side by side.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QMessageBox,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop import APP_NAME
from desktop.export import bundle
from desktop.storage import transfer
from desktop.storage.errors import StoreError
from desktop.storage.store import Store
from desktop.storage.transfer import ConflictView, Side

SOURCE_COLUMNS = ("Laptop", "Bundles", "Last imported", "Audit trail")
BUNDLE_COLUMNS = (
    "Imported",
    "Sealed",
    "From",
    "Kind",
    "No.",
    "New episodes",
    "Updated",
    "Conflicts",
)
CONFLICT_COLUMNS = ("Record", "Field", "This store", "Incoming", "Shown now")


def _local(moment: datetime | None) -> str:
    if moment is None:
        return "unknown time"
    return f"{moment.replace(tzinfo=UTC).astimezone():%d/%m/%Y %H:%M}"


def _table(columns: tuple[str, ...], name: str) -> QTableWidget:
    table = QTableWidget(0, len(columns))
    table.setHorizontalHeaderLabels(list(columns))
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
    table.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
    table.verticalHeader().hide()
    table.horizontalHeader().setStretchLastSection(True)
    table.setAccessibleName(name)
    return table


def _fill(table: QTableWidget, rows: list[list[str]]) -> None:
    table.setRowCount(len(rows))
    for r, row in enumerate(rows):
        for c, text in enumerate(row):
            table.setItem(r, c, QTableWidgetItem(text))
    table.resizeColumnsToContents()


class BundlesDialog(QDialog):
    """``changed`` fires after an import or a decision changed the store's records."""

    changed = Signal()

    def __init__(self, store: Store, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.setWindowTitle(f"{APP_NAME}: team bundles")
        self.resize(1000, 640)
        self._conflicts: list[ConflictView] = []
        self.key_label = QLabel()
        self.key_label.setWordWrap(True)
        self.key_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.key_label.setAccessibleName("This store's bundle key")
        self.save_key = QPushButton("Save &public key…")
        self.save_key.clicked.connect(self._save_key)
        self.import_button = QPushButton("&Import a bundle…")
        self.import_button.clicked.connect(self._choose_file)
        top = QHBoxLayout()
        top.addWidget(self.key_label, 1)
        top.addWidget(self.save_key)
        top.addWidget(self.import_button)

        self.sources = _table(SOURCE_COLUMNS, "Bundles received from each laptop")
        self.received = _table(BUNDLE_COLUMNS, "Every bundle received")
        self.conflict_table = _table(CONFLICT_COLUMNS, "Conflicts to decide")
        self.conflict_table.itemSelectionChanged.connect(self._selection)
        self.keep_local = QPushButton("Keep &this store's value")
        self.keep_incoming = QPushButton("Keep the i&ncoming value")
        self.keep_local.clicked.connect(lambda: self.decide("local"))
        self.keep_incoming.clicked.connect(lambda: self.decide("incoming"))
        self.message = QLabel()
        self.message.setWordWrap(True)
        self.message.setAccessibleName("Message")
        self.message.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)

        layout = QVBoxLayout(self)
        layout.addLayout(top)
        for title, table in (
            ("Received from each laptop", self.sources),
            ("Bundles received", self.received),
        ):
            box = QGroupBox(title)
            inner = QVBoxLayout(box)
            inner.addWidget(table)
            layout.addWidget(box, 1)
        box = QGroupBox("Conflicts to decide: two laptops changed the same field differently")
        inner = QVBoxLayout(box)
        inner.addWidget(self.conflict_table)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.keep_local)
        buttons.addWidget(self.keep_incoming)
        inner.addLayout(buttons)
        layout.addWidget(box, 2)
        layout.addWidget(self.message)
        self.refresh()

    # -- showing
    def refresh(self) -> None:
        shown = bundle.store_fingerprint(self.store)
        self.key_label.setText(
            f"This store's bundle key: {transfer.show_fingerprint(shown)}"
            if shown is not None
            else "This store has no bundle key yet: save the public key to make one, then"
            " give public.key to the workers who send bundles here."
        )
        sources = transfer.sources(self.store)
        _fill(
            self.sources,
            [
                [
                    f"{r.sender_user or 'a laptop'} ({r.agency}, store {r.store_id[:8]})",
                    str(r.bundles),
                    _local(r.last_at),
                    "verified" if r.ok else "problems: " + "; ".join(r.problems),
                ]
                for r in sources
            ],
        )
        _fill(
            self.received,
            [
                [
                    _local(b.at),
                    _local(b.sealed_at),
                    f"{b.sender_user or 'a laptop'} ({b.peer_agency})",
                    "handover" if b.kind == "handover" else "team",
                    str(b.sequence),
                    str(b.counts.get("episodes_added", b.counts.get("episodes", 0))),
                    str(b.counts.get("records_changed", 0)),
                    str(b.counts.get("conflicts", 0)),
                ]
                for b in transfer.bundles(self.store)
            ],
        )
        self._conflicts = transfer.conflicts(self.store)
        _fill(
            self.conflict_table,
            [
                [
                    c.record,
                    c.label,
                    self._side(c, c.local),
                    self._side(c, c.incoming),
                    "this store's" if c.applied == "local" else "incoming",
                ]
                for c in self._conflicts
            ],
        )
        self._selection()

    def _value(self, c: ConflictView, value: object) -> str:
        if value is None or value == "":
            return "(blank)"
        spec = self.store.refdata.datasets[self.store.settings.dataset]
        field = spec.by_header.get(c.field)
        if field is not None:
            for code, _list in self.store.refdata.codes_for(field):
                if code.code == str(value):
                    return f"{value} — {code.label}"
        return str(value)

    def _side(self, c: ConflictView, side: Side) -> str:
        return f"{self._value(c, side.value)}  ({side.who}, {side.where}, {_local(side.at)})"

    def _selection(self) -> None:
        chosen = self.selected() is not None and self.store.user.is_manager
        self.keep_local.setEnabled(chosen)
        self.keep_incoming.setEnabled(chosen)

    def selected(self) -> ConflictView | None:
        rows = self.conflict_table.selectionModel().selectedRows()
        if not rows or rows[0].row() >= len(self._conflicts):
            return None
        return self._conflicts[rows[0].row()]

    def say(self, text: str) -> None:
        self.message.setText(text)

    # -- actions
    def import_file(self, path: Path) -> bool:
        """Import one bundle file; the message says what happened, in a worker's words."""
        try:
            result = bundle.import_bundle(self.store, path)
        except StoreError as exc:
            self.say(str(exc))
            return False
        self.say(result.describe())
        self.refresh()
        self.changed.emit()
        return True

    def decide(self, keep: str) -> bool:
        conflict = self.selected()
        if conflict is None:
            self.say("Choose a conflict in the list first.")
            return False
        try:
            view = transfer.resolve(self.store, conflict.id, keep)
        except StoreError as exc:
            self.say(str(exc))
            self.refresh()
            return False
        kept = view.local if keep == "local" else view.incoming
        self.say(f"Kept {self._value(view, kept.value)} for {view.label} ({view.record}).")
        self.refresh()
        self.changed.emit()
        return True

    def _choose_file(self) -> None:
        name, _ = QFileDialog.getOpenFileName(
            self, "Import a bundle", "", "Pathway bundles (*.pwbundle);;All files (*)"
        )
        if name:
            self.import_file(Path(name))

    def _save_key(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Save this store's public key in")
        if not folder:
            return
        try:
            path = bundle.write_public_key(self.store, Path(folder))
        except StoreError as exc:
            self.say(str(exc))
            return
        self.refresh()
        self.say(f"Public key saved as {path}. Give it to the workers who send bundles here.")


def open_bundles(parent: QWidget | None, store: Store) -> BundlesDialog:
    """Show the team-bundles window for a manager (window-modal; returns at once)."""
    dialog = BundlesDialog(store, parent)
    dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
    if not store.user.is_manager:
        dialog.say("Only a manager can import team bundles and decide conflicts.")
    dialog.open()
    return dialog


def hand_over(parent: QWidget | None, store: Store, client_id: str, name: str) -> Path | None:
    """Continuity-of-care handover of one client to another team (DIR briefing, seed 004).

    The worker picks the receiving team's public key and where to save the sealed file;
    without the client's current sharing consent (naming that team, if it names any) the
    store refuses and the worker is told why. Returns the file written, or None.
    """
    key, _ = QFileDialog.getOpenFileName(
        parent, "The receiving team's public key", "", "Public key (*.key);;All files (*)"
    )
    if not key:
        return None
    suggested = Path(key).with_name(f"{name}-handover.pwbundle")
    out, _ = QFileDialog.getSaveFileName(
        parent, "Save the sealed handover", str(suggested), "Sealed bundle (*.pwbundle)"
    )
    if not out:
        return None
    try:
        made = bundle.export_handover(store, client_id, Path(key), Path(out))
    except StoreError as exc:
        QMessageBox.warning(parent, APP_NAME, f"Not handed over. {exc}")
        return None
    QMessageBox.information(
        parent,
        APP_NAME,
        f"{made.describe()}\n\nOnly the receiving team can open it. The handover is in the"
        " audit trail.",
    )
    return made.path

