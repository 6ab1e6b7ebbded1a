"""Month end in the window: the pre-upload check, the NDTMS export and its history, the
monthly report, and one episode's sheet as a PDF.

:func:`install` adds a "Month end" menu to the main window and returns the
:class:`MonthEnd` that owns these windows (one per main window). The check, the export and
the report run as jobs of the window (:mod:`desktop.ui.jobs`: off the window's thread, one
writer at a time); records are opened through the window's editing session.
"""

from __future__ import annotations

import logging
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import (
    QModelIndex,
    QObject,
    QPersistentModelIndex,
    QRect,
    QSettings,
    Qt,
)
from PySide6.QtGui import QCloseEvent, QColor, QFont, QFontDatabase, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QCheckBox,
    QComboBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QMainWindow,
    QMessageBox,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSplitter,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QTableWidget,
    QTableWidgetItem,
    QTabWidget,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop import APP_NAME
from desktop.domain.period import Period
from desktop.domain.rules import rules_for
from desktop.export import pdf
from desktop.export.report import Measure, Report, monthly_report
from desktop.export.submission import (
    MISMATCH,
    Cancelled,
    CheckResult,
    ExportResult,
    Hit,
    RuleFindings,
    check,
    export,
    history,
)
from desktop.storage.errors import StoreError
from desktop.ui.editing import EditingSession
from desktop.ui.jobs import Job, Jobs, Progress, ProgressRow
from desktop.ui.sheet import MARK

if TYPE_CHECKING:
    from desktop.storage.store import Store

log = logging.getLogger(__name__)

MONTHS_OFFERED = 36
"""How many months back the month pickers go."""
LISTED_PER_RULE = 1000
"""Records listed under one rule in the check's tree (the rest are counted)."""
PAGE_SCALE = 1.5
"""Report pages on screen: pixels per point."""
PREFS_FILE = "window.ini"
"""Beside the stores in the Pathway folder: only the folders last chosen, no client data."""

RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


class OpenRecord(Protocol):
    """Open an episode on the sheet with the cursor in one field (and item, when given)."""

    def __call__(self, episode_id: str, header: str, item: int | None = None) -> None: ...


# ---------------------------------------------------------------------- small pieces


def months_up_to(today: date, count: int = MONTHS_OFFERED) -> list[Period]:
    """This month and the ``count - 1`` before it, newest first."""
    out: list[Period] = []
    year, month = today.year, today.month
    for _ in range(count):
        out.append(Period(year, month))
        year, month = (year - 1, 12) if month == 1 else (year, month - 1)
    return out


def last_month(today: date) -> Period:
    return months_up_to(today, 2)[1]


class PeriodPicker(QComboBox):
    """A month, chosen from a list (this month and the ones before it)."""

    def __init__(self, today: date, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setAccessibleName("Month")
        for period in months_up_to(today):
            self.addItem(period.label, period.code)
        self.set_period(last_month(today))

    def period(self) -> Period:
        return Period.parse(str(self.currentData()))

    def set_period(self, period: Period) -> None:
        index = self.findData(period.code)
        if index < 0:
            self.addItem(period.label, period.code)
            index = self.count() - 1
        self.setCurrentIndex(index)


def _prefs() -> QSettings:
    from desktop import paths

    return QSettings(str(paths.data_dir() / PREFS_FILE), QSettings.Format.IniFormat)


def remembered_folder(key: str) -> Path | None:
    """The folder last chosen for ``key`` (``export`` or ``pdf``), if it still exists."""
    value = _prefs().value(f"month_end/{key}_folder")
    if isinstance(value, str) and value and Path(value).is_dir():
        return Path(value)
    return None


def remember_folder(key: str, folder: Path) -> None:
    prefs = _prefs()
    prefs.setValue(f"month_end/{key}_folder", str(folder))
    prefs.sync()


def _message() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setAccessibleName("Message")
    return label


def _n(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def _left_out(no_consent: int) -> str:
    return (
        f"Left out: {_n(no_consent, 'episode')} whose client has not (now) consented to"
        " NDTMS; nothing about them is sent."
    )


def _local(moment: datetime) -> str:
    return f"{moment.replace(tzinfo=UTC).astimezone():%d/%m/%Y %H:%M}"


# ---------------------------------------------------------------------- the controller


class MonthEnd(QObject):
    """The month-end windows of one main window. Their work runs as the window's
    :attr:`jobs`; a record is opened through the window's :attr:`editing` session."""

    def __init__(self, window: QMainWindow, editing: EditingSession, jobs: Jobs) -> None:
        super().__init__(window)
        self.setObjectName("month_end")
        self.window = window
        self.editing = editing
        self.jobs = jobs
        self.store: Store = editing.store
        self.check_window: CheckWindow | None = None
        self.export_dialog: ExportDialog | None = None
        self.history_window: HistoryWindow | None = None
        self.report_window: ReportWindow | None = None

    def close_windows(self) -> None:
        """At lock: close every month-end window (their jobs are stopped by then)."""
        for name in ("check_window", "export_dialog", "history_window", "report_window"):
            widget = getattr(self, name)
            if widget is not None:
                widget.close()
                widget.deleteLater()
                setattr(self, name, None)

    # -- opening a record from a finding
    def open_record(self, episode_id: str, header: str, item: int | None = None) -> None:
        window, editing = self.window, self.editing
        if not editing.open(episode_id):
            return  # the worker has been told why
        window.raise_()
        window.activateWindow()
        sheet = editing.sheet
        placed = sheet.focus_field(header) if item is None else sheet.focus_field(header, item)
        if not placed:
            editing.tell(f"{header} is not on the sheet.")
            return
        focus = window.focusWidget()
        area = _scroll_area_of(sheet)
        if area is not None and focus is not None:
            area.ensureWidgetVisible(focus)

    # -- the windows
    def show_check(self) -> CheckWindow:
        if self.check_window is None:
            self.check_window = CheckWindow(self, self.open_record)
        _present(self.check_window)
        return self.check_window

    def show_export(
        self, period: Period | None = None, checked: CheckResult | None = None
    ) -> ExportDialog:
        if self.export_dialog is None:
            self.export_dialog = ExportDialog(self)
        self.export_dialog.prepare(period, checked)
        _present(self.export_dialog)
        return self.export_dialog

    def show_history(self) -> HistoryWindow:
        if self.history_window is None:
            self.history_window = HistoryWindow(self)
        self.history_window.refresh()
        _present(self.history_window)
        return self.history_window

    def show_report(self) -> ReportWindow:
        if self.report_window is None:
            self.report_window = ReportWindow(self)
        _present(self.report_window)
        return self.report_window

    def exported(self) -> None:
        if self.history_window is not None:
            self.history_window.refresh()

    # -- the printable sheet
    def print_sheet(self) -> Path | None:
        """Save the open episode's one-page confidential sheet as a PDF, and note in the
        audit trail who printed which episode, and when."""
        editing = self.editing
        if editing.episode_id is None:
            editing.warn("Open an episode first; its sheet is what is printed.")
            return None
        if editing.dirty and not editing.save():
            return None
        episode_id = editing.episode_id
        folder = remembered_folder("pdf") or Path.home()
        chosen, _ = QFileDialog.getSaveFileName(
            self.window, "Save the episode sheet", str(folder / "episode-sheet.pdf"), "PDF (*.pdf)"
        )
        if not chosen:
            return None
        path = _as_pdf(Path(chosen))
        try:
            pdf.save_sheet(self.store, episode_id, path)
        except StoreError as exc:  # the sheet not kept without its audit event, too
            editing.warn(str(exc))
            return None
        except OSError as exc:
            editing.warn(
                f"The sheet could not be saved in {path.parent} ({exc.strerror or 'error'})."
            )
            return None
        remember_folder("pdf", path.parent)
        editing.tell(
            f"Sheet saved to {path}. It holds personal data: print it, file it under lock,"
            " and delete the PDF when it is no longer needed."
        )
        return path


def _present(widget: QWidget) -> None:
    widget.show()
    widget.raise_()
    widget.activateWindow()


def _scroll_area_of(widget: QWidget) -> QScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QScrollArea):
        parent = parent.parentWidget()
    return parent


def _as_pdf(path: Path) -> Path:
    return path if path.suffix.lower() == ".pdf" else path.with_name(path.name + ".pdf")


def install(window: QMainWindow, editing: EditingSession, jobs: Jobs) -> MonthEnd:
    """Add the "Month end" menu to ``window``; returns its :class:`MonthEnd`."""
    month_end = MonthEnd(window, editing, jobs)
    menu = window.menuBar().addMenu("&Month end")
    for text, slot in (
        ("&Check…", month_end.show_check),
        ("&Export…", month_end.show_export),
        ("Export &history…", month_end.show_history),
        ("Monthly &report…", month_end.show_report),
    ):
        action = menu.addAction(text)
        action.setObjectName(text.replace("&", "").rstrip("…").lower().replace(" ", "_"))
        action.triggered.connect(lambda _=False, s=slot: s())
    menu.addSeparator()
    sheet = menu.addAction("&Print sheet (PDF)…")
    sheet.setObjectName("print_sheet")
    sheet.triggered.connect(lambda _=False: month_end.print_sheet())
    return month_end


def month_end_of(main: QWidget) -> MonthEnd | None:
    found = main.findChild(MonthEnd, "month_end")
    return found if isinstance(found, MonthEnd) else None


# ---------------------------------------------------------------------- the check

_TITLES = {
    "required_reject": "Required field left blank: NDTMS rejects the record",
    "required_dq": "Field left blank: counts against DQ %",
    "required_when": "Field needed because of another answer",
    "code_not_in_list": "Code not in the NDTMS list",
    "code_not_in_partial_list": "Code not in Pathway's (incomplete) list",
    "code_no_longer_valid": "Code no longer valid on that date",
    "field_format": "Value not in the right form",
    "field_pattern": "Value not in the right form",
    "count_out_of_range": "Number out of range",
    "date_not_in_future": "Date in the future",
    "field_in_wrong_place": "Field in the wrong place",
    "unknown_field": "Not a field of the dataset",
    "rule_could_not_run": "A check could not run",
    MISMATCH: "Changed since it was sent to NDTMS (mismatch)",
}
ROLE_RULE = Qt.ItemDataRole.UserRole
ROLE_HIT = Qt.ItemDataRole.UserRole + 1


def rule_title(rule_id: str, letter: str) -> str:
    """What a rule checks, in a sentence a manager reads."""
    if rule_id in _TITLES:
        return _TITLES[rule_id]
    for rule in rules_for(letter):
        if rule.id == rule_id and rule.doc:
            return rule.doc.splitlines()[0].strip()
    return rule_id.replace("_", " ").capitalize()


def _figure(caption: str) -> tuple[QFrame, QLabel]:
    box = QFrame()
    box.setFrameShape(QFrame.Shape.StyledPanel)
    value = QLabel("–")
    value.setAccessibleName(caption)
    font = value.font()
    font.setPointSizeF(font.pointSizeF() * 1.8)
    font.setBold(True)
    value.setFont(font)
    name = QLabel(caption)
    name.setStyleSheet("color: #4a4a4a;")
    layout = QVBoxLayout(box)
    layout.setContentsMargins(10, 6, 10, 6)
    layout.addWidget(value)
    layout.addWidget(name)
    return box, value


class CheckWindow(QDialog):
    """What the NDTMS portal will make of the month's file, before it is written."""

    FIGURES = (
        ("records", "Records in the file"),
        ("with_errors", "With errors (held back)"),
        ("with_warnings", "With warnings"),
        ("with_mismatches", "With mismatches"),
        ("load_pct", "Load %"),
        ("dq_pct", "DQ %"),
    )

    def __init__(self, month_end: MonthEnd, open_record: OpenRecord) -> None:
        super().__init__(month_end.window)
        self.month_end = month_end
        self.open_record = open_record
        store = month_end.store
        self.dataset = store.settings.dataset
        self.spec = store.refdata.datasets[self.dataset]
        self.checked: CheckResult | None = None
        self.job: Job | None = None
        self._asked: Period | None = None
        self._clients: dict[str, str] = {}
        self.setWindowTitle(f"{APP_NAME}: check before upload")
        self.period = PeriodPicker(store.context().today)
        self.period.currentIndexChanged.connect(lambda _i: self.run_check())
        self.run_button = QPushButton("Check again")
        self.run_button.clicked.connect(self.run_check)
        self.export_button = QPushButton("Export…")
        self.export_button.clicked.connect(
            lambda: month_end.show_export(self.period.period(), self.checked)
        )
        top = QHBoxLayout()
        top.addWidget(QLabel(f"Dataset: {self.spec.title}"))
        top.addSpacing(16)
        month = QLabel("&Month:")
        month.setBuddy(self.period)
        top.addWidget(month)
        top.addWidget(self.period)
        top.addStretch(1)
        top.addWidget(self.run_button)
        top.addWidget(self.export_button)
        self.progress = ProgressRow("Check")
        self.status = _message()
        self.figures: dict[str, QLabel] = {}
        grid = QGridLayout()
        for column, (key, caption) in enumerate(self.FIGURES):
            box, value = _figure(caption)
            self.figures[key] = value
            grid.addWidget(box, 0, column)
        self.notes = _message()
        self.notes.setStyleSheet("color: #4a4a4a;")
        self.findings = QTreeWidget()
        self.findings.setAccessibleName("Findings by rule")
        self.findings.setHeaderLabels(["Finding, then record", "Field", "Records", "Findings", ""])
        self.findings.headerItem().setText(4, "What NDTMS will say")
        self.findings.setAlternatingRowColors(True)
        self.findings.setUniformRowHeights(True)
        header = self.findings.header()
        header.setStretchLastSection(True)
        self.findings.setColumnWidth(0, 440)
        self.findings.setColumnWidth(1, 150)
        self.findings.setColumnWidth(2, 64)
        self.findings.setColumnWidth(3, 64)
        self.findings.itemExpanded.connect(self._fill)
        self.findings.itemActivated.connect(self._choose)
        self.held_title = QLabel("Held back from the file")
        self.held = QTreeWidget()
        self.held.setAccessibleName("Records held back from the file")
        self.held.setRootIsDecorated(False)
        self.held.setHeaderLabels(["Record", "Client", "Why"])
        self.held.setColumnWidth(0, 160)
        self.held.setColumnWidth(1, 150)
        self.held.itemActivated.connect(self._choose)
        held_box = QWidget()
        held_layout = QVBoxLayout(held_box)
        held_layout.setContentsMargins(0, 0, 0, 0)
        held_layout.addWidget(self.held_title)
        held_layout.addWidget(self.held)
        findings_box = QWidget()
        findings_layout = QVBoxLayout(findings_box)
        findings_layout.setContentsMargins(0, 0, 0, 0)
        findings_layout.addWidget(
            QLabel("Findings by rule (double-click a record to open it at the field):")
        )
        findings_layout.addWidget(self.findings)
        splitter = QSplitter(Qt.Orientation.Vertical)
        splitter.addWidget(findings_box)
        splitter.addWidget(held_box)
        splitter.setStretchFactor(0, 3)
        splitter.setStretchFactor(1, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(top)
        layout.addWidget(self.progress)
        layout.addWidget(self.status)
        layout.addLayout(grid)
        layout.addWidget(self.notes)
        layout.addWidget(splitter, 1)
        self.resize(1100, 720)
        self.run_check()

    # -- running
    def run_check(self) -> None:
        if self.job is not None:
            return
        store, dataset = self.month_end.store, self.dataset
        try:
            period = self.period.period()
        except ValueError:  # pragma: no cover - the picker offers months only
            return

        def work(progress: Progress) -> object:
            return check(store, dataset, period, progress=progress)

        self.status.setText(f"Checking {period.label}…")
        self._asked = period
        self.period.setEnabled(False)
        self.run_button.setEnabled(False)
        self.job = Job(work, writes=False)
        self.progress.start(self.job)
        self.month_end.jobs.run(self.job, self._done)

    def _done(self, job: Job) -> None:
        self.job = None
        self.progress.stop()
        self.period.setEnabled(True)
        self.run_button.setEnabled(True)
        if self._asked != self.period.period():  # another month was chosen meanwhile
            self.run_check()
            return
        if isinstance(job.error, Cancelled) or (job.cancelled and job.error is not None):
            self.status.setText("The check was stopped; the figures below are from before.")
            return
        if job.error is not None or not isinstance(job.result, CheckResult):
            self.status.setText(job.problem("check"))
            return
        self.show_result(job.result)

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.job is not None:
            self.job.cancel()
        super().closeEvent(event)

    # -- showing
    def show_result(self, result: CheckResult) -> None:
        self.checked = result
        period = Period.parse(result.period)
        shown = {
            "records": str(result.records),
            "with_errors": str(result.with_errors),
            "with_warnings": str(result.with_warnings),
            "with_mismatches": str(result.with_mismatches),
            "load_pct": f"{result.load_pct:.1f}%",
            "dq_pct": f"{result.dq_pct:.1f}%",
        }
        for key, text in shown.items():
            self.figures[key].setText(text)
        colour = "#b00020" if result.with_errors else "#1a1a1a"
        self.figures["with_errors"].setStyleSheet(f"color: {colour};")
        self.status.setText(
            f"{period.label}: {_n(result.records, 'record')} would be sent;"
            f" {result.records - result.with_errors} with no error (load %) and"
            f" {result.records - result.with_warnings} with no warning (DQ %). Checked"
            f" {datetime.now():%d/%m/%Y at %H:%M}."
        )
        notes = []
        if result.with_errors:
            notes.append(
                f"{_n(result.with_errors, 'record')} with errors held back from the file"
                " (NDTMS would reject them) unless you include them when exporting."
            )
        if result.with_mismatches:
            notes.append(
                f"{_n(result.with_mismatches, 'record')} with a field that must not change"
                " changed since it was sent: NDTMS will report a validation mismatch."
            )
        if result.left_out_no_consent:
            notes.append(_left_out(result.left_out_no_consent))
        if result.undecided:
            notes.append(
                f"{_n(len(result.undecided), 'CJIT episode')} waiting for the caseload decision:"
                " sent once the client is taken on or the episode is closed (listed below)."
            )
        if result.format_provisional:
            notes.append(
                "The file format settings are provisional until checked against the official"
                " NDTMS specification."
            )
        self.notes.setText(" ".join(notes))
        self.notes.setVisible(bool(notes))
        self._clients = {
            h.episode_id: h.client for h in (*result.held_back, *result.undecided) if h.client
        }
        self._show_rules(result)
        self._show_held_back(result)

    def _show_rules(self, result: CheckResult) -> None:
        self.findings.clear()
        if not result.rules:
            self.findings.addTopLevelItem(
                QTreeWidgetItem(["No findings: every record passes every check."])
            )
            return
        for index, rule in enumerate(result.rules):
            mark, word, colour = MARK[rule.severity]
            if rule.rule_id == MISMATCH:
                word = "Mismatch"
            title = rule_title(rule.rule_id, self.spec.letter)
            top = QTreeWidgetItem(
                [f"{mark} {word}: {title}", "", str(rule.records), str(rule.count), ""]
            )
            top.setForeground(0, QColor(colour))
            font = top.font(0)
            font.setBold(True)
            top.setFont(0, font)
            top.setToolTip(0, f"{title} ({rule.rule_id})")
            for column in (2, 3):
                top.setTextAlignment(column, Qt.AlignmentFlag.AlignRight)
            top.setData(0, ROLE_RULE, index)
            top.setChildIndicatorPolicy(QTreeWidgetItem.ChildIndicatorPolicy.ShowIndicator)
            self.findings.addTopLevelItem(top)

    def _record_label(self, episode_id: str) -> str:
        client = self._clients.get(episode_id)
        return f"Episode {episode_id[:8]}" + (f" · client {client}" if client else "")

    def _field_label(self, hit: Hit) -> str:
        spec = self.spec.by_header.get(hit.field)
        label = spec.label if spec is not None else hit.field
        if hit.item is not None:
            label += f" ({self.spec.item_label.lower()} {hit.item + 1})"
        return label

    def _fill(self, top: QTreeWidgetItem) -> None:
        """List a rule's records when it is first opened (there may be thousands)."""
        index = top.data(0, ROLE_RULE)
        if self.checked is None or not isinstance(index, int) or top.childCount():
            return
        rule: RuleFindings = self.checked.rules[index]
        by_record: dict[str, list[Hit]] = {}
        for hit in rule.hits:
            by_record.setdefault(hit.episode_id, []).append(hit)
        rows: list[QTreeWidgetItem] = []
        for n, (episode_id, hits) in enumerate(by_record.items()):
            if n == LISTED_PER_RULE:
                more = len(by_record) - LISTED_PER_RULE
                rows.append(
                    QTreeWidgetItem(
                        [f"… and {more} more records: correct these first, then check again."]
                    )
                )
                break
            first = hits[0]
            if len(hits) == 1:
                label = self._record_label(episode_id)
                row = QTreeWidgetItem([label, self._field_label(first), "", "", first.message])
            else:
                row = QTreeWidgetItem(
                    [self._record_label(episode_id), f"{len(hits)} fields", "", str(len(hits)), ""]
                )
                for hit in hits:
                    child = QTreeWidgetItem(["", self._field_label(hit), "", "", hit.message])
                    child.setData(0, ROLE_HIT, (hit.episode_id, hit.field, hit.item))
                    child.setToolTip(4, hit.message)
                    row.addChild(child)
            row.setData(0, ROLE_HIT, (first.episode_id, first.field, first.item))
            row.setToolTip(4, first.message)
            rows.append(row)
        top.addChildren(rows)

    def _show_held_back(self, result: CheckResult) -> None:
        self.held.clear()
        count, waiting = len(result.held_back), len(result.undecided)
        self.held_title.setText(
            f"Held back from the file: {_n(count, 'record')} with errors"
            + (f", {_n(waiting, 'record')} waiting for the caseload decision" if waiting else "")
            + (" (double-click to open one)" if count or waiting else "")
        )
        rows = []
        listed = [(h, False) for h in result.held_back] + [(h, True) for h in result.undecided]
        for held, undecided in listed:
            fields = ", ".join(dict.fromkeys(self._field_label(h) for h in held.errors))
            why = "No caseload decision yet" if undecided else f"Errors: {fields}"
            row = QTreeWidgetItem([f"Episode {held.episode_id[:8]}", held.client or "", why])
            first = held.errors[0]
            row.setData(0, ROLE_HIT, (first.episode_id, first.field, first.item))
            row.setToolTip(2, "; ".join(h.message for h in held.errors))
            rows.append(row)
        self.held.addTopLevelItems(rows)

    def _choose(self, row: QTreeWidgetItem, _column: int = 0) -> None:
        where = row.data(0, ROLE_HIT)
        if not isinstance(where, tuple):
            return
        episode_id, header, item = where
        if item is None:
            self.open_record(episode_id, header)
        else:
            self.open_record(episode_id, header, item=item)


# ---------------------------------------------------------------------- the export


class ExportDialog(QDialog):
    """Write the month's NDTMS file into a folder the manager chooses (managers only)."""

    def __init__(self, month_end: MonthEnd) -> None:
        super().__init__(month_end.window)
        self.month_end = month_end
        store = month_end.store
        self.dataset = store.settings.dataset
        self.spec = store.refdata.datasets[self.dataset]
        self.manager = store.user.is_manager
        self.checked: CheckResult | None = None
        self.job: Job | None = None
        self.written: ExportResult | None = None
        self.folder: Path | None = remembered_folder("export")
        self.setWindowTitle(f"{APP_NAME}: export the NDTMS file")
        self.setWindowModality(Qt.WindowModality.ApplicationModal)
        self.why_not = _message()
        self.why_not.setText(
            "Only a manager can export the NDTMS file. Ask a manager to export it; you can"
            " still run the check (Month end → Check…) and correct the records it lists."
        )
        self.why_not.setStyleSheet("background: #fff4ce; color: #5c4400; padding: 8px;")
        self.period = PeriodPicker(store.context().today)
        self.folder_text = QLineEdit()
        self.folder_text.setReadOnly(True)
        self.folder_text.setAccessibleName("Folder for the file")
        self.folder_text.setPlaceholderText("Choose the folder the file goes in")
        self.choose = QPushButton("Choose…")
        self.choose.clicked.connect(self.choose_folder)
        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder_text, 1)
        folder_row.addWidget(self.choose)
        self.include_errors = QCheckBox(
            "Also send records with errors (NDTMS rejects them; normally they are held back)"
        )
        form = QFormLayout()
        form.addRow("Dataset", QLabel(self.spec.title))
        form.addRow("&Month", self.period)
        folder_label = QLabel("&Folder")
        folder_label.setBuddy(self.choose)
        form.addRow(folder_label, folder_row)
        form.addRow("", self.include_errors)
        self.progress = ProgressRow("Export")
        self.outcome = _message()
        self.outcome.setAccessibleName("Export result")
        self.export_button = QPushButton("Export")
        self.export_button.setDefault(True)
        self.export_button.clicked.connect(self.start)
        self.close_button = QPushButton("Close")
        self.close_button.clicked.connect(self.reject)
        buttons = QHBoxLayout()
        buttons.addStretch(1)
        buttons.addWidget(self.export_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(self.why_not)
        layout.addLayout(form)
        layout.addWidget(self.progress)
        layout.addWidget(self.outcome)
        layout.addStretch(1)
        layout.addLayout(buttons)
        self.why_not.setVisible(not self.manager)
        for widget in (self.period, self.choose, self.include_errors, self.export_button):
            widget.setEnabled(self.manager)
        self._show_folder()
        self.resize(640, 360)

    def prepare(self, period: Period | None, checked: CheckResult | None) -> None:
        if self.job is not None:
            return
        if period is not None:
            self.period.set_period(period)
        if checked is not None and checked.dataset == self.dataset:
            self.checked = checked

    def _show_folder(self) -> None:
        self.folder_text.setText("" if self.folder is None else str(self.folder))

    def choose_folder(self) -> Path | None:
        start = str(self.folder or Path.home())
        chosen = QFileDialog.getExistingDirectory(self, "Folder for the NDTMS file", start)
        if chosen:
            self.folder = Path(chosen)
            remember_folder("export", self.folder)
            self._show_folder()
        return self.folder if chosen else None

    def say(self, text: str, *, problem: bool = False) -> None:
        self.outcome.setStyleSheet(
            "background: #fdecea; color: #7a0016; padding: 8px;" if problem else "padding: 8px;"
        )
        self.outcome.setText(text)

    # -- running
    @property
    def running(self) -> bool:
        return self.job is not None

    def start(self) -> None:
        if not self.manager or self.job is not None:
            return
        if (self.folder is None or not self.folder.is_dir()) and self.choose_folder() is None:
            self.say("Choose the folder the file goes in first.")
            return
        period = self.period.period()
        if not self.include_errors.isChecked():
            self._export(period, include_errors=False, checked=self.checked)
            return
        # The override is explicit: say how many records with errors would go, then ask.
        store, dataset = self.month_end.store, self.dataset

        def work(progress: Progress) -> object:
            return check(store, dataset, period, progress=progress)

        job = self._running(Job(work, writes=False), f"Checking {period.label} first…")

        def checked(job: Job) -> None:
            self._idle()
            if job.error is not None or not isinstance(job.result, CheckResult):
                self._failed(job, "check")
                return
            self.checked = job.result
            if self.confirm_include(job.result):
                self._export(period, include_errors=True, checked=job.result)
            else:
                self.say("Nothing was exported.")

        self.month_end.jobs.run(job, checked)

    def confirm_include(self, result: CheckResult) -> bool:
        count = len(result.held_back)
        if count == 0:
            return True
        shown = [
            f"episode {h.episode_id[:8]}" + (f" (client {h.client})" if h.client else "")
            for h in result.held_back[:10]
        ]
        more = f" and {count - 10} more" if count > 10 else ""
        answer = QMessageBox.question(
            self,
            APP_NAME,
            f"{_n(count, 'record')} with errors would normally be held back:"
            f" {', '.join(shown)}{more}.\n\nNDTMS rejects records with errors. Send"
            f" {'them' if count != 1 else 'it'} anyway?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No,
            QMessageBox.StandardButton.No,
        )
        return answer == QMessageBox.StandardButton.Yes

    def _export(self, period: Period, *, include_errors: bool, checked: CheckResult | None) -> None:
        store, dataset, folder = self.month_end.store, self.dataset, self.folder
        assert folder is not None

        def work(progress: Progress) -> object:
            return export(
                store,
                dataset,
                period,
                folder,
                include_errors=include_errors,
                progress=progress,
                checked=checked,
            )

        job = self._running(Job(work, writes=True), f"Exporting {period.label}…")
        self.month_end.jobs.run(job, self._exported)

    def _running(self, job: Job, text: str) -> Job:
        self.job = job
        self.say(text)
        self.progress.start(job)
        for widget in (
            self.period,
            self.choose,
            self.include_errors,
            self.export_button,
            self.close_button,
        ):
            widget.setEnabled(False)
        return job

    def _idle(self) -> None:
        self.job = None
        self.progress.stop()
        for widget in (
            self.period,
            self.choose,
            self.include_errors,
            self.export_button,
            self.close_button,
        ):
            widget.setEnabled(True)

    def _failed(self, job: Job, what: str) -> None:
        if isinstance(job.error, Cancelled) or (job.cancelled and job.error is not None):
            self.say(f"The {what} was cancelled; no file was written.")
        else:  # an identical file is refused in the store's words: nothing was written
            self.say(job.problem(what), problem=True)

    def _exported(self, job: Job) -> None:
        self._idle()
        if job.error is not None or not isinstance(job.result, ExportResult):
            self._failed(job, "export")
            return
        result = self.written = job.result
        lines = [
            f"Written: {result.path.name}",
            f"In: {result.path.parent}",
            f"Rows: {result.rows} ({result.episodes} episodes)",
            f"SHA-256: {result.sha256}",
        ]
        held = len(result.held_back)
        lines.append(
            f"Held back for errors: {_n(held, 'record')}"
            + (" (not in the file; Month end → Check… lists them)" if held else "")
        )
        if result.left_out_no_consent:
            lines.append(_left_out(result.left_out_no_consent))
        if result.undecided:
            lines.append(
                f"Not sent yet: {_n(result.undecided, 'CJIT episode')} waiting for the caseload"
                " decision."
            )
        if result.neutralised:
            lines.append(
                f"{result.neutralised} cells began with = + - @ or a tab and were written with"
                " a leading ' so that no spreadsheet runs them as formulas."
            )
        if result.format_provisional:
            lines.append("The file format settings are provisional (see [export] in the manifest).")
        lines.append("Upload this file to the NDTMS portal. No copy is kept here.")
        self.say("\n".join(lines))
        self.month_end.exported()

    def reject(self) -> None:
        if self.job is not None:  # the export must end (or be cancelled) first
            return
        super().reject()

    def closeEvent(self, event: QCloseEvent) -> None:
        if self.job is not None:
            event.ignore()
            return
        super().closeEvent(event)


# ---------------------------------------------------------------------- the history


class HistoryWindow(QDialog):
    """Every export made from this store: who, when, dataset, month, counts and SHA-256."""

    COLUMNS = ("When", "By", "Dataset", "Month", "File", "Rows", "Episodes", "Held back", "SHA-256")

    def __init__(self, month_end: MonthEnd) -> None:
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
        self.note = _message()
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
                _local(rec.created_at),
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


# ---------------------------------------------------------------------- the report

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

    def __init__(self, month_end: MonthEnd) -> None:
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
        self.status = _message()
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
        path = _as_pdf(Path(chosen))
        try:
            pages = pdf.write_report_pdf(report, path)
        except OSError as exc:
            self.status.setText(
                f"The PDF could not be saved in {path.parent} ({exc.strerror or 'error'});"
                " choose another folder."
            )
            return None
        remember_folder("pdf", path.parent)
        self.status.setText(f"Saved {path} ({_n(pages, 'page')}; counts only).")
        return path


def _clear(layout: QVBoxLayout) -> None:
    while layout.count():
        item = layout.takeAt(0)
        widget = item.widget() if item is not None else None
        if widget is not None:
            widget.setParent(None)
            widget.deleteLater()
