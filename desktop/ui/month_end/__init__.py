"""Month end in the window: the pre-upload check, the NDTMS export and its history, the
monthly report, and one episode's sheet as a PDF.

:func:`install` adds a "Month end" menu to the main window and returns the
:class:`MonthEnd` that owns these windows (one per main window). The parts:
``controller`` (the menu, the windows it opens, a record opened from a finding, the printed
sheet), ``check``, ``export``, ``history`` and ``report`` (one window each), and ``common``
(what they share).
"""

from desktop.ui.month_end.check import CheckWindow, rule_title
from desktop.ui.month_end.common import (
    PeriodPicker,
    last_month,
    months_up_to,
    remember_folder,
    remembered_folder,
)
from desktop.ui.month_end.controller import MonthEnd, install, month_end_of
from desktop.ui.month_end.export import ExportDialog
from desktop.ui.month_end.history import HistoryWindow
from desktop.ui.month_end.report import ReportWindow, measure_table

__all__ = [
    "CheckWindow",
    "ExportDialog",
    "HistoryWindow",
    "MonthEnd",
    "PeriodPicker",
    "ReportWindow",
    "install",
    "last_month",
    "measure_table",
    "month_end_of",
    "months_up_to",
    "remember_folder",
    "remembered_folder",
    "rule_title",
]
