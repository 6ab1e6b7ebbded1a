"""Export history: every export made from this store (issue 6 item 3)."""

from __future__ import annotations

from PySide6.QtGui import QFontDatabase
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QHBoxLayout,
    QPushButton,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
)

from desktop import APP_NAME
from desktop.domain.period import Period
from desktop.export.submission import history
from desktop.storage.errors import StoreError
from desktop.ui.month_end.common import RIGHT, Host, local_time, message_label


class HistoryWindow(QDialog):
    """Every export made from this store: who, when, dataset, month, counts and SHA-256."""

    COLUMNS = ("When", "By", "Dataset", "Month", "File", "Rows", "Episodes", "Held back", "SHA-256")

    def __init__(self, month_end: Host) -> None:
        super().__init__(month_end.window)
        self.month_end = month_end
        self.setWindowTitle(f"{APP_NAME}: export history")
        self.table = QTableWidget(0, len(self.COLUMNS))
        self.table.setAccessibleName("Export history")
        self.table.setHorizontalHeaderLabels(list(self.COLUMNS))
        self.table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.verticalHeader().hide()
        self.table.horizontalHeader().setStretchLastSection(True)
        self.note = message_label()
        self.note.setText(
            "No copy of any file is kept; the SHA-256 identifies the file that was uploaded."
        )
        self.note.setStyleSheet("color: #4a4a4a;")
        refresh = QPushButton("Refresh")
        refresh.clicked.connect(self.refresh)
        row = QHBoxLayout()
        row.addWidget(self.note, 1)
        row.addWidget(refresh)
        layout = QVBoxLayout(self)
        layout.addWidget(self.table, 1)
        layout.addLayout(row)
        self.resize(1180, 380)

    def refresh(self) -> None:
        store = self.month_end.store
        try:
            records = history(store)
        except StoreError as exc:
            self.note.setText(str(exc))
            return
        titles = {d: s.letter for d, s in store.refdata.datasets.items()}
        mono = QFontDatabase.systemFont(QFontDatabase.SystemFont.FixedFont)
        self.table.setRowCount(len(records))
        for r, rec in enumerate(records):
            cells = (
                local_time(rec.created_at),
                rec.created_by,
                f"{titles.get(rec.dataset, '')} ({rec.dataset})",
                Period.parse(rec.period).label,
                rec.file_name,
                str(rec.rows),
                str(rec.episodes),
                str(rec.held_back),
                rec.sha256,
            )
            for c, text in enumerate(cells):
                item = QTableWidgetItem(text)
                if 5 <= c <= 7:
                    item.setTextAlignment(RIGHT)
                if c == 8:
                    item.setFont(mono)
                self.table.setItem(r, c, item)
        self.table.resizeColumnsToContents()
        if not records:
            self.note.setText("No exports yet.")
