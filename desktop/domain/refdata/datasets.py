"""A dataset specification (``datasets/*.toml``): its sections, its fields with their types,
code lists, requirements and when they are asked, and the sheet's layout, each checked.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from desktop.domain.findings import Severity
from desktop.domain.refdata.common import RefDataError, line_of, read_toml
from desktop.domain.spec import (
    Condition,
    DatasetSpec,
    FieldSpec,
    FieldType,
    Level,
    MayChange,
    Requirement,
    RequirementKind,
    Section,
)

FIELD_KEYS = frozenset(
    {
        "header", "label", "section", "level", "type", "codes", "requirement", "severity",
        "may_change", "mismatch", "system", "help", "min", "max", "special", "special_label",
        "pattern", "pattern_hint", "pattern_severity", "max_length", "applies", "missing",
    }
)  # fmt: skip
_HEADER_RE = re.compile(r"^[A-Z][A-Z0-9]*$")


def _parse_requirement(
    raw: object, severity_raw: object, headers: set[str], err: _Err
) -> Requirement:
    text = str(raw if raw is not None else "none").strip()
    try:
        severity = Severity(str(severity_raw)) if severity_raw is not None else None
    except ValueError:
        raise err(f"severity {severity_raw!r} is not error, warning or info") from None
    if text == "none":
        return Requirement(RequirementKind.NONE)
    if text == "reject":
        return Requirement(RequirementKind.REJECT, severity=severity or Severity.ERROR)
    if text == "dq":
        return Requirement(RequirementKind.DQ, severity=severity or Severity.WARNING)
    if text == "required":
        return Requirement(RequirementKind.REQUIRED, severity=severity or Severity.WARNING)
    match = re.fullmatch(r"when\s+([A-Z][A-Z0-9]*)\s+(?:set|=\s*([\w|]+))", text)
    if match is None:
        raise err(
            f"requirement {text!r} is not reject, dq, required, none, 'when FIELD set' or"
            " 'when FIELD = a|b'"
        )
    target = match.group(1)
    if target not in headers:
        raise err(f"requirement refers to {target}, which is not a field of this dataset")
    values = frozenset(match.group(2).split("|")) if match.group(2) else None
    return Requirement(
        RequirementKind.WHEN, Condition(target, values), severity=severity or Severity.WARNING
    )


def _parse_applies(raw: object, headers: set[str], err: _Err) -> tuple[Condition, ...]:
    """``applies = "when FIELD set"``, ``"when FIELD = a|b"`` or ``"when FIELD > N"``, several
    joined by ``or``: the field is asked only when one of them holds."""
    if raw is None:
        return ()
    text = str(raw).strip()
    if not text.startswith("when "):
        raise err(
            f"applies {raw!r} is not 'when FIELD set', 'when FIELD = a|b' or 'when FIELD > N'"
        )
    out: list[Condition] = []
    for part in re.split(r"\s+or\s+", text[len("when ") :].strip()):
        above = re.fullmatch(r"([A-Z][A-Z0-9]*)\s*>\s*(\d+)", part)
        if above is not None:
            if above.group(1) not in headers:
                raise err(
                    f"applies refers to {above.group(1)}, which is not a field of this dataset"
                )
            out.append(Condition(above.group(1), None, int(above.group(2))))
            continue
        requirement = _parse_requirement(f"when {part}", None, headers, err)
        if requirement.condition is None:  # pragma: no cover - 'when ...' always has one
            raise err(f"applies {raw!r} is not understood")
        out.append(requirement.condition)
    return tuple(out)


class _Err:
    def __init__(self, path: Path, line: int) -> None:
        self.path, self.line = path, line

    def __call__(self, reason: str) -> RefDataError:
        return RefDataError(self.path, self.line, reason)


def load_dataset(path: Path, list_names: set[str]) -> DatasetSpec:
    """Load one dataset specification (``datasets/*.toml``)."""
    data, lines = read_toml(path)
    head = data.get("dataset")
    if not isinstance(head, dict):
        raise RefDataError(path, 0, "there is no [dataset] table")
    for key in ("id", "letter", "title", "version", "source", "items", "item_label"):
        if not isinstance(head.get(key), str):
            raise RefDataError(path, line_of(lines, "[dataset]"), f"[dataset] needs {key}")
    sections = tuple(
        Section(str(s.get("id")), str(s.get("title"))) for s in data.get("section", [])
    )
    section_ids = {s.id for s in sections}
    raw_fields = data.get("field", [])
    if not raw_fields:
        raise RefDataError(path, 0, "there are no [[field]] entries")
    headers = {str(f.get("header")) for f in raw_fields}
    fields: list[FieldSpec] = []
    seen: set[str] = set()
    for raw in raw_fields:
        header = str(raw.get("header", ""))
        line = line_of(lines, f'header = "{header}"') if header else 0
        err = _Err(path, line)
        if not _HEADER_RE.match(header):
            raise err(f"header {header!r} is not an NDTMS CSV header (capitals and digits)")
        if header in seen:
            raise err(f"{header} is described twice")
        seen.add(header)
        unknown = set(raw) - FIELD_KEYS
        if unknown:
            raise err(f"{header}: unknown key(s) {', '.join(sorted(unknown))}")
        for key in ("label", "section", "type", "help"):
            if not isinstance(raw.get(key), str) or not raw[key].strip():
                raise err(f"{header} needs a {key}")
        if raw["section"] not in section_ids:
            raise err(f"{header}: section {raw['section']!r} is not a [[section]] of this file")
        try:
            ftype = FieldType(raw["type"])
        except ValueError:
            raise err(f"{header}: type {raw['type']!r} is not known") from None
        try:
            level = Level(raw.get("level", "episode"))
            may_change = MayChange(raw.get("may_change", "yes"))
            pattern_severity = Severity(raw.get("pattern_severity", "error"))
        except ValueError as exc:
            raise err(f"{header}: {exc}") from None
        codes_raw = raw.get("codes", ())
        codes = (codes_raw,) if isinstance(codes_raw, str) else tuple(codes_raw)
        for name in codes:
            if name not in list_names:
                raise err(f"{header}: code list {name} is not in MANIFEST.toml")
        if ftype is FieldType.CODE and not codes:
            raise err(f"{header}: a code field needs a code list (codes = ...)")
        if ftype is not FieldType.CODE and codes:
            raise err(f"{header}: only code fields take a code list")
        pattern = None
        if "pattern" in raw:
            try:
                pattern = re.compile(str(raw["pattern"]))
            except re.error as exc:
                raise err(f"{header}: pattern does not compile ({exc})") from None
        fields.append(
            FieldSpec(
                header=header,
                label=raw["label"].strip(),
                section=raw["section"],
                level=level,
                type=ftype,
                help=raw["help"].strip(),
                codes=codes,
                requirement=_parse_requirement(
                    raw.get("requirement"), raw.get("severity"), headers, err
                ),
                missing=str(raw.get("missing", "")).strip(),
                may_change=may_change,
                mismatch=bool(raw.get("mismatch", False)),
                system=bool(raw.get("system", False)),
                minimum=_opt_int(raw, "min", err),
                maximum=_opt_int(raw, "max", err),
                special=tuple(int(v) for v in raw.get("special", ())),
                special_label=str(raw.get("special_label", "")),
                pattern=pattern,
                pattern_hint=str(raw.get("pattern_hint", "")),
                pattern_severity=pattern_severity,
                max_length=_opt_int(raw, "max_length", err),
                applies=_parse_applies(raw.get("applies"), headers, err),
                line=line,
            )
        )
    layout = _layout(
        data.get("layout"),
        section_ids,
        lambda msg: RefDataError(path, line_of(lines, "[layout]"), msg),
    )
    spec = DatasetSpec(
        id=head["id"],
        letter=head["letter"],
        title=head["title"],
        version=head["version"],
        source=head["source"],
        items_key=head["items"],
        item_label=head["item_label"],
        sections=sections,
        fields=tuple(fields),
        layout=layout,
    )
    return spec


def _layout(
    raw: object, section_ids: set[str], err: Callable[[str], RefDataError]
) -> tuple[tuple[str, ...], ...]:
    """The sheet's columns of sections; every section appears once (missing ones go last)."""
    if raw is None:
        return ()
    columns = raw.get("columns") if isinstance(raw, dict) else None
    if not isinstance(columns, list) or not all(
        isinstance(c, list) and all(isinstance(s, str) for s in c) for c in columns
    ):
        raise err("[layout] columns must be a list of lists of section ids")
    seen: set[str] = set()
    for column in columns:
        for section in column:
            if section not in section_ids:
                raise err(f"[layout] names {section!r}, which is not a [[section]] of this file")
            if section in seen:
                raise err(f"[layout] names {section!r} twice")
            seen.add(section)
    return tuple(tuple(c) for c in columns)


def _opt_int(raw: Mapping[str, Any], key: str, err: _Err) -> int | None:
    value = raw.get(key)
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise err(f"{raw.get('header')}: {key} must be a whole number")
    return value
