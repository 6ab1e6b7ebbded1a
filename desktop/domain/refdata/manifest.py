"""The shipped reference data as a whole: MANIFEST.toml, the code lists and the datasets it
names, and the submission file's settings (``[export]``), loaded and checked together; then
the lists an agency imported are applied.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from desktop.domain.refdata.codes import read_code_csv
from desktop.domain.refdata.common import RefDataError, line_of, read_toml
from desktop.domain.refdata.datasets import load_dataset
from desktop.domain.refdata.overrides import apply_overrides
from desktop.domain.spec import (
    DATE_TOKENS,
    FILE_NAME_FIELDS,
    LINE_ENDINGS,
    CodeList,
    DatasetSpec,
    ExportFormat,
    ExportSettings,
    RefData,
    RowShape,
    Status,
)

_LIST_NAME_RE = re.compile(r"^[A-Z][A-Z0-9_]*$")


def load_refdata(root: Path, overrides: Path | None = None) -> RefData:
    """Load MANIFEST.toml, every dataset and every list; then apply imported lists."""
    manifest_path = root / "MANIFEST.toml"
    manifest, lines = read_toml(manifest_path)
    lists: dict[str, CodeList] = {}
    for name, entry in (manifest.get("lists") or {}).items():
        line = line_of(lines, f"[lists.{name}]")
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
        line = line_of(lines, f"[datasets.{dataset_id}]")
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
    line = line_of(lines, "[export]")
    if not isinstance(raw, dict):
        raise RefDataError(path, line, "[export] must be a table of settings")
    own = {k: v for k, v in raw.items() if not isinstance(v, dict)}
    default = _export_format(own, ExportFormat(), path, line, "[export]")
    overrides: dict[str, ExportFormat] = {}
    for key, value in raw.items():
        if not isinstance(value, dict):
            continue
        where = f"[export.{key}]"
        sub_line = line_of(lines, where)
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
