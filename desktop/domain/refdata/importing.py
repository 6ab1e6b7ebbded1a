"""Importing an agency's code list (the official NDTMS reference data) from a CSV or XLSX
file: it replaces a shipped list, or gives a field its own list, in the overrides folder;
meanings the rules rely on (tags) carry over to codes whose label matches.
"""

from __future__ import annotations

import csv
import hashlib
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from desktop.app.files import atomic_write_text
from desktop.domain.refdata.codes import CODE_COLUMNS, read_code_csv
from desktop.domain.refdata.common import RefDataError
from desktop.domain.refdata.overrides import OverrideEntry, overrides_toml, read_overrides
from desktop.domain.spec import Code, RefData


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
    atomic_write_text(overrides / "overrides.toml", overrides_toml(entries.values()))
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
