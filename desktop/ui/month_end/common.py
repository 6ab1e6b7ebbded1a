"""What the month-end windows share: the month picker, the folders last chosen, how a
message is shown and worded, and what a window asks of the :class:`MonthEnd` that opened it.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QSettings, Qt
from PySide6.QtWidgets import QComboBox, QLabel, QWidget

from desktop.domain.period import Period
from desktop.export.submission import CheckResult
from desktop.ui.jobs import Jobs

if TYPE_CHECKING:
    from desktop.storage.store import Store


MONTHS_OFFERED = 36
"""How many months back the month pickers go."""
PREFS_FILE = "window.ini"
"""Beside the stores in the Pathway folder: only the folders last chosen, no client data."""

RIGHT = Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter


class Host(Protocol):
    """What a month-end window asks of the month end that opened it."""

    @property
    def window(self) -> QWidget: ...

    @property
    def store(self) -> Store: ...

    @property
    def jobs(self) -> Jobs: ...

    def show_export(
        self, period: Period | None = None, checked: CheckResult | None = None
    ) -> QWidget: ...

    def exported(self) -> None: ...


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
    from desktop.app import paths

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


def message_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setTextFormat(Qt.TextFormat.PlainText)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setAccessibleName("Message")
    return label


def plural(count: int, noun: str) -> str:
    return f"{count} {noun}{'' if count == 1 else 's'}"


def left_out(no_consent: int) -> str:
    return (
        f"Left out: {plural(no_consent, 'episode')} whose client has not (now) consented to"
        " NDTMS; nothing about them is sent."
    )


def local_time(moment: datetime) -> str:
    return f"{moment.replace(tzinfo=UTC).astimezone():%d/%m/%Y %H:%M}"


def as_pdf(path: Path) -> Path:
    return path if path.suffix.lower() == ".pdf" else path.with_name(path.name + ".pdf")
