"""How another laptop's changes to a record come together with this store's (pure rules).

A bundle carries, for each field it changed, the value the field had before that change
(its *base*) and the change's stamp: when, by whom and on which store. For each changed
field of a record:

- the same value on both sides: nothing to do;
- a change made on this very store, echoed back by another laptop: this store has moved
  on, so it is not taken;
- this store still holds the base: only the sender changed the field, so its change is
  taken;
- otherwise both changed it. A newer value from the same laptop already here stays. For
  an episode's NDTMS consent answer, the latest consent event decides between the two
  (consent events merge as a history; see :func:`consent_decides`). Without a known
  common value, a value here that is newer stays as it is. Else the later change wins and
  the pair is listed as a :class:`Conflict`, with both sides, for a manager to decide.

Stamps compare by their time as stored (ISO text, so text order is time order). Storage
(``desktop.storage.transfer``) reads the rows and writes the outcome; this module decides.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

from desktop.domain import consent
from desktop.domain.spec import DatasetSpec, RefData

Stamp = tuple[str, str | None, str]
"""When a field's value was set (as stored), by whom (user id) and on which store."""

Changed = Mapping[str, tuple[Stamp, object]]
"""The fields a bundle changed: each with the change's stamp and the field's base."""

Decide = Callable[[str, object, object], object | None]
"""Given a field and the two values (incoming, here), the one a rule decides for, or None."""

CONSENT = "CONSENT"


@dataclass(frozen=True, slots=True)
class Conflict:
    """A field both sides changed differently, and which value was applied for now."""

    field: str
    local: object
    local_stamp: Stamp | None  # None: when this store's value was set is not known
    incoming: object
    incoming_stamp: Stamp
    applied: str  # "incoming" or "local"


@dataclass(slots=True)
class FieldMerge:
    """The outcome for one record: its values after the merge, the fields taken (as
    ``{field: (old, new)}``, an audit change), their stamps, and the conflicts."""

    values: dict[str, object]
    taken: dict[str, tuple[object, object]] = field(default_factory=dict)
    stamps: dict[str, Stamp] = field(default_factory=dict)
    conflicts: list[Conflict] = field(default_factory=list)


def merge_fields(
    local: Mapping[str, object],
    incoming: Mapping[str, object],
    changed: Changed,
    *,
    here: str,
    stamp_here: Callable[[str], Stamp | None],
    decide: Decide | None = None,
) -> FieldMerge:
    """Merge the fields a bundle ``changed`` of one record into its ``local`` values.

    ``here`` is this store's id; ``stamp_here(field)`` says when this store's value of a
    field was set (None if not known), and is asked only when both sides changed it;
    ``decide`` is a rule that settles a field outright (:func:`consent_decides`).
    """
    out = FieldMerge(dict(local))
    values = out.values
    for name, (stamp, base) in changed.items():
        theirs = incoming.get(name)
        ours = values.get(name)
        if theirs == ours:
            continue
        if stamp[2] == here:
            continue  # this store's own value, echoed back: this store has moved on
        if ours == base:
            take = True  # this store still holds what the sender changed
        else:
            mine = stamp_here(name)
            if mine is not None and mine[2] == stamp[2] and mine[0] >= stamp[0]:
                continue  # a newer value from the same laptop is already here
            later = mine is None or stamp[0] > mine[0]
            decided = decide(name, theirs, ours) if decide is not None else None
            if decided is not None:
                take = decided == theirs
            elif base is None and not later:
                continue  # no known common value, and the one here is the newer
            else:
                take = later
                applied = "incoming" if take else "local"
                out.conflicts.append(Conflict(name, ours, mine, theirs, stamp, applied))
        if take:
            values[name] = theirs
            out.taken[name] = (ours, theirs)
            out.stamps[name] = stamp
    return out


def consent_decides(refdata: RefData, spec: DatasetSpec, latest: str | None) -> Decide | None:
    """The rule for an episode's NDTMS consent answer: of two answers, the one that says
    what the latest NDTMS consent event (``latest``: given, refused or withdrawn; see
    :func:`desktop.domain.consent.latest_value`) recorded. None without an event."""
    if latest is None:
        return None

    def decide(name: str, theirs: object, ours: object) -> object | None:
        if name != CONSENT:
            return None
        for answer in (theirs, ours):
            if consent.answer_says(refdata, spec, answer, latest):
                return answer
        return None

    return decide


__all__ = [
    "CONSENT",
    "Changed",
    "Conflict",
    "Decide",
    "FieldMerge",
    "Stamp",
    "consent_decides",
    "merge_fields",
]
