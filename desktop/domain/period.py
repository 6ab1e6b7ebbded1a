"""A reporting month, and where it sits in the financial year (April to March)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, timedelta

from desktop.domain.values import say_date

_PERIOD = re.compile(r"^\s*(\d{4})-(\d{1,2})\s*$")


@dataclass(frozen=True, slots=True)
class Period:
    """A calendar month, and where it sits in the financial year (April to March)."""

    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Period:
        """``YYYY-MM`` (e.g. 2025-03). A ``ValueError`` says in plain words what was wrong."""
        m = _PERIOD.match(text)
        if m is None:
            raise ValueError(f"'{text[:20]}' is not a month; write it as YYYY-MM, e.g. 2025-03")
        year, month = int(m.group(1)), int(m.group(2))
        if not 1 <= month <= 12:
            raise ValueError(f"'{text.strip()}' has no month {month}; months go from 01 to 12")
        if year < 2000:
            raise ValueError(f"the year {year} is too early for a report; check the period")
        return cls(year, month)

    @property
    def start(self) -> date:
        return date(self.year, self.month, 1)

    @property
    def end(self) -> date:
        following = date(self.year + self.month // 12, self.month % 12 + 1, 1)
        return following - timedelta(days=1)

    @property
    def code(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def label(self) -> str:
        """March 2025."""
        return say_date(self.start).split(" ", 1)[1]

    @property
    def fy_start(self) -> date:
        """1 April of the financial year the month falls in."""
        return date(self.year if self.month >= 4 else self.year - 1, 4, 1)

    @property
    def fy_label(self) -> str:
        """2024–25."""
        first = self.fy_start.year
        return f"{first}–{(first + 1) % 100:02d}"

    def fy_months(self) -> list[tuple[int, int]]:
        """(year, month) from April up to and including this month."""
        out: list[tuple[int, int]] = []
        year, month = self.fy_start.year, 4
        while (year, month) <= (self.year, self.month):
            out.append((year, month))
            year, month = (year + 1, 1) if month == 12 else (year, month + 1)
        return out

    @property
    def quarter(self) -> int:
        """1 (April to June) to 4 (January to March)."""
        return quarter_of(self.month)

    def contains(self, day: date | None) -> bool:
        return day is not None and self.start <= day <= self.end


def quarter_of(month: int) -> int:
    return (month - 4) % 12 // 3 + 1
