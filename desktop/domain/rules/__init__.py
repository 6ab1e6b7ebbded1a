"""Cross-field rules: each a small named function citing its source.

A rule is a generator over a :class:`Check` that yields :class:`Hit` objects; the engine
turns each hit into a :class:`~desktop.domain.findings.Finding` carrying the rule's name.
Register a rule with ``@rule("Q")``, ``@rule("R")`` or ``@rule("Q", "R")``.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import date

from desktop.domain.findings import Severity
from desktop.domain.record import Context, Record
from desktop.domain.spec import DatasetSpec, RefData, Value
from desktop.domain.values import say_date

ERROR, WARNING, INFO = Severity.ERROR, Severity.WARNING, Severity.INFO


@dataclass(frozen=True, slots=True)
class Hit:
    field: str
    severity: Severity
    message: str
    item: int | None = None


class Check:
    """The record under check, with helpers that read it in the rules' terms."""

    __slots__ = ("ctx", "rec", "refdata", "spec")

    def __init__(self, rec: Record, ctx: Context, spec: DatasetSpec, refdata: RefData) -> None:
        self.rec, self.ctx, self.spec, self.refdata = rec, ctx, spec, refdata

    def d(self, header: str) -> date | None:
        return self.rec.date(header)

    def s(self, header: str) -> str | None:
        return self.rec.text(header)

    def n(self, header: str) -> int | None:
        return self.rec.count(header)

    def has(self, header: str) -> bool:
        return header in self.rec.values

    def label(self, header: str) -> str:
        spec = self.spec.by_header.get(header)
        return spec.label if spec is not None else header

    def is_(self, header: str, tag: str, value: Value | None = None) -> bool:
        """Whether the field's code carries ``tag`` (e.g. ``is_("EXITRSN", "released")``)."""
        code = self.rec.values.get(header) if value is None else value
        spec = self.spec.by_header.get(header)
        if not isinstance(code, str) or spec is None:
            return False
        return code in self.refdata.field_tagged(spec, tag)

    def code_label(self, header: str) -> str:
        code = self.rec.values.get(header)
        spec = self.spec.by_header.get(header)
        if spec is not None and isinstance(code, str):
            for entry, _ in self.refdata.codes_for(spec):
                if entry.code == code:
                    return f"'{entry.label}'"
        return f"'{code}'"

    @property
    def items(self) -> list[dict[str, Value]]:
        return self.rec.items


RuleFn = Callable[[Check], Iterator[Hit]]


@dataclass(frozen=True)
class Rule:
    id: str
    datasets: frozenset[str]
    fn: RuleFn
    doc: str


REGISTRY: list[Rule] = []


def rule(*datasets: str) -> Callable[[RuleFn], RuleFn]:
    """Register a cross-field rule for the given dataset letters."""

    def register(fn: RuleFn) -> RuleFn:
        REGISTRY.append(Rule(fn.__name__, frozenset(datasets), fn, (fn.__doc__ or "").strip()))
        return fn

    return register


def rules_for(letter: str) -> tuple[Rule, ...]:
    # Importing the modules registers their rules.
    from desktop.domain.rules import cjit, common, secure  # noqa: F401

    return tuple(r for r in REGISTRY if letter in r.datasets)


def duplicate_ids(c: Check, header: str, what: str) -> Iterator[Hit]:
    """A hit for each repeating item whose technical ID was already used in this episode."""
    seen: set[Value] = set()
    for index, item in enumerate(c.items):
        ident = item.get(header)
        if ident is None:
            continue
        if ident in seen:
            yield Hit(header, ERROR, f"Two {what} share the same ID.", index)
        seen.add(ident)


def when(day: date) -> str:
    return say_date(day)
