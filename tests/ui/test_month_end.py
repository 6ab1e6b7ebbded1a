"""The month-end windows (issue 6, items 2-6) as a manager uses them, offscreen: the
pre-upload check, the export with its override, progress and cancel, the export history,
the monthly report and the printed sheet.

Rules cited: issue 6 item 2 and seed 000 (load % = records without errors / all records,
DQ % = records without warnings / all records; records with errors held back unless
explicitly included; a file identical to the last export refused); item 4 (only managers
export; a cancelled export writes nothing; each export is an audit event); dataset Q v4.2
DRUG1 (requirement "reject"), SEX (code list) and DAT (requirement "dq").
"""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Callable, Iterator
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from PySide6.QtCore import Qt
from PySide6.QtGui import QAction
from PySide6.QtWidgets import (
    QApplication,
    QFileDialog,
    QLabel,
    QMessageBox,
    QTableWidget,
    QTreeWidgetItem,
)
from pytestqt.qtbot import QtBot

from desktop.domain.period import Period
from desktop.domain.spec import RefData
from desktop.export import pdf
from desktop.export.pdf import sheet as pdf_sheet
from desktop.export.submission import ExportError, check, history
from desktop.storage.errors import StoreError
from desktop.storage.extract import reading
from desktop.storage.store import Store
from desktop.ui.main_window import MainWindow
from desktop.ui.month_end import (
    CheckWindow,
    ExportDialog,
    MonthEnd,
    last_month,
    month_end_of,
    months_up_to,
    remembered_folder,
)
from desktop.ui.month_end import check as check_part
from desktop.ui.month_end import export as export_part
from tests.export.conftest import PASSWORD, TODAY, cjit, clock, reopen, secure
from tests.fixtures import MakeStore
from tests.report import kit
from tests.report.pdftext import page_count

REPO = Path(__file__).resolve().parents[2]
OCTOBER = Period(2026, 10)
IN_OCTOBER = date(2026, 3, 1)  # triaged then and still open: open during October 2026


# ---------------------------------------------------------------------- fixtures


def fill(store: Store) -> dict[str, str]:
    """Seven October records built to known findings (seeds 201-207), and one left out:

    - clean1..clean3: no finding;
    - no_drug: DRUG1 blank (dataset Q DRUG1 requirement "reject": an error only);
    - bad_sex: SEX "7" (not in the list: an error) and DAT blank (requirement "dq": a warning);
    - no_dat1, no_dat2: DAT blank (a warning only);
    - refused: CONSENT "N": not in the file at all.

    By hand: 7 records, 2 with errors, 3 with warnings; load % = 5/7 = 71.4,
    DQ % = 4/7 = 57.1.
    """
    recs = {
        "clean1": cjit(201, triaged=IN_OCTOBER, PC="NR14 7UJ"),
        "clean2": cjit(202, triaged=IN_OCTOBER, PC="SR1 3AB"),
        "clean3": cjit(206, triaged=IN_OCTOBER, PC="LS1 4DY"),
        "no_drug": cjit(203, triaged=IN_OCTOBER, PC="NR14 7UJ"),
        "bad_sex": cjit(204, triaged=IN_OCTOBER, PC="NR14 7UJ", SEX="7", DAT=""),
        "no_dat1": cjit(205, triaged=IN_OCTOBER, PC="LS1 4DY", DAT=""),
        "no_dat2": cjit(207, triaged=IN_OCTOBER, PC="SR1 3AB", DAT=""),
        "refused": cjit(208, triaged=IN_OCTOBER, consent="N"),
    }
    recs["no_drug"].pop("DRUG1")
    return {name: store.episodes.save(rec, today=TODAY).episode_id for name, rec in recs.items()}


@pytest.fixture
def store(make_store: MakeStore) -> Store:
    return make_store(name="team.store", clock=clock)


@pytest.fixture
def ids(store: Store) -> dict[str, str]:
    return fill(store)


@pytest.fixture
def window(store: Store, ids: dict[str, str], qtbot: QtBot) -> Iterator[MainWindow]:
    w = MainWindow(store)
    qtbot.addWidget(w)
    w.resize(1366, 740)
    w.show()
    yield w
    w.jobs.stop_all()
    w.editing.stop()
    w.idle.stop()


@pytest.fixture
def me(window: MainWindow) -> MonthEnd:
    found = month_end_of(window)
    assert found is not None
    return found


@pytest.fixture
def out(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The folder the manager picks in the folder chooser."""
    folder = tmp_path / "out"
    folder.mkdir()
    monkeypatch.setattr(
        QFileDialog, "getExistingDirectory", staticmethod(lambda *a, **k: str(folder))
    )
    return folder


def settle(me: MonthEnd) -> None:
    """Let every job end and deliver its result on the window's thread."""
    while me.jobs.running:
        for job in me.jobs.active:
            job.wait()
        QApplication.processEvents()


def gate_export(monkeypatch: pytest.MonkeyPatch) -> threading.Event:
    """Hold the export at its start until the returned event is set."""
    gate = threading.Event()
    real = export_part.export

    def gated(*args: Any, **kwargs: Any) -> object:
        gate.wait()
        return real(*args, **kwargs)

    monkeypatch.setattr(export_part, "export", gated)
    return gate


def open_check(me: MonthEnd) -> CheckWindow:
    window = me.show_check()
    settle(me)
    assert window.checked is not None
    return window


def rule_row(window: CheckWindow, rule_id: str) -> QTreeWidgetItem:
    assert window.checked is not None
    index = [r.rule_id for r in window.checked.rules].index(rule_id)
    row = window.findings.topLevelItem(index)
    assert row is not None
    return row


def export_now(me: MonthEnd, *, include_errors: bool = False) -> ExportDialog:
    dialog = me.show_export(OCTOBER)
    dialog.include_errors.setChecked(include_errors)
    dialog.export_button.click()
    settle(me)
    return dialog


def audit_rows(store: Store, action: str) -> list[tuple[Any, ...]]:
    with reading(store) as extract:
        return list(
            extract.db.execute(
                "SELECT entity, entity_id, user_id, changes FROM audit_events WHERE action = ?",
                (action,),
            )
        )


# ---------------------------------------------------------------------- the menu and months


def test_month_end_menu_is_installed(window: MainWindow) -> None:
    (menu,) = [m for m in window.menuBar().actions() if m.text() == "&Month end"]
    names = [a.text() for a in menu.menu().actions() if not a.isSeparator()]  # type: ignore[attr-defined]
    assert names == [
        "&Check…",
        "&Export…",
        "Export &history…",
        "Monthly &report…",
        "&Print sheet (PDF)…",
    ]


def test_the_month_offered_first_is_last_month() -> None:
    assert last_month(date(2026, 11, 24)) == Period(2026, 10)
    assert last_month(date(2027, 1, 3)) == Period(2026, 12)
    assert months_up_to(date(2026, 2, 1), 3) == [Period(2026, 2), Period(2026, 1), Period(2025, 12)]


# ---------------------------------------------------------------------- the check


def test_check_window_shows_the_portals_counts_and_percentages(
    me: MonthEnd, store: Store, ids: dict[str, str]
) -> None:
    """Issue 6 item 2, seed 000: load % and DQ % as the portal reports them, on a fixture
    counted by hand (7 records, 2 with errors, 3 with warnings) and as check() counts."""
    window = open_check(me)
    assert window.period.period() == OCTOBER  # last month, by the store's clock
    figures = {key: label.text() for key, label in window.figures.items()}
    assert figures == {
        "records": "7",
        "with_errors": "2",
        "with_warnings": "3",
        "with_mismatches": "0",
        "load_pct": "71.4%",
        "dq_pct": "57.1%",
    }
    expected = check(store, "cjit-q", OCTOBER)
    assert figures["load_pct"] == f"{expected.load_pct:.1f}%"
    assert figures["dq_pct"] == f"{expected.dq_pct:.1f}%"
    assert "Left out: 1 episode whose client has not (now) consented" in window.notes.text()
    # Findings grouped by rule, with the counts check() gives.
    shown = [
        (window.findings.topLevelItem(i).text(2), window.findings.topLevelItem(i).text(3))  # type: ignore[union-attr]
        for i in range(window.findings.topLevelItemCount())
    ]
    assert shown == [(str(r.records), str(r.count)) for r in expected.rules]
    dq = rule_row(window, "required_dq")
    assert (dq.text(2), dq.text(3)) == ("3", "3")
    window.findings.expandItem(dq)
    hits = {dq.child(i).data(0, check_part.ROLE_HIT)[:2] for i in range(dq.childCount())}
    assert hits == {(ids[n], "DAT") for n in ("bad_sex", "no_dat1", "no_dat2")}
    # Held back: the two records with errors.
    held = {
        window.held.topLevelItem(i).data(0, check_part.ROLE_HIT)[0]  # type: ignore[union-attr]
        for i in range(window.held.topLevelItemCount())
    }
    assert held == {ids["no_drug"], ids["bad_sex"]}
    assert window.held_title.text().startswith("Held back from the file: 2 records")


def test_choosing_a_finding_calls_open_record_with_episode_and_field(
    me: MonthEnd, ids: dict[str, str]
) -> None:
    """Issue 6 item 2: a click on a finding opens the record at the field."""
    calls: list[tuple[str, str]] = []

    def recorder(episode_id: str, header: str, item: int | None = None) -> None:
        calls.append((episode_id, header))

    window = CheckWindow(me, recorder)
    settle(me)
    reject = rule_row(window, "required_reject")
    window.findings.expandItem(reject)
    assert reject.childCount() == 1
    window.findings.itemActivated.emit(reject.child(0), 0)
    assert calls == [(ids["no_drug"], "DRUG1")]
    window.close()


def test_double_clicking_a_finding_opens_the_episode_at_the_field(
    me: MonthEnd, window: MainWindow, ids: dict[str, str], qtbot: QtBot
) -> None:
    """Issue 6 item 2: the main window opens the episode and puts the cursor in the field."""
    check_window = open_check(me)
    code = rule_row(check_window, "code_not_in_list")
    check_window.findings.expandItem(code)
    row = code.child(0)
    qtbot.waitExposed(check_window)
    where = check_window.findings.visualItemRect(row).center()
    viewport = check_window.findings.viewport()
    qtbot.mouseClick(viewport, Qt.MouseButton.LeftButton, pos=where)
    qtbot.mouseDClick(viewport, Qt.MouseButton.LeftButton, pos=where)
    assert window.editing.episode_id == ids["bad_sex"]
    assert window.focusWidget() is window.sheet.editors["SEX"].input


def test_a_check_that_fails_says_why_in_plain_words(
    me: MonthEnd, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A refusal of the store is shown in its own words; anything else as an unexpected
    problem naming only its type, never a traceback."""

    def refused(*_a: Any, **_k: Any) -> object:
        raise ExportError("The store refused; try again.")

    def broken(*_a: Any, **_k: Any) -> object:
        raise RuntimeError("no client data here")

    monkeypatch.setattr(check_part, "check", refused)
    window = me.show_check()
    settle(me)
    assert window.status.text() == "The store refused; try again."
    monkeypatch.setattr(check_part, "check", broken)
    window.run_check()
    settle(me)
    assert window.status.text().startswith(
        "The check could not be finished because of an unexpected problem (RuntimeError)."
    )
    assert window.checked is None


# ---------------------------------------------------------------------- the export


def test_export_writes_the_file_into_the_chosen_folder(
    me: MonthEnd, store: Store, ids: dict[str, str], out: Path
) -> None:
    """Issue 6 item 4: into the folder the manager chooses; records with errors held back;
    the result says the file name, rows, SHA-256 and how many were held back."""
    dialog = export_now(me)
    (written,) = out.iterdir()
    assert written.name == "CJ123-20261001-20261031-Q.csv"
    text = dialog.outcome.text()
    sha = hashlib.sha256(written.read_bytes()).hexdigest()
    assert f"Written: {written.name}" in text
    assert f"SHA-256: {sha}" in text
    assert "Held back for errors: 2 records" in text
    assert dialog.written is not None and set(dialog.written.held_back) == {
        ids["no_drug"],
        ids["bad_sex"],
    }
    assert f"Rows: {dialog.written.rows} (5 episodes)" in text
    assert remembered_folder("export") == out
    assert [h.sha256 for h in history(store)] == [sha]
    assert not me.jobs.busy


def test_including_errors_asks_first_and_says_how_many(
    me: MonthEnd, ids: dict[str, str], out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 6 item 2: records with errors are held back, with an explicit override."""
    asked: list[str] = []
    answer = [QMessageBox.StandardButton.No]

    def question(_parent: object, _title: str, text: str, *args: object) -> object:
        asked.append(text)
        return answer[0]

    monkeypatch.setattr(QMessageBox, "question", staticmethod(question))
    dialog = export_now(me, include_errors=True)
    assert len(asked) == 1 and asked[0].startswith("2 records with errors")
    assert list(out.iterdir()) == [] and dialog.outcome.text() == "Nothing was exported."
    answer[0] = QMessageBox.StandardButton.Yes
    dialog = export_now(me, include_errors=True)
    assert dialog.written is not None and dialog.written.episodes == 7
    assert dialog.written.held_back == ()


def test_cancel_leaves_no_file(
    me: MonthEnd, store: Store, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 6 item 4: a progress bar with cancel; a cancelled export writes nothing."""
    gate = gate_export(monkeypatch)
    dialog = me.show_export(OCTOBER)
    try:
        dialog.export_button.click()
        assert dialog.running and not dialog.progress.isHidden()
        assert not dialog.close_button.isEnabled()
        dialog.progress.cancel.click()
    finally:
        gate.set()
        settle(me)
    assert list(out.iterdir()) == []
    assert history(store) == []
    assert dialog.outcome.text() == "The export was cancelled; no file was written."
    assert dialog.progress.isHidden() and dialog.export_button.isEnabled()


def test_autosave_and_the_idle_lock_wait_for_the_export(
    me: MonthEnd, window: MainWindow, store: Store, out: Path, monkeypatch: pytest.MonkeyPatch,
    qtbot: QtBot,
) -> None:  # fmt: skip
    """While an export holds the store's write lock the window writes nothing; the idle
    lock still wins: it cancels the export (nothing written), then locks."""
    gate = gate_export(monkeypatch)
    busy: list[bool] = []
    me.jobs.busy_changed.connect(busy.append)
    saves: list[bool] = []
    monkeypatch.setattr(window.editing, "save", lambda: saves.append(True) or True)
    dialog = me.show_export(OCTOBER)
    try:
        dialog.export_button.click()
        assert me.jobs.busy and busy == [True]
        window.editing.autosave_ms = 0
        window.sheet.changed.emit()  # typing: a save due at once
        window.idle.start(0)
        qtbot.wait(30)
        assert saves == []  # held back
        assert all(job.cancelled for job in me.jobs.active)
        assert store.is_open
    finally:
        gate.set()
        settle(me)
    assert busy == [True, False]
    assert list(out.iterdir()) == []
    assert not store.is_open  # locked once the export had stopped
    assert me.export_dialog is None


def test_after_the_export_a_held_back_save_is_made(
    me: MonthEnd, window: MainWindow, out: Path, monkeypatch: pytest.MonkeyPatch, qtbot: QtBot
) -> None:
    gate = gate_export(monkeypatch)
    saves: list[bool] = []
    monkeypatch.setattr(window.editing, "save", lambda: saves.append(True) or True)
    dialog = me.show_export(OCTOBER)
    try:
        dialog.export_button.click()
        window.editing.autosave_ms = 0
        window.sheet.changed.emit()  # typing: a save due at once
        qtbot.wait(30)
        assert saves == []
        window.editing.autosave_ms = 60_000  # so that it is seen waiting, not yet fired
    finally:
        gate.set()
        settle(me)
    assert len(list(out.iterdir())) == 1
    assert window.editing.save_pending  # the save that waited is made now


def test_a_prison_team_checks_and_exports_dataset_r(
    make_store: MakeStore, qtbot: QtBot, out: Path
) -> None:
    """Issue 6: both datasets; a secure-setting store's windows work on dataset R."""
    store = make_store("secure", name="prison.store", clock=clock)
    try:
        store.episodes.save(secure(301, TRIAGED="2026-10-05"), today=TODAY)
        window = MainWindow(store)
        qtbot.addWidget(window)
        me = month_end_of(window)
        assert me is not None
        check_window = open_check(me)
        assert check_window.checked is not None and check_window.checked.dataset == "secure-r"
        assert check_window.figures["records"].text() == "1"
        dialog = export_now(me)
        assert dialog.written is not None, dialog.outcome.text()
        assert [p.name for p in out.iterdir()] == ["L0001-20261001-20261031-R.csv"]
        me.jobs.stop_all()
        window.editing.stop()
        window.idle.stop()
    finally:
        store.close(backup_reason=None)


def test_a_worker_cannot_export_and_sees_why(
    store: Store, ids: dict[str, str], tmp_path: Path, qtbot: QtBot, out: Path
) -> None:
    """Issue 6 item 4: only managers export."""
    store.users.add("wes", PASSWORD, role="worker")
    path = store.path
    store.close(backup_reason=None)
    worker = reopen(path, "wes")
    try:
        window = MainWindow(worker)
        qtbot.addWidget(window)
        me = month_end_of(window)
        assert me is not None
        dialog = me.show_export()
        assert not dialog.why_not.isHidden()
        assert "Only a manager can export" in dialog.why_not.text()
        assert not dialog.export_button.isEnabled()
        dialog.start()
        settle(me)
        assert list(out.iterdir()) == []
        report = me.show_report()
        assert report.status.text().startswith("Only a manager can read the monthly report")
        window.editing.stop()
        window.idle.stop()
    finally:
        worker.close(backup_reason=None)


def test_an_identical_file_is_refused_in_plain_words(me: MonthEnd, out: Path) -> None:
    """Issue 6 item 2: NDTMS rejects a file it already has, so it is not written."""
    first = export_now(me)
    assert first.written is not None
    before = first.written.path.read_bytes()
    second = export_now(me)
    text = second.outcome.text()
    assert text.startswith("Nothing has changed since the Q file for October 2026")
    assert "No file was written" in text
    assert "NDTMS rejects a file it already has" in text
    assert [p.name for p in out.iterdir()] == [first.written.path.name]
    assert first.written.path.read_bytes() == before


def test_history_lists_who_when_dataset_period_counts_and_sha(
    me: MonthEnd, out: Path, store: Store
) -> None:
    """Issue 6 item 3."""
    dialog = export_now(me)
    assert dialog.written is not None
    window = me.show_history()
    table = window.table
    assert table.rowCount() == 1
    row = {table.horizontalHeaderItem(c).text(): table.item(0, c).text() for c in range(9)}  # type: ignore[union-attr]
    assert row["By"] == "amy"
    assert row["Dataset"] == "Q (cjit-q)"
    assert row["Month"] == "October 2026"
    assert row["File"] == dialog.written.path.name
    assert (row["Rows"], row["Episodes"], row["Held back"]) == (
        str(dialog.written.rows),
        "5",
        "2",
    )
    assert row["SHA-256"] == dialog.written.sha256


# ---------------------------------------------------------------------- the report


@pytest.fixture
def report_window_of(
    make_store: MakeStore, refdata: RefData, qtbot: QtBot
) -> Iterator[Callable[[], Any]]:
    """A main window on the report fixture (March 2025), and its report window."""
    store = make_store(name="report.store")
    kit.fill_cjit(store, refdata)
    window = MainWindow(store)
    qtbot.addWidget(window)
    me = month_end_of(window)
    assert me is not None

    def make() -> Any:
        report = me.show_report()
        settle(me)
        report.period.set_period(Period(2025, 3))
        settle(me)
        return report

    yield make
    me.jobs.stop_all()
    window.editing.stop()
    window.idle.stop()
    store.close(backup_reason=None)


def test_report_window_renders_and_saves_the_pdf(
    report_window_of: Callable[[], Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 6 item 5: the report's measures as pages and tables; "Save as PDF…"."""
    report_window = report_window_of()
    report = report_window.report
    assert report is not None and report.period == Period(2025, 3)
    pages = [
        w for w in report_window.pages.findChildren(QLabel) if w.accessibleName() == "Report page"
    ]
    assert len(pages) == len(pdf.report_pages(report)) and not pages[0].pixmap().isNull()
    titles = [t.accessibleName() for t in report_window.tables.findChildren(QTableWidget)]
    assert titles == [m.title for m in report.measures]
    activity = report.measures[0]
    (table,) = [
        t
        for t in report_window.tables.findChildren(QTableWidget)
        if t.accessibleName() == activity.title
    ]
    assert table.item(0, 1).text() == str(activity.rows[0].counts[0])  # type: ignore[union-attr]
    target = tmp_path / "pdfs" / "march"
    target.parent.mkdir()
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "PDF"))
    )
    saved = report_window.save_pdf()
    assert saved == target.with_name("march.pdf")
    data = saved.read_bytes()
    assert data.startswith(b"%PDF-") and page_count(data) == len(pages)
    assert remembered_folder("pdf") == target.parent


# ---------------------------------------------------------------------- the printed sheet


def test_printing_a_sheet_is_an_audit_event(
    window: MainWindow, me: MonthEnd, store: Store, ids: dict[str, str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Issue 6 item 6: who printed which episode and when is in the audit trail, with no
    client data in the event."""
    window.editing.open(ids["clean1"])
    target = tmp_path / "sheet.pdf"
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "PDF"))
    )
    (action,) = [a for a in window.findChildren(QAction) if a.objectName() == "print_sheet"]
    action.trigger()
    assert page_count(target.read_bytes()) == 1
    ((entity, entity_id, user_id, changes),) = audit_rows(store, "print_sheet")
    assert (entity, entity_id, user_id) == ("episode", ids["clean1"], store.user.id)
    assert changes in (None, "", "{}") or json.loads(changes) in ({}, None)
    assert store.backups.verify_audit().ok


def test_pathway_sheet_command_is_an_audit_event(
    tmp_path: Path,
    make_store: MakeStore,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """Issue 6 item 6 (``pathway sheet --pdf``): the same audit event as the window."""
    from desktop.cli import main

    path = tmp_path / "cli.store"
    store = make_store(name=path.name, clock=clock)
    episode = store.episodes.save(cjit(211, triaged=IN_OCTOBER), today=TODAY).episode_id
    store.close(backup_reason=None)
    monkeypatch.setenv("PATHWAY_USER", "amy")
    monkeypatch.setenv("PATHWAY_PASSWORD", PASSWORD)
    target = tmp_path / "sheet.pdf"
    code = main(["sheet", "--store", str(path), "--episode", episode, "--pdf", str(target)])
    assert code == 0 and target.exists()
    capsys.readouterr()
    again = reopen(path)
    try:
        ((entity, entity_id, _user, _changes),) = audit_rows(again, "print_sheet")
        assert (entity, entity_id) == ("episode", episode)
    finally:
        again.close(backup_reason=None)


def test_a_sheet_whose_printing_cannot_be_recorded_is_not_kept(
    window: MainWindow, me: MonthEnd, ids: dict[str, str], tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    """Issue 6 item 6: no sheet leaves without its audit event, from the window or from
    ``pathway sheet``: if the store cannot record who printed it, the PDF is removed."""
    from desktop.cli import main

    def refused(*_a: Any, **_k: Any) -> None:
        raise StoreError("The store could not record it.")

    window.editing.open(ids["clean1"])
    target = tmp_path / "sheet.pdf"
    monkeypatch.setattr(
        QFileDialog, "getSaveFileName", staticmethod(lambda *a, **k: (str(target), "PDF"))
    )
    monkeypatch.setattr(pdf_sheet, "note_printed", refused)
    said: list[str] = []
    monkeypatch.setattr(window, "say", said.append)
    assert me.print_sheet() is None
    assert not target.exists()
    assert said == ["The store could not record it. The sheet was not kept."]
    path = window.store.path
    window.lock()
    monkeypatch.setenv("PATHWAY_USER", "amy")
    monkeypatch.setenv("PATHWAY_PASSWORD", PASSWORD)
    code = main(["sheet", "--store", str(path), "--episode", ids["clean1"], "--pdf", str(target)])
    assert code == 2 and not target.exists()
    assert "The sheet was not kept." in capsys.readouterr().err


def test_locking_closes_the_month_end_windows(me: MonthEnd, window: MainWindow) -> None:
    """Locking hides every piece of client data, the month-end windows included."""
    open_check(me)
    me.show_history()
    window.lock()
    assert me.check_window is None and me.history_window is None
    assert not me.jobs.running


# ---------------------------------------------------------------------- screenshots


def test_screenshots_of_the_check_and_the_report(
    me: MonthEnd, report_window_of: Callable[[], Any], qtbot: QtBot, screenshots: Path
) -> None:
    """Saved for people to look at (build/test-screenshots); synthetic records only."""
    folder = screenshots
    folder.mkdir(parents=True, exist_ok=True)
    check_window = open_check(me)
    check_window.resize(1200, 760)
    for name in ("required_reject", "required_dq"):
        check_window.findings.expandItem(rule_row(check_window, name))
    qtbot.wait(50)
    assert check_window.grab().save(str(folder / "month-end-check.png"))
    report_window = report_window_of()
    report_window.resize(1000, 900)
    qtbot.wait(50)
    assert report_window.grab().save(str(folder / "month-end-report.png"))
