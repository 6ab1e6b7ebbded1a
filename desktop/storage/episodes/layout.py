"""How a record is laid out in rows: which values go to the client row, which to the
episode row and which to its items, and the columns derived from them.

The values are kept as entered, in the ``validate`` JSON shape (blanks left out). A
client's name and notes, and an episode's notes, are columns of their own beside the
NDTMS fields; a merge sees them as values among the others.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

from desktop.domain.spec import DatasetSpec, Level
from desktop.domain.summary import Summary
from desktop.storage.db import blank, day, loads

CLIENT_EXTRA = ("name", "notes")  # kept beside a client's NDTMS fields, never sent to NDTMS
EPISODE_EXTRA = ("notes",)
GONE = object()  # what a record deleted since reads as (``MergedRows.field``)


@dataclass(slots=True)
class Split:
    """A record's values by the row that keeps them."""

    client: dict[str, object] = field(default_factory=dict)
    episode: dict[str, object] = field(default_factory=dict)
    items: list[dict[str, object]] = field(default_factory=list)


def split(spec: DatasetSpec, raw: Mapping[str, object]) -> Split:
    """Client-level fields to the client row, the rest to the episode, items apart;
    blank values are not kept."""
    out = Split()
    for key, value in raw.items():
        if key == spec.items_key or blank(value):
            continue
        fs = spec.by_header.get(key)
        if fs is not None and fs.level is Level.CLIENT:
            out.client[key] = value
        else:
            out.episode[key] = value
    items = raw.get(spec.items_key)
    if isinstance(items, list):
        for item in items:
            if isinstance(item, Mapping):
                out.items.append({str(k): v for k, v in item.items() if not blank(v)})
    return out


def client_values(fields: str, name: str | None, notes: str | None) -> dict[str, object]:
    """A client row as one set of values: its fields, and its name and notes if any."""
    values = loads(fields)
    for key, value in (("name", name), ("notes", notes)):
        if value is not None:
            values[key] = value
    return values


def episode_values(fields: str, notes: str | None) -> dict[str, object]:
    values = loads(fields)
    if notes is not None:
        values["notes"] = notes
    return values


def plain_fields(values: Mapping[str, object], extra: Sequence[str]) -> dict[str, object]:
    """The NDTMS fields of a set of values (``extra`` and blanks left out)."""
    return {k: v for k, v in values.items() if k not in extra and not blank(v)}


def client_columns(summary: Summary) -> tuple[object, ...]:
    """A client row's derived columns: client_ref, finitial, sinitial, dob, sex."""
    return (summary.client_ref, summary.finitial, summary.sinitial, day(summary.dob), summary.sex)


def episode_columns(summary: Summary) -> tuple[object, ...]:
    """An episode row's derived columns: state, opened_on, closed_on, consent, errors,
    warnings."""
    return (
        summary.state,
        day(summary.opened_on),
        day(summary.closed_on),
        summary.consent,
        summary.errors,
        summary.warnings,
    )


class NewClient(NamedTuple):
    """A client merged in whole. ``derived``: its five derived columns as the sending
    laptop worked them out, or None to work them out here."""

    id: str
    values: Mapping[str, object]
    created_at: str
    derived: Sequence[object] | None


class NewEpisode(NamedTuple):
    id: str
    client_id: str
    values: Mapping[str, object]
    owner_id: str
    last_contact: object
    created_at: str
    derived: Sequence[object] | None  # the six derived columns, or None


class ChangedEpisode(NamedTuple):
    id: str
    values: Mapping[str, object]
    last_contact: object
    version: int


class ItemRow(NamedTuple):
    id: str
    episode_id: str
    position: int
    values: Mapping[str, object]
