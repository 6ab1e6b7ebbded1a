"""A desktop citizen: typed settings, window size kept, the user's own folders, one window
per store."""

from __future__ import annotations

import json
from pathlib import Path

import platformdirs
import pytest
from PySide6.QtWidgets import QApplication
from pytestqt.qtbot import QtBot

from desktop import APP_NAME
from desktop.app import paths, settings
from desktop.app.settings import Settings
from desktop.domain.spec import RefData
from desktop.storage.errors import StoreInUse
from desktop.storage.store import Store
from tests.fixtures import PASSWORD, MakeStore


def test_defaults_when_nothing_was_saved() -> None:
    loaded = settings.load()
    assert loaded.settings == Settings()
    assert loaded.problems == ()
    assert loaded.settings.idle_lock_minutes == 5
    assert loaded.settings.idle_lock_ms == 300_000


def test_saved_settings_come_back() -> None:
    chosen = Settings().replace(idle_lock_minutes=12)
    assert settings.save(chosen)
    assert settings.settings_file().parent == paths.config_dir()
    assert settings.load().settings == chosen


def test_the_file_holds_only_the_declared_settings() -> None:
    """Privacy: nothing but the declared preferences reaches the settings file."""
    settings.settings_file().parent.mkdir(parents=True)
    settings.settings_file().write_text(
        json.dumps({"idle_lock_minutes": 7, "client": "J Bloggs", "last_client_id": "c1"}),
        encoding="utf-8",
    )
    loaded = settings.load()
    assert loaded.settings.idle_lock_minutes == 7
    settings.save(loaded.settings)
    saved = json.loads(settings.settings_file().read_text(encoding="utf-8"))
    assert set(saved) == {"version", "idle_lock_minutes"}


@pytest.mark.parametrize("bad", [0, 61, "10", True, None, 2.5])
def test_a_value_that_does_not_fit_falls_back_to_its_default(bad: object) -> None:
    settings.settings_file().parent.mkdir(parents=True)
    settings.settings_file().write_text(json.dumps({"idle_lock_minutes": bad}), "utf-8")
    loaded = settings.load()
    assert loaded.settings.idle_lock_minutes == 5
    assert loaded.problems == ("idle_lock_minutes was not usable; the default is used",)


@pytest.mark.parametrize("content", [b"{not json", b"\xff\xfe\x00", b"[1, 2]"])
def test_a_damaged_file_never_stops_pathway(content: bytes) -> None:
    settings.settings_file().parent.mkdir(parents=True)
    settings.settings_file().write_bytes(content)
    loaded = settings.load()
    assert loaded.settings == Settings()
    assert len(loaded.problems) == 1


def test_replace_checks_names_and_bounds() -> None:
    with pytest.raises(ValueError, match="1 to 60"):
        Settings().replace(idle_lock_minutes=0)
    with pytest.raises(ValueError, match="no such setting"):
        Settings().replace(colour="red")
    assert "before the window locks" in settings.describe("idle_lock_minutes")


def test_own_folders_are_the_platforms_user_folders(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("PATHWAY_DATA_DIR")
    assert paths.data_dir() == Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))
    assert paths.config_dir() == Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))
    assert paths.log_dir() == Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def test_pathway_data_dir_keeps_everything_in_one_folder(tmp_path: Path) -> None:
    """Tests (and a portable install) keep settings and logs under PATHWAY_DATA_DIR."""
    data = tmp_path / "pathway-data"  # tests/conftest.py points PATHWAY_DATA_DIR here
    assert paths.data_dir() == data
    assert paths.config_dir() == data / "config"
    assert paths.log_dir() == data / "logs"


# ---------------------------------------------------------------------- the window


@pytest.fixture
def store(make_store: MakeStore) -> Store:
    return make_store(name="team.store")


def test_window_locks_after_the_minutes_set_and_keeps_its_size(
    store: Store, refdata: RefData, qtbot: QtBot
) -> None:
    from desktop.ui.app import Session

    settings.save(Settings().replace(idle_lock_minutes=9))
    app = QApplication.instance()
    assert isinstance(app, QApplication)
    session = Session(app, store.path, refdata, "amy")
    session.show_window(store)
    window = session.window
    assert window is not None
    qtbot.addWidget(window)
    assert window.idle.interval() == 9 * 60_000
    window.resize(700, 520)
    session.close()
    assert settings.window_state_file().is_file()
    assert "J Bloggs" not in settings.window_state_file().read_text(encoding="latin-1")

    again = Store.open(store.path, "amy", PASSWORD, refdata=refdata)
    second = Session(app, store.path, refdata, "amy")
    second.show_window(again)
    assert second.window is not None
    qtbot.addWidget(second.window)
    try:
        assert (second.window.width(), second.window.height()) == (700, 520)
    finally:
        second.window.idle.stop()
        again.close(backup_reason=None)


def test_a_second_window_on_the_same_store_is_told_in_plain_words(
    store: Store, refdata: RefData, qtbot: QtBot
) -> None:
    """One Pathway window per store: the unlock window says so and nothing opens."""
    from desktop.ui.dialogs import UnlockDialog

    with pytest.raises(StoreInUse):
        Store.open(store.path, "amy", PASSWORD, refdata=refdata)
    dialog = UnlockDialog(store.path, refdata, user="amy")
    qtbot.addWidget(dialog)
    dialog.password.setText(PASSWORD)
    dialog.unlock()
    assert dialog.store is None
    assert dialog.message.text() == (
        "This store is already open in another Pathway window on this laptop."
        " Use that window, or close it first."
    )
