"""The month end of one main window: its "Month end" menu, the windows the menu opens
(one of each), a record opened at the field a finding names, and one episode's sheet printed
as a PDF.

The check, the export and the report run as jobs of the window (:mod:`desktop.ui.jobs`:
off the window's thread, one writer at a time); records are opened through the window's
editing session (:mod:`desktop.ui.editing`).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject
from PySide6.QtWidgets import QFileDialog, QMainWindow, QScrollArea, QWidget

from desktop.domain.period import Period
from desktop.export import pdf
from desktop.export.submission import CheckResult
from desktop.storage.errors import StoreError
from desktop.ui.editing import EditingSession
from desktop.ui.jobs import Jobs
from desktop.ui.month_end.check import CheckWindow
from desktop.ui.month_end.common import as_pdf, remember_folder, remembered_folder
from desktop.ui.month_end.export import ExportDialog
from desktop.ui.month_end.history import HistoryWindow
from desktop.ui.month_end.report import ReportWindow

if TYPE_CHECKING:
    from desktop.storage.store import Store


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
        path = as_pdf(Path(chosen))
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
