"""Load the dataset specifications and code lists from refdata/, and replace code lists.

Every problem in the shipped files is reported with the file, the line and the reason.
Lists an agency imported (the official NDTMS reference data) live in an overrides folder
outside the application; one that no longer loads is set aside with a note, so the
application still starts on the list it shipped with.
"""

from __future__ import annotations

import csv
import hashlib
import io
import json
import re
import string
import tomllib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import date
from pathlib import Path
from typing import Any

from desktop.app.files import atomic_write_text
from desktop.domain.findings import Severity
from desktop.domain.spec import (
    DATE_TOKENS,
    FILE_NAME_FIELDS,
    LINE_ENDINGS,
    Code,
    CodeList,
    Condition,
    DatasetSpec,
    ExportFormat,
    ExportSettings,
    FieldSpec,
    FieldType,
    Level,
    MayChange,
    RefData,
    Requirement,
    RequirementKind,
    RowShape,
    Section,
    Status,
)

CODE_COLUMNS = ("code", "label", "definition", "valid_from", "valid_to", "tags")
FIELD_KEYS = frozenset(
    {
        "header", "label", "section", "level", "type", "codes", "requirement", "severity",
        "may_change", "mismatch", "system", "help", "min", "max", "special", "special_label",
        "pattern", "pattern_hint", "pattern_severity", "max_length", "applies", "missing",
    }
)  # fmt: skip
_HEADER_RE = re.compile(r"^[A-Z][A-Z0-9]*$")
_LIST_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")


class RefDataError(Exception):
    """Reference data that cannot be used. ``str()`` gives file, line and reason."""

    def __init__(self, path: Path | str, line: int, reason: str) -> None:
        self.path = Path(path)
        self.line = line
        self.reason = reason
        where = f"{self.path}:{line}" if line else str(self.path)
        super().__init__(f"{where}: {reason}")


# ---------------------------------------------------------------------------------------
# Code lists


def read_code_csv(path: Path, text: str | None = None) -> dict[str, Code]:
    """Read a code list CSV (code, label, definition, valid_from, valid_to, tags)."""
    if text is None:
        try:
            text = path.read_text(encoding="utf-8-sig")
        except FileNotFoundError:
            raise RefDataError(path, 0, "the file is missing") from None
        except UnicodeDecodeError:
            raise RefDataError(path, 0, "the file is not UTF-8 text") from None
        except OSError as exc:
            raise RefDataError(path, 0, f"the file cannot be read ({exc.strerror})") from None
    reader = csv.DictReader(io.StringIO(text))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if "code" not in header or "label" not in header:
        raise RefDataError(path, 1, "the first line must name the columns code and label")
    reader.fieldnames = header
    codes: dict[str, Code] = {}
    try:
        for row in reader:
            line = reader.line_num
            if None in row:
                raise RefDataError(path, line, "this row has more values than there are columns")
            code = (row.get("code") or "").strip()
            label = (row.get("label") or "").strip()
            if not code and not label:
                continue
            if not code:
                raise RefDataError(path, line, "the code is empty")
            if not label:
                raise RefDataError(path, line, f"code {code!r} has no label")
            if code in codes:
                raise RefDataError(path, line, f"code {code!r} appears twice")
            codes[code] = Code(
                code=code,
                label=label,
                definition=(row.get("definition") or "").strip(),
                valid_from=_csv_date(path, line, "valid_from", row.get("valid_from")),
                valid_to=_csv_date(path, line, "valid_to", row.get("valid_to")),
                tags=frozenset((row.get("tags") or "").split()),
            )
    except csv.Error as exc:
        raise RefDataError(path, reader.line_num, f"the CSV does not parse ({exc})") from None
    if not codes:
        raise RefDataError(path, 0, "the list has no codes")
    return codes


def _csv_date(path: Path, line: int, column: str, raw: str | None) -> date | None:
    raw = (raw or "").strip()
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise RefDataError(path, line, f"{column} {raw!r} is not a date (YYYY-MM-DD)") from None


# ---------------------------------------------------------------------------------------
# Dataset specifications


def _read_toml(path: Path) -> tuple[dict[str, Any], list[str]]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise RefDataError(path, 0, "the file is missing") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise RefDataError(path, 0, f"the file cannot be read ({exc})") from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        match = re.search(r"line (\d+)", str(exc))
        raise RefDataError(path, int(match.group(1)) if match else 0, str(exc)) from None
    return data, text.splitlines()


def _line_of(lines: Sequence[str], needle: str) -> int:
    for number, line in enumerate(lines, start=1):
        if needle in line:
            return number
    return 0


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
    data, lines = _read_toml(path)
    head = data.get("dataset")
    if not isinstance(head, dict):
        raise RefDataError(path, 0, "there is no [dataset] table")
    for key in ("id", "letter", "title", "version", "source", "items", "item_label"):
        if not isinstance(head.get(key), str):
            raise RefDataError(path, _line_of(lines, "[dataset]"), f"[dataset] needs {key}")
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
        line = _line_of(lines, f'header = "{header}"') if header else 0
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
        lambda msg: RefDataError(path, _line_of(lines, "[layout]"), msg),
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


# ---------------------------------------------------------------------------------------
# The whole of refdata


@dataclass(frozen=True)
class OverrideEntry:
    name: str
    file: str
    source: str
    imported: str
    sha256: str
    for_field: bool
    provisional: bool


def load_refdata(root: Path, overrides: Path | None = None) -> RefData:
    """Load MANIFEST.toml, every dataset and every list; then apply imported lists."""
    manifest_path = root / "MANIFEST.toml"
    manifest, lines = _read_toml(manifest_path)
    lists: dict[str, CodeList] = {}
    for name, entry in (manifest.get("lists") or {}).items():
        line = _line_of(lines, f"[lists.{name}]")
        if not _LIST_NAME_RE.match(name):
            raise RefDataError(manifest_path, line, f"list name {name!r} is not in capitals")
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise RefDataError(manifest_path, line, f"list {name} needs a file")
        try:
            status = Status(entry.get("status", ""))
        except ValueError:
            raise RefDataError(
                manifest_path,
                line,
                f"list {name}: status must be confirmed, national or provisional",
            ) from None
        lists[name] = CodeList(
            name=name,
            status=status,
            source=str(entry.get("source", "")),
            codes=read_code_csv(root / entry["file"]),
            partial=bool(entry.get("partial", False)),
            file=entry["file"],
        )
    datasets: dict[str, DatasetSpec] = {}
    for dataset_id, entry in (manifest.get("datasets") or {}).items():
        line = _line_of(lines, f"[datasets.{dataset_id}]")
        if not isinstance(entry, dict) or not isinstance(entry.get("file"), str):
            raise RefDataError(manifest_path, line, f"dataset {dataset_id} needs a file")
        spec = load_dataset(root / entry["file"], set(lists))
        if spec.id != dataset_id:
            raise RefDataError(
                root / entry["file"], 0, f"the id {spec.id!r} does not match the manifest"
            )
        datasets[dataset_id] = spec
    export = load_export(manifest.get("export"), manifest_path, lines, set(datasets))
    refdata = RefData(datasets=datasets, lists=lists, export=export)
    if overrides is not None:
        refdata = apply_overrides(refdata, overrides)
    return refdata


# ---------------------------------------------------------------------------------------
# The submission file

EXPORT_KEYS = frozenset({"status", "source", "date_format", "line_ending", "file_name", "rows"})


def load_export(
    raw: object, path: Path, lines: Sequence[str], dataset_ids: set[str]
) -> ExportSettings:
    """Read ``[export]`` (and ``[export.<dataset>]`` overrides) from MANIFEST.toml.

    Without an ``[export]`` table the built-in defaults apply (DD/MM/YYYY, CRLF,
    ``{AGNCY}-{start}-{end}-{dataset}.csv``, one row per item), marked provisional.
    """
    if raw is None:
        return ExportSettings()
    line = _line_of(lines, "[export]")
    if not isinstance(raw, dict):
        raise RefDataError(path, line, "[export] must be a table of settings")
    own = {k: v for k, v in raw.items() if not isinstance(v, dict)}
    default = _export_format(own, ExportFormat(), path, line, "[export]")
    overrides: dict[str, ExportFormat] = {}
    for key, value in raw.items():
        if not isinstance(value, dict):
            continue
        where = f"[export.{key}]"
        sub_line = _line_of(lines, where)
        if key not in dataset_ids:
            raise RefDataError(path, sub_line, f"{where}: {key} is not a dataset of this manifest")
        overrides[key] = _export_format(value, default, path, sub_line, where)
    return ExportSettings(default=default, datasets=overrides)


def _export_format(
    raw: Mapping[str, Any], base: ExportFormat, path: Path, line: int, where: str
) -> ExportFormat:
    unknown = set(raw) - EXPORT_KEYS
    if unknown:
        raise RefDataError(path, line, f"{where}: unknown setting(s) {', '.join(sorted(unknown))}")
    for key, value in raw.items():
        if not isinstance(value, str):
            raise RefDataError(path, line, f"{where}: {key} must be text in quotes")
    status = raw.get("status")
    if status is not None and status not in ("provisional", "confirmed"):
        raise RefDataError(path, line, f"{where}: status must be provisional or confirmed")
    date_format = raw.get("date_format", base.date_format)
    rest = date_format
    for token in DATE_TOKENS:
        if rest.count(token) != 1:
            raise RefDataError(
                path, line, f"{where}: date_format {date_format!r} needs DD, MM and YYYY once each"
            )
        rest = rest.replace(token, "")
    if rest.strip("/-. "):
        raise RefDataError(
            path,
            line,
            f"{where}: date_format {date_format!r} may hold only DD, MM, YYYY and / - . or space",
        )
    line_ending = raw.get("line_ending", base.line_ending)
    if line_ending not in LINE_ENDINGS:
        raise RefDataError(path, line, f"{where}: line_ending must be CRLF or LF")
    file_name = raw.get("file_name", base.file_name)
    try:
        names = {f for _, f, _, _ in string.Formatter().parse(file_name) if f is not None}
    except ValueError as exc:
        raise RefDataError(path, line, f"{where}: file_name {file_name!r}: {exc}") from None
    unknown_names = names - FILE_NAME_FIELDS
    if unknown_names:
        raise RefDataError(
            path,
            line,
            f"{where}: file_name may use {{AGNCY}}, {{start}}, {{end}} and {{dataset}},"
            f" not {', '.join(sorted(unknown_names))}",
        )
    if "/" in file_name or "\\" in file_name or not file_name.lower().endswith(".csv"):
        raise RefDataError(
            path, line, f"{where}: file_name must be a plain file name ending in .csv"
        )
    try:
        rows = RowShape(raw.get("rows", base.rows))
    except ValueError:
        raise RefDataError(path, line, f"{where}: rows must be per_item or per_episode") from None
    return ExportFormat(
        date_format=date_format,
        line_ending=line_ending,
        file_name=file_name,
        rows=rows,
        provisional=(status or ("provisional" if base.provisional else "confirmed"))
        == "provisional",
        source=raw.get("source", base.source),
    )


def read_overrides(overrides: Path) -> list[OverrideEntry]:
    path = overrides / "overrides.toml"
    if not path.exists():
        return []
    data, _ = _read_toml(path)
    out = []
    for name, entry in (data.get("lists") or {}).items():
        out.append(
            OverrideEntry(
                name=name,
                file=str(entry.get("file", "")),
                source=str(entry.get("source", "")),
                imported=str(entry.get("imported", "")),
                sha256=str(entry.get("sha256", "")),
                for_field=bool(entry.get("for_field", False)),
                provisional=bool(entry.get("provisional", False)),
            )
        )
    return out


def apply_overrides(refdata: RefData, overrides: Path) -> RefData:
    """Use the lists an agency imported in place of the shipped ones.

    A list that does not load is left out and named in ``refdata.problems``, so that
    one bad file never stops the application from starting.
    """
    lists = dict(refdata.lists)
    field_lists = dict(refdata.field_lists)
    problems: list[str] = []
    try:
        entries = read_overrides(overrides)
    except RefDataError as exc:
        return _with_problems(refdata, [f"{exc} — imported lists are not in use"])
    for entry in entries:
        try:
            codes = read_code_csv(overrides / entry.file)
        except RefDataError as exc:
            problems.append(f"{exc} — using the list Pathway shipped with instead")
            continue
        code_list = CodeList(
            name=entry.name,
            status=Status.PROVISIONAL if entry.provisional else Status.IMPORTED,
            source=entry.source,
            codes=codes,
            file=str(overrides / entry.file),
        )
        lists[entry.name] = code_list
        if entry.for_field:
            field_lists[entry.name] = entry.name
    updated = replace(refdata, lists=lists, field_lists=field_lists)
    return _with_problems(updated, problems)


def _with_problems(refdata: RefData, problems: list[str]) -> RefData:
    return replace(refdata, problems=(*refdata.problems, *problems))


# ---------------------------------------------------------------------------------------
# Importing an official list


@dataclass(frozen=True)
class ImportResult:
    name: str
    for_field: bool
    count: int
    added: tuple[str, ...]
    removed: tuple[str, ...]
    lost_tags: tuple[str, ...]
    path: Path


_LABEL_COLUMNS = ("label", "description", "reference data", "text", "data item name", "value")


def read_table(path: Path) -> list[list[str]]:
    """Rows of a CSV or XLSX file as text (the first row is the header)."""
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm"):
        try:
            import openpyxl

            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except FileNotFoundError:
            raise RefDataError(path, 0, "the file does not exist") from None
        except Exception as exc:
            raise RefDataError(path, 0, f"this is not a readable Excel workbook ({exc})") from None
        try:
            sheet = book.worksheets[0]
            rows = [
                ["" if v is None else str(v).strip() for v in row]
                for row in sheet.iter_rows(values_only=True)
            ]
        finally:
            book.close()
        return rows
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise RefDataError(path, 0, "the file does not exist") from None
    except UnicodeDecodeError:
        try:
            text = path.read_text(encoding="cp1252")
        except (UnicodeDecodeError, OSError):
            raise RefDataError(path, 0, "the file is not text (CSV) in a known encoding") from None
    except OSError as exc:
        raise RefDataError(path, 0, f"the file cannot be read ({exc.strerror})") from None
    try:
        return [[cell.strip() for cell in row] for row in csv.reader(io.StringIO(text))]
    except csv.Error as exc:
        raise RefDataError(path, 0, f"the CSV does not parse ({exc})") from None


def _words(label: str) -> set[str]:
    return set(re.findall(r"[a-z0-9]+", label.lower()))


def _similar(a: str, b: str) -> bool:
    wa, wb = _words(a), _words(b)
    if not wa or not wb:
        return False
    return len(wa & wb) / len(wa | wb) >= 0.5


def import_code_list(refdata: RefData, overrides: Path, name: str, source: Path) -> ImportResult:
    """Replace list NAME (or give field NAME its own list) from a CSV or XLSX file.

    The file needs a code column and a label column (label, description or reference
    data). Meanings the rules rely on (tags) carry over to codes whose label matches;
    those that cannot be carried over are reported.
    """
    field_headers = {f.header for d in refdata.datasets.values() for f in d.fields}
    for_field = name not in refdata.lists
    if for_field and name not in field_headers:
        raise RefDataError(source, 0, f"{name} is neither a code list nor an NDTMS field")
    rows = [r for r in read_table(source) if any(cell for cell in r)]
    if not rows:
        raise RefDataError(source, 0, "the file is empty")
    header = [h.strip().lower() for h in rows[0]]
    if "code" not in header:
        raise RefDataError(source, 1, "no column is headed 'code'")
    label_col = next((header.index(c) for c in _LABEL_COLUMNS if c in header), None)
    if label_col is None:
        raise RefDataError(source, 1, "no column is headed 'label' or 'description'")
    code_col = header.index("code")
    tags_col = header.index("tags") if "tags" in header else None
    old = _old_codes(refdata, name, for_field)
    by_label = {_norm(c.label): c for c in old.values()}
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(CODE_COLUMNS)
    seen: set[str] = set()
    carried: set[str] = set()
    for line, row in enumerate(rows[1:], start=2):
        cell = row + [""] * (len(header) - len(row))
        code, label = cell[code_col].strip(), cell[label_col].strip()
        if code.endswith(".0") and code[:-2].isdigit():
            code = code[:-2]  # Excel stores whole numbers as floats
        if not code and not label:
            continue
        if not code or not label:
            raise RefDataError(source, line, "a row needs both a code and a label")
        if code in seen:
            raise RefDataError(source, line, f"code {code!r} appears twice")
        seen.add(code)
        if tags_col is not None:
            tags = cell[tags_col].split()
        else:
            match = old.get(code)
            if match is None or not _similar(match.label, label):
                match = by_label.get(_norm(label))
            tags = sorted(match.tags) if match is not None else []
        carried |= set(tags)
        writer.writerow([code, label, "", "", "", " ".join(tags)])
    if not seen:
        raise RefDataError(source, 0, "the file has no codes")
    text = out.getvalue()
    read_code_csv(source, text)  # the same checks as at start-up
    old_tags = {t for c in old.values() for t in c.tags}
    target = overrides / "codes" / f"{name}.csv"
    atomic_write_text(target, text)
    entries = {e.name: e for e in read_overrides(overrides)}
    entries[name] = OverrideEntry(
        name=name,
        file=f"codes/{name}.csv",
        source=f"imported from {source.name}",
        imported=date.today().isoformat(),
        sha256=hashlib.sha256(text.encode()).hexdigest(),
        for_field=for_field,
        provisional=False,
    )
    atomic_write_text(overrides / "overrides.toml", _overrides_toml(entries.values()))
    return ImportResult(
        name=name,
        for_field=for_field,
        count=len(seen),
        added=tuple(sorted(seen - set(old))),
        removed=tuple(sorted(set(old) - seen)),
        lost_tags=tuple(sorted(old_tags - carried)),
        path=target,
    )


def _old_codes(refdata: RefData, name: str, for_field: bool) -> Mapping[str, Code]:
    if not for_field:
        return refdata.lists[name].codes
    for dataset in refdata.datasets.values():
        spec = dataset.by_header.get(name)
        if spec is not None:
            return {c.code: c for c, _ in refdata.codes_for(spec)}
    return {}


def _norm(label: str) -> str:
    return " ".join(sorted(_words(label)))


def _overrides_toml(entries: Any) -> str:
    parts = ["# Code lists imported by this agency; they replace the lists Pathway ships.\n"]
    for e in sorted(entries, key=lambda e: e.name):
        parts.append(
            f"\n[lists.{e.name}]\n"
            f"file = {json.dumps(e.file)}\n"
            f"source = {json.dumps(e.source)}\n"
            f"imported = {json.dumps(e.imported)}\n"
            f"sha256 = {json.dumps(e.sha256)}\n"
            f"for_field = {'true' if e.for_field else 'false'}\n"
            f"provisional = {'true' if e.provisional else 'false'}\n"
        )
    return "".join(parts)
