"""The manager's team-bundles window (issue 8, item 4): bundles received from each laptop
and when, importing a bundle file, and deciding conflicts with both sides shown."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtWidgets import QToolBar
from pytestqt.qtbot import QtBot

from desktop.export import bundle
from desktop.storage import transfer
from desktop.storage.store import Store
from desktop.ui.bundles import BundlesDialog, open_bundles
from tests.fixtures import MakeStore
from tests.transfer.conftest import edit, episodes_by_ref, fresh, key_of


@dataclass
class Pair:
    folder: Path
    manager: Store
    worker: Store
    conflicted: Path  # a bundle whose import leaves one conflict
    damaged: Path


@pytest.fixture
def pair(tmp_path: Path, make_store: MakeStore) -> Iterator[Pair]:
    manager = make_store(name="manager.store", user="meg")
    worker = make_store(name="worker.store", user="wes")
    try:
        mkey = key_of(manager, tmp_path / "mkey")
        wkey = key_of(worker, tmp_path / "wkey")
        worker.episodes.import_records(fresh(3, seed=41))
        first = bundle.export_team(worker, mkey, tmp_path / "w1.pwbundle")
        bundle.import_bundle(manager, first.path)
        back = bundle.export_team(manager, wkey, tmp_path / "m1.pwbundle")
        bundle.import_bundle(worker, back.path)
        episode = episodes_by_ref(manager)[0]
        edit(manager, episode, ALCUNITS=150)
        edit(worker, episode, ALCUNITS=160)
        second = bundle.export_team(worker, mkey, tmp_path / "w2.pwbundle")
        damaged = tmp_path / "damaged.pwbundle"
        damaged.write_bytes(second.path.read_bytes()[:-5])
        yield Pair(tmp_path, manager, worker, second.path, damaged)
    finally:
        for s in (manager, worker):
            if s.is_open:
                s.close(backup_reason=None)


def test_the_dialog_lists_bundles_imports_and_decides(pair: Pair, qtbot: QtBot) -> None:
    dialog = open_bundles(None, pair.manager)
    qtbot.addWidget(dialog)
    assert isinstance(dialog, BundlesDialog) and dialog.isVisible()
    assert "bundle key" in dialog.key_label.text()
    assert dialog.sources.rowCount() == 1
    assert "wes (CJ123" in dialog.sources.item(0, 0).text()
    assert dialog.sources.item(0, 3).text() == "verified"
    assert dialog.received.rowCount() == 1 and dialog.conflict_table.rowCount() == 0
    assert not dialog.keep_local.isEnabled()

    before = pair.manager.backups.counts()
    assert not dialog.import_file(pair.damaged)
    assert "cut short" in dialog.message.text()
    assert pair.manager.backups.counts() == before

    with qtbot.waitSignal(dialog.changed):
        assert dialog.import_file(pair.conflicted)
    assert "1 conflicts to decide" in dialog.message.text()
    assert dialog.received.rowCount() == 2
    assert dialog.sources.item(0, 1).text() == "2"
    assert dialog.conflict_table.rowCount() == 1
    row = [dialog.conflict_table.item(0, c).text() for c in range(5)]
    assert row[1] == "Units on a typical drinking day"
    assert row[2].startswith("150") and "meg" in row[2] and "this store" in row[2]
    assert row[3].startswith("160") and "wes" in row[3]
    assert row[4] == "incoming"

    dialog.conflict_table.selectRow(0)
    assert dialog.keep_local.isEnabled()
    with qtbot.waitSignal(dialog.changed):
        dialog.keep_local.click()
    assert "Kept 150" in dialog.message.text()
    assert dialog.conflict_table.rowCount() == 0
    episode = episodes_by_ref(pair.manager)[0]
    assert pair.manager.episodes.load(episode).raw["ALCUNITS"] == 150
    assert not transfer.conflicts(pair.manager)
    dialog.close()


def test_managers_get_a_team_bundles_action_in_the_main_window(pair: Pair, qtbot: QtBot) -> None:
    from desktop.ui.main_window import MainWindow

    window = MainWindow(pair.manager)
    qtbot.addWidget(window)
    toolbar = window.findChild(QToolBar, "actions")
    assert toolbar is not None
    action = next(a for a in toolbar.actions() if a.text() == "Team bundles")
    action.trigger()
    dialog = window.findChild(BundlesDialog)
    assert dialog is not None and dialog.isVisible()
    dialog.close()
    window.editing.stop()
    window.idle.stop()
