"""Re-opening a prison episode in the store (dataset R v1.2 DISD; appendix D court
transfers): discharge and exit cleared, old interventions kept closed, an audit event with
the reason, and a plain refusal when seed 002 does not allow it."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy import select

from desktop.domain.spec import RefData
from desktop.storage.errors import RecordNotFound, StoreError
from desktop.storage.models import AuditEvent
from desktop.storage.store import CaseloadQuery, Store
from tests.domain.prisonkit import (
    PRISON,
    PSYCHOSOCIAL,
    discharged,
    exited,
    in_treatment,
    released,
)
from tests.fixtures import MakeStore


@pytest.fixture
def store(make_store: MakeStore) -> Store:
    return make_store("secure", name="prison.store", agency="Z1234", dat=None)


def audit_of(store: Store, episode_id: str) -> list[tuple[str, str]]:
    with store.reading() as s:
        rows = s.execute(
            select(AuditEvent.action, AuditEvent.changes)
            .where(AuditEvent.entity_id == episode_id)
            .order_by(AuditEvent.seq)
        ).all()
    return [(a, c) for a, c in rows]


def test_reopen_after_court_clears_discharge_and_exit_and_audits_the_reason(
    store: Store,
) -> None:
    """Appendix D: back from a court appearance, the episode is re-opened by removing the
    discharge date and reason, exit date and status; old interventions stay closed."""
    closed = exited(
        discharged(in_treatment(), on="2026-11-16", reason="84"),
        on="2026-11-16",
        reason="T",
        EXITDEST=PRISON,
    )
    saved = store.episodes.save(closed, today=date(2026, 11, 16))
    before = store.episodes.load(saved.episode_id)
    assert before.state == "exited"
    result = store.episodes.reopen(saved.episode_id, "court", date(2026, 11, 19))
    after = store.episodes.load(saved.episode_id)
    assert after.state == "in_treatment"
    assert not {"DISD", "DISRSN", "EXITD", "EXITRSN", "EXITDEST"} & set(after.raw)
    items = after.raw["interventions"]
    assert isinstance(items, list) and len(items) == 2
    assert all(isinstance(i, dict) and i.get("MODEND") for i in items)
    assert result.version == before.version + 1
    events = audit_of(store, saved.episode_id)
    reopen = [c for a, c in events if a == "reopen"]
    assert reopen == ['{"reason":[null,"court"]}']
    assert store.backups.verify_audit().ok
    open_now = store.caseload.page(CaseloadQuery(dataset="secure-r", open_only=True))
    assert [r.episode_id for r in open_now] == [saved.episode_id]


def test_new_interventions_after_reopen_are_saved_beside_the_closed_ones(store: Store) -> None:
    """Appendix D: "the old interventions remain closed and new interventions are opened"."""
    rec = discharged(in_treatment(), on="2026-11-10")
    saved = store.episodes.save(rec, today=date(2026, 11, 10))
    store.episodes.reopen(saved.episode_id, "short_gap", date(2026, 11, 20))
    raw = store.episodes.load(saved.episode_id).raw
    items = raw["interventions"]
    assert isinstance(items, list)
    items.append({"MODAL": PSYCHOSOCIAL, "MODST": "2026-11-20"})
    result = store.episodes.save({**raw, "interventions": items}, today=date(2026, 11, 20))
    assert result.summary.errors == 0
    loaded = store.episodes.load(saved.episode_id).raw["interventions"]
    assert isinstance(loaded, list)
    assert [bool(i.get("MODEND")) for i in loaded if isinstance(i, dict)] == [True, True, False]


@pytest.mark.parametrize(
    ("record", "reason", "returned", "words"),
    [
        (released(discharged(in_treatment())), "court", date(2026, 11, 5), "new episode"),
        (discharged(in_treatment(), on="2026-10-30"), "short_gap", date(2026, 11, 20), "21"),
        (in_treatment(), "short_gap", date(2026, 11, 20), "not discharged"),
        (discharged(in_treatment()), "holiday", date(2026, 11, 1), "Choose why"),
    ],
)
def test_reopen_is_refused_in_plain_words_and_changes_nothing(
    store: Store, record: dict[str, object], reason: str, returned: date, words: str
) -> None:
    """Dataset R v1.2 DISD (under 21 days) and appendix D (never after a release to the
    community, even briefly): the worker is told why, and the episode is left as it was."""
    saved = store.episodes.save(record, today=date(2026, 11, 3))
    before = store.episodes.load(saved.episode_id)
    with pytest.raises(StoreError) as caught:
        store.episodes.reopen(saved.episode_id, reason, returned)
    assert words in str(caught.value)
    after = store.episodes.load(saved.episode_id)
    assert (after.raw, after.version) == (before.raw, before.version)
    assert not [a for a, _ in audit_of(store, saved.episode_id) if a == "reopen"]


def test_reopen_of_an_unknown_episode(store: Store) -> None:
    with pytest.raises(RecordNotFound):
        store.episodes.reopen("nope", "court", date(2026, 11, 5))


def test_caseload_groups_filter_in_the_store(store: Store, refdata: RefData) -> None:
    """The prison caseload groups (in treatment now, discharged not exited, released this
    month) are filters the store applies, so paging and counts stay in SQL."""
    from desktop.domain.prison import caseload_groups

    treating = store.episodes.save(in_treatment(), today=date(2026, 11, 24))
    waiting = store.episodes.save(discharged(in_treatment()), today=date(2026, 11, 24))
    out = store.episodes.save(
        released(discharged(in_treatment()), on="2026-11-02"), today=date(2026, 11, 24)
    )
    moved = store.episodes.save(
        exited(discharged(in_treatment(), reason="84"), reason="T", EXITDEST=PRISON),
        today=date(2026, 11, 24),
    )
    shipped = refdata
    spec = shipped.datasets["secure-r"]
    expected = {
        "all": {treating, waiting, out, moved},
        "in_treatment": {treating},
        "discharged": {waiting},
        "released": {out},
    }
    for group in caseload_groups(spec, shipped, date(2026, 11, 24)):
        query = CaseloadQuery(
            dataset="secure-r",
            states=group.states,
            closed_from=group.closed_from,
            closed_to=group.closed_to,
            fields_in=group.fields_in,
        )
        found = {r.episode_id for r in store.caseload.page(query)}
        assert found == {s.episode_id for s in expected[group.key]}, group.key
        assert store.caseload.count(query) == len(found)


def test_a_return_date_after_today_is_refused(store: Store) -> None:
    """A re-open is recorded on the day the client is back, never ahead of it (the 21-day
    window of dataset R DISD is measured to a real return)."""
    from datetime import timedelta

    saved = store.episodes.save(discharged(in_treatment()), today=date(2026, 11, 3))
    with pytest.raises(StoreError, match="after today"):
        store.episodes.reopen(saved.episode_id, "short_gap", date.today() + timedelta(days=3))
    assert store.episodes.load(saved.episode_id).raw.get("DISD")
