"""A record as the rules see it: typed values for one episode and its repeating items."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from desktop.domain.spec import Value

# Keys beginning with this are kept on this laptop only (e.g. where a client was transferred
# to, the last face-to-face contact): never checked against the dataset, never exported.
LOCAL_PREFIX = "_"


@dataclass(frozen=True, slots=True)
class Context:
    """What the rules need to know besides the record.

    Attributes:
        today: the date the record is checked on (nothing may be dated after it).
        agency_dat: this team's own DAT, used as the DAT of clients of no fixed abode.
    """

    today: date
    agency_dat: str | None = None


@dataclass(slots=True)
class Record:
    """One episode: client and episode values, plus referrals (Q) or interventions (R).

    Blank fields are absent from ``values``.
    """

    values: dict[str, Value] = field(default_factory=dict)
    items: list[dict[str, Value]] = field(default_factory=list)

    def get(self, header: str) -> Value | None:
        return self.values.get(header)

    def date(self, header: str) -> date | None:
        value = self.values.get(header)
        return value if isinstance(value, date) else None

    def text(self, header: str) -> str | None:
        value = self.values.get(header)
        return value if isinstance(value, str) else None

    def count(self, header: str) -> int | None:
        value = self.values.get(header)
        return value if isinstance(value, int) and not isinstance(value, bool) else None


def item_date(item: dict[str, Value], header: str) -> date | None:
    value = item.get(header)
    return value if isinstance(value, date) else None
