"""The headless command line: validate, codes, spec, refdata."""

from __future__ import annotations

import json
import random
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from desktop.cli import main
from desktop.domain.refdata import load_refdata
from desktop.domain.synthetic import cjit_record, secure_record
from tests.conftest import REFDATA, REPO

TODAY = date(2026, 11, 24)


def _run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def records_file(tmp_path: Path) -> Path:
    ref = load_refdata(REFDATA)
    complete = cjit_record(ref, random.Random(1), 1, TODAY)
    without_drug = dict(complete)
    del without_drug["DRUG1"]
    path = tmp_path / "records.json"
    path.write_text(json.dumps([complete, without_drug]), encoding="utf-8")
    return path


def test_validate_complete_record_has_no_error_and_missing_drug1_does(
    capsys: pytest.CaptureFixture[str], records_file: Path
) -> None:
    code, out, _ = _run(
        capsys, "validate", "--dataset", "cjit-q", "--today", "2026-11-24", str(records_file)
    )
    assert code == 0
    result = json.loads(out)
    first, second = result["records"]
    assert first["index"] == 0 and [f for f in first["findings"] if f["severity"] == "error"] == []
    errors = [f for f in second["findings"] if f["severity"] == "error"]
    assert errors == [
        {"field": "DRUG1", "severity": "error", "rule": "required_reject",
         "message": "Problem substance 1 is missing: NDTMS rejects the record without it."}
    ]  # fmt: skip
    assert "DRUG" in result["provisional_lists"]


def test_validate_one_record_object_and_secure_dataset(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    rec = secure_record(load_refdata(REFDATA), random.Random(2), 1, TODAY)
    path = tmp_path / "one.json"
    path.write_text(json.dumps(rec), encoding="utf-8")
    code, out, _ = _run(
        capsys, "validate", "--dataset", "secure-r", "--today", "2026-11-24", str(path)
    )
    assert code == 0 and len(json.loads(out)["records"]) == 1


@pytest.mark.parametrize(
    ("content", "reason"),
    [("{", "not valid JSON (line 1"), (b"\xff\xfe\x00", "not UTF-8"), (None, "no such file")],
)
def test_validate_unreadable_input_exits_2_with_one_line(
    capsys: pytest.CaptureFixture[str], tmp_path: Path, content: str | bytes | None, reason: str
) -> None:
    path = tmp_path / "bad.json"
    if isinstance(content, bytes):
        path.write_bytes(content)
    elif content is not None:
        path.write_text(content, encoding="utf-8")
    code, out, err = _run(capsys, "validate", "--dataset", "cjit-q", str(path))
    assert code == 2 and out == ""
    assert reason in err and err.count("\n") == 1 and "Traceback" not in err


def test_codes_lists_choices_with_provisional_flag(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "codes", "--dataset", "cjit-q", "CJDISRSN")
    codes = json.loads(out)
    assert code == 0
    assert [c["code"] for c in codes][:7] == ["73", "1", "2", "99", "13", "14", "74"]
    assert all(c["provisional"] is False for c in codes)
    code, out, _ = _run(capsys, "codes", "--dataset", "cjit-q", "cjrfls")
    referral_sources = json.loads(out)
    assert len(referral_sources) == 12 and all(c["provisional"] for c in referral_sources)


def test_codes_for_a_field_that_is_not_coded(capsys: pytest.CaptureFixture[str]) -> None:
    code, _, err = _run(capsys, "codes", "--dataset", "cjit-q", "DOB")
    assert code == 2 and "not a coded field" in err
    code, _, err = _run(capsys, "codes", "--dataset", "cjit-q", "NOPE")
    assert code == 2 and "not a field" in err


def test_spec_table_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = _run(capsys, "spec", "--dataset", "secure-r")
    assert code == 0 and "70 fields" in out and "(provisional)" in out
    code, out, _ = _run(capsys, "spec", "--dataset", "cjit-q", "--json")
    data = json.loads(out)
    assert [f["header"] for f in data["fields"]][:3] == ["CLIENTID", "FINITIAL", "SINITIAL"]


def test_refdata_import_then_codes_use_it(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = tmp_path / "cjrfls.csv"
    source.write_text(
        "code,label\nA1,Voluntary – following a cell sweep\nB2,Other\n", encoding="utf-8"
    )
    code, out, _ = _run(capsys, "refdata", "import", "CJRFLS", str(source))
    assert code == 0 and "Imported 2 codes" in out
    _, out, _ = _run(capsys, "codes", "--dataset", "cjit-q", "CJRFLS")
    assert [(c["code"], c["provisional"]) for c in json.loads(out)] == [
        ("A1", False),
        ("B2", False),
    ]
    code, out, _ = _run(capsys, "refdata", "list")
    assert code == 0 and "CJRFLS" in out and "imported" in out


def test_refdata_import_bad_file_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    source = tmp_path / "bad.csv"
    source.write_text("label\nx\n", encoding="utf-8")
    code, _, err = _run(capsys, "refdata", "import", "DRUG", str(source))
    assert code == 2 and "no column is headed 'code'" in err


def test_help_lists_the_commands(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as done:
        main(["--help"])
    out = capsys.readouterr().out
    assert done.value.code == 0
    for command in ("validate", "refdata", "init", "backup", "restore", "demo"):
        assert command in out


def test_python_dash_m_desktop_runs(records_file: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "desktop", "validate", "--dataset", "cjit-q",
         "--today", "2026-11-24", str(records_file)],
        capture_output=True, text=True, cwd=REPO, check=False,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout)["records"][1]["findings"][0]["field"] == "DRUG1"
