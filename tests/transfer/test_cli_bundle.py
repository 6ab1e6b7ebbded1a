"""The bundle commands end to end (issue 8, item 4): keys, export, import, list, conflicts,
resolve and handover, each with ``--store`` and the password from ``PATHWAY_PASSWORD``."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import pytest

from desktop.cli import main
from desktop.storage.store import Store
from tests.fixtures import MakeStore, shipped
from tests.transfer.conftest import PASSWORD, edit, episodes_by_ref, fresh


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_a_team_round_trip_on_the_command_line(
    tmp_path: Path,
    make_store: MakeStore,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("PATHWAY_PASSWORD", PASSWORD)
    monkeypatch.delenv("PATHWAY_USER", raising=False)
    manager_path, worker_path = tmp_path / "manager.store", tmp_path / "worker.store"
    with make_store(name=manager_path.name, user="meg") as manager:
        manager.close(backup_reason=None)
    with make_store(name=worker_path.name, user="wes") as worker:
        worker.episodes.import_records(fresh(4, seed=31))
        worker.close(backup_reason=None)
    m, w = ("--store", str(manager_path)), ("--store", str(worker_path))

    code, _, err = run(capsys, "keys", "show", *m)
    assert code == 2 and "no bundle key yet" in err
    code, out, _ = run(capsys, "keys", "make", *m, "--out", str(tmp_path / "mkey"))
    assert code == 0 and "public.key" in out and "Fingerprint:" in out
    fingerprint = out.split("Fingerprint: ")[1].split()[0]
    code, out, _ = run(capsys, "keys", "show", *m)
    assert code == 0 and fingerprint in out
    code, out, _ = run(capsys, "keys", "make", *w, "--out", str(tmp_path / "wkey"))
    assert code == 0
    mkey, wkey = tmp_path / "mkey" / "public.key", tmp_path / "wkey" / "public.key"

    code, out, _ = run(capsys, "bundle", "export", *w, "--to", str(mkey), "--out", "b1.x")
    assert code == 0 and "Sealed bundle 1" in out and "4 episodes" in out
    b1 = Path("b1.x").absolute()
    code, out, _ = run(capsys, "bundle", "import", *m, str(b1))
    assert code == 0 and "4 new episodes" in out
    code, out, _ = run(capsys, "bundle", "import", *m, str(b1))
    assert code == 0 and "imported before; nothing was changed" in out
    code, out, _ = run(capsys, "bundle", "list", *m)
    assert code == 0 and "wes (CJ123" in out and "audit trail verified" in out
    code, out, _ = run(capsys, "bundle", "list", *m, "--json")
    listed = json.loads(out)
    assert listed["sources"][0]["audit_ok"] and listed["bundles"][0]["sequence"] == 1
    code, out, _ = run(capsys, "bundle", "conflicts", *m)
    assert code == 0 and "No conflicts" in out

    # The manager sends the records back; both then change one field differently.
    code, out, _ = run(capsys, "bundle", "export", *m, "--to", str(wkey), "--out", str(b1) + "m")
    assert code == 0
    code, out, _ = run(capsys, "bundle", "import", *w, str(b1) + "m")
    assert code == 0
    with make_open(manager_path, "meg") as manager:
        episode = episodes_by_ref(manager)[0]
        edit(manager, episode, ALCUNITS=150)
    with make_open(worker_path, "wes") as worker:
        edit(worker, episode, ALCUNITS=160)
    code, out, _ = run(capsys, "bundle", "export", *w, "--to", str(mkey), "--out", str(b1) + "2")
    assert code == 0 and "Sealed bundle 2" in out
    code, out, _ = run(capsys, "bundle", "import", *m, str(b1) + "2")
    assert code == 0 and "1 conflicts to decide" in out
    code, out, _ = run(capsys, "bundle", "conflicts", *m)
    assert "Units on a typical drinking day (ALCUNITS)" in out
    assert "150" in out and "160" in out and "by meg" in out and "by wes" in out
    code, out, _ = run(capsys, "bundle", "conflicts", *m, "--json")
    (conflict,) = json.loads(out)
    assert conflict["shown_now"] == "incoming" and conflict["incoming"]["value"] == 160
    code, out, _ = run(capsys, "bundle", "resolve", *m, conflict["id"][:6], "--keep", "local")
    assert code == 0 and "Kept 150" in out
    code, out, _ = run(capsys, "bundle", "conflicts", *m)
    assert "No conflicts" in out

    # Damaged bundles are refused with one plain line and exit status 2.
    damaged = tmp_path / "damaged.x"
    damaged.write_bytes((Path(str(b1) + "2")).read_bytes()[:-3])
    code, out, err = run(capsys, "bundle", "import", *m, str(damaged))
    assert code == 2 and "cut short" in err and "Traceback" not in err

    # A handover: refused without continuity-of-care consent, sealed with it.
    with make_open(worker_path, "wes") as worker:
        ref = str(worker.episodes.load(episodes_by_ref(worker)[1]).raw["CLIENT"])
        client = worker.episodes.load(episodes_by_ref(worker)[1]).client_id
    code, out, err = run(capsys, "handover", *w, "--client", ref, "--to", str(mkey), "--out", "h.x")
    assert code == 2 and "No continuity-of-care consent" in err
    assert not Path("h.x").exists()
    with make_open(worker_path, "wes") as worker:
        worker.consent.record(client, "sharing", "given", date(2026, 11, 2))
    code, out, err = run(capsys, "handover", *w, "--client", ref, "--to", str(mkey), "--out", "h.x")
    assert code == 0 and "one client's sheet" in out
    code, out, _ = run(capsys, "bundle", "import", *m, "h.x")
    assert code == 0 and "Handover from CJ123 opened as a new episode" in out
    assert "A12B" in out  # a CJIT's DAT codes 'Transferred from' (dataset Q PRISON)


def make_open(path: Path, user: str) -> Store:
    return Store.open(path, user, PASSWORD, refdata=shipped())
