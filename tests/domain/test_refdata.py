"""Loading refdata: bad files fail with file, line and reason; imports replace lists."""

from __future__ import annotations

import shutil
from pathlib import Path

import openpyxl
import pytest

from desktop.domain.refdata import RefDataError, import_code_list, load_refdata
from desktop.domain.spec import RefData, Status
from tests.conftest import REFDATA


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    """A writable copy of the shipped refdata."""
    target = tmp_path / "refdata"
    shutil.copytree(REFDATA, target)
    return target


def _edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def _line(path: Path, needle: str) -> int:
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if needle in line:
            return number
    raise AssertionError(needle)


def test_shipped_refdata_loads(refdata: RefData) -> None:
    assert set(refdata.datasets) == {"cjit-q", "secure-r"}
    assert refdata.problems == ()


def test_unknown_code_list_names_file_and_line(tree: Path) -> None:
    spec = tree / "datasets" / "cjit_q.toml"
    _edit(spec, 'codes = "OFFENCE"', 'codes = "OFFENCES"')
    with pytest.raises(RefDataError) as exc:
        load_refdata(tree)
    assert exc.value.path == spec
    assert exc.value.line == _line(spec, 'header = "OFFENCE"')
    assert "OFFENCES" in exc.value.reason and "MANIFEST" in exc.value.reason
    assert str(exc.value).startswith(f"{spec}:{exc.value.line}:")


def test_duplicate_code_names_the_line(tree: Path) -> None:
    codes = tree / "codes" / "EXITRSN.csv"
    with codes.open("a", encoding="utf-8") as fh:
        fh.write("R,Released again,,,,\n")
    with pytest.raises(RefDataError) as exc:
        load_refdata(tree)
    assert exc.value.path == codes and exc.value.line == 6
    assert "appears twice" in exc.value.reason


def test_bad_validity_date_is_refused(tree: Path) -> None:
    codes = tree / "codes" / "EXITRSN.csv"
    _edit(
        codes,
        "A,Absconded,Left the secure setting without permission,,",
        "A,Absconded,x,31/12/2020,",
    )
    with pytest.raises(RefDataError, match="valid_from '31/12/2020' is not a date"):
        load_refdata(tree)


def test_toml_syntax_error_names_the_line(tree: Path) -> None:
    spec = tree / "datasets" / "secure_r.toml"
    _edit(spec, 'header = "AUDIT"', 'header = "AUDIT')
    with pytest.raises(RefDataError) as exc:
        load_refdata(tree)
    assert exc.value.path == spec
    assert exc.value.line == _line(spec, 'header = "AUDIT')


def test_unknown_key_and_duplicate_field_are_refused(tree: Path) -> None:
    spec = tree / "datasets" / "cjit_q.toml"
    _edit(spec, 'header = "PC"', 'header = "PC"\nmandatory = true')
    with pytest.raises(RefDataError, match="unknown key"):
        load_refdata(tree)


def test_requirement_referring_to_an_unknown_field(tree: Path) -> None:
    spec = tree / "datasets" / "cjit_q.toml"
    _edit(spec, 'requirement = "when PARENT = yes"', 'requirement = "when PARENTS = yes"')
    with pytest.raises(RefDataError, match="PARENTS, which is not a field"):
        load_refdata(tree)


def test_applies_may_join_conditions_with_or_and_ask_for_a_count(refdata: RefData) -> None:
    """Seed 001 appendix C: EHCS is asked when PARENT is yes or CHILDWTH is above 0; the
    dataset file says so in one 'applies' ("when PARENT = yes or CHILDWTH > 0")."""
    conds = refdata.datasets["cjit-q"].by_header["EHCS"].applies
    assert [(c.field, c.values, c.above) for c in conds] == [
        ("PARENT", frozenset({"yes"}), None),
        ("CHILDWTH", None, 0),
    ]


def test_applies_count_referring_to_an_unknown_field(tree: Path) -> None:
    spec = tree / "datasets" / "cjit_q.toml"
    _edit(spec, "or CHILDWTH > 0", "or CHILDREN > 0")
    with pytest.raises(RefDataError, match="CHILDREN, which is not a field"):
        load_refdata(tree)


def test_missing_code_file_and_bad_status(tree: Path) -> None:
    (tree / "codes" / "ROUTE.csv").unlink()
    with pytest.raises(RefDataError, match="the file is missing"):
        load_refdata(tree)
    shutil.copy(REFDATA / "codes" / "ROUTE.csv", tree / "codes" / "ROUTE.csv")
    _edit(tree / "MANIFEST.toml", 'status = "provisional"', 'status = "official"')
    with pytest.raises(RefDataError, match="status must be"):
        load_refdata(tree)


def test_import_csv_replaces_a_provisional_list(refdata: RefData, tmp_path: Path) -> None:
    overrides = tmp_path / "overrides"
    source = tmp_path / "official.csv"
    source.write_text(
        "Code,Description\nT,Transferred\nR,Released\nA,Absconded\nD,Died\nX,Extradited\n",
        encoding="utf-8",
    )
    result = import_code_list(refdata, overrides, "EXITRSN", source)
    assert result.count == 5 and result.added == ("X",) and result.lost_tags == ()
    loaded = load_refdata(REFDATA, overrides)
    exitrsn = loaded.lists["EXITRSN"]
    assert exitrsn.status is Status.IMPORTED and "X" in exitrsn.codes
    assert exitrsn.tagged("released") == {"R"}  # meanings carried over by label


def test_import_xlsx_with_new_codes_carries_tags_by_label(refdata: RefData, tmp_path: Path) -> None:
    book = openpyxl.Workbook()
    sheet = book.active
    assert sheet is not None
    for row in (("code", "label"), (11, "Referred to a structured treatment provider"),
                (14, "No onward referral"), (15, "Something new")):  # fmt: skip
        sheet.append(row)
    source = tmp_path / "rtoagncy.xlsx"
    book.save(source)
    overrides = tmp_path / "overrides"
    result = import_code_list(refdata, overrides, "RTOAGNCY", source)
    assert result.count == 3
    assert "recovery_support" in result.lost_tags  # nothing in the file meant that
    loaded = load_refdata(REFDATA, overrides)
    assert loaded.lists["RTOAGNCY"].tagged("structured") == {"11"}
    assert loaded.lists["RTOAGNCY"].tagged("none") == {"14"}


def test_import_for_a_field_gives_it_its_own_list(refdata: RefData, tmp_path: Path) -> None:
    overrides = tmp_path / "overrides"
    source = tmp_path / "parent.csv"
    source.write_text("code,label\n1,Yes\n2,No\n9,Declined\n", encoding="utf-8")
    result = import_code_list(refdata, overrides, "PARENT", source)
    assert result.for_field
    loaded = load_refdata(REFDATA, overrides)
    spec = loaded.dataset("cjit-q").by_header["PARENT"]
    assert [c.code for c, _ in loaded.codes_for(spec)] == ["1", "2", "9"]
    # the other yes/no fields keep the shared list
    assert [c.code for c, _ in loaded.codes_for(loaded.dataset("cjit-q").by_header["VETERAN"])] == [
        "Y", "N", "Z"
    ]  # fmt: skip


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("", "empty"),
        ("name,label\n1,Yes\n", "no column is headed 'code'"),
        ("code,label\n1,Yes\n1,Again\n", "appears twice"),
        ("code,label\n1,\n", "both a code and a label"),
        ("code,label\n", "no codes"),
    ],
)
def test_import_refuses_a_bad_file_and_changes_nothing(
    refdata: RefData, tmp_path: Path, content: str, reason: str
) -> None:
    overrides = tmp_path / "overrides"
    source = tmp_path / "bad.csv"
    source.write_text(content, encoding="utf-8")
    with pytest.raises(RefDataError, match=reason):
        import_code_list(refdata, overrides, "DRUG", source)
    assert not (overrides / "codes" / "DRUG.csv").exists()
    assert load_refdata(REFDATA, overrides).lists["DRUG"].status is Status.PROVISIONAL


def test_import_refuses_a_name_that_is_neither_list_nor_field(
    refdata: RefData, tmp_path: Path
) -> None:
    source = tmp_path / "x.csv"
    source.write_text("code,label\n1,Yes\n", encoding="utf-8")
    with pytest.raises(RefDataError, match="neither a code list nor an NDTMS field"):
        import_code_list(refdata, tmp_path / "o", "NOSUCH", source)


def test_import_refuses_a_file_that_is_not_a_workbook(refdata: RefData, tmp_path: Path) -> None:
    source = tmp_path / "fake.xlsx"
    source.write_bytes(b"not a zip file")
    with pytest.raises(RefDataError, match="not a readable Excel workbook"):
        import_code_list(refdata, tmp_path / "o", "DRUG", source)


def test_a_damaged_imported_list_falls_back_to_the_shipped_one(
    refdata: RefData, tmp_path: Path
) -> None:
    overrides = tmp_path / "overrides"
    source = tmp_path / "drug.csv"
    source.write_text("code,label\n1,Heroin\n", encoding="utf-8")
    import_code_list(refdata, overrides, "DRUG", source)
    (overrides / "codes" / "DRUG.csv").write_text("code,label\n1,Heroin\n1,Dup\n", encoding="utf-8")
    loaded = load_refdata(REFDATA, overrides)
    assert loaded.lists["DRUG"].status is Status.PROVISIONAL  # the shipped list
    assert len(loaded.problems) == 1 and "appears twice" in loaded.problems[0]
