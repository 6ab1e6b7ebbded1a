"""The merge policy, field by field, as pure rules (``desktop.domain.merge``).

Each case gives what this store holds (``local``), what the bundle brings (``incoming``),
the change's stamp and base, and when this store's value was set (``here``); and says
which value the record ends with and which conflict, if any, is listed. The stores and the
bundles that exercise the same rules end to end are in ``tests/transfer/test_merge.py``.
"""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from desktop.domain.consent import latest_value
from desktop.domain.merge import (
    Conflict,
    Stamp,
    consent_decides,
    merge_fields,
)
from desktop.domain.spec import RefData

HERE = "store-here"
ANA, BEN = "laptop-ana", "laptop-ben"
EARLY = "2026-11-02 09:00:00.000000"
MIDDLE = "2026-11-05 09:00:00.000000"
LATE = "2026-11-09 09:00:00.000000"


def at(when: str, store: str, who: str | None = "u1") -> Stamp:
    return (when, who, store)


@dataclass(frozen=True)
class Case:
    name: str
    local: object  # this store's value of the field (None: blank)
    incoming: object  # the bundle's value
    base: object  # the value the sender's change replaced
    stamp: Stamp  # the sender's change
    here: Stamp | None  # when this store's value was set (None: not known)
    result: object  # the field's value after the merge
    conflict: str | None = None  # which value a listed conflict applied, if one is listed

    @property
    def taken(self) -> bool:
        return self.result != self.local


CASES = [
    Case("same value on both sides: nothing to do",
         local="3", incoming="3", base="1", stamp=at(LATE, ANA), here=at(EARLY, HERE),
         result="3"),
    Case("only the sender changed it: taken",
         local="1", incoming="2", base="1", stamp=at(MIDDLE, ANA), here=at(EARLY, HERE),
         result="2"),
    Case("only the sender filled it in: taken",
         local=None, incoming="2", base=None, stamp=at(MIDDLE, ANA), here=None,
         result="2"),
    Case("only the sender cleared it: taken",
         local="1", incoming=None, base="1", stamp=at(MIDDLE, ANA), here=at(EARLY, HERE),
         result=None),
    Case("this store's own change echoed back: this store has moved on",
         local="5", incoming="4", base="3", stamp=at(MIDDLE, HERE), here=at(LATE, HERE),
         result="5"),
    Case("both changed it, the sender later: the sender's wins, a conflict is listed",
         local="7", incoming="8", base="1", stamp=at(LATE, ANA), here=at(MIDDLE, HERE),
         result="8", conflict="incoming"),
    Case("both changed it, this store later: this store's stays, a conflict is listed",
         local="7", incoming="8", base="1", stamp=at(MIDDLE, ANA), here=at(LATE, HERE),
         result="7", conflict="local"),
    Case("both changed it at the same moment: this store's stays, a conflict is listed",
         local="7", incoming="8", base="1", stamp=at(MIDDLE, ANA), here=at(MIDDLE, HERE),
         result="7", conflict="local"),
    Case("both changed it, when it was set here unknown: the sender's wins, listed",
         local="7", incoming="8", base="1", stamp=at(EARLY, ANA), here=None,
         result="8", conflict="incoming"),
    Case("a newer value from the same laptop is already here: it stays, no conflict",
         local="9", incoming="8", base="1", stamp=at(MIDDLE, ANA), here=at(LATE, ANA),
         result="9"),
    Case("the same change from the same laptop again: it stays, no conflict",
         local="9", incoming="8", base="1", stamp=at(MIDDLE, ANA), here=at(MIDDLE, ANA),
         result="9"),
    Case("an older value from the same laptop here: the newer is taken, listed",
         local="7", incoming="8", base="1", stamp=at(LATE, ANA), here=at(MIDDLE, ANA),
         result="8", conflict="incoming"),
    Case("no known common value, this store's newer: it stays, no conflict",
         local="7", incoming="8", base=None, stamp=at(MIDDLE, ANA), here=at(LATE, HERE),
         result="7"),
    Case("no known common value, the sender's newer: taken, a conflict is listed",
         local="7", incoming="8", base=None, stamp=at(LATE, ANA), here=at(MIDDLE, HERE),
         result="8", conflict="incoming"),
    Case("no known common value, set here at an unknown time: taken, listed",
         local="7", incoming="8", base=None, stamp=at(EARLY, BEN), here=None,
         result="8", conflict="incoming"),
]  # fmt: skip


@pytest.mark.parametrize("case", CASES, ids=[c.name for c in CASES])
def test_one_field(case: Case) -> None:
    asked: list[str] = []

    def stamp_here(name: str) -> Stamp | None:
        asked.append(name)
        return case.here

    local = {"ALCUNITS": case.local, "NOTES": "kept"}
    result = merge_fields(
        local,
        {"ALCUNITS": case.incoming, "NOTES": "other"},
        {"ALCUNITS": (case.stamp, case.base)},
        here=HERE,
        stamp_here=stamp_here,
    )
    assert result.values == {"ALCUNITS": case.result, "NOTES": "kept"}
    assert local == {"ALCUNITS": case.local, "NOTES": "kept"}  # the input is left alone
    if case.taken:
        assert result.taken == {"ALCUNITS": (case.local, case.incoming)}
        assert result.stamps == {"ALCUNITS": case.stamp}
    else:
        assert result.taken == {} and result.stamps == {}
    if case.conflict is None:
        assert result.conflicts == []
    else:
        assert result.conflicts == [
            Conflict("ALCUNITS", case.local, case.here, case.incoming, case.stamp, case.conflict)
        ]
    # When this store's value was set is asked only when both sides changed the field.
    both_changed = case.incoming != case.local and case.stamp[2] != HERE
    both_changed = both_changed and case.local != case.base
    assert asked == (["ALCUNITS"] if both_changed else [])


def test_only_the_changed_fields_are_merged_each_on_its_own() -> None:
    """Fields the bundle did not change stay as they are here; each changed one is decided
    by its own base and stamp, in the order the bundle lists them."""
    local = {"A": "1", "B": "7", "C": "x", "D": "kept"}
    incoming = {"A": "2", "B": "8", "C": "y", "D": "other", "E": "new"}
    changed = {
        "A": (at(MIDDLE, ANA), "1"),  # only the sender changed it
        "B": (at(LATE, ANA), "1"),  # both changed it; the sender later
        "C": (at(EARLY, ANA), "w"),  # both changed it; this store later
        "E": (at(MIDDLE, ANA), None),  # new on the sender
    }
    here = {"B": at(MIDDLE, HERE), "C": at(LATE, HERE)}
    result = merge_fields(local, incoming, changed, here=HERE, stamp_here=here.get)
    assert result.values == {"A": "2", "B": "8", "C": "x", "D": "kept", "E": "new"}
    assert result.taken == {"A": ("1", "2"), "B": ("7", "8"), "E": (None, "new")}
    assert list(result.stamps) == ["A", "B", "E"]
    assert [(c.field, c.applied) for c in result.conflicts] == [("B", "incoming"), ("C", "local")]


@dataclass(frozen=True)
class ConsentCase:
    name: str
    events: list[tuple[str, str, str]]  # (recorded_on, recorded_at, value), in any order
    local: str
    incoming: str
    stamp: Stamp
    here: Stamp
    result: str
    conflict: str | None = None


CONSENT_CASES = [
    ConsentCase("the latest event says yes: the yes answer is taken, no conflict",
                events=[("2026-11-02", EARLY, "refused"), ("2026-11-09", LATE, "given")],
                local="N", incoming="Y", stamp=at(EARLY, ANA), here=at(LATE, HERE),
                result="Y"),
    ConsentCase("the latest event says no: this store's no stays, no conflict",
                events=[("2026-11-09", LATE, "withdrawn"), ("2026-11-02", EARLY, "given")],
                local="N", incoming="Y", stamp=at(LATE, ANA), here=at(EARLY, HERE),
                result="N"),
    ConsentCase("recorded for a later day decides, whenever it was entered",
                events=[("2026-11-09", EARLY, "given"), ("2026-11-02", LATE, "refused")],
                local="N", incoming="Y", stamp=at(EARLY, ANA), here=at(LATE, HERE),
                result="Y"),
    ConsentCase("on the same day, the one entered later decides",
                events=[("2026-11-09", LATE, "refused"), ("2026-11-09", EARLY, "given")],
                local="Y", incoming="N", stamp=at(EARLY, ANA), here=at(LATE, HERE),
                result="N"),
    ConsentCase("two entered at the very same moment: withdrawn before refused before given",
                events=[("2026-11-09", LATE, "given"), ("2026-11-09", LATE, "withdrawn")],
                local="Y", incoming="N", stamp=at(EARLY, ANA), here=at(LATE, HERE),
                result="N"),
    ConsentCase("neither answer says what the event says: the later change wins, listed",
                events=[("2026-11-09", LATE, "given")],
                local="N", incoming="", stamp=at(LATE, ANA), here=at(EARLY, HERE),
                result="", conflict="incoming"),
]  # fmt: skip


@pytest.mark.parametrize("case", CONSENT_CASES, ids=[c.name for c in CONSENT_CASES])
def test_the_latest_consent_event_decides_the_consent_answer(
    case: ConsentCase, refdata: RefData
) -> None:
    """Consent events merge as a history; the latest NDTMS decision (by the day it was
    recorded for, then the moment it was entered) decides the episode's CONSENT answer."""
    spec = refdata.datasets["cjit-q"]
    latest = latest_value(case.events)
    result = merge_fields(
        {"CONSENT": case.local},
        {"CONSENT": case.incoming},
        {"CONSENT": (case.stamp, "unknown base")},
        here=HERE,
        stamp_here=lambda _name: case.here,
        decide=consent_decides(refdata, spec, latest),
    )
    assert result.values == {"CONSENT": case.result}
    assert [c.applied for c in result.conflicts] == ([case.conflict] if case.conflict else [])


def test_consent_decides_only_the_consent_answer(refdata: RefData) -> None:
    spec = refdata.datasets["cjit-q"]
    assert consent_decides(refdata, spec, None) is None  # no event: the usual rules
    decide = consent_decides(refdata, spec, "given")
    assert decide is not None
    assert decide("CONSENT", "Y", "N") == "Y"
    assert decide("CONSENT", "N", "Y") == "Y"
    assert decide("ALCUNITS", "Y", "N") is None
    withdrawn = consent_decides(refdata, spec, "withdrawn")
    assert withdrawn is not None and withdrawn("CONSENT", "Y", "N") == "N"


def test_the_latest_value_of_consent_events() -> None:
    assert latest_value([]) is None
    assert latest_value([("2026-11-02", EARLY, "given")]) == "given"
    events = [("2026-11-02", LATE, "refused"), ("2026-11-09", EARLY, "given")]
    assert latest_value(events) == latest_value(reversed(events)) == "given"
