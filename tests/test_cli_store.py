"""The store commands run without a prompt given their options and environment (store issue 7)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from desktop.app.paths import load
from desktop.cli import main
from desktop.domain.synthetic import records


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    monkeypatch.setenv("PATHWAY_PASSWORD", "manager pass")
    monkeypatch.delenv("PATHWAY_USER", raising=False)
    monkeypatch.delenv("PATHWAY_NEW_PASSWORD", raising=False)
    return tmp_path / "team.store"


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def init(capsys: pytest.CaptureFixture[str], store: Path) -> None:
    code, out, _ = run(
        capsys,
        "init",
        "--store",
        str(store),
        "--agency",
        "cj123",
        "--type",
        "cjit",
        "--dat",
        "A12B",
        "--user",
        "amy",
    )
    assert code == 0
    assert "CJ123" in out


def test_init_then_verify(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    init(capsys, env)
    code, out, _ = run(capsys, "verify", "--store", str(env))
    assert code == 0
    assert out.startswith("OK: 0 episodes")


def test_init_refuses_an_existing_store(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    init(capsys, env)
    code, _, err = run(
        capsys, "init", "--store", str(env), "--agency", "x", "--type", "cjit", "--user", "b"
    )
    assert code == 2
    assert "already exists" in err
    assert "Traceback" not in err


def test_wrong_password_is_one_plain_line(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    init(capsys, env)
    monkeypatch.setenv("PATHWAY_PASSWORD", "guess")
    code, out, err = run(capsys, "verify", "--store", str(env))
    assert code == 2
    assert err == "pathway: The user name or password is not right.\n"
    assert out == ""


def test_no_password_and_no_terminal_says_what_to_do(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    init(capsys, env)
    monkeypatch.delenv("PATHWAY_PASSWORD")
    monkeypatch.setattr("sys.stdin.isatty", lambda: False)
    code, _, err = run(capsys, "verify", "--store", str(env))
    assert code == 2
    assert "PATHWAY_PASSWORD" in err


def test_users_add_list_remove(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    init(capsys, env)
    monkeypatch.setenv("PATHWAY_NEW_PASSWORD", "bob pass")
    assert run(capsys, "users", "--store", str(env), "add", "bob")[0] == 0
    code, _, err = run(capsys, "users", "--store", str(env), "list")
    assert code == 2
    assert "PATHWAY_USER" in err
    monkeypatch.setenv("PATHWAY_USER", "amy")
    code, out, _ = run(capsys, "users", "--store", str(env), "list")
    assert out.splitlines() == ["amy\tmanager", "bob\tworker"]
    monkeypatch.setenv("PATHWAY_USER", "bob")
    monkeypatch.setenv("PATHWAY_PASSWORD", "bob pass")
    code, _, err = run(capsys, "users", "--store", str(env), "add", "carl")
    assert code == 2
    assert "Only a manager" in err
    monkeypatch.setenv("PATHWAY_USER", "amy")
    monkeypatch.setenv("PATHWAY_PASSWORD", "manager pass")
    assert run(capsys, "users", "--store", str(env), "remove", "bob")[0] == 0
    monkeypatch.setenv("PATHWAY_USER", "bob")
    monkeypatch.setenv("PATHWAY_PASSWORD", "bob pass")
    code, _, err = run(capsys, "verify", "--store", str(env))
    assert code == 2
    assert "not right" in err


def test_passwd_changes_only_the_wrap(
    env: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    init(capsys, env)
    monkeypatch.setenv("PATHWAY_NEW_PASSWORD", "new manager pass")
    assert run(capsys, "passwd", "--store", str(env))[0] == 0
    assert run(capsys, "verify", "--store", str(env))[0] == 2
    monkeypatch.setenv("PATHWAY_PASSWORD", "new manager pass")
    assert run(capsys, "verify", "--store", str(env))[0] == 0


def test_import_is_one_transaction(
    env: Path, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    init(capsys, env)
    recs = list(records(load(), "cjit-q", 4, seed=2))
    for rec in recs:
        rec.pop("CLIENTID")
        rec.pop("EPISODID")
    bad = [dict(r) for r in recs]
    bad[3]["SEX"] = "banana"
    (tmp_path / "bad.json").write_text(json.dumps(bad), encoding="utf-8")
    (tmp_path / "good.json").write_text(json.dumps(recs), encoding="utf-8")
    (tmp_path / "broken.json").write_text("[{", encoding="utf-8")
    code, _, err = run(capsys, "import", "--store", str(env), str(tmp_path / "bad.json"))
    assert code == 2
    assert "Nothing was imported" in err
    assert "record 4, SEX" in err
    code, _, err = run(capsys, "import", "--store", str(env), str(tmp_path / "broken.json"))
    assert code == 2
    assert "not valid JSON" in err
    assert run(capsys, "verify", "--store", str(env))[1].startswith("OK: 0 episodes")
    code, out, _ = run(capsys, "import", "--store", str(env), str(tmp_path / "good.json"))
    assert code == 0
    assert "Imported 4 episodes" in out
    assert run(capsys, "verify", "--store", str(env))[1].startswith("OK: 4 episodes")


def test_backup_list_and_restore(env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    init(capsys, env)
    code, out, _ = run(capsys, "backup", "--store", str(env))
    assert code == 0
    made = Path(out.strip().rsplit(" ", 1)[1])
    assert made.is_file()
    code, out, _ = run(capsys, "backup", "--store", str(env), "--list")
    assert str(made) in out
    code, out, _ = run(capsys, "restore", "--store", str(env), str(made))
    assert code == 0
    assert "Restored" in out
    assert run(capsys, "audit", "--store", str(env), "verify")[0] == 0


def test_restore_of_a_missing_backup_is_plain(
    env: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    init(capsys, env)
    code, _, err = run(capsys, "restore", "--store", str(env), "nowhere.backup")
    assert code == 2
    assert "no backup" in err


def test_demo_makes_a_store_of_synthetic_clients(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("PATHWAY_PASSWORD", raising=False)
    demo = tmp_path / "demo.store"
    code, out, _ = run(capsys, "demo", "--store", str(demo), "--episodes", "120")
    assert code == 0
    assert "120 synthetic episodes" in out
    monkeypatch.setenv("PATHWAY_PASSWORD", "demo")
    code, out, _ = run(capsys, "verify", "--store", str(demo))
    assert code == 0
    assert out.startswith("OK: 120 episodes")


def test_store_commands_default_to_the_data_folder(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("PATHWAY_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setenv("PATHWAY_PASSWORD", "pw pw pw")
    code, _, _ = run(capsys, "init", "--agency", "CJ1", "--type", "secure", "--user", "amy")
    assert code == 0
    assert (tmp_path / "data" / "pathway.store").is_file()
    code, _, err = run(capsys, "verify", "--store", str(tmp_path / "other.store"))
    assert code == 2
    assert "no Pathway store" in err
