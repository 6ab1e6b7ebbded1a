"""Test-wide set-up: no display, and nothing written outside a temporary folder."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

REPO = Path(__file__).resolve().parent.parent
REFDATA = REPO / "refdata"

# refdata, make_store, records and PASSWORD, for every test folder.
pytest_plugins = ["tests.fixtures"]


@pytest.fixture(autouse=True)
def _private_data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Each test gets its own Pathway folder, HOME and TMPDIR."""
    data = tmp_path / "pathway-data"
    monkeypatch.setenv("PATHWAY_DATA_DIR", str(data))
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.delenv("PATHWAY_REFDATA", raising=False)
    return data


@pytest.fixture(scope="session")
def screenshots() -> Path:
    """Where tests save screenshots for people to look at: a folder the suite owns
    (build/test-screenshots, ignored by git), never the committed docs/screenshots."""
    folder = REPO / "build" / "test-screenshots"
    folder.mkdir(parents=True, exist_ok=True)
    return folder
