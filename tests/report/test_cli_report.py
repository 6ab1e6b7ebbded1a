"""``pathway report`` and ``pathway sheet`` (month-end issue 6, item 7: "report --period
YYYY-MM --pdf FILE", with ``--store PATH`` like every command)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pytest

from desktop.cli import main
from desktop.domain.spec import RefData
from tests.fixtures import MakeStore
from tests.report import kit
from tests.report.pdftext import page_count, page_texts


@dataclass(frozen=True)
class Team:
    store: str
    episodes: list[str]


@pytest.fixture
def team(
    tmp_path: Path, make_store: MakeStore, refdata: RefData, monkeypatch: pytest.MonkeyPatch
) -> Team:
    """A CJIT store holding the report fixture, a manager (amy) and a worker (bob)."""
    path = tmp_path / "team.store"
    store = make_store(name=path.name)
    episodes = [s.episode_id for s in kit.fill_cjit(store, refdata, markers=True)]
    store.users.add("bob", "bob's password", "worker")
    store.close(backup_reason=None)
    monkeypatch.setenv("PATHWAY_USER", "amy")
    monkeypatch.setenv("PATHWAY_PASSWORD", kit.PASSWORD)
    return Team(str(path), episodes)


def as_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PATHWAY_USER", "bob")
    monkeypatch.setenv("PATHWAY_PASSWORD", "bob's password")


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_report_writes_the_pdf(
    team: Team, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "out" / "march.pdf"
    code, stdout, err = run(
        capsys, "report", "--store", team.store, "--period", "2025-03", "--pdf", str(out)
    )
    assert (code, err) == (0, "")
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    pages = page_count(data)
    assert stdout == (
        f"Monthly report for March 2025 written to {out} ({pages} pages; counts only).\n"
    )
    text = "\n".join(page_texts(data))
    assert "agency CJ123" in text
    assert kit.NAME not in text


def test_report_prints_the_counts_as_text_or_json(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    code, text, _ = run(capsys, "report", "--store", team.store, "--period", "2025-03")
    assert code == 0
    assert text.startswith("Monthly report: CJ123, NDTMS CJIT (dataset Q), March 2025")
    assert "  Contacts assessed" in text
    assert kit.NAME not in text and kit.CLIENT_REF not in text
    code, out, _ = run(capsys, "report", "--store", team.store, "--period", "2025-03", "--json")
    data = json.loads(out)
    activity = next(m for m in data["measures"] if m["key"] == "activity")
    assert activity["rows"][0] == {"label": "Contacts assessed", "code": None, "counts": [3]}
    assert (data["agency"], data["period"], data["episodes"]) == ("CJ123", "2025-03", 10)


def test_report_of_the_other_dataset_is_refused(
    team: Team, capsys: pytest.CaptureFixture[str]
) -> None:
    """A store keeps one team's dataset; asking a CJIT store for the prisons report says so
    in one line rather than printing a report of nothing."""
    code, out, err = run(
        capsys, "report", "--store", team.store, "--period", "2025-03", "--dataset", "secure-r",
    )  # fmt: skip
    assert (code, out) == (2, "")
    assert err == (
        "pathway: This store is for NDTMS CJIT (dataset Q); it holds no NDTMS adult secure"
        " settings (dataset R) episodes to report on.\n"
    )
    code, out, _ = run(
        capsys, "report", "--store", team.store, "--period", "2025-03", "--dataset", "cjit-q",
        "--json",
    )  # fmt: skip
    assert code == 0
    assert json.loads(out)["dataset"] == "cjit-q"


def test_report_refuses_a_worker(
    team: Team, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Only managers read the monthly report; nothing is written for anyone else."""
    as_worker(monkeypatch)
    out = tmp_path / "march.pdf"
    code, stdout, err = run(
        capsys, "report", "--store", team.store, "--period", "2025-03", "--pdf", str(out)
    )
    assert (code, stdout) == (2, "")
    assert err == "pathway: Only a manager can read the monthly report.\n"
    assert not out.exists()


@pytest.mark.parametrize("period", ["2025-13", "March 2025", "2025/03", "03-2025", ""])
def test_bad_period_is_a_one_line_message(
    team: Team, tmp_path: Path, capsys: pytest.CaptureFixture[str], period: str
) -> None:
    out = tmp_path / "march.pdf"
    code, stdout, err = run(
        capsys, "report", "--store", team.store, "--period", period, "--pdf", str(out)
    )
    assert (code, stdout) == (2, "")
    assert err.startswith("pathway: --period: ")
    assert "YYYY-MM" in err or "01 to 12" in err
    assert err.count("\n") == 1
    assert not out.exists()


def test_report_into_a_folder_is_refused(
    team: Team, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    code, _, err = run(
        capsys, "report", "--store", team.store, "--period", "2025-03", "--pdf", str(tmp_path)
    )
    assert code == 2
    assert err == f"pathway: {tmp_path} is a folder; give a file name ending in .pdf\n"


def test_sheet_for_any_user(
    team: Team, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 6 item 6: a worker prints one episode on one confidential page."""
    as_worker(monkeypatch)
    out = tmp_path / "sheet.pdf"
    code, stdout, err = run(
        capsys, "sheet", "--store", team.store, "--episode", team.episodes[0], "--pdf", str(out)
    )
    assert (code, err) == (0, "")
    assert stdout.startswith(f"Episode sheet written to {out}. It holds personal data")
    data = out.read_bytes()
    assert page_count(data) == 1
    text = page_texts(data)[0]
    assert f"Client: {kit.NAME}" in text
    assert "CONFIDENTIAL — contains personal data" in text


def test_sheet_of_an_unknown_episode_is_one_line(
    team: Team, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "sheet.pdf"
    code, stdout, err = run(
        capsys, "sheet", "--store", team.store, "--episode", "0" * 32, "--pdf", str(out)
    )
    assert (code, stdout) == (2, "")
    assert err == "pathway: That episode is not in this store (it may have been deleted).\n"
    assert not out.exists()
