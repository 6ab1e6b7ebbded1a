"""The history of the files written: who exported which dataset and month, when, with what
counts and SHA-256 (kept by the store; no copy of a file is kept)."""

from __future__ import annotations

from desktop.export.submission.common import dataset_spec
from desktop.storage import extract
from desktop.storage.extract import ExportRecord
from desktop.storage.store import Store


def history(store: Store, dataset: str | None = None) -> list[ExportRecord]:
    """Past exports, newest first: who, when, dataset, month, counts and SHA-256."""
    if dataset is not None:
        dataset_spec(store, dataset)
    return extract.history(store, dataset)
