"""Check before upload: what the NDTMS portal will make of the month's file, before it is
written (issue 6 item 2; seed 000: load % and DQ %)."""

from __future__ import annotations

from datetime import datetime
from typing import Protocol

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent, QColor
from PySide6.QtWidgets import (
    QDialog,
    QFrame,
    QGridLayout,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QSplitter,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop import APP_NAME
from desktop.domain.period import Period
from desktop.domain.rules import rules_for
from desktop.export.submission import MISMATCH, Cancelled, CheckResult, Hit, RuleFindings, check
from desktop.ui.jobs import Job, Progress, ProgressRow
from desktop.ui.month_end.common import Host, PeriodPicker, left_out, message_label, plural
from desktop.ui.sheet import MARK


class OpenRecord(Protocol):
    """Open an episode on the sheet with the cursor in one field (and item, when given)."""

    def __call__(self, episode_id: str, header: str, item: int | None = None) -> None: ...


LISTED_PER_RULE = 1000
"""Records listed under one rule in the check's tree (the rest are counted)."""

_TITLES = {
    "required_reject": "Required field left blank: NDTMS rejects the record",
    "required_dq": "Field left blank: counts against DQ %",
    "required": "Required field left blank",
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

    def __init__(self, month_end: Host, open_record: OpenRecord) -> None:
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
        self.status = message_label()
        self.figures: dict[str, QLabel] = {}
        grid = QGridLayout()
        for column, (key, caption) in enumerate(self.FIGURES):
            box, value = _figure(caption)
            self.figures[key] = value
            grid.addWidget(box, 0, column)
        self.notes = message_label()
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
            f"{period.label}: {plural(result.records, 'record')} would be sent;"
            f" {result.records - result.with_errors} with no error (load %) and"
            f" {result.records - result.with_warnings} with no warning (DQ %). Checked"
            f" {datetime.now():%d/%m/%Y at %H:%M}."
        )
        notes = []
        if result.with_errors:
            notes.append(
                f"{plural(result.with_errors, 'record')} with errors held back from the file"
                " (NDTMS would reject them) unless you include them when exporting."
            )
        if result.with_mismatches:
            notes.append(
                f"{plural(result.with_mismatches, 'record')} with a field that must not change"
                " changed since it was sent: NDTMS will report a validation mismatch."
            )
        if result.left_out_no_consent:
            notes.append(left_out(result.left_out_no_consent))
        if result.undecided:
            notes.append(
                f"{plural(len(result.undecided), 'CJIT episode')} waiting for the caseload"
                " decision: sent once the client is taken on or the episode is closed (listed"
                " below)."
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
            f"Held back from the file: {plural(count, 'record')} with errors"
            + (
                f", {plural(waiting, 'record')} waiting for the caseload decision"
                if waiting
                else ""
            )
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
