"""What the prison rules share: codes known by their tags in refdata/codes (never by
number) and named by their labels, the discharge and exit fields, the questions asked only
on release, the interventions still open, and dates and counts in the worker's words.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

from desktop.domain.record import Record, item_date
from desktop.domain.spec import DatasetSpec, RefData

DISCHARGE_FIELDS = ("DISD", "DISRSN")
EXIT_FIELDS = ("EXITD", "EXITRSN", "EXITDEST")


def dd_mm_yyyy(day: date) -> str:
    """A date as the sheet shows it: DD/MM/YYYY."""
    return day.strftime("%d/%m/%Y")


def tagged_codes(spec: DatasetSpec, refdata: RefData, header: str, tag: str) -> frozenset[str]:
    """The codes of field ``header`` that carry ``tag`` (none when there is no such field)."""
    field = spec.by_header.get(header)
    return refdata.field_tagged(field, tag) if field is not None else frozenset()


def has_tag(spec: DatasetSpec, refdata: RefData, header: str, code: object, *tags: str) -> bool:
    """Whether ``code``, a value of field ``header``, carries one of ``tags``."""
    return isinstance(code, str) and any(
        code in tagged_codes(spec, refdata, header, tag) for tag in tags
    )


def code_tags(spec: DatasetSpec, refdata: RefData, header: str, code: object) -> frozenset[str]:
    """The tags of ``code`` in the code list of field ``header``."""
    field = spec.by_header.get(header)
    if field is not None and isinstance(code, str):
        for entry, _ in refdata.codes_for(field):
            if entry.code == code:
                return entry.tags
    return frozenset()


def code_label(spec: DatasetSpec, refdata: RefData, header: str, code: object) -> str:
    """``code`` named by its label, in quotes (the code itself when it is not in the list)."""
    field = spec.by_header.get(header)
    if field is not None and isinstance(code, str):
        for entry, _ in refdata.codes_for(field):
            if entry.code == code:
                return f"'{entry.label}'"
    return f"'{code}'"


def code_labels(spec: DatasetSpec, refdata: RefData, header: str, codes: Iterable[str]) -> str:
    """Codes named by their labels, in code order, joined by 'or'."""
    return " or ".join(code_label(spec, refdata, header, c) for c in sorted(codes, key=_code_key))


def _code_key(code: str) -> tuple[int, str]:
    return (int(code), "") if code.isdigit() else (10**6, code)


def plural(n: int, word: str) -> str:
    """'1 intervention', '2 interventions'."""
    return f"{n} {word}{'' if n == 1 else 's'}"


def release_only_fields(spec: DatasetSpec) -> tuple[str, ...]:
    """Fields asked only when the exit reason is a release (``applies = "when EXITRSN =
    released"`` in the dataset file).

    Source: dataset R v1.2 RECONNECT, THNALOX, HOMELESSEXIT and RTOAGNCY ("should be
    populated if the client's exit reason is 'released'").
    """
    return tuple(
        f.header
        for f in spec.fields
        if len(f.applies) == 1
        and f.applies[0].field == "EXITRSN"
        and f.applies[0].values == frozenset({"released"})
    )


def open_interventions(record: Record) -> tuple[int, ...]:
    """Indexes of the interventions with no end date."""
    return tuple(i for i, item in enumerate(record.items) if item_date(item, "MODEND") is None)
