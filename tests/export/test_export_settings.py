"""The submission file's shape is read from ``[export]`` in refdata/MANIFEST.toml.

Rules cited: issue 6 item 1 (row shape, date format, line ending and file name pattern
are settings in the refdata manifest, changed without code; provisional until the
official CSV specification is read).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from desktop.domain.refdata import RefDataError, load_refdata
from desktop.domain.spec import ExportFormat, RowShape
from tests.conftest import REFDATA


def _with_export(tmp_path: Path, section: str | None) -> Path:
    root = tmp_path / "refdata"
    shutil.copytree(REFDATA, root)
    manifest = root / "MANIFEST.toml"
    text = manifest.read_text(encoding="utf-8")
    text = text[: text.index("[export]")]
    if section is not None:
        text += section
    manifest.write_text(text, encoding="utf-8")
    return root


def test_the_shipped_manifest_gives_the_defaults_marked_provisional() -> None:
    """Issue 6 item 1: DD/MM/YYYY, CRLF, {AGNCY}-{start}-{end}-{dataset}.csv, a row per item."""
    settings = load_refdata(REFDATA).export
    for dataset in ("cjit-q", "secure-r"):
        fmt = settings.for_dataset(dataset)
        assert (fmt.date_format, fmt.newline, fmt.file_name, fmt.rows) == (
            "DD/MM/YYYY",
            "\r\n",
            "{AGNCY}-{start}-{end}-{dataset}.csv",
            RowShape.PER_ITEM,
        )
        assert fmt.provisional and fmt.source


def test_a_dataset_section_overrides_the_default(tmp_path: Path) -> None:
    root = _with_export(
        tmp_path,
        '[export]\nstatus = "confirmed"\ndate_format = "YYYY-MM-DD"\n\n'
        '[export.secure-r]\nline_ending = "LF"\nrows = "per_episode"\n',
    )
    settings = load_refdata(root).export
    assert settings.for_dataset("cjit-q").strftime == "%Y-%m-%d"
    secure = settings.for_dataset("secure-r")
    assert (secure.date_format, secure.newline, secure.rows) == (
        "YYYY-MM-DD",
        "\n",
        RowShape.PER_EPISODE,
    )
    assert not secure.provisional


def test_without_an_export_section_the_defaults_apply(tmp_path: Path) -> None:
    assert load_refdata(_with_export(tmp_path, None)).export.for_dataset("cjit-q") == (
        ExportFormat()
    )


@pytest.mark.parametrize(
    ("section", "reason"),
    [
        ('date_format = "DD/MM/YY"', "needs DD, MM and YYYY once each"),
        ('date_format = "DD MM YYYY hh"', "may hold only"),
        ('line_ending = "CR"', "line_ending must be CRLF or LF"),
        ('file_name = "{AGNCY}-{month}.csv"', "not month"),
        ('file_name = "../{AGNCY}.csv"', "plain file name"),
        ('file_name = "{AGNCY}.txt"', "ending in .csv"),
        ('rows = "per_client"', "rows must be per_item or per_episode"),
        ('quoting = "all"', "unknown setting(s) quoting"),
        ('status = "maybe"', "status must be provisional or confirmed"),
        ("line_ending = 1", "must be text in quotes"),
        ('[export.cjit-x]\nrows = "per_item"', "cjit-x is not a dataset"),
    ],
)
def test_a_bad_setting_is_reported_with_file_line_and_reason(
    tmp_path: Path, section: str, reason: str
) -> None:
    root = _with_export(tmp_path, f"[export]\n{section}\n")
    with pytest.raises(RefDataError) as raised:
        load_refdata(root)
    assert reason in str(raised.value)
    assert raised.value.path.name == "MANIFEST.toml" and raised.value.line > 0
