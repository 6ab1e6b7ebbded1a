"""Helpers shared by the cross-field rule tests: edit a synthetic record, assert on a rule."""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterable, Mapping
from datetime import date, timedelta
from typing import Any

from desktop.domain.findings import Finding, Severity

TODAY = date(2026, 11, 24)
SEED = 1
ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO
BLANK = None  # in a change set: remove the field (leave it blank)

Raw = dict[str, Any]
Expected = tuple[str, Severity, int | None]
Change = Callable[[Raw], Raw]


def _apply(target: dict[str, Any], changes: Mapping[str, object]) -> None:
    for header, value in changes.items():
        if value is BLANK:
            target.pop(header, None)
        else:
            target[header] = value


def edit(rec: Raw, changes: Mapping[str, object]) -> Raw:
    """A deep copy of ``rec`` with ``changes`` applied; a ``BLANK`` value pops the field."""
    out = copy.deepcopy(rec)
    _apply(out, changes)
    return out


def edit_item(rec: Raw, key: str, index: int, changes: Mapping[str, object]) -> Raw:
    """A deep copy of ``rec`` with ``changes`` applied to entry ``index`` of list ``key``."""
    out = copy.deepcopy(rec)
    _apply(out[key][index], changes)
    return out


def day(rec: Raw, header: str) -> date:
    return date.fromisoformat(rec[header])


def rel(rec: Raw, header: str, days: int) -> str:
    """The ISO date ``days`` after (or before, if negative) the record's ``header`` date."""
    return (day(rec, header) + timedelta(days=days)).isoformat()


def hits(found: Iterable[Finding], rule_id: str) -> set[Expected]:
    return {(f.field, f.severity, f.item) for f in found if f.rule_id == rule_id}


def assert_fires(found: list[Finding], rule_id: str, *expected: Expected) -> None:
    """The rule's findings are exactly ``expected`` (field, severity, item)."""
    assert hits(found, rule_id) == set(expected), found


def assert_silent(found: list[Finding], rule_id: str) -> None:
    assert hits(found, rule_id) == set(), found
