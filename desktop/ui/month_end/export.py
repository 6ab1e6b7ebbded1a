"""Export: write the month's NDTMS file into a folder the manager chooses (managers only;
issue 6 items 2 and 4)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtGui import QCloseEvent
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QFileDialog,
    QFormLayout,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QMessageBox,
    QPushButton,
    QVBoxLayout,
)

from desktop import APP_NAME
from desktop.domain.period import Period
from desktop.export.submission import Cancelled, CheckResult, ExportResult, check, export
from desktop.ui.jobs import Job, Progress, ProgressRow
from desktop.ui.month_end.common import (
    Host,
    PeriodPicker,
    left_out,
    message_label,
    plural,
    remember_folder,
    remembered_folder,
)


class ExportDialog(QDialog):
    """Write the month's NDTMS file into a folder the manager chooses (managers only)."""

    def __init__(self, month_end: Host) -> None:
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
        self.why_not = message_label()
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
        self.outcome = message_label()
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
            f"{plural(count, 'record')} with errors would normally be held back:"
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
            f"Held back for errors: {plural(held, 'record')}"
            + (" (not in the file; Month end → Check… lists them)" if held else "")
        )
        if result.left_out_no_consent:
            lines.append(left_out(result.left_out_no_consent))
        if result.undecided:
            lines.append(
                f"Not sent yet: {plural(result.undecided, 'CJIT episode')} waiting for the caseload"
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
