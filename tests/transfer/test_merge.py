"""Three workers' laptops merged into the manager's store (issue 8, items 1, 2 and 5).

The team: a manager's store and three workers' stores of one CJIT (CJ123). Each worker
records 200 episodes. Ana's are sent to the manager, who sends them on to Ben and Cal;
then all three change some of Ana's episodes (some the same fields, some not), Ana
deletes one, and all three send their bundles to the manager. The manager's store must
then hold exactly what the rules say: changes taken where only one laptop made them, the
later change kept and a conflict listed where two laptops changed a field differently,
NDTMS consent decided by the latest consent event, deletions applied and not undone by
an older copy, and each laptop's audit trail still verifiable.

The tests read one scenario, built once, in file order.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from desktop.export import bundle
from desktop.export.bundle import ExportedBundle
from desktop.storage import transfer
from desktop.storage.store import CaseloadQuery, Store
from desktop.storage.transfer import MergeResult, TransferError
from tests.fixtures import new_store, shipped
from tests.transfer.conftest import digest, edit, episodes_by_ref, fresh, key_of

N = 200
ALC = "ALCUNITS"


@dataclass
class Team:
    folder: Path
    manager: Store
    ana: Store
    ben: Store
    cal: Store
    keys: dict[str, Path]
    a: list[str]  # Ana's episode ids by client reference; A[199] is deleted later
    x: str  # Ana's episode recorded without NDTMS consent at first
    original: dict[str, dict[str, Any]]
    housing: dict[str, str] = field(default_factory=dict)
    files: dict[str, Path] = field(default_factory=dict)
    results: dict[str, MergeResult] = field(default_factory=dict)
    made: dict[str, ExportedBundle] = field(default_factory=dict)

    def send(self, source: Store, to: str, name: str, *, full: bool = False) -> Path:
        path = self.folder / f"{name}.pwbundle"
        self.made[name] = bundle.export_team(source, self.keys[to], path, full=full)
        self.files[name] = path
        return path

    def take(self, target: Store, name: str) -> MergeResult:
        result = bundle.import_bundle(target, self.files[name])
        assert isinstance(result, MergeResult)
        self.results[name] = result
        return result


def _other_code(listname: str, current: object) -> str:
    codes = sorted(shipped().lists[listname].codes)
    return next(c for c in codes if c != current)


@pytest.fixture(scope="module")
def team(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Team]:
    folder = tmp_path_factory.mktemp("team")
    manager = new_store(folder / "manager.store", user="meg")
    ana = new_store(folder / "ana.store", user="ana")
    ben = new_store(folder / "ben.store", user="ben")
    cal = new_store(folder / "cal.store", user="cal")
    try:
        keys = {
            name: key_of(store, folder / f"{name}-key")
            for name, store in (("manager", manager), ("ana", ana), ("ben", ben), ("cal", cal))
        }
        ana.episodes.import_records(fresh(N - 1, seed=11))
        no_consent = fresh(1, seed=99)[0]
        no_consent.pop("CONSENT")
        no_consent["CLIENT"] = "X000001"
        x = ana.episodes.save(no_consent).episode_id
        ben.episodes.import_records(fresh(N, seed=12))
        cal.episodes.import_records(fresh(N, seed=13))
        a = [e for e in episodes_by_ref(ana) if e != x]
        original = {e: dict(ana.episodes.load(e).raw) for e in a}
        t = Team(folder, manager, ana, ben, cal, keys, a, x, original)

        # Ana's records reach the manager, who passes them on to Ben and Cal.
        t.send(ana, "manager", "ana-1")
        t.take(manager, "ana-1")
        t.send(manager, "ben", "to-ben-1")
        t.send(manager, "cal", "to-cal-1")
        t.take(ben, "to-ben-1")
        t.take(cal, "to-cal-1")

        # Overlapping edits, in this order in time.
        for e in a[0:20]:
            edit(ana, e, **{ALC: original[e][ALC] + 1})  # type: ignore[operator]
        edit(ana, x, CONSENT="N")
        for e in a[10:30]:
            edit(ben, e, **{ALC: original[e][ALC] + 2})  # type: ignore[operator]
        referrals = list(original[a[50]]["referrals"])  # type: ignore[call-overload]
        edit(ben, a[50], referrals=[*referrals, {"REFDATE": original[a[50]]["TRIAGED"]}])
        edit(ben, x, CONSENT="Y")
        for e in a[0:40]:
            t.housing[e] = _other_code("HOUSING", original[e]["HOUSING"])
            edit(cal, e, HOUSING=t.housing[e])
        for e in a[30:35]:
            edit(cal, e, **{ALC: original[e][ALC] + 3})  # type: ignore[operator]
        cal.consent.record(
            cal.episodes.load(a[60]).client_id, "sharing", "given", ana.context().today
        )
        ana.episodes.delete(a[N - 2])

        # Everyone sends to the manager.
        t.send(ana, "manager", "ana-2")
        t.send(ben, "manager", "ben-1")
        t.send(cal, "manager", "cal-1")
        t.take(manager, "ana-2")
        t.take(manager, "ben-1")
        t.take(manager, "cal-1")
        yield t
    finally:
        for store in (manager, ana, ben, cal):
            if store.is_open:
                store.close(backup_reason=None)


def expected_raw(t: Team, e: str) -> dict[str, Any]:
    raw = dict(t.original[e])
    alc = raw[ALC]
    i = t.a.index(e)
    if i < 10:
        raw[ALC] = alc + 1
    elif i < 30:
        raw[ALC] = alc + 2  # Ben changed 10-19 after Ana: the later change is kept
    elif i < 35:
        raw[ALC] = alc + 3
    if i < 40:
        raw["HOUSING"] = t.housing[e]
    return raw


def test_every_episode_of_the_three_laptops_is_in_the_managers_store(team: Team) -> None:
    ids = set(episodes_by_ref(team.manager))
    expected = (set(team.a) - {team.a[N - 2]}) | {team.x}
    expected |= set(episodes_by_ref(team.ben)) - set(team.a) - {team.x}
    expected |= set(episodes_by_ref(team.cal)) - set(team.a) - {team.x}
    assert len(expected) == 3 * N - 1
    assert ids == expected


def test_the_merged_store_holds_exactly_the_expected_values(team: Team) -> None:
    """Field by field: one laptop's change is taken; two laptops' changes to the same
    field keep the later; changes to different fields of one record are both kept."""
    m = team.manager
    for e in team.a:
        if e == team.a[N - 2]:
            continue
        got = m.episodes.load(e).raw
        want = expected_raw(team, e)
        if e == team.a[50]:
            assert len(got["referrals"]) == len(want["referrals"]) + 1  # type: ignore[arg-type]
            assert got["referrals"] == team.ben.episodes.load(e).raw["referrals"]
            got = {k: v for k, v in got.items() if k != "referrals"}
            want = {k: v for k, v in want.items() if k != "referrals"}
        assert got == want, e
    for worker in (team.ben, team.cal):
        for e in set(episodes_by_ref(worker)) - set(team.a) - {team.x}:
            assert m.episodes.load(e).raw == worker.episodes.load(e).raw


def test_consent_events_merge_as_a_history_and_the_latest_decides(team: Team) -> None:
    """Seed 001: CONSENT may change; Ana recorded 'No', then Ben 'Yes' on his laptop. Both
    decisions are kept as history, and the latest (Ben's) is the episode's consent."""
    m = team.manager
    stored = m.episodes.load(team.x)
    assert stored.raw["CONSENT"] == "Y"
    history = [c for c in m.consent.history(stored.client_id) if c.kind == "ndtms"]
    assert [c.value for c in history] == ["refused", "given"]
    assert not [c for c in transfer.conflicts(m) if c.field == "CONSENT"]
    sharing = m.consent.history(m.episodes.load(team.a[60]).client_id)
    assert [(c.kind, c.value) for c in sharing if c.kind == "sharing"] == [("sharing", "given")]


def test_derived_columns_follow_the_merged_values(team: Team) -> None:
    """The caseload's state, dates, consent and finding counts are worked out again from
    the merged values, exactly as a save on the sending laptop worked them out."""
    m = team.manager
    query = CaseloadQuery(limit=10_000)
    rows = {r.episode_id: r for r in m.caseload.page(query)}
    assert rows[team.x].consent == "Y"
    for worker in (team.ben, team.cal):
        for r in worker.caseload.page(query):
            if r.episode_id in team.a or r.episode_id == team.x:
                continue
            got = rows[r.episode_id]
            assert (got.state, got.opened_on, got.closed_on, got.consent) == (
                r.state, r.opened_on, r.closed_on, r.consent
            )  # fmt: skip
            assert (got.errors, got.warnings, got.client_ref, got.dob) == (
                r.errors, r.warnings, r.client_ref, r.dob
            )  # fmt: skip


def test_a_deletion_is_merged_and_an_older_copy_does_not_bring_it_back(team: Team) -> None:
    """Ana deleted one of her episodes; Ben's complete first bundle still held a copy."""
    gone = team.a[N - 2]
    assert team.made["ben-1"].full
    assert gone in set(episodes_by_ref(team.ben))
    assert gone not in set(episodes_by_ref(team.manager))
    assert team.results["ana-2"].deleted == 2  # the episode and its client


def test_conflicts_are_listed_with_both_values_who_and_when(team: Team) -> None:
    found = transfer.conflicts(team.manager)
    assert len(found) == 10
    by_episode = {c.episode_id: c for c in found}
    assert set(by_episode) == set(team.a[10:20])
    names = transfer.user_names(team.manager)
    for e, c in by_episode.items():
        alc = team.original[e][ALC]
        assert c.field == ALC and c.label == "Units on a typical drinking day"
        assert (c.local.value, c.incoming.value) == (alc + 1, alc + 2)
        assert c.local.who == names[team.ana.user.id] == "ana"
        assert c.incoming.who == "ben"
        assert c.local.at is not None and c.incoming.at is not None
        assert c.local.at < c.incoming.at
        assert c.applied == "incoming" and c.status == "open"
        assert "ana" in c.local.where and "ben" in c.incoming.where


def test_colleagues_from_other_laptops_cannot_unlock_the_managers_store(team: Team) -> None:
    assert [u.name for u in team.manager.users.all()] == ["meg"]
    names = set(transfer.user_names(team.manager).values())
    assert {"ana", "ben", "cal", "meg"} <= names


def test_each_laptops_audit_chain_stays_verifiable(team: Team) -> None:
    m = team.manager
    assert m.backups.verify_audit().ok
    found = {r.sender_user: r for r in transfer.sources(m)}
    assert set(found) == {"ana", "ben", "cal"}
    for name, worker in (("ana", team.ana), ("ben", team.ben), ("cal", team.cal)):
        report = found[name]
        assert report.ok, report.problems
        sent = [k for k in team.results if k.startswith(f"{name}-")]
        assert report.bundles == len(sent) == (2 if name == "ana" else 1)
        # Every event the laptop had when it sealed its last bundle is here, hashes intact.
        assert report.events == sum(team.made[k].counts["events"] for k in sent)
        assert worker.backups.verify_audit().ok


def test_an_altered_copied_event_is_found(team: Team) -> None:
    m = team.manager
    cal = team.cal.settings.store_id
    with team.cal.reading() as cs:
        kept = cs.execute(text("SELECT changes FROM audit_events WHERE seq = 3")).scalar()
    change = text("UPDATE source_audit_events SET changes = :c WHERE seq = 3 AND source_store = :s")
    with m.writing() as tx:
        tx.session.execute(change, {"c": "{}", "s": cal})
    report = next(r for r in transfer.sources(m) if r.sender_user == "cal")
    assert "event 3 has been altered" in report.problems
    with m.writing() as tx:  # put the event back as it was
        tx.session.execute(change, {"c": kept, "s": cal})
    assert all(r.ok for r in transfer.sources(m))


def test_importing_the_same_bundle_again_changes_nothing(team: Team) -> None:
    before = digest(team.manager)
    for name in ("ana-1", "ana-2", "ben-1", "cal-1"):
        again = bundle.import_bundle(team.manager, team.files[name])
        assert isinstance(again, MergeResult) and again.already
        assert "imported before" in again.describe()
    assert digest(team.manager) == before


def test_a_bundle_out_of_order_is_refused_and_changes_nothing(team: Team) -> None:
    edit(team.cal, team.a[100], HOUSING=_other_code("HOUSING", team.housing.get(team.a[100])))
    team.send(team.cal, "manager", "cal-2")
    edit(team.cal, team.a[101], HOUSING=_other_code("HOUSING", None))
    team.send(team.cal, "manager", "cal-3")
    before = digest(team.manager)
    with pytest.raises(TransferError, match="bundle 2 has not been imported"):
        bundle.import_bundle(team.manager, team.files["cal-3"])
    assert digest(team.manager) == before
    assert not team.take(team.manager, "cal-2").already
    assert team.take(team.manager, "cal-3").records_changed == 1
    assert all(r.ok for r in transfer.sources(team.manager))


def test_a_lost_bundle_is_made_good_by_a_complete_one(team: Team) -> None:
    """Bundle 2 from Ben never arrives; 'bundle export --all' sends everything again as
    bundle 3, which the manager takes without new conflicts; bundle 2, found later, is
    older news and changes nothing."""
    own = [e for e in episodes_by_ref(team.ben) if e not in team.a and e != team.x]
    edit(team.ben, own[0], ALCUNITS=101)
    team.send(team.ben, "manager", "ben-2")
    edit(team.ben, own[1], ALCUNITS=102)
    team.send(team.ben, "manager", "ben-3", full=True)
    result = team.take(team.manager, "ben-3")
    assert not result.already and result.conflicts == 0
    assert result.records_changed == 2
    assert [team.manager.episodes.load(e).raw[ALC] for e in own[:2]] == [101, 102]
    before = digest(team.manager)
    assert team.take(team.manager, "ben-2").already
    assert digest(team.manager) == before


def test_the_merged_store_goes_back_to_a_worker_without_new_conflicts(team: Team) -> None:
    """The manager's store sent back to Ana: she gets Ben's and Cal's changes, and her
    own values that lost come back changed, because her laptop still held what Ben changed."""
    team.send(team.manager, "ana", "to-ana-1")
    result = team.take(team.ana, "to-ana-1")
    assert result.conflicts == 0
    for e in team.a[10:20]:
        assert team.ana.episodes.load(e).raw[ALC] == team.original[e][ALC] + 2  # type: ignore[operator]
    assert team.ana.episodes.load(team.x).raw["CONSENT"] == "Y"
    assert len(episodes_by_ref(team.ana)) == 3 * N - 1


def test_a_manager_decides_a_conflict_and_the_decision_travels(team: Team) -> None:
    m = team.manager
    chosen = next(c for c in transfer.conflicts(m) if c.episode_id == team.a[12])
    view = transfer.resolve(m, chosen.id[:8], "local")
    assert view.status == "local"
    e = team.a[12]
    assert m.episodes.load(e).raw[ALC] == team.original[e][ALC] + 1  # type: ignore[operator]
    assert len(transfer.conflicts(m)) == 9
    assert any(
        c.id == chosen.id and c.status == "local"
        for c in transfer.conflicts(m, include_decided=True)
    )
    with pytest.raises(TransferError, match="already decided"):
        transfer.resolve(m, chosen.id, "incoming")
    assert m.backups.verify_audit().ok
    # Keeping the value already shown is recorded too, and changes no field.
    other = transfer.conflicts(m)[0]
    before = m.episodes.load(str(other.episode_id)).raw
    transfer.resolve(m, other.id, "incoming")
    assert m.episodes.load(str(other.episode_id)).raw == before
    # Ben, who made the losing change, gets the manager's decision without a conflict.
    team.send(m, "ben", "to-ben-2")
    result = team.take(team.ben, "to-ben-2")
    assert result.conflicts == 0
    assert team.ben.episodes.load(e).raw[ALC] == team.original[e][ALC] + 1  # type: ignore[operator]


def test_a_worker_cannot_decide_or_import_team_bundles(team: Team) -> None:
    """Only a manager merges the team's laptops (issue 8: the manager's store imports)."""
    from desktop.storage.errors import NotPermitted
    from desktop.storage.store import UserInfo

    class Worker:
        user = UserInfo("w", "wil", "worker")

    header, payload = bundle.open_file(team.manager, team.files["cal-1"])
    with pytest.raises(NotPermitted, match="Only a manager"):
        transfer.merge_team(Worker(), header.arrival, payload)  # type: ignore[arg-type]
    with pytest.raises(NotPermitted, match="Only a manager"):
        transfer.resolve(Worker(), "abcd", "local")  # type: ignore[arg-type]


def test_the_merged_store_exports_one_submission_for_the_team(team: Team, tmp_path: Path) -> None:
    """Issue 8, done when: the laptops merged into one store give one NDTMS file, holding
    episodes recorded on each laptop."""
    import csv
    from datetime import timedelta

    from desktop.export.submission import export

    month = (team.manager.context().today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")
    result = export(team.manager, "cjit-q", month, tmp_path, include_errors=True)
    with open(result.path, newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    sent = {r["CLIENTID"] for r in rows}
    shared = {*team.a, team.x}
    for worker in (team.ana, team.ben, team.cal):
        rows_here = worker.caseload.page(CaseloadQuery(limit=10_000))
        own = {r.client_id for r in rows_here if (r.episode_id in shared) == (worker is team.ana)}
        assert sent & own, worker.user.name
    assert {r["AGNCY"] for r in rows} == {"CJ123"}
