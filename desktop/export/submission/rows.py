"""The rules of the file's rows and cells: how a stored episode becomes the record NDTMS
receives (AGNCY, CMSID, CONSENT and the team's own DAT added) and the rows written for it.

Each field's cell is its value read the way validation reads it: dates in the configured
format, codes and initials in capitals, counts as numbers, text trimmed, the postcode cut by
its last two characters (or blank when it is not a postcode). A cell that would start a
formula is written with a leading ' (see "What each row holds" and "The file" in
:mod:`desktop.export.submission`).
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from desktop import CMSID
from desktop.domain.rules.cjit import own_dat_for_no_fixed_abode
from desktop.domain.spec import (
    DatasetSpec,
    ExportFormat,
    FieldSpec,
    FieldType,
    MayChange,
    RowShape,
)
from desktop.domain.values import (
    parse_count,
    parse_date,
    parse_partial_date,
    parse_postcode,
    truncate_postcode,
)
from desktop.domain.workflow import consent_yes_code
from desktop.storage.extract import Extracted
from desktop.storage.store import Store

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_CHARS = frozenset("".join(FORMULA_START))


def _text(value: object) -> str:
    return str(value).strip()


def _capitals(value: object) -> str:
    return str(value).strip().upper()


def _count(value: object) -> str:
    if type(value) is int:
        return str(value)
    number = parse_count(value).value
    return _text(value) if number is None else str(number)


def _postcode(value: object) -> str:
    """The postcode less its last two characters; something that is not a postcode is
    left out (blank) rather than sent in part."""
    postcode = parse_postcode(value).value
    return truncate_postcode(postcode) if isinstance(postcode, str) else ""


@functools.lru_cache(maxsize=65536)
def _date_text(text: str, strftime: str, partial: bool) -> str:
    day = (parse_partial_date if partial else parse_date)(text).value
    return day.strftime(strftime) if isinstance(day, date) else text.strip()


def _formatter(spec: FieldSpec, fmt: ExportFormat) -> Callable[[object], str]:
    """How one field's stored value becomes its cell, read as validation reads it."""
    kind = spec.type
    if kind in (FieldType.DATE, FieldType.PARTIAL_DATE):
        strftime, partial = fmt.strftime, kind is FieldType.PARTIAL_DATE

        def as_date(value: object) -> str:
            return _date_text(value if isinstance(value, str) else str(value), strftime, partial)

        return as_date
    if kind is FieldType.POSTCODE:
        return _postcode
    if kind in (FieldType.CODE, FieldType.INITIAL):
        return _capitals
    if kind is FieldType.COUNT:
        return _count
    return _text


def _tracked(spec: FieldSpec) -> bool:
    """Fields whose change after submission NDTMS reports as a validation mismatch."""
    return spec.mismatch or spec.may_change in (MayChange.NO, MayChange.ONCE)


CACHE_LIMIT = 4096
"""Formatted cells remembered per column (codes and dates repeat); bounded, so memory
stays flat however large the store."""
_CACHED = frozenset(
    {
        FieldType.CODE,
        FieldType.INITIAL,
        FieldType.COUNT,
        FieldType.DATE,
        FieldType.PARTIAL_DATE,
        FieldType.POSTCODE,
    }
)


class _Column:
    """One column of the file: where it goes, how its cell is made, whether it is tracked."""

    __slots__ = ("cache", "header", "index", "make", "tracked")

    def __init__(self, index: int, spec: FieldSpec, fmt: ExportFormat) -> None:
        self.index = index
        self.header = spec.header
        self.make = _formatter(spec, fmt)
        self.tracked = _tracked(spec)
        self.cache: dict[object, str] | None = {} if spec.type in _CACHED else None

    def cell(self, value: object) -> tuple[str, bool]:
        """The cell for a stored value, and whether it had to be neutralised."""
        cache = self.cache if type(value) is not bool else None  # True == 1 as a key
        if cache is not None:
            try:
                hit = cache.get(value)
            except TypeError:  # not a plain value (a list or object typed into JSON)
                hit, cache = None, None
            if hit is not None:
                return hit, False
        cell = self.make(value)
        if cell and cell[0] in _FORMULA_CHARS:
            return "'" + cell, True
        if cache is not None and len(cache) < CACHE_LIMIT:
            cache[value] = cell
        return cell, False


@dataclass(slots=True)
class Cells:
    """One record's rows as they are written, and how many cells were neutralised."""

    rows: list[list[str]]
    neutralised: int


class Rows:
    """Turns stored episodes into the records NDTMS receives and the file's rows."""

    def __init__(self, store: Store, spec: DatasetSpec, fmt: ExportFormat) -> None:
        self.spec = spec
        self.fmt = fmt
        self.agency = store.settings.agency
        self.dat = store.settings.dat
        self.items_key = spec.items_key
        self.id_header = spec.item_fields[0].header
        self.yes = consent_yes_code(store.refdata, spec)
        self.width = len(spec.fields)
        self.record_columns: dict[str, _Column] = {}
        self.item_columns: dict[str, _Column] = {}
        for i, f in enumerate(spec.fields):
            column = _Column(i, f, fmt)
            (self.item_columns if f.level.repeats else self.record_columns)[f.header] = column
        self.refdata = store.refdata

    @property
    def header(self) -> list[str]:
        return list(self.spec.headers)

    def record(self, episode: Extracted) -> dict[str, object]:
        """The episode as it will be sent, in the ``validate`` shape (what the check checks).

        AGNCY, CMSID and CONSENT are what Pathway provides; a client of no fixed abode
        (ZZ99 3VZ and a no-fixed-abode housing situation) without a DAT gets this team's
        DAT. ZZ99 3VZ alone may be a client living outside the UK: that DAT stays blank, so
        the check shows it missing.
        """
        raw: dict[str, object] = dict(episode.values)
        raw["AGNCY"] = self.agency
        raw["CMSID"] = CMSID
        raw["CONSENT"] = self.yes
        own = own_dat_for_no_fixed_abode(raw, self.spec, self.refdata, self.dat)
        if own is not None:
            raw["DAT"] = own
        raw[self.items_key] = episode.items
        return raw

    def cells(self, raw: dict[str, object]) -> Cells:
        """The rows for one record (see :mod:`desktop.export.submission`), ready to write."""
        in_base = in_items = 0
        base = [""] * self.width
        columns = self.record_columns
        for header, value in raw.items():
            col = columns.get(header)
            if col is None or value is None:
                continue
            cell, changed = col.cell(value)
            if not cell:
                continue
            in_base += changed
            base[col.index] = cell
        items = raw.get(self.items_key)
        entries = [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
        if self.fmt.rows is RowShape.PER_EPISODE:
            entries = entries[:1]
        rows: list[list[str]] = []
        item_columns = self.item_columns
        for item in entries:
            row = base.copy()
            for header, value in item.items():
                col = item_columns.get(header)
                if col is None or value is None:
                    continue
                cell, changed = col.cell(value)
                if not cell:
                    continue
                in_items += changed
                row[col.index] = cell
            rows.append(row)
        if not rows:
            rows.append(base)
        return Cells(rows, in_base * len(rows) + in_items)
