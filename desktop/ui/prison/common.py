"""What the prison parts share: the notice styles, a date line, the client on the sheet."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QLabel, QLineEdit

from desktop.domain.spec import FieldType
from desktop.domain.values import as_date

NOTICE = "background: #e8f0fe; color: #0b2e59; padding: 4px; border: 1px solid #0b2e59;"
CHECK = "background: #fff4ce; color: #3d2b00; padding: 4px; border: 1px solid #8a5300;"
GOOD = "background: #e6f4ea; color: #0d3d1c; padding: 4px; border: 1px solid #1e6b35;"
DATE_TYPES = (FieldType.DATE, FieldType.PARTIAL_DATE)


def sheet_client(raw: Mapping[str, object]) -> str | None:
    client = raw.get("CLIENTID")
    return str(client) if client else None


def notice(style: str, name: str) -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(style)
    label.setAccessibleName(name)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class DateLine(QLineEdit):
    """A date typed as dd/mm/yyyy, today by default."""

    def __init__(self, name: str, today: date | None = None) -> None:
        super().__init__((today or date.today()).strftime("%d/%m/%Y"))
        self.setPlaceholderText("dd/mm/yyyy")
        self.setAccessibleName(name)
        self.setMaximumWidth(96)

    def day(self) -> date | None:
        return as_date(self.text())
