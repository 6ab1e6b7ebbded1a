"""Where Pathway finds its reference data and keeps its own files."""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING

import platformdirs

from desktop import APP_NAME
from desktop.app import resources

if TYPE_CHECKING:  # loaded when first needed: the unlock window opens without it
    from desktop.domain.spec import RefData


def refdata_dir() -> Path:
    """The shipped reference data (``PATHWAY_REFDATA`` overrides it), via desktop.app.resources."""
    override = os.environ.get("PATHWAY_REFDATA")
    if override:
        return Path(override)
    return resources.refdata_dir()


def data_dir() -> Path:
    """This user's Pathway folder (``PATHWAY_DATA_DIR`` overrides the platform default)."""
    override = os.environ.get("PATHWAY_DATA_DIR")
    if override:
        return Path(override)
    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def config_dir() -> Path:
    """This user's settings folder (under ``PATHWAY_DATA_DIR`` when that is set)."""
    override = os.environ.get("PATHWAY_DATA_DIR")
    if override:
        return Path(override) / "config"
    return Path(platformdirs.user_config_dir(APP_NAME, appauthor=False))


def log_dir() -> Path:
    """This user's log folder: crash reports, never client data."""
    override = os.environ.get("PATHWAY_DATA_DIR")
    if override:
        return Path(override) / "logs"
    return Path(platformdirs.user_log_dir(APP_NAME, appauthor=False))


def overrides_dir() -> Path:
    """Code lists this agency imported, which replace the shipped ones."""
    return data_dir() / "refdata"


def load() -> RefData:
    from desktop.domain.refdata import load_refdata

    return load_refdata(refdata_dir(), overrides_dir())
