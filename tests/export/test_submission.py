"""The NDTMS submission file: who is in it, what each row holds, and how it is written.

Rules cited: issue 6 items 1 and 4 (dataset Q = cjit-q, dataset R = secure-r);
reliability #14 (export: consent and minimisation); seeds 001/002 field PC (postcode cut
by its last two characters, ZZ99 3VZ for no fixed abode) and field DAT (the CJIT's own
DAT as proxy for no fixed abode).
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import replace
from datetime import date
from pathlib import Path

import pytest

from desktop import CMSID
from desktop.domain.period import Period
from desktop.domain.spec import ExportFormat, ExportSettings, RefData, RowShape
from desktop.domain.values import normalise_postcode
from desktop.export.submission import (
    Cancelled,
    ExportError,
    IdenticalFile,
    check,
    export,
    history,
)
from desktop.storage.errors import NotPermitted
from desktop.storage.extract import reading
from desktop.storage.store import Store
from tests.export.conftest import (
    PASSWORD,
    TODAY,
    as_dicts,
    cjit,
    clock,
    read_rows,
    reopen,
    secure,
)
from tests.fixtures import MakeStore

OCTOBER = "2026-10"
IN_OCTOBER = date(2026, 3, 1)  # triaged then, still open: open during October 2026


def _exported_clients(path: Path) -> set[str]:
    return {row["CLIENTID"] for row in as_dicts(path)}


# ---------------------------------------------------------------------- consent


def test_q_exports_exactly_the_clients_whose_current_ndtms_consent_is_yes(
    store: Store, out: Path
) -> None:
    """Reliability #14, dataset Q, seeds 1-8: consent Y, N, Y then withdrawn, N then given
    again, unknown, refused then given but the given one backdated before it, and sharing
    consent only: the exported client set is exactly the current-yes set (precision =
    recall = 1), and nothing of the others is in the file. Saving an episode records its
    CONSENT as an event dated today; the newest event by date, then by entry, decides."""
    yes = store.episodes.save(cjit(1, triaged=IN_OCTOBER, consent="Y"), today=TODAY)
    no = store.episodes.save(cjit(2, triaged=IN_OCTOBER, consent="N"), today=TODAY)
    withdrawn = store.episodes.save(cjit(3, triaged=IN_OCTOBER, consent="Y"), today=TODAY)
    store.consent.record(withdrawn.client_id, "ndtms", "withdrawn", TODAY)
    given_again = store.episodes.save(cjit(4, triaged=IN_OCTOBER, consent="N"), today=TODAY)
    store.consent.record(given_again.client_id, "ndtms", "given", TODAY)
    unknown = store.episodes.save(cjit(5, triaged=IN_OCTOBER, consent=None), today=TODAY)
    backdated = store.episodes.save(cjit(6, triaged=IN_OCTOBER, consent="N"), today=TODAY)
    store.consent.record(backdated.client_id, "ndtms", "given", date(2026, 11, 1))
    sharing_only = store.episodes.save(cjit(7, triaged=IN_OCTOBER, consent="N"), today=TODAY)
    store.consent.record(sharing_only.client_id, "sharing", "given", TODAY)
    still_yes = store.episodes.save(cjit(8, triaged=IN_OCTOBER, consent="Y"), today=TODAY)
    store.consent.record(still_yes.client_id, "ndtms", "withdrawn", date(2026, 11, 1))

    result = export(store, "cjit-q", OCTOBER, out, include_errors=True)

    expected = {yes.client_id, given_again.client_id, still_yes.client_id}
    assert _exported_clients(result.path) == expected
    assert result.episodes == 3 and result.left_out_no_consent == 5
    text = result.path.read_text(encoding="utf-8")
    for left_out in (no, withdrawn, unknown, backdated, sharing_only):
        assert left_out.client_id not in text and left_out.episode_id not in text
    rows = {row["CLIENTID"]: row for row in as_dicts(result.path)}
    assert rows[given_again.client_id]["CONSENT"] == "Y"  # consent as it is now


def test_r_exports_only_clients_with_current_consent(make_store: MakeStore, out: Path) -> None:
    """Reliability #14 for dataset R, seed 11: the same rule holds for the secure dataset."""
    store = make_store("secure", name="prison.store", clock=clock)
    try:
        yes = store.episodes.save(secure(11), today=TODAY)
        withdrawn = store.episodes.save(secure(12), today=TODAY)
        store.consent.record(withdrawn.client_id, "ndtms", "withdrawn", TODAY)
        no = store.episodes.save(secure(13, CONSENT="N"), today=TODAY)
        result = export(store, "secure-r", OCTOBER, out, include_errors=True)
    finally:
        store.close(backup_reason=None)
    assert _exported_clients(result.path) == {yes.client_id}
    text = result.path.read_text(encoding="utf-8")
    assert withdrawn.client_id not in text and no.client_id not in text


# ---------------------------------------------------------------------- minimisation


def test_no_name_note_or_full_postcode_leaves_the_store(store: Store, out: Path) -> None:
    """Reliability #14, dataset Q, seeds 21-24: names, client notes and episode notes
    (marked) and full postcodes appear nowhere in the file; no column outside the spec."""
    postcodes = ("NR14 7UJ", "SR1 3AB", "LS1 4DY", "ZZ99 3VZ")
    for n, postcode in enumerate(postcodes):
        store.episodes.save(
            cjit(21 + n, triaged=IN_OCTOBER, PC=postcode),
            client_name=f"ZQXNAME-{n} Jane Example",
            client_notes=f"ZQXCLIENTNOTE-{n} lives with her sister",
            notes=f"ZQXNOTE-{n} seen at court",
            today=TODAY,
        )
    result = export(store, "cjit-q", OCTOBER, out)
    data = result.path.read_bytes()
    assert result.episodes == len(postcodes)
    for marker in (b"ZQXNAME", b"ZQXCLIENTNOTE", b"ZQXNOTE", b"Jane", b"sister", b"court"):
        assert marker not in data
    for postcode in postcodes:
        assert postcode.encode() not in data
        assert postcode.replace(" ", "").encode() not in data
    header = read_rows(result.path)[0]
    assert set(header) <= set(store.refdata.datasets["cjit-q"].headers)


def test_every_pc_is_the_stored_postcode_less_its_last_two_characters(
    store: Store, out: Path
) -> None:
    """Seeds 001/002 field PC, seeds 31-37: NR14 7UJ -> NR14 7 (space kept), ZZ99 3VZ ->
    ZZ99 3, lower case and missing spaces read as a postcode first."""
    stored = {}
    for n, postcode in enumerate(
        ("NR14 7UJ", "SR1 3AB", "M1 1AE", "ZZ99 3VZ", "ne8 1hh", "B11BB", "LS1 4DY")
    ):
        saved = store.episodes.save(cjit(31 + n, triaged=IN_OCTOBER, PC=postcode), today=TODAY)
        stored[saved.client_id] = postcode
    rows = as_dicts(export(store, "cjit-q", OCTOBER, out).path)
    assert len(rows) == len(stored)
    for row in rows:
        assert row["PC"] == normalise_postcode(stored[row["CLIENTID"]])[:-2]
    assert {r["PC"] for r in rows} >= {"NR14 7", "ZZ99 3", "NE8 1", "B1 1"}


def test_a_pc_that_is_not_a_postcode_is_sent_blank(store: Store, out: Path) -> None:
    """Reliability #14 (no full postcode leaves), seed 38: a mistyped PC, sent with errors
    included, is blank rather than cut (which could leave most of an address)."""
    store.episodes.save(cjit(38, triaged=IN_OCTOBER, PC="12 High Street NR14 7UJ"), today=TODAY)
    (row,) = as_dicts(export(store, "cjit-q", OCTOBER, out, include_errors=True).path)
    assert row["PC"] == ""


def test_no_fixed_abode_gets_the_teams_own_dat(store: Store, out: Path) -> None:
    """Seed 001 (dataset Q v4.2) fields DAT and PC, seeds 41-44: a client of no fixed abode
    (ZZ99 3VZ, housing 'rough sleeping', tag no_fixed_abode) with no DAT is sent with the
    CJIT's own DAT; a client with ZZ99 3VZ who is not of no fixed abode (living outside the
    UK) is not given it and is sent without a DAT; a stated DAT is kept."""
    nfa = store.episodes.save(
        cjit(41, triaged=IN_OCTOBER, PC="ZZ99 3VZ", HOUSING="17", DAT=""), today=TODAY
    )
    housed = store.episodes.save(
        cjit(42, triaged=IN_OCTOBER, PC="NR14 7UJ", DAT="Z00B"), today=TODAY
    )
    abroad = store.episodes.save(
        cjit(43, triaged=IN_OCTOBER, PC="ZZ99 3VZ", HOUSING="1", DAT=""), today=TODAY
    )
    stated = store.episodes.save(
        cjit(44, triaged=IN_OCTOBER, PC="ZZ99 3VZ", HOUSING="1", DAT="Z00B"), today=TODAY
    )
    rows = {r["CLIENTID"]: r for r in as_dicts(export(store, "cjit-q", OCTOBER, out).path)}
    assert rows[nfa.client_id]["DAT"] == "A12B"
    assert rows[housed.client_id]["DAT"] == "Z00B"
    assert rows[abroad.client_id]["DAT"] == ""
    assert rows[stated.client_id]["DAT"] == "Z00B"


def test_cmsid_agency_and_dates_come_from_the_application_and_setup(
    store: Store, out: Path
) -> None:
    """Issue 6 item 1, seed 51: CMSID is the application's name and version, AGNCY the
    agency code from setup (whatever the record says), dates DD/MM/YYYY by default."""
    saved = store.episodes.save(
        cjit(51, triaged=IN_OCTOBER, AGNCY="CJ999", CMSID="OTHER-1.0"), today=TODAY
    )
    (row,) = as_dicts(export(store, "cjit-q", OCTOBER, out).path)
    assert row["CLIENTID"] == saved.client_id
    assert row["CMSID"] == CMSID and row["AGNCY"] == "CJ123"
    assert row["TRIAGED"] == "01/03/2026" and row["DOB"] == "17/05/1985"
    assert row["REFDATE"] == "03/03/2026"


# ---------------------------------------------------------------------- rows and format


def test_header_is_the_dataset_specification_in_order(store: Store, out: Path) -> None:
    """Issue 6 item 1, dataset Q: the header is every field of the spec, in its order."""
    store.episodes.save(cjit(61, triaged=IN_OCTOBER), today=TODAY)
    result = export(store, "cjit-q", OCTOBER, out)
    assert read_rows(result.path)[0] == list(store.refdata.datasets["cjit-q"].headers)


def test_one_row_per_referral_with_client_and_episode_fields_repeated(
    store: Store, out: Path
) -> None:
    """Issue 6 item 1, dataset Q, seeds 62-63: two referrals give two rows repeating the
    client and episode fields; an episode without referrals gives one row, REFERID blank."""
    two = store.episodes.save(cjit(62, triaged=IN_OCTOBER, referrals=2), today=TODAY)
    none = store.episodes.save(cjit(63, triaged=IN_OCTOBER, referrals=0), today=TODAY)
    result = export(store, "cjit-q", OCTOBER, out)
    rows = as_dicts(result.path)
    mine = [r for r in rows if r["EPISODID"] == two.episode_id]
    assert len(mine) == 2 and result.rows == 3 and result.episodes == 2
    record_headers = [f.header for f in store.refdata.datasets["cjit-q"].record_fields]
    assert all(mine[0][h] == mine[1][h] for h in record_headers)
    assert mine[0]["REFERID"] != mine[1]["REFERID"] and all(r["REFERID"] for r in mine)
    (alone,) = [r for r in rows if r["EPISODID"] == none.episode_id]
    assert alone["REFERID"] == "" and alone["REFDATE"] == ""


def test_r_has_one_row_per_intervention_and_its_header(make_store: MakeStore, out: Path) -> None:
    """Issue 6 item 1, dataset R, seed 71: one row per intervention, header from the spec."""
    store = make_store("secure", name="prison.store", clock=clock)
    try:
        rec = secure(71)
        first = rec["interventions"][0]  # type: ignore[index]
        rec["interventions"] = [first, dict(first)]  # type: ignore[index]
        saved = store.episodes.save(rec, today=TODAY)
        result = export(store, "secure-r", OCTOBER, out, include_errors=True)
    finally:
        store.close(backup_reason=None)
    header, *rows = read_rows(result.path)
    assert header == list(store.refdata.datasets["secure-r"].headers)
    assert len(rows) == 2 and result.path.name == "L0001-20261001-20261031-R.csv"
    assert {r[header.index("EPISODID")] for r in rows} == {saved.episode_id}


def test_file_is_rfc4180_utf8_without_bom_with_crlf_and_round_trips(
    store: Store, out: Path
) -> None:
    """Issue 6 item 1 (RFC 4180 quoting, UTF-8 without BOM, CRLF by default), seed 81:
    the file reads back through csv.reader to exactly the rows written."""
    store.episodes.save(cjit(81, triaged=IN_OCTOBER, CLIENT='Ré, "quoted"'), today=TODAY)
    result = export(store, "cjit-q", OCTOBER, out, include_errors=True)
    data = result.path.read_bytes()
    assert data.startswith(b"CLIENTID,") and data.endswith(b"\r\n")
    assert data.count(b"\r\n") == result.rows + 1 and b"\n" not in data.replace(b"\r\n", b"")
    assert hashlib.sha256(data).hexdigest() == result.sha256
    rows = as_dicts(result.path)
    assert rows[0]["CLIENT"] == 'Ré, "quoted"'
    assert b'"R\xc3\xa9, ""quoted"""' in data


def test_formula_values_are_neutralised_and_counted(store: Store, out: Path) -> None:
    """ASVS 1.2.10, seed 91: a value starting with = + - or @ is sent with a leading ' and
    counted; validation holds such a record back unless errors are included."""
    store.episodes.save(cjit(91, triaged=IN_OCTOBER, CLIENT='=HYPERLINK("x")'), today=TODAY)
    held = export(store, "cjit-q", OCTOBER, out)
    assert held.episodes == 0 and len(held.held_back) == 1 and held.rows == 0
    sent = export(store, "cjit-q", OCTOBER, out, include_errors=True)
    (row,) = as_dicts(sent.path)
    assert row["CLIENT"] == '\'=HYPERLINK("x")' and sent.neutralised == 1


def test_export_settings_in_the_manifest_change_the_file(
    make_store: MakeStore, refdata: RefData, out: Path
) -> None:
    """Issue 6 item 1 (row shape, date format, line ending and file name are settings),
    seed 95: ISO dates, LF, another name pattern and one row per episode."""
    base = refdata
    base_format = base.export.default
    changed = replace(
        base,
        export=ExportSettings(
            default=base_format,
            datasets={
                "cjit-q": ExportFormat(
                    date_format="YYYY-MM-DD",
                    line_ending="LF",
                    file_name="{dataset}_{AGNCY}_{start}.csv",
                    rows=RowShape.PER_EPISODE,
                )
            },
        ),
    )
    store = make_store(name="other.store", refdata=changed, clock=clock)
    try:
        store.episodes.save(cjit(95, triaged=IN_OCTOBER, referrals=2), today=TODAY)
        result = export(store, "cjit-q", OCTOBER, out)
    finally:
        store.close(backup_reason=None)
    data = result.path.read_bytes()
    assert result.path.name == "Q_CJ123_20261001.csv"
    assert b"\r" not in data and result.rows == 1
    (row,) = as_dicts(result.path)
    assert row["TRIAGED"] == "2026-03-01" and row["REFDATE"] == "2026-03-03"


# ---------------------------------------------------------------------- which episodes


def test_period_selection_open_closed_and_changed_episodes(store: Store, out: Path) -> None:
    """Issue 6 item 1 (which episodes), seeds 101-106, October 2026: open before and closed
    after, still open, and closed within are in; closed before or opened after are out.
    After that export, a change to the one closed before October puts it in the next
    export; a change to the one opened after October leaves it for its own month."""
    ids = {}
    for seed, name, kw in (
        (101, "spans", {"triaged": date(2026, 9, 1), "closed": date(2026, 11, 5)}),
        (102, "open", {"triaged": date(2026, 2, 1)}),
        (103, "within", {"triaged": date(2026, 10, 3), "closed": date(2026, 10, 20)}),
        (104, "closed_on_first", {"triaged": date(2026, 5, 1), "closed": date(2026, 10, 1)}),
        (105, "closed_before", {"triaged": date(2026, 5, 1), "closed": date(2026, 9, 30)}),
        (106, "opened_after", {"triaged": date(2026, 11, 2)}),
    ):
        ids[store.episodes.save(cjit(seed, **kw), today=TODAY).episode_id] = name
    october = {ids[r["EPISODID"]] for r in as_dicts(export(store, "cjit-q", OCTOBER, out).path)}
    assert october == {"spans", "open", "within", "closed_on_first"}

    for name in ("closed_before", "opened_after"):
        episode = next(e for e, n in ids.items() if n == name)
        raw = store.episodes.load(episode).raw
        store.episodes.save({**raw, "ALCUNITS": 3}, today=TODAY)
    again = {ids[r["EPISODID"]] for r in as_dicts(export(store, "cjit-q", OCTOBER, out).path)}
    assert again == october | {"closed_before"}


def test_a_cjit_episode_waits_for_its_caseload_decision(store: Store, out: Path) -> None:
    """Seed 000 FAQ ("wait until the outcome of the next appointment is known before
    entering onto NDTMS CJIT"): an episode with neither a caseload start nor a closure is
    held back with that reason, even when errors are included, and sent once decided."""
    rec = cjit(111, triaged=IN_OCTOBER)
    rec.pop("CPLANDT")
    rec["referrals"] = []
    saved = store.episodes.save(rec, today=TODAY)
    checked = check(store, "cjit-q", OCTOBER, today=TODAY)
    assert checked.records == 0
    assert [h.episode_id for h in checked.undecided] == [saved.episode_id]
    assert "caseload decision" in checked.undecided[0].errors[0].message
    result = export(store, "cjit-q", OCTOBER, out, include_errors=True, today=TODAY)
    assert result.episodes == 0 and result.undecided == 1
    decided = {**store.episodes.load(saved.episode_id).raw, "CPLANDT": IN_OCTOBER.isoformat()}
    store.episodes.save(decided, today=TODAY)
    again = export(store, "cjit-q", OCTOBER, out, today=TODAY)
    assert again.episodes == 1 and again.undecided == 0


def test_a_month_not_yet_started_or_badly_written_is_refused(store: Store, out: Path) -> None:
    """Issue 6 item 7 (periods are months YYYY-MM)."""
    with pytest.raises(ExportError, match="has not started yet"):
        export(store, "cjit-q", "2027-01", out)
    with pytest.raises(ExportError, match="YYYY-MM"):
        export(store, "cjit-q", "October", out)
    assert Period.parse("2024-02").end == date(2024, 2, 29)
    assert list(out.iterdir()) == []


# ---------------------------------------------------------------------- writing safely


def test_a_file_identical_to_the_last_export_is_refused(store: Store, out: Path) -> None:
    """Seed 000 (a file identical to the previous one is a fatal error), seed 121: the
    second export is refused with the reason and nothing is written; after a change it
    goes through."""
    saved = store.episodes.save(cjit(121, triaged=IN_OCTOBER), today=TODAY)
    first = export(store, "cjit-q", OCTOBER, out)
    before = first.path.read_bytes()
    with pytest.raises(IdenticalFile, match="identical") as refused:
        export(store, "cjit-q", OCTOBER, out)
    assert "NDTMS rejects a file it already has" in str(refused.value)
    assert first.path.read_bytes() == before
    assert sorted(p.name for p in out.iterdir()) == [first.path.name]
    assert len(history(store)) == 1
    raw = store.episodes.load(saved.episode_id).raw
    store.episodes.save({**raw, "ALCUNITS": 7}, today=TODAY)
    second = export(store, "cjit-q", OCTOBER, out)
    assert second.sha256 != first.sha256 and len(history(store)) == 2


def test_only_a_manager_exports(store: Store, out: Path) -> None:
    """Issue 6 item 4 (only managers can export): a worker is refused and nothing is
    written; the worker may still run the check."""
    store.episodes.save(cjit(131, triaged=IN_OCTOBER), today=TODAY)
    store.users.add("wes", PASSWORD, role="worker")
    path = store.path
    store.close(backup_reason=None)
    worker = reopen(path, "wes")
    try:
        with pytest.raises(NotPermitted, match="Only a manager can export the NDTMS file"):
            export(worker, "cjit-q", OCTOBER, out)
        assert check(worker, "cjit-q", OCTOBER).records == 1
    finally:
        worker.close(backup_reason=None)
    assert list(out.iterdir()) == []


def test_cancelling_from_progress_leaves_no_file_and_no_history(store: Store, out: Path) -> None:
    """Issue 6 item 4 (progress with cancel): returning False stops the export; no file, no
    temporary file, no history row, nothing remembered."""
    for n in range(3):
        store.episodes.save(cjit(141 + n, triaged=IN_OCTOBER), today=TODAY)
    calls: list[tuple[int, int]] = []

    def progress(done: int, total: int) -> bool:
        calls.append((done, total))
        return len(calls) < 2

    with pytest.raises(Cancelled, match="no file was written"):
        export(store, "cjit-q", OCTOBER, out, progress=progress)
    assert calls == [(0, 3), (3, 3)]
    assert list(out.iterdir()) == []
    assert history(store) == []
    with reading(store) as extract:
        assert extract.db.execute("SELECT count(*) FROM exported_values").fetchone()[0] == 0


def test_each_export_is_an_audit_event_and_a_history_row(store: Store, out: Path) -> None:
    """Issue 6 items 3 and 4: who, when, dataset, month, counts, SHA-256, file name and
    episode ids are kept; the audit chain records the export and still verifies."""
    saved = store.episodes.save(cjit(151, triaged=IN_OCTOBER, referrals=2), today=TODAY)
    result = export(store, "cjit-q", OCTOBER, out)
    (entry,) = history(store, "cjit-q")
    assert (entry.created_by, entry.dataset, entry.period) == ("amy", "cjit-q", OCTOBER)
    assert (entry.rows, entry.episodes, entry.held_back) == (2, 1, 0)
    assert entry.sha256 == result.sha256 and entry.file_name == result.path.name
    assert history(store, "secure-r") == []
    with reading(store) as extract:
        ids = extract.db.execute("SELECT episode_ids FROM export_batches").fetchone()[0]
        actions = [
            r[0]
            for r in extract.db.execute(
                "SELECT action FROM audit_events WHERE entity = 'export_batch'"
            )
        ]
    assert json.loads(ids) == [saved.episode_id] and actions == ["export"]
    assert store.backups.verify_audit().ok


def test_a_missing_folder_is_refused(store: Store, tmp_path: Path) -> None:
    """Issue 6 item 4 (into a folder the manager chooses): no folder is made silently."""
    with pytest.raises(ExportError, match="no folder"):
        export(store, "cjit-q", OCTOBER, tmp_path / "nowhere")
    assert not (tmp_path / "nowhere").exists()
