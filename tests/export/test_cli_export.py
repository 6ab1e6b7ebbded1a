"""``pathway check``, ``export`` and ``exports`` run without a prompt (issue 6 item 7).

The commands run on today's date, so the records here are from 2025 and the month checked
and exported is June 2025, which has started whatever day the tests run.
"""

from __future__ import annotations

import hashlib
import json
from datetime import date
from pathlib import Path

import pytest

from desktop.cli import main
from tests.export.conftest import PASSWORD, cjit, clock
from tests.fixtures import MakeStore

JUNE = "2025-06"
OPEN_IN_JUNE = date(2025, 3, 1)


@pytest.fixture
def team(monkeypatch: pytest.MonkeyPatch, tmp_path: Path, make_store: MakeStore) -> Path:
    """A store with three June records (seeds 501-503), one missing DRUG1 (an error)."""
    monkeypatch.setenv("PATHWAY_PASSWORD", PASSWORD)
    monkeypatch.setenv("PATHWAY_USER", "amy")
    path = tmp_path / "team.store"
    store = make_store(name=path.name, clock=clock)
    try:
        for seed in (501, 502, 503):
            rec = cjit(seed, triaged=OPEN_IN_JUNE)
            if seed == 503:
                rec.pop("DRUG1")
            store.episodes.save(rec, today=date(2025, 7, 1))
        store.users.add("wes", PASSWORD, role="worker")
    finally:
        store.close(backup_reason=None)
    return path


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_check_json_holds_the_portal_figures(
    team: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 6 item 7: the JSON holds records, with_errors, with_warnings, load_pct, dq_pct
    and the findings by rule."""
    code, out, _ = run(
        capsys, "check", "--store", str(team), "--dataset", "cjit-q", "--period", JUNE, "--json"
    )
    assert code == 0
    data = json.loads(out)
    assert (data["records"], data["with_errors"]) == (3, 1)
    assert data["load_pct"] == pytest.approx(66.7) and data["dq_pct"] == 100.0
    assert data["with_warnings"] == 0
    (rule,) = [r for r in data["rules"] if r["rule"] == "required_reject"]
    assert rule["count"] == 1 and rule["hits"][0]["field"] == "DRUG1"


def test_check_summary_names_the_figures(team: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(
        capsys, "check", "--store", str(team), "--dataset", "cjit-q", "--period", JUNE
    )
    assert code == 0
    assert "3 records would be sent" in out
    assert "Load %: 66.7 (1 records with errors" in out and "DQ %:   100.0 (0 records" in out
    assert "required_reject" in out and "Held back for errors (1 records)" in out


def test_export_then_exports_lists_it(
    team: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 6 items 3 and 7: the file is written into the folder given; the history
    shows who, when, dataset, month, counts and the SHA-256."""
    folder = tmp_path / "month-end"
    folder.mkdir()
    code, out, err = run(
        capsys,
        "export",
        "--store",
        str(team),
        "--dataset",
        "cjit-q",
        "--period",
        JUNE,
        "--out",
        str(folder),
    )
    assert code == 0, err
    (written,) = list(folder.iterdir())
    assert written.name == "CJ123-20250601-20250630-Q.csv"
    assert f"Wrote {written}: 2 rows, 2 episodes." in out and "Held back for errors: 1" in out
    code, out, _ = run(capsys, "exports", "--store", str(team))
    assert code == 0
    line = out.splitlines()[1].split()
    assert line[2:8] == ["amy", "cjit-q", JUNE, "2", "2", "1"]
    assert line[8] == hashlib.sha256(written.read_bytes()).hexdigest()
    code, out, _ = run(capsys, "exports", "--store", str(team), "--dataset", "secure-r")
    assert code == 0 and out.strip() == "No exports yet."


def test_the_same_export_twice_is_refused_in_one_line(
    team: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Seed 000 (identical file is fatal): the second run exits 2 with the reason."""
    argv = ["--store", str(team), "--dataset", "cjit-q", "--period", JUNE, "--out", str(tmp_path)]
    assert run(capsys, "export", *argv)[0] == 0
    code, out, err = run(capsys, "export", *argv)
    assert code == 2 and out == ""
    assert err.startswith("pathway: Nothing has changed") and err.count("\n") == 1


def test_a_worker_is_refused_in_one_line(
    team: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Issue 6 item 4 (only managers export)."""
    monkeypatch.setenv("PATHWAY_USER", "wes")
    code, _, err = run(
        capsys,
        "export",
        *("--store", str(team), "--dataset", "cjit-q", "--period", JUNE, "--out", str(tmp_path)),
    )
    assert code == 2 and err == "pathway: Only a manager can export the NDTMS file.\n"
    assert not list(tmp_path.glob("*.csv"))


@pytest.mark.parametrize(
    ("period", "out", "message"),
    [
        ("2025-13", None, "has no month 13"),
        ("June", None, "is not a month"),
        (JUNE, "missing", "there is no such folder"),
    ],
)
def test_bad_input_exits_2_with_one_line(
    team: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    period: str,
    out: str | None,
    message: str,
) -> None:
    folder = tmp_path / (out or "")
    code, stdout, err = run(
        capsys,
        "export",
        *("--store", str(team), "--dataset", "cjit-q", "--period", period, "--out", str(folder)),
    )
    assert code == 2 and stdout == ""
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
