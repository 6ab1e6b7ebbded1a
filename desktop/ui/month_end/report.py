"""The monthly report on screen: the pages of the PDF, and each measure as a table (issue 6
item 5)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QModelIndex, QPersistentModelIndex, QRect, Qt
from PySide6.QtGui import QColor, QFont, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from desktop import APP_NAME
from desktop.domain.period import Period
from desktop.export import pdf
from desktop.export.report import Measure, Report, monthly_report
from desktop.ui.jobs import Job, Progress
from desktop.ui.month_end.common import (
    RIGHT,
    Host,
    PeriodPicker,
    as_pdf,
    message_label,
    plural,
    remember_folder,
    remembered_folder,
)

PAGE_SCALE = 1.5
"""Report pages on screen: pixels per point."""
BAR_ROLE = Qt.ItemDataRole.UserRole
SCALE_ROLE = Qt.ItemDataRole.UserRole + 1
KNOWN_ROLE = Qt.ItemDataRole.UserRole + 2


class BarDelegate(QStyledItemDelegate):
    """A bar for a row's count beside its number, drawn as the PDF draws it."""

    def paint(
        self,
        painter: QPainter,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        super().paint(painter, option, index)
        value, scale = index.data(BAR_ROLE), index.data(SCALE_ROLE)
        if not isinstance(value, int) or not isinstance(scale, int):
            return
        rect: QRect = option.rect
        metrics = painter.fontMetrics()
        label_w = metrics.horizontalAdvance(str(scale)) + 8
        room = max(0, rect.width() - 8 - label_w)
        length = round(room * value / scale) if scale else 0
        bar_h = max(4, round(rect.height() * 0.55))
        top = rect.top() + (rect.height() - bar_h) // 2
        painter.save()
        if length:
            known = index.data(KNOWN_ROLE) is not False
            colour = QColor(pdf.BAR if known else pdf.BAR_OTHER)
            painter.fillRect(QRect(rect.left() + 4, top, length, bar_h), colour)
        painter.setPen(QColor(pdf.INK))
        painter.drawText(
            QRect(rect.left() + 4 + length + 4, rect.top(), label_w, rect.height()),
            int(Qt.AlignmentFlag.AlignVCenter | Qt.AlignmentFlag.AlignLeft),
            str(value),
        )
        painter.restore()


def measure_table(m: Measure) -> QTableWidget:
    """One measure as a table: its rows and columns, a % of its base, a total, a bar each."""
    share = m.base is not None and len(m.columns) == 1
    bars = m.chart == "rows"
    headers = ["", *m.columns] + (["%"] if share else []) + (["Chart"] if bars else [])
    rows = list(m.rows)
    total = m.summed and len(rows) > 1
    table = QTableWidget(len(rows) + total, len(headers))
    table.setAccessibleName(m.title)
    table.setHorizontalHeaderLabels(headers)
    table.setEditTriggers(QAbstractItemView.EditTrigger.NoEditTriggers)
    table.verticalHeader().hide()
    table.setAlternatingRowColors(True)
    table.setWordWrap(False)
    table.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    table.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
    scale = max((r.counts[-1] for r in rows), default=0)
    bold = QFont(table.font())
    bold.setBold(True)
    lines = [(r.label, r.counts, r.known, False) for r in rows]
    if total:
        lines.append(("Total", m.totals, True, True))
    for i, (label, counts, known, is_total) in enumerate(lines):
        cells = [QTableWidgetItem(label)] + [QTableWidgetItem(str(c)) for c in counts]
        for cell in cells[1:]:
            cell.setTextAlignment(RIGHT)
        if share:
            base = m.base or 0
            pct = QTableWidgetItem(f"{round(100 * counts[-1] / base)}%" if base else "–")
            pct.setTextAlignment(RIGHT)
            cells.append(pct)
        if bars:
            bar = QTableWidgetItem()
            if not is_total:
                bar.setData(BAR_ROLE, int(counts[-1]))
                bar.setData(SCALE_ROLE, int(scale))
                bar.setData(KNOWN_ROLE, known)
            cells.append(bar)
        for c, cell in enumerate(cells):
            if is_total:
                cell.setFont(bold)
            table.setItem(i, c, cell)
    if bars:
        table.setItemDelegateForColumn(len(headers) - 1, BarDelegate(table))
    header = table.horizontalHeader()
    header.setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
    for c in range(1, len(headers)):
        header.setSectionResizeMode(c, QHeaderView.ResizeMode.ResizeToContents)
    # The chart takes the room left; without one, the labels do.
    header.setSectionResizeMode(len(headers) - 1 if bars else 0, QHeaderView.ResizeMode.Stretch)
    table.resizeRowsToContents()
    height = header.sizeHint().height() + sum(table.rowHeight(r) for r in range(table.rowCount()))
    table.setFixedHeight(height + 2 * table.frameWidth())
    return table


class ReportWindow(QDialog):
    """The monthly report on screen: the pages of the PDF, and each measure as a table."""

    def __init__(self, month_end: Host) -> None:
        super().__init__(month_end.window)
        self.month_end = month_end
        store = month_end.store
        self.report: Report | None = None
        self.job: Job | None = None
        self._asked: Period | None = None
        self.setWindowTitle(f"{APP_NAME}: monthly report")
        self.period = PeriodPicker(store.context().today)
        self.period.currentIndexChanged.connect(lambda _i: self.run_report())
        self.save_button = QPushButton("Save as PDF…")
        self.save_button.setEnabled(False)
        self.save_button.clicked.connect(self.save_pdf)
        top = QHBoxLayout()
        top.addWidget(QLabel(store.refdata.datasets[store.settings.dataset].title))
        top.addSpacing(16)
        month = QLabel("&Month:")
        month.setBuddy(self.period)
        top.addWidget(month)
        top.addWidget(self.period)
        top.addStretch(1)
        top.addWidget(self.save_button)
        self.busy = QProgressBar()
        self.busy.setRange(0, 0)
        self.busy.setAccessibleName("Counting")
        self.busy.hide()
        self.status = message_label()
        self.pages = QWidget()
        self.pages_layout = QVBoxLayout(self.pages)
        self.pages_layout.setSpacing(16)
        self.pages.setStyleSheet("background: #e6e8eb;")
        pages_scroll = QScrollArea()
        pages_scroll.setWidget(self.pages)
        pages_scroll.setWidgetResizable(True)
        self.tables = QWidget()
        self.tables_layout = QVBoxLayout(self.tables)
        tables_scroll = QScrollArea()
        tables_scroll.setWidget(self.tables)
        tables_scroll.setWidgetResizable(True)
        self.tabs = QTabWidget()
        self.tabs.addTab(pages_scroll, "Report")
        self.tabs.addTab(tables_scroll, "Tables")
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.busy)
        layout.addWidget(self.status)
        layout.addWidget(self.tabs, 1)
        self.resize(980, 860)
        if store.user.is_manager:
            self.run_report()
        else:
            self.period.setEnabled(False)
            self.status.setText("Only a manager can read the monthly report. Ask a manager for it.")

    def run_report(self) -> None:
        if self.job is not None or not self.month_end.store.user.is_manager:
            return
        store, period = self.month_end.store, self.period.period()

        def work(_progress: Progress) -> object:  # the count has no steps to stop between
            return monthly_report(store, period)

        self.status.setText(f"Counting {period.label}…")
        self._asked = period
        self.period.setEnabled(False)
        self.save_button.setEnabled(False)
        self.busy.show()
        self.job = Job(work, writes=False)
        self.month_end.jobs.run(self.job, self._done)

    def _done(self, job: Job) -> None:
        self.job = None
        self.busy.hide()
        self.period.setEnabled(True)
        if self._asked != self.period.period():  # another month was chosen meanwhile
            self.run_report()
            return
        if job.error is not None or not isinstance(job.result, Report):
            self.status.setText(job.problem("report"))
            return
        self.show_report(job.result)

    def show_report(self, report: Report) -> None:
        self.report = report
        self.status.setText(
            f"{report.period.label}: counts only, no client-level data"
            f" ({report.episodes} episodes counted; what was counted is said on page 1)."
        )
        _clear(self.pages_layout)
        for page in pdf.report_pages(report):
            image = pdf.page_image(page, PAGE_SCALE)
            label = QLabel()
            label.setPixmap(QPixmap.fromImage(image))
            label.setAlignment(Qt.AlignmentFlag.AlignHCenter)
            label.setAccessibleName("Report page")
            self.pages_layout.addWidget(label)
        self.pages_layout.addStretch(1)
        _clear(self.tables_layout)
        for measure in report.measures:
            title = QLabel(measure.title)
            font = title.font()
            font.setBold(True)
            font.setPointSizeF(font.pointSizeF() * 1.15)
            title.setFont(font)
            note = QLabel(measure.note)
            note.setWordWrap(True)
            note.setStyleSheet("color: #4a4a4a;")
            self.tables_layout.addWidget(title)
            self.tables_layout.addWidget(note)
            self.tables_layout.addWidget(measure_table(measure))
            self.tables_layout.addSpacing(12)
        self.tables_layout.addStretch(1)
        self.save_button.setEnabled(True)

    def save_pdf(self) -> Path | None:
        report = self.report
        if report is None:
            return None
        folder = remembered_folder("pdf") or Path.home()
        name = f"{report.agency}-monthly-report-{report.period.code}.pdf"
        chosen, _ = QFileDialog.getSaveFileName(
            self, "Save the monthly report", str(folder / name), "PDF (*.pdf)"
        )
        if not chosen:
            return None
        path = as_pdf(Path(chosen))
        try:
            pages = pdf.write_report_pdf(report, path)
        except OSError as exc:
            self.status.setText(
                f"The PDF could not be saved in {path.parent} ({exc.strerror or 'error'});"
                " choose another folder."
            )
            return None
        remember_folder("pdf", path.parent)
        self.status.setText(f"Saved {path} ({plural(pages, 'page')}; counts only).")
        return path


def _clear(layout: QVBoxLayout) -> None:
    while layout.count():
        item = layout.takeAt(0)
        widget = item.widget() if item is not None else None
        if widget is not None:
            widget.setParent(None)
            widget.deleteLater()
