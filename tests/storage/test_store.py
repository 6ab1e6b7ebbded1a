"""The store as the window and the command line use it: records in, records out, nothing lost."""

from __future__ import annotations

import copy
from datetime import date, datetime
from pathlib import Path

import pytest

from desktop.domain.spec import RefData
from desktop.storage import keys
from desktop.storage.db import new_id
from desktop.storage.engine import raw_connect
from desktop.storage.errors import (
    ImportRejected,
    NoStore,
    NotPermitted,
    RecordNotFound,
    StoreError,
    StoreExists,
)
from desktop.storage.store import CaseloadQuery, Store, keys_path
from tests.fixtures import PASSWORD, MakeStore, synthetic_records


@pytest.fixture
def store(make_store: MakeStore) -> Store:
    return make_store(name="team.store")


def fresh(refdata: RefData, n: int = 1, dataset: str = "cjit-q", seed: int = 3) -> list[dict]:
    """The ``records`` factory as this module's tests call it (seed 3 unless told)."""
    return synthetic_records(n, dataset, seed=seed, refdata=refdata)


def test_saved_episode_comes_back_as_entered(store: Store, refdata: RefData) -> None:
    raw = next(r for r in fresh(refdata, 40) if len(r["referrals"]) >= 2)
    saved = store.episodes.save(raw, client_name="Jo Bloggs", notes="seen at 3am")
    back = store.episodes.load(saved.episode_id)
    assert back.client_name == "Jo Bloggs"
    assert back.notes == "seen at 3am"
    assert back.raw["CLIENTID"] == saved.client_id
    for header, value in raw.items():
        if header == "referrals":
            continue
        assert back.raw[header] == value, header
    assert [r["REFDATE"] for r in back.raw["referrals"]] == [r["REFDATE"] for r in raw["referrals"]]
    assert all(len(r["REFERID"]) == 32 for r in back.raw["referrals"])


def test_system_fields_are_filled_by_the_store(store: Store, refdata: RefData) -> None:
    """Technical ids are generated (never built from the person); AGNCY and CMSID from setup."""
    raw = fresh(refdata)[0]
    raw.pop("AGNCY")
    saved = store.episodes.save(raw)
    back = store.episodes.load(saved.episode_id).raw
    assert back["AGNCY"] == "CJ123"
    assert str(back["CMSID"]).startswith("PATHWAY-")
    for header in ("CLIENTID", "EPISODID"):
        value = str(back[header])
        assert len(value) == 32
        assert int(value, 16) >= 0
        assert str(raw["FINITIAL"]) not in value.upper() or value.lower() == value


def test_ids_are_unique_across_many_saves(store: Store, refdata: RefData) -> None:
    ids = {store.episodes.save(r).episode_id for r in fresh(refdata, 40)}
    assert len(ids) == 40


def test_half_typed_values_are_kept_not_lost(store: Store, refdata: RefData) -> None:
    """A save keeps what was typed even when it does not pass the rules yet."""
    raw = {"FINITIAL": "J", "DOB": "31/02/19", "DRUG1": "not a code", "CONSENT": "Y"}
    saved = store.episodes.save(raw)
    assert saved.summary.errors > 0
    back = store.episodes.load(saved.episode_id)
    assert back.raw["DOB"] == "31/02/19"
    assert back.raw["DRUG1"] == "not a code"


def test_update_bumps_version_and_records_field_changes(store: Store, refdata: RefData) -> None:
    raw = fresh(refdata)[0]
    first = store.episodes.save(raw)
    again = store.episodes.load(first.episode_id).raw
    again["ALCUNITS"] = 99
    second = store.episodes.save(again)
    assert second.version == first.version + 1
    assert store.episodes.load(first.episode_id).raw["ALCUNITS"] == 99
    changes = _audit_changes(store, first.episode_id)
    assert any('"ALCUNITS"' in c and "99" in c for c in changes)


def test_removed_referral_is_deleted_and_audited(store: Store, refdata: RefData) -> None:
    raw = next(r for r in fresh(refdata, 40) if len(r["referrals"]) >= 2)
    saved = store.episodes.save(raw)
    back = store.episodes.load(saved.episode_id).raw
    gone = back["referrals"][0]["REFERID"]
    back["referrals"] = back["referrals"][1:]
    store.episodes.save(back)
    assert all(r["REFERID"] != gone for r in store.episodes.load(saved.episode_id).raw["referrals"])
    assert any(c for c in _audit_changes(store, str(gone)))


def test_client_fields_are_shared_between_episodes(store: Store, refdata: RefData) -> None:
    """Client-level fields (dataset Q, level 'client') belong to the person, not the episode."""
    a, b = fresh(refdata, 2)
    first = store.episodes.save(a)
    b["CLIENTID"] = first.client_id
    second = store.episodes.save(b)
    assert store.episodes.load(first.episode_id).raw["DOB"] == b["DOB"]
    assert second.client_id == first.client_id


def test_episode_cannot_move_to_another_client(store: Store, refdata: RefData) -> None:
    a, b = fresh(refdata, 2)
    first = store.episodes.save(a)
    other = store.episodes.save(b)
    moved = store.episodes.load(first.episode_id).raw
    moved["CLIENTID"] = other.client_id
    with pytest.raises(StoreError, match="another client"):
        store.episodes.save(moved)


def test_consent_change_is_a_dated_consent_event(store: Store, refdata: RefData) -> None:
    """Dataset Q CONSENT 'may change': every change is kept as a dated event (seed 001)."""
    raw = fresh(refdata)[0]
    saved = store.episodes.save(raw, today=date(2026, 11, 1))
    back = store.episodes.load(saved.episode_id).raw
    back["CONSENT"] = "N"
    store.episodes.save(back, today=date(2026, 11, 20))
    history = store.consent.history(saved.client_id)
    assert [(h.kind, h.value, h.recorded_on) for h in history] == [
        ("ndtms", "given", date(2026, 11, 1)),
        ("ndtms", "refused", date(2026, 11, 20)),
    ]
    assert all(h.recorded_by == store.user.id for h in history)


def test_sharing_consent_can_be_given_and_withdrawn(store: Store, refdata: RefData) -> None:
    """Continuity-of-care sharing needs informed consent and can be withdrawn (DIR, seed 004)."""
    saved = store.episodes.save(fresh(refdata)[0])
    store.consent.record(saved.client_id, "sharing", "given", date(2026, 11, 2), agencies="HMP X")
    store.consent.record(saved.client_id, "sharing", "withdrawn", date(2026, 11, 9))
    sharing = [h for h in store.consent.history(saved.client_id) if h.kind == "sharing"]
    assert [(h.value, h.agencies) for h in sharing] == [("given", "HMP X"), ("withdrawn", None)]
    with pytest.raises(StoreError):
        store.consent.record(saved.client_id, "sharing", "maybe", date(2026, 11, 9))
    with pytest.raises(RecordNotFound):
        store.consent.record("0" * 32, "sharing", "given", date(2026, 11, 9))


def test_caseload_sorts_filters_and_pages(store: Store, refdata: RefData) -> None:
    saved = [store.episodes.save(r) for r in fresh(refdata, 12)]
    total = store.caseload.count()
    assert total == 12
    page = store.caseload.page(CaseloadQuery(limit=5, order_by="opened_on", descending=False))
    assert len(page) == 5
    opened = [r.opened_on for r in page]
    assert opened == sorted(opened)
    rest = store.caseload.page(
        CaseloadQuery(offset=5, limit=50, order_by="opened_on", descending=False)
    )
    assert len(rest) == 7
    assert {r.episode_id for r in page} | {r.episode_id for r in rest} == {
        s.episode_id for s in saved
    }
    open_only = store.caseload.page(CaseloadQuery(open_only=True, limit=100))
    assert all(r.closed_on is None for r in open_only)
    assert store.caseload.count(CaseloadQuery(open_only=True)) == len(open_only)
    mine = store.caseload.count(CaseloadQuery(owner_id=store.user.id))
    assert mine == 12


def test_caseload_search_by_reference_initials_or_birth_date(
    store: Store, refdata: RefData
) -> None:
    raw = fresh(refdata)[0]
    raw.update({"CLIENT": "R777001", "FINITIAL": "Q", "SINITIAL": "Z", "DOB": "1980-05-06"})
    saved = store.episodes.save(raw)
    for r in fresh(refdata, 5, seed=9):
        store.episodes.save(r)
    for text in ("R777", "qz", "1980-05-06"):
        found = store.caseload.page(CaseloadQuery(search=text))
        assert [r.episode_id for r in found] == [saved.episode_id], text


def test_caseload_flags_errors(store: Store, refdata: RefData) -> None:
    good = store.episodes.save(fresh(refdata)[0])
    bad = store.episodes.save({"FINITIAL": "J", "DRUG1": "nope"})
    flagged = store.caseload.page(CaseloadQuery(with_errors=True))
    assert [r.episode_id for r in flagged] == [bad.episode_id]
    assert good.summary.errors == 0


def test_existing_clients_are_found_by_attributors(store: Store, refdata: RefData) -> None:
    """NDTMS links episodes on initials, date of birth and sex; offer a match first."""
    raw = fresh(refdata)[0]
    saved = store.episodes.save(raw, client_name="Jo")
    dob = date.fromisoformat(str(raw["DOB"]))
    matches = store.caseload.find_clients(
        str(raw["FINITIAL"]).lower(), str(raw["SINITIAL"]), dob, str(raw["SEX"])
    )
    assert [(m.client_id, m.name, m.episodes) for m in matches] == [(saved.client_id, "Jo", 1)]
    assert store.caseload.find_clients("X", "X", dob, str(raw["SEX"])) == []


def test_places_return_only_to_their_own_user(store: Store, refdata: RefData) -> None:
    store.users.add("bob", "bob's password")
    first, second = new_id(), new_id()
    store.places.remember(first)
    store.places.remember(second)  # replaces the first
    assert store.places.last() == second
    path = store.path
    store.close(backup_reason=None)
    bob = Store.open(path, "bob", "bob's password", refdata=store.refdata)
    try:
        assert bob.places.last() is None
    finally:
        bob.close(backup_reason=None)
    amy = Store.open(path, "amy", PASSWORD, refdata=store.refdata)
    try:
        assert amy.places.last() == second
        amy.places.remember(None)
        assert amy.places.last() is None
    finally:
        amy.close(backup_reason=None)
    # the fixture's close is a no-op on a closed store
    assert not store.is_open


def test_worker_may_delete_only_their_own_unsent_episode(store: Store, refdata: RefData) -> None:
    finished = store.episodes.save(fresh(refdata)[0])
    store.users.add("bob", "bob's password")
    path = store.path
    store.close(backup_reason=None)
    bob = Store.open(path, "bob", "bob's password", refdata=store.refdata)
    try:
        with pytest.raises(NotPermitted):
            bob.episodes.delete(finished.episode_id)
        mine = bob.episodes.save({"FINITIAL": "A"})
        bob.episodes.delete(mine.episode_id)
        with pytest.raises(RecordNotFound):
            bob.episodes.load(mine.episode_id)
    finally:
        bob.close(backup_reason=None)


def test_deleting_the_only_episode_removes_the_client(store: Store, refdata: RefData) -> None:
    saved = store.episodes.save(fresh(refdata)[0])
    store.episodes.delete(saved.episode_id)
    counts = store.backups.counts()
    assert counts["episodes"] == 0
    assert counts["clients"] == 0
    assert counts["referrals"] == 0
    assert counts["consent_events"] == 0
    assert store.backups.verify_audit().ok


def test_import_is_all_or_nothing(store: Store, refdata: RefData) -> None:
    """A file with one rejected record changes nothing; the message names record and field."""
    good = fresh(refdata, 3)
    bad = copy.deepcopy(good)
    bad[1]["DOB"] = "not a date"
    before = store.backups.counts()
    with pytest.raises(ImportRejected, match=r"record 2, DOB"):
        store.episodes.import_records(bad)
    assert store.backups.counts() == before
    result = store.episodes.import_records(good)
    assert result.episodes == 3
    assert store.caseload.count() == 3


def test_import_takes_a_prompting_event_after_the_contact_as_a_warning(
    store: Store, refdata: RefData
) -> None:
    """Seed 001 (dataset Q v4.2) REFLD states no rejection: a prompting event dated after
    the contact is a warning, so the import takes the file instead of refusing it."""
    recs = fresh(refdata, 2)
    triaged = date.fromisoformat(str(recs[0]["TRIAGED"]))
    recs[0]["REFLD"] = date.fromordinal(triaged.toordinal() + 3).isoformat()
    result = store.episodes.import_records(recs)
    assert result.episodes == 2 and result.warnings >= 1


def test_import_refuses_a_repeated_episode(store: Store, refdata: RefData) -> None:
    recs = fresh(refdata, 2)
    recs[0]["EPISODID"] = recs[1]["EPISODID"] = "a" * 32
    with pytest.raises(ImportRejected, match="repeats episode"):
        store.episodes.import_records(recs)
    assert store.caseload.count() == 0


def test_secure_store_keeps_interventions(make_store: MakeStore, refdata: RefData) -> None:
    with make_store("secure", name="prison.store", agency="HMP01", user="sam", dat=None) as s:
        raw = fresh(refdata, 1, "secure-r")[0]
        saved = s.episodes.save(raw)
        back = s.episodes.load(saved.episode_id)
        assert back.dataset == "secure-r"
        assert [i["MODAL"] for i in back.raw["interventions"]] == [
            i["MODAL"] for i in raw["interventions"]
        ]
        assert s.backups.counts()["interventions"] == len(raw["interventions"])


def test_create_refuses_to_overwrite(store: Store, refdata: RefData) -> None:
    with pytest.raises(StoreExists):
        Store.create(store.path, agency="X", kind="cjit", user="x", password="p", refdata=refdata)


def test_open_of_a_missing_store_says_so(tmp_path: Path, refdata: RefData) -> None:
    with pytest.raises(NoStore, match="no Pathway store"):
        Store.open(tmp_path / "none.store", "amy", PASSWORD, refdata=refdata)


def test_locked_store_refuses_work(store: Store, refdata: RefData) -> None:
    store.lock()
    with pytest.raises(StoreError, match="locked"):
        store.episodes.save(fresh(refdata)[0])


def test_every_action_is_one_audit_event_with_the_worker(store: Store, refdata: RefData) -> None:
    """reliability #19: one audit event per action, carrying the worker's id."""
    saved = store.episodes.save(fresh(refdata)[0])
    key, _ = keys.unwrap_key(keys.read_keyfile(keys_path(store.path)), "amy", PASSWORD)
    conn = raw_connect(store.path, key)
    try:
        rows = conn.execute(
            "SELECT action, entity, user_id FROM audit_events WHERE entity_id = ?",
            (saved.episode_id,),
        ).fetchall()
    finally:
        conn.close()
        keys.zero(key)
    assert ("create", "episode", store.user.id) in rows
    assert ("consent", "episode", store.user.id) in rows


def test_hourly_backup_runs_at_most_once_an_hour(make_store: MakeStore) -> None:
    now = [datetime(2026, 11, 24, 9, 0)]
    with make_store(name="t.store", agency="CJ1", dat=None, clock=lambda: now[0]) as s:
        assert s.backups.maybe_backup() is not None
        now[0] = datetime(2026, 11, 24, 9, 59)
        assert s.backups.maybe_backup() is None
        now[0] = datetime(2026, 11, 24, 10, 0)
        assert s.backups.maybe_backup() is not None


def _audit_changes(store: Store, entity_id: str) -> list[str]:
    key, _ = keys.unwrap_key(keys.read_keyfile(keys_path(store.path)), "amy", PASSWORD)
    conn = raw_connect(store.path, key)
    try:
        return [
            str(r[0])
            for r in conn.execute(
                "SELECT changes FROM audit_events WHERE entity_id = ?", (entity_id,)
            ).fetchall()
        ]
    finally:
        conn.close()
        keys.zero(key)


def test_a_store_keeps_its_own_dataset_only(store: Store, refdata: RefData) -> None:
    """A CJIT store never holds prison episodes (and its caseload counts rely on that)."""
    prison = fresh(refdata, 1, "secure-r")[0]
    with pytest.raises(StoreError, match="This store is for"):
        store.episodes.save(prison, dataset="secure-r")
    with pytest.raises(StoreError, match="This store is for"):
        store.episodes.import_records([prison], dataset="secure-r")
    assert store.caseload.count() == 0


# ------------------------------------------------------------------ returning clients


def test_blank_client_fields_never_erase_what_the_client_has(
    store: Store, refdata: RefData
) -> None:
    """Issue 13 item 2 (one client, many episodes; dataset Q client fields such as ETHNIC
    and NATION): a second episode saved with the client's fields blank keeps them."""
    raw = fresh(refdata)[0]
    first = store.episodes.save(raw)
    known = store.episodes.client_fields(first.client_id)
    assert known.get("ETHNIC") and known.get("NATION")
    second = store.episodes.save({"CLIENTID": first.client_id, "TRIAGED": raw["TRIAGED"]})
    assert second.client_id == first.client_id and second.client_changed == ()
    assert store.episodes.client_fields(first.client_id) == known
    back = store.episodes.load(first.episode_id)
    assert (back.raw["ETHNIC"], back.raw["NATION"]) == (known["ETHNIC"], known["NATION"])


def test_a_cleared_client_field_is_an_explicit_audited_change(
    store: Store, refdata: RefData
) -> None:
    """A worker who empties a client detail on purpose (``cleared``) changes it for every
    episode of the client, and the save says so."""
    raw = fresh(refdata)[0]
    first = store.episodes.save(raw)
    second = store.episodes.save({"CLIENTID": first.client_id, "TRIAGED": raw["TRIAGED"]})
    again = store.episodes.save(
        {**store.episodes.load(second.episode_id).raw, "ETHNIC": None}, cleared=["ETHNIC"]
    )
    assert again.client_changed == ("ETHNIC",) and again.other_episodes == 1
    assert "ETHNIC" not in store.episodes.load(first.episode_id).raw
    assert any("ETHNIC" in c for c in _audit_changes(store, first.client_id))


def test_linking_a_new_contact_moves_it_to_the_existing_client(
    store: Store, refdata: RefData
) -> None:
    """Use this client: the contact saved as the worker went under a client of its own
    becomes an episode of the existing client; that client's details are untouched and
    the contact's consent event moves with it."""
    raw = fresh(refdata)[0]
    first = store.episodes.save(raw)
    known = store.episodes.client_fields(first.client_id)
    contact = store.episodes.save(
        {k: raw[k] for k in ("FINITIAL", "SINITIAL", "DOB", "SEX", "CONSENT")}
    )
    assert contact.client_id != first.client_id
    store.episodes.link(contact.episode_id, first.client_id)
    moved = store.episodes.load(contact.episode_id)
    assert moved.client_id == first.client_id
    assert store.episodes.client_fields(first.client_id) == known
    assert [m.episodes for m in store.caseload.find_clients(
        str(raw["FINITIAL"]), str(raw["SINITIAL"]), date.fromisoformat(str(raw["DOB"])),
        str(raw["SEX"]),
    )] == [2]
    with pytest.raises(RecordNotFound):
        store.episodes.client_fields(contact.client_id)
    assert {c.episode_id for c in store.consent.history(first.client_id)} >= {
        contact.episode_id
    }


def test_an_episode_with_siblings_is_not_moved_to_another_client(
    store: Store, refdata: RefData
) -> None:
    a, b = fresh(refdata, 2)
    first = store.episodes.save(a)
    store.episodes.save({"CLIENTID": first.client_id, "TRIAGED": a["TRIAGED"]})
    other = store.episodes.save(b)
    with pytest.raises(StoreError):
        store.episodes.link(first.episode_id, other.client_id)
