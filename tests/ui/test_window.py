"""The window as a worker uses it (offscreen): caseload, typing, saving as you go, locking."""

from __future__ import annotations

from pathlib import Path

import pytest
from PySide6.QtCore import Qt
from PySide6.QtWidgets import QComboBox
from pytestqt.qtbot import QtBot

from desktop.domain.spec import RefData
from desktop.storage.store import CaseloadQuery, Store
from desktop.ui.caseload import CaseloadModel
from desktop.ui.dialogs import SetupDialog, UnlockDialog
from desktop.ui.main_window import MainWindow
from tests.fixtures import PASSWORD, MakeRecords

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def store(store: Store, records: MakeRecords) -> Store:
    """The team store holding 30 synthetic episodes."""
    for rec in records(30, seed=11):
        store.episodes.save(rec)
    return store


def test_caseload_model_is_a_well_behaved_qt_model(store: Store, qtmodeltester: object) -> None:
    model = CaseloadModel(store, CaseloadQuery(dataset="cjit-q"))
    qtmodeltester.check(model)  # type: ignore[attr-defined]


def test_caseload_pages_and_sorts_in_the_store(store: Store, refdata: RefData) -> None:
    from desktop.ui import caseload

    model = CaseloadModel(store, CaseloadQuery(dataset="cjit-q"))
    old_page = caseload.PAGE
    try:
        caseload.PAGE = 7
        model.set_query(model.query)
        assert model.rowCount() == 7
        assert model.canFetchMore()
        while model.canFetchMore():
            model.fetchMore()
        assert model.rowCount() == 30
    finally:
        caseload.PAGE = old_page
    model.sort(2, Qt.SortOrder.AscendingOrder)
    births = [model.row_at(i).dob for i in range(model.rowCount())]
    assert births == sorted(births)


def test_search_filters_the_caseload(window: MainWindow, qtbot: QtBot) -> None:
    ref = window.caseload.model.row_at(0).client_ref
    assert ref is not None
    qtbot.keyClicks(window.caseload.search, ref)
    assert window.caseload.model.rowCount() == 1
    assert window.caseload.count.text() == "1 episode"


def test_a_closure_reason_from_the_wrong_set_is_marked_at_once(
    window: MainWindow, qtbot: QtBot, refdata: RefData
) -> None:
    """Dataset Q appendix E: before a caseload start date only 'prior to caseload' reasons."""
    window.new_episode()
    sheet = window.sheet
    for header, value in (("FINITIAL", "J"), ("SINITIAL", "B"), ("TRIAGED", "01/11/2026")):
        editor = sheet.editors[header]
        qtbot.keyClicks(editor.input, value)
    reason = sheet.editors["CJDISRSN"].input
    assert isinstance(reason, QComboBox)
    offered = {reason.itemData(i) for i in range(reason.count())} - {""}
    assert offered == set(refdata.lists["CJDISRSN_PRIOR"].codes)
    wrong = next(iter(set(refdata.lists["CJDISRSN_CASELOAD"].codes) - offered))
    reason.setEditText(wrong)
    rules = {f.rule_id for f in sheet.current_findings if f.field == "CJDISRSN"}
    assert rules
    assert sheet.editors["CJDISRSN"].marker.text() != ""


def test_no_consent_shows_that_the_record_stays_here(window: MainWindow, qtbot: QtBot) -> None:
    """Seed 000 FAQ: a client who refuses consent is recorded but never submitted."""
    window.new_episode()
    consent = window.sheet.editors["CONSENT"].input
    assert isinstance(consent, QComboBox)
    consent.setEditText("N")
    assert window.sheet.banner.isVisible()
    assert "never submitted" in window.sheet.banner.text()
    consent.setEditText("Y")
    assert not window.sheet.banner.isVisible()


def test_typing_is_saved_as_you_go(window: MainWindow, qtbot: QtBot, store: Store) -> None:
    before = store.caseload.count()
    window.new_episode()
    qtbot.keyClicks(window.sheet.editors["FINITIAL"].input, "Q")
    editing = window.editing
    qtbot.waitUntil(lambda: editing.episode_id is not None and not editing.dirty, timeout=5000)
    assert store.caseload.count() == before + 1
    saved = store.episodes.load(str(window.editing.episode_id))
    assert saved.raw["FINITIAL"] == "Q"


def test_half_typed_date_survives_save_and_reopen(
    window: MainWindow, qtbot: QtBot, store: Store
) -> None:
    window.new_episode()
    qtbot.keyClicks(window.sheet.editors["DOB"].input, "31/02/19")
    assert window.editing.save()
    episode = str(window.editing.episode_id)
    window.new_episode()
    window.editing.open(episode)
    assert window.sheet.editors["DOB"].value() == "31/02/19"


def test_lock_hides_every_client_detail_and_forgets_the_key(
    window: MainWindow, qtbot: QtBot, store: Store
) -> None:
    window.editing.open(window.caseload.model.row_at(0).episode_id)
    qtbot.keyClicks(window.sheet.editors["ALCUNITS"].input, "7")
    with qtbot.waitSignal(window.locked, timeout=10_000):
        window.lock()
    assert not store.is_open
    assert window.caseload.model.rowCount() == 0
    assert all(e.value() == "" for e in window.sheet.editors.values())
    assert window.sheet.items.items() == []
    assert not window.isVisible()


def test_idle_lock_fires_by_itself(store: Store, qtbot: QtBot) -> None:
    w = MainWindow(store, idle_ms=50)
    qtbot.addWidget(w)
    w.show()
    with qtbot.waitSignal(w.locked, timeout=5000):
        pass
    assert not store.is_open


def test_lock_keeps_the_edit_and_returns_to_it(
    window: MainWindow, qtbot: QtBot, store: Store, refdata: RefData
) -> None:
    """The half-typed change is saved before locking; after unlock the same user gets it."""
    episode = window.caseload.model.row_at(0).episode_id
    window.editing.open(episode)
    window.sheet.editors["ALCUNITS"].input.setText("")
    qtbot.keyClicks(window.sheet.editors["ALCUNITS"].input, "19")
    window.lock()
    again = Store.open(store.path, "amy", PASSWORD, refdata=refdata)
    try:
        assert again.episodes.load(episode).raw["ALCUNITS"] == "19"
        assert again.places.last() == episode
    finally:
        again.close(backup_reason=None)


def test_unlock_dialog_says_one_plain_thing_on_a_wrong_password(
    store: Store, qtbot: QtBot, refdata: RefData
) -> None:
    path = store.path
    store.close(backup_reason=None)
    dialog = UnlockDialog(path, refdata, user="amy")
    qtbot.addWidget(dialog)
    dialog.password.setText("not it")
    dialog.unlock()
    assert dialog.message.text() == "The user name or password is not right."
    assert dialog.password.text() == ""
    dialog.password.setText(PASSWORD)
    dialog.unlock()
    assert dialog.store is not None
    dialog.store.close(backup_reason=None)


def test_setup_makes_a_store_with_a_manager(tmp_path: Path, qtbot: QtBot, refdata: RefData) -> None:
    dialog = SetupDialog(tmp_path / "new.store", refdata)
    qtbot.addWidget(dialog)
    dialog.agency.setText("cj9")
    dialog.user.setText("amy")
    dialog.password.setText("short")
    dialog.again.setText("short")
    dialog.create_store()
    assert "at least 8" in dialog.message.text()
    dialog.password.setText("long enough pass")
    dialog.again.setText("long enough pass")
    dialog.create_store()
    assert dialog.store is not None
    assert dialog.store.user.is_manager
    assert dialog.store.settings.agency == "CJ9"
    dialog.store.close(backup_reason=None)


def test_screenshots_of_the_caseload_and_the_sheet(
    window: MainWindow, qtbot: QtBot, screenshots: Path
) -> None:
    """Saved for people to look at (build/test-screenshots); synthetic clients only."""
    out = screenshots
    out.mkdir(parents=True, exist_ok=True)
    window.editing.open(window.caseload.model.row_at(0).episode_id)
    qtbot.wait(50)
    assert window.grab().save(str(out / "cjit-sheet.png"))
    window.new_episode()
    consent = window.sheet.editors["CONSENT"].input
    assert isinstance(consent, QComboBox)
    consent.setEditText("N")
    qtbot.keyClicks(window.sheet.editors["DOB"].input, "31/02/1990")
    qtbot.wait(50)
    assert window.grab().save(str(out / "cjit-new-contact.png"))


def test_after_a_crash_the_window_reopens_on_the_record_being_edited(
    store: Store, qtbot: QtBot, refdata: RefData
) -> None:
    """Nothing lost: the record being edited is where the next start begins."""
    from PySide6.QtWidgets import QApplication

    from desktop.ui.app import Session

    first = MainWindow(store)
    qtbot.addWidget(first)
    episode = first.caseload.model.row_at(3).episode_id
    first.editing.open(episode)
    qtbot.keyClicks(first.sheet.editors["ALCUNITS"].input, "5")
    assert first.editing.save()
    # A crash: nothing closes cleanly; the operating system drops the lock and the key.
    first.editing.stop()
    first.idle.stop()
    store.close(backup_reason=None)
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    session = Session(app, store.path, refdata, "amy")
    again = Store.open(store.path, "amy", PASSWORD, refdata=refdata)
    session.show_window(again)
    assert session.window is not None
    qtbot.addWidget(session.window)
    try:
        assert session.window.editing.episode_id == episode
        assert session.window.sheet.editors["ALCUNITS"].value().endswith("5")
    finally:
        session.window.idle.stop()
        again.close(backup_reason=None)


def test_a_returning_client_is_offered_before_a_new_one_is_made(
    window: MainWindow, qtbot: QtBot, store: Store
) -> None:
    """NDTMS links episodes on initials, date of birth and sex: offer the existing client,
    and a returning client gets a new episode, never a re-opened one (CJIT FAQ)."""
    known = store.episodes.load(window.caseload.model.row_at(0).episode_id)
    window.new_episode()
    sheet = window.sheet
    sheet.apply({h: known.raw[h] for h in ("FINITIAL", "SINITIAL", "DOB", "SEX")})
    assert window.use_match.isVisibleTo(window)
    assert "already recorded" in window.match.text()
    before = store.caseload.count()
    window.use_match.click()
    assert window.editing.client_id == known.client_id
    assert window.editing.episode_id is not None
    assert window.editing.episode_id != known.episode_id
    assert store.caseload.count() == before + 1
    assert store.episodes.load(window.editing.episode_id).client_id == known.client_id


def test_the_returning_client_offer_asks_the_store_only_when_the_attributors_change(
    window: MainWindow, qtbot: QtBot, store: Store, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Typing elsewhere on a new contact does not search the clients on every keystroke."""
    known = store.episodes.load(window.caseload.model.row_at(0).episode_id)
    asked: list[object] = []
    real = store.caseload.find_clients
    monkeypatch.setattr(store.caseload, "find_clients", lambda *a: asked.append(a) or real(*a))
    window.new_episode()
    window.sheet.apply({h: known.raw[h] for h in ("FINITIAL", "SINITIAL", "DOB", "SEX")})
    assert len(asked) == 1
    qtbot.keyClicks(window.sheet.editors["ALCUNITS"].input, "123")
    assert len(asked) == 1
    assert window.use_match.isVisibleTo(window)
    window.sheet.apply({"SEX": "1" if known.raw["SEX"] != "1" else "2"})
    assert len(asked) == 2


def test_the_weekday_follows_the_date_as_it_is_typed(window: MainWindow, qtbot: QtBot) -> None:
    """Dates show their weekday (issue: CJIT sheet, item 5), even when a keystroke changes
    no finding and the sheet marks nothing again."""
    window.new_episode()
    editor = window.sheet.editors["TRIAGED"]
    qtbot.keyClicks(editor.input, "14/11/2026")
    assert editor.weekday.text() == "Sat"
    editor.input.setText("")
    qtbot.keyClicks(editor.input, "13/11/2026")
    assert editor.weekday.text() == "Fri"
    window.sheet.apply({"TRIAGED": "2026-11-12"})
    assert editor.weekday.text() == "Thu"
