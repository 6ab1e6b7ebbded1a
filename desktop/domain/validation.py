"""Whole-record validation: field formats, code lists, requirements and cross-field rules.

``Validator(refdata, "cjit-q").validate(raw, Context(today=...))`` takes a mapping of NDTMS
CSV headers to raw values (as typed, or as read from JSON) and returns the findings, in the
order of the dataset specification. It never raises on any input.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date

from desktop.domain.findings import Finding, Severity
from desktop.domain.record import LOCAL_PREFIX, Context, Record
from desktop.domain.rules import Check, Rule, rules_for
from desktop.domain.spec import (
    Code,
    CodeList,
    DatasetSpec,
    FieldSpec,
    FieldType,
    RefData,
    RequirementKind,
    Value,
)
from desktop.domain.values import (
    Parsed,
    parse_code,
    parse_count,
    parse_date,
    parse_id,
    parse_initial,
    parse_partial_date,
    parse_postcode,
    parse_text,
    say_date,
)

log = logging.getLogger(__name__)

Raw = Mapping[str, object]

_PARSERS: dict[FieldType, Callable[[object], Parsed]] = {
    FieldType.ID: parse_id,
    FieldType.DATE: parse_date,
    FieldType.PARTIAL_DATE: parse_partial_date,
    FieldType.CODE: parse_code,
    FieldType.COUNT: parse_count,
    FieldType.INITIAL: parse_initial,
    FieldType.POSTCODE: parse_postcode,
}


@dataclass(frozen=True)
class _Compiled:
    spec: FieldSpec
    parse: Callable[[object], Parsed]
    codes: Mapping[str, tuple[Code, CodeList]]
    partial: bool


class Validator:
    """Validates records of one dataset against the loaded reference data."""

    def __init__(self, refdata: RefData, dataset_id: str) -> None:
        self.refdata = refdata
        self.spec: DatasetSpec = refdata.dataset(dataset_id)
        self.rules: tuple[Rule, ...] = rules_for(self.spec.letter)
        self._fields: dict[str, _Compiled] = {}
        for spec in self.spec.fields:
            parse = _PARSERS.get(spec.type)
            if parse is None:  # text
                parse = _text_parser(spec.max_length)
            codes = {c.code: (c, cl) for c, cl in refdata.codes_for(spec)}
            partial = any(cl.partial for cl in refdata.lists_for(spec))
            self._fields[spec.header] = _Compiled(spec, parse, codes, partial)
        self._record_headers = {f.header for f in self.spec.record_fields}
        self._item_headers = {f.header for f in self.spec.item_fields}

    # -- public ----------------------------------------------------------------------

    def validate(self, raw: object, ctx: Context) -> list[Finding]:
        """Parse and check one raw record; the findings come in specification order."""
        return self.check(raw, ctx)[1]

    def check(self, raw: object, ctx: Context) -> tuple[Record, list[Finding]]:
        """Like :meth:`validate`, also returning the typed record the findings are about."""
        record, findings = self.parse(raw, ctx)
        failed = {(f.field, f.item) for f in findings if f.severity is Severity.ERROR}
        findings.extend(self._requirements(record, failed))
        findings.extend(self.cross_field(record, ctx))
        return record, self._sorted(findings)

    def parse(self, raw: object, ctx: Context) -> tuple[Record, list[Finding]]:
        """Turn raw values into a typed :class:`Record`, with findings for what failed."""
        findings: list[Finding] = []
        record = Record()
        if not isinstance(raw, Mapping):
            findings.append(
                Finding(
                    "",
                    Severity.ERROR,
                    "record_not_an_object",
                    "A record must be a set of named fields.",
                )
            )
            return record, findings
        ref_day = self._reference_day(raw, ctx)
        items_key = self.spec.items_key
        for key, value in raw.items():
            if key == items_key:
                continue
            header = str(key)
            if header in self._record_headers:
                parsed = self._field(header, value, ctx, ref_day, None, findings)
                if parsed is not None:
                    record.values[header] = parsed
            elif header.startswith(LOCAL_PREFIX):
                continue  # kept on this laptop only: never checked, never exported
            elif header in self._item_headers:
                findings.append(
                    Finding(
                        header,
                        Severity.WARNING,
                        "field_in_wrong_place",
                        f"{header} belongs in each entry of '{items_key}'; here it is ignored.",
                    )
                )
            else:
                findings.append(
                    Finding(
                        header[:40],
                        Severity.WARNING,
                        "unknown_field",
                        f"{header[:40]} is not a field of {self.spec.title}; it is ignored.",
                    )
                )
        items = raw.get(items_key)
        if items is not None and not isinstance(items, list):
            findings.append(
                Finding(
                    items_key,
                    Severity.ERROR,
                    "items_not_a_list",
                    f"'{items_key}' must be a list of {self.spec.item_label.lower()}s.",
                )
            )
        elif items:
            for index, item in enumerate(items):
                record.items.append(self._item(index, item, ctx, ref_day, findings))
        return record, findings

    def cross_field(self, record: Record, ctx: Context) -> list[Finding]:
        """Run every cross-field rule of this dataset over a typed record."""
        check = Check(record, ctx, self.spec, self.refdata)
        out: list[Finding] = []
        for rule in self.rules:
            try:
                for hit in rule.fn(check):
                    out.append(Finding(hit.field, hit.severity, rule.id, hit.message, hit.item))
            except Exception:  # a rule bug must never cost the worker their record
                log.exception("rule %s failed", rule.id)
                out.append(
                    Finding(
                        "",
                        Severity.WARNING,
                        "rule_could_not_run",
                        f"One check ({rule.id}) could not run on this record; please report it.",
                    )
                )
        return out

    # -- fields ----------------------------------------------------------------------

    def _reference_day(self, raw: Raw, ctx: Context) -> date:
        triaged = parse_date(raw.get("TRIAGED")).value
        return triaged if isinstance(triaged, date) and triaged <= ctx.today else ctx.today

    def _item(
        self, index: int, raw: object, ctx: Context, ref_day: date, findings: list[Finding]
    ) -> dict[str, Value]:
        values: dict[str, Value] = {}
        if not isinstance(raw, Mapping):
            findings.append(
                Finding(
                    self.spec.items_key,
                    Severity.ERROR,
                    "item_not_an_object",
                    f"Each {self.spec.item_label.lower()} must be a set of named fields.",
                    index,
                )
            )
            return values
        for key, value in raw.items():
            header = str(key)
            if header in self._item_headers:
                parsed = self._field(header, value, ctx, ref_day, index, findings)
                if parsed is not None:
                    values[header] = parsed
            else:
                findings.append(
                    Finding(
                        header[:40],
                        Severity.WARNING,
                        "unknown_field",
                        f"{header[:40]} is not a field of a "
                        f"{self.spec.item_label.lower()}; it is ignored.",
                        index,
                    )
                )
        return values

    def _field(
        self,
        header: str,
        raw: object,
        ctx: Context,
        ref_day: date,
        item: int | None,
        findings: list[Finding],
    ) -> Value | None:
        compiled = self._fields[header]
        spec = compiled.spec
        parsed = compiled.parse(raw)
        if parsed.problem is not None:
            findings.append(
                Finding(
                    header, Severity.ERROR, "field_format", f"{spec.label}: {parsed.problem}.", item
                )
            )
            return None
        value = parsed.value
        if value is None:
            return None
        if parsed.note is not None:
            findings.append(
                Finding(
                    header,
                    Severity.INFO,
                    "partial_date_recorded",
                    f"{spec.label}: {parsed.note}.",
                    item,
                )
            )
        if isinstance(value, date) and value > ctx.today:
            findings.append(
                Finding(
                    header,
                    Severity.ERROR,
                    "date_not_in_future",
                    f"{spec.label} is in the future ({say_date(value)}).",
                    item,
                )
            )
        if spec.type is FieldType.COUNT and isinstance(value, int):
            problem = _range_problem(spec, value)
            if problem is not None:
                findings.append(
                    Finding(header, Severity.ERROR, "count_out_of_range", problem, item)
                )
                return None
        if spec.type is FieldType.CODE and isinstance(value, str):
            return self._code(compiled, value, ref_day, item, findings)
        if spec.pattern is not None and isinstance(value, str) and not spec.pattern.match(value):
            findings.append(
                Finding(
                    header,
                    spec.pattern_severity,
                    "field_pattern",
                    f"{spec.label} '{value[:30]}' does not look right: {spec.pattern_hint}.",
                    item,
                )
            )
            if spec.pattern_severity is Severity.ERROR:
                return None
        return value

    def _code(
        self,
        compiled: _Compiled,
        value: str,
        ref_day: date,
        item: int | None,
        findings: list[Finding],
    ) -> str | None:
        spec = compiled.spec
        entry = compiled.codes.get(value)
        if entry is None:
            shaped = spec.pattern is None or bool(spec.pattern.match(value))
            if compiled.partial and shaped:
                findings.append(
                    Finding(
                        spec.header,
                        Severity.WARNING,
                        "code_not_in_partial_list",
                        f"{spec.label} '{value}' is not in Pathway's list, which is incomplete; "
                        "check it against the NDTMS reference data.",
                        item,
                    )
                )
                return value
            findings.append(
                Finding(
                    spec.header,
                    Severity.ERROR,
                    "code_not_in_list",
                    f"{spec.label}: '{value[:20]}' is not one of the choices; "
                    "pick one from the list.",
                    item,
                )
            )
            return None
        code, _ = entry
        if not code.valid_on(ref_day):
            findings.append(
                Finding(
                    spec.header,
                    Severity.WARNING,
                    "code_no_longer_valid",
                    f"{spec.label}: '{code.label}' is not valid on {say_date(ref_day)}.",
                    item,
                )
            )
        return value

    # -- requirements -----------------------------------------------------------------

    def _requirements(self, record: Record, failed: set[tuple[str, int | None]]) -> list[Finding]:
        out: list[Finding] = []
        for spec in self.spec.record_fields:
            if spec.header not in record.values and (spec.header, None) not in failed:
                finding = self._missing(spec, record.values, record.values, None)
                if finding is not None:
                    out.append(finding)
        for index, item in enumerate(record.items):
            for spec in self.spec.item_fields:
                if spec.header not in item and (spec.header, index) not in failed:
                    finding = self._missing(spec, item, record.values, index)
                    if finding is not None:
                        out.append(finding)
        return out

    def _missing(
        self,
        spec: FieldSpec,
        values: Mapping[str, Value],
        episode: Mapping[str, Value],
        item: int | None,
    ) -> Finding | None:
        req = spec.requirement
        if req.kind is RequirementKind.NONE:
            return None
        if req.kind is RequirementKind.REJECT:
            return Finding(
                spec.header,
                req.severity,
                "required_reject",
                f"{spec.label} is missing: NDTMS rejects the record without it.",
                item,
            )
        if req.kind is RequirementKind.DQ:
            return Finding(
                spec.header,
                req.severity,
                "required_dq",
                f"{spec.label} is missing: the record may be left out of performance reports.",
                item,
            )
        if req.kind is RequirementKind.REQUIRED:
            return Finding(
                spec.header,
                req.severity,
                "required",
                f"{spec.label} is missing: {spec.missing or 'record it as soon as it is known'}.",
                item,
            )
        cond = req.condition
        if cond is None:
            return None
        current = values.get(cond.field, episode.get(cond.field))
        if current is None:
            return None
        if cond.values is not None:
            target = self.spec.by_header[cond.field]
            matches = isinstance(current, str) and (
                current in cond.values
                or any(current in self.refdata.field_tagged(target, v) for v in cond.values)
            )
            if not matches:
                return None
        return Finding(
            spec.header,
            req.severity,
            "required_when",
            f"{spec.label} is needed now that {self._describe(cond.field, current)}.",
            item,
        )

    def _describe(self, header: str, value: Value) -> str:
        spec = self.spec.by_header[header]
        if isinstance(value, date):
            return f"the {spec.label.lower()} is recorded"
        compiled = self._fields[header]
        entry = compiled.codes.get(str(value))
        shown = entry[0].label if entry is not None else str(value)
        return f"{spec.label.lower()} is '{shown}'"

    def _sorted(self, findings: list[Finding]) -> list[Finding]:
        order = self.spec.order
        rank = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}
        return sorted(
            findings,
            key=lambda f: (
                f.item if f.item is not None else -1,
                order.get(f.field, len(order)),
                rank[f.severity],
                f.rule_id,
                f.field,
                f.message,
            ),
        )


def _text_parser(max_length: int | None) -> Callable[[object], Parsed]:
    def parse(raw: object) -> Parsed:
        return parse_text(raw, max_length)

    return parse


def _range_problem(spec: FieldSpec, value: int) -> str | None:
    if value in spec.special:
        return None
    low, high = spec.minimum, spec.maximum
    if (low is not None and value < low) or (high is not None and value > high):
        extra = f" ({spec.special_label})" if spec.special_label else ""
        return f"{spec.label} must be between {low} and {high}{extra}; {value} is outside that."
    return None
