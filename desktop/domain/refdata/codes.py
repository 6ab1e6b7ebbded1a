"""A code list file: the CSV of codes with their labels, definitions, dates of validity and
tags, checked row by row.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from pathlib import Path

from desktop.domain.refdata.common import RefDataError
from desktop.domain.spec import Code

CODE_COLUMNS = ("code", "label", "definition", "valid_from", "valid_to", "tags")


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
