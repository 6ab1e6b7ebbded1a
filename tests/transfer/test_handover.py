"""Continuity-of-care handover (issue 8, item 3; DIR briefing, seed 004, paragraphs 40-43).

Information on the DIR may be shared between agencies for continuity of care only with
the client's informed consent, for the agencies it names, and not once withdrawn. With
that consent a client's sheet, consent and episode history go to the receiving team,
whose store opens them as a new episode marked "transferred from". Without it the
handover is refused and the worker is told why. Every handover is an audit event.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import text

from desktop.export import bundle
from desktop.export.bundle import BundleRefused
from desktop.storage import transfer
from desktop.storage.store import Store
from desktop.storage.transfer import HandoverResult, TransferError
from tests.fixtures import new_store
from tests.transfer.conftest import digest, episodes_by_ref, fresh, key_of

DAY = date(2026, 11, 2)


@dataclass
class Teams:
    folder: Path
    cjit: Store  # CJ123, DAT A12B
    prison: Store  # secure setting L0001
    other_cjit: Store  # CJ456
    keys: dict[str, Path]

    def client(self, n: int) -> str:
        return self.cjit.episodes.load(episodes_by_ref(self.cjit)[n]).client_id


@pytest.fixture(scope="module")
def teams(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Teams]:
    folder = tmp_path_factory.mktemp("handover")
    cjit = new_store(folder / "cjit.store", user="ana")
    prison = new_store(folder / "prison.store", "secure", user="pat", agency="L0001")
    other = new_store(folder / "other.store", user="oli", agency="CJ456", dat="A09B")
    try:
        keys = {
            "cjit": key_of(cjit, folder / "cjit-key"),
            "prison": key_of(prison, folder / "prison-key"),
            "other": key_of(other, folder / "other-key"),
        }
        cjit.episodes.import_records(fresh(8, seed=21))
        yield Teams(folder, cjit, prison, other, keys)
    finally:
        for s in (cjit, prison, other):
            if s.is_open:
                s.close(backup_reason=None)


def _audit(store: Store, action: str) -> list[tuple[str, str, str]]:
    with store.reading() as s:
        rows = s.execute(
            text("SELECT action, entity, changes FROM audit_events WHERE action = :a ORDER BY seq"),
            {"a": action},
        ).fetchall()
    return [(str(r[0]), str(r[1]), str(r[2])) for r in rows]


def _refused(teams: Teams, client_id: str, key: str, match: str) -> None:
    out = teams.folder / f"refused-{client_id[:6]}.pwbundle"
    before = digest(teams.cjit)
    with pytest.raises(TransferError, match=match):
        bundle.export_handover(teams.cjit, client_id, teams.keys[key], out)
    assert not out.exists()
    assert digest(teams.cjit) == before


def test_a_handover_without_continuity_of_care_consent_is_refused(teams: Teams) -> None:
    """Seed 004 para 40: shared for continuity of care only with informed consent."""
    _refused(teams, teams.client(0), "prison", "No continuity-of-care consent is recorded")


def test_ndtms_consent_alone_does_not_allow_a_handover(teams: Teams) -> None:
    """Seed 001: CONSENT is consent to share with NDTMS, not with other agencies."""
    cid = teams.client(1)
    assert any(c.kind == "ndtms" for c in teams.cjit.consent.history(cid))
    _refused(teams, cid, "prison", "No continuity-of-care consent")


def test_a_handover_after_the_client_withdrew_consent_is_refused(teams: Teams) -> None:
    """Seed 004 para 42: only consent given and not subsequently withdrawn allows sharing;
    the latest decision counts."""
    cid = teams.client(2)
    teams.cjit.consent.record(cid, "sharing", "given", DAY)
    teams.cjit.consent.record(cid, "sharing", "withdrawn", date(2026, 11, 9))
    _refused(teams, cid, "prison", "withdrew continuity-of-care consent on 09 November 2026")
    teams.cjit.consent.record(teams.client(3), "sharing", "refused", DAY)
    _refused(teams, teams.client(3), "prison", "refused continuity-of-care consent")


def test_a_handover_to_an_agency_the_consent_does_not_name_is_refused(teams: Teams) -> None:
    """Seed 004 para 42: consent is given 'in respect of those agencies'."""
    cid = teams.client(4)
    teams.cjit.consent.record(cid, "sharing", "given", DAY, agencies="L0001 CARATs, probation")
    _refused(teams, cid, "other", "names L0001 CARATs, probation, not CJ456")


def test_a_handover_with_consent_arrives_as_a_new_transferred_episode(teams: Teams) -> None:
    """A CJIT client handed to a prison team: a new dataset R episode with the
    client attributors, marked transferred from the CJIT; the sending sheet kept whole."""
    cjit, prison = teams.cjit, teams.prison
    cid = teams.client(4)  # consent names L0001
    sent_episode = cjit.episodes.load(episodes_by_ref(cjit)[4])
    ref = str(sent_episode.raw["CLIENT"])
    made = bundle.export_handover(cjit, ref, teams.keys["prison"], teams.folder / "h1.pwbundle")
    assert made.kind == "handover" and made.recipient.agency == "L0001"
    handovers = _audit(cjit, "handover")
    assert len(handovers) == 1 and handovers[0][1] == "client" and "L0001" in handovers[0][2]

    before = len(episodes_by_ref(prison))
    result = bundle.import_bundle(prison, made.path)
    assert isinstance(result, HandoverResult) and not result.already
    assert len(episodes_by_ref(prison)) == before + 1
    arrived = prison.episodes.load(result.episode_id)
    assert arrived.dataset == "secure-r" and arrived.notes and "Transferred from" in arrived.notes
    for header in ("FINITIAL", "SINITIAL", "DOB", "SEX"):
        assert arrived.raw[header] == sent_episode.raw[header]
    assert arrived.raw["AGNCY"] == "L0001"
    assert "CLIENT" not in arrived.raw  # a CJIT reference is not a NOMS number
    assert "Transferred from CJIT CJ123" in str(arrived.raw[transfer.TRANSFERRED_FROM])
    assert "PRISON" not in arrived.raw and result.transferred_from is None
    assert "kept as a local note" in result.describe()
    assert arrived.notes is not None and "read only" in arrived.notes
    # The consent travelled, and the sending sheet, consent and history are kept beside it.
    history = prison.consent.history(arrived.client_id)
    assert [(c.kind, c.value, c.agencies) for c in history] == [
        ("sharing", "given", "L0001 CARATs, probation")
    ]
    sheet = transfer.handover_sheet(prison, result.episode_id)
    assert sheet is not None
    assert sheet["episode"]["values"]["EPISODID"] == sent_episode.episode_id
    assert sheet["episode"]["items"] == sent_episode.raw["referrals"]
    assert sheet["client"]["values"]["CLIENT"] == ref
    assert [c["value"] for c in sheet["consent"] if c["kind"] == "sharing"] == ["given"]
    assert sheet["history"] and all("notes" not in h["fields"] for h in sheet["history"])
    assert [e["dataset"] for e in sheet["episodes"]] == ["cjit-q"]
    received = _audit(prison, "handover")
    assert len(received) == 1 and received[0][1] == "episode" and "CJ123" in received[0][2]
    assert prison.backups.verify_audit().ok and cjit.backups.verify_audit().ok
    # The sending worker's name is known to the prison store, but cannot unlock it.
    assert [u.name for u in prison.users.all()] == ["pat"]
    assert cid not in {r.client_id for r in prison.caseload.page()}


def test_the_same_handover_imported_twice_opens_one_episode(teams: Teams) -> None:
    before = digest(teams.prison)
    again = bundle.import_bundle(teams.prison, teams.folder / "h1.pwbundle")
    assert isinstance(again, HandoverResult) and again.already
    assert digest(teams.prison) == before


def test_a_cjit_to_cjit_handover_codes_the_sending_dat_as_transferred_from(
    teams: Teams,
) -> None:
    """Dataset Q PRISON ('Transferred from') takes a DAT, local authority or prison code:
    the sending CJIT's DAT (A12B) is coded. A second handover of the same client later
    joins the same client here."""
    cid = teams.client(5)
    teams.cjit.consent.record(cid, "sharing", "given", DAY)
    first = bundle.export_handover(teams.cjit, cid, teams.keys["other"], teams.folder / "h2.pw")
    result = bundle.import_bundle(teams.other_cjit, first.path)
    assert isinstance(result, HandoverResult)
    assert result.transferred_from == "A12B"
    arrived = teams.other_cjit.episodes.load(result.episode_id)
    assert arrived.raw["PRISON"] == "A12B" and arrived.raw["AGNCY"] == "CJ456"
    second = bundle.export_handover(teams.cjit, cid, teams.keys["other"], teams.folder / "h3.pw")
    again = bundle.import_bundle(teams.other_cjit, second.path)
    assert isinstance(again, HandoverResult) and not again.already
    assert again.client_id == result.client_id and again.episode_id != result.episode_id


def test_a_handover_is_opened_only_by_the_team_it_was_sealed_for(teams: Teams) -> None:
    before = digest(teams.other_cjit)
    with pytest.raises(BundleRefused, match="sealed for another store's key"):
        bundle.import_bundle(teams.other_cjit, teams.folder / "h1.pwbundle")
    assert digest(teams.other_cjit) == before


def test_an_unknown_client_reference_is_refused_plainly(teams: Teams) -> None:
    with pytest.raises(TransferError, match="no client with the reference Z999"):
        bundle.export_handover(teams.cjit, "Z999", teams.keys["prison"], teams.folder / "z.pw")
