"""Handing a client over from the window (issue 8 item 3; DIR briefing, seed 004): only
with the client's continuity-of-care consent, recorded on the sheet, and sealed for the
receiving team."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtWidgets import QFileDialog, QMessageBox
from pytestqt.qtbot import QtBot

from desktop.export import bundle
from desktop.storage.store import Store
from desktop.storage.transfer import HandoverResult
from desktop.ui.main_window import MainWindow
from tests.fixtures import MakeStore
from tests.transfer.conftest import fresh, key_of


@pytest.fixture
def teams(tmp_path: Path, make_store: MakeStore) -> Iterator[tuple[Store, Store, Path]]:
    cjit = make_store(name="cjit.store", user="ana")
    prison = make_store("secure", name="prison.store", user="pat", agency="L0001")
    try:
        yield cjit, prison, key_of(prison, tmp_path / "prison-key")
    finally:
        for s in (cjit, prison):
            if s.is_open:
                s.close(backup_reason=None)


@pytest.fixture
def said(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    messages: list[str] = []

    def record(_parent: object, _title: str, text: str, *_a: object) -> int:
        messages.append(text)
        return 0

    monkeypatch.setattr(QMessageBox, "information", record)
    monkeypatch.setattr(QMessageBox, "warning", record)
    return messages


def _window(store: Store, qtbot: QtBot) -> MainWindow:
    window = MainWindow(store)
    qtbot.addWidget(window)
    rec = fresh(1, seed=3)[0]
    saved = store.episodes.save(rec)
    window.editing.open(saved.episode_id)
    return window


def _choose(monkeypatch: pytest.MonkeyPatch, key: Path, out: Path) -> None:
    monkeypatch.setattr(QFileDialog, "getOpenFileName", lambda *a, **k: (str(key), ""))
    monkeypatch.setattr(QFileDialog, "getSaveFileName", lambda *a, **k: (str(out), ""))


def test_without_sharing_consent_the_handover_is_refused_and_nothing_written(
    teams: tuple[Store, Store, Path], qtbot: QtBot, monkeypatch: pytest.MonkeyPatch,
    said: list[str], tmp_path: Path,
) -> None:  # fmt: skip
    cjit, _prison, key = teams
    window = _window(cjit, qtbot)
    out = tmp_path / "out.pwbundle"
    _choose(monkeypatch, key, out)
    window.hand_over()
    assert not out.exists()
    assert said and said[-1].startswith("Not handed over.")
    assert "consent" in said[-1]


def test_with_sharing_consent_the_receiving_team_opens_it_as_a_new_episode(
    teams: tuple[Store, Store, Path], qtbot: QtBot, monkeypatch: pytest.MonkeyPatch,
    said: list[str], tmp_path: Path,
) -> None:  # fmt: skip
    cjit, prison, key = teams
    window = _window(cjit, qtbot)
    assert window.guidance is not None
    window.guidance.consent.agencies.setText("L0001 healthcare")
    window.guidance.consent._give()
    out = tmp_path / "out.pwbundle"
    _choose(monkeypatch, key, out)
    window.hand_over()
    assert out.exists(), said
    assert "Only the receiving team can open it" in said[-1]
    result = bundle.import_bundle(prison, out)
    assert isinstance(result, HandoverResult)
    assert prison.episodes.load(result.episode_id).dataset == "secure-r"


def test_nothing_to_hand_over_on_an_empty_sheet(
    teams: tuple[Store, Store, Path], qtbot: QtBot, said: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    cjit, _prison, _key = teams
    window = MainWindow(cjit)
    qtbot.addWidget(window)
    monkeypatch.setattr(MainWindow, "say", lambda self, text: said.append(text))
    window.new_episode()
    window.hand_over()
    assert said == ["Open the client's sheet first, then hand over."]
