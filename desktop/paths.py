"""Where Pathway finds its reference data and keeps its own files."""

from __future__ import annotations

import os
from pathlib import Path

import platformdirs

from desktop import APP_NAME
from desktop.domain.refdata import load_refdata
from desktop.domain.spec import RefData

_PACKAGE = Path(__file__).resolve().parent


def refdata_dir() -> Path:
    """The shipped reference data: beside the package when installed, else the source tree."""
    override = os.environ.get("PATHWAY_REFDATA")
    if override:
        return Path(override)
    for candidate in (_PACKAGE / "refdata", _PACKAGE.parent / "refdata"):
        if (candidate / "MANIFEST.toml").is_file():
            return candidate
    return _PACKAGE.parent / "refdata"


def data_dir() -> Path:
    """This user's Pathway folder (``PATHWAY_DATA_DIR`` overrides the platform default)."""
    override = os.environ.get("PATHWAY_DATA_DIR")
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def overrides_dir() -> Path:
    """Code lists this agency imported, which replace the shipped ones."""
    return data_dir() / "refdata"


def load() -> RefData:
    return load_refdata(refdata_dir(), overrides_dir())
