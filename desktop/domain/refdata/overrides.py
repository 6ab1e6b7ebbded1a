"""The overrides folder: the code lists an agency imported (``overrides.toml`` and
``codes/*.csv``), read and used in place of the shipped lists; one that no longer loads is
set aside with a note, so the application still starts on the list it shipped with.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass, replace
from pathlib import Path

from desktop.domain.refdata.codes import read_code_csv
from desktop.domain.refdata.common import RefDataError, read_toml
from desktop.domain.spec import CodeList, RefData, Status


@dataclass(frozen=True)
class OverrideEntry:
    name: str
    file: str
    source: str
    imported: str
    sha256: str
    for_field: bool
    provisional: bool


def read_overrides(overrides: Path) -> list[OverrideEntry]:
    path = overrides / "overrides.toml"
    if not path.exists():
        return []
    data, _ = read_toml(path)
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


def overrides_toml(entries: Iterable[OverrideEntry]) -> str:
    """``overrides.toml`` naming these imported lists, in order of name."""
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
