"""What the check, the file and the history share: their errors, the month and the dataset
they are asked for, and the progress report that can stop them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date

from desktop.domain.datasets import DATASETS
from desktop.domain.period import Period
from desktop.domain.spec import DatasetSpec
from desktop.storage.errors import StoreError
from desktop.storage.store import Store

Progress = Callable[[int, int], bool]
"""``progress(done, total)`` after each batch of episodes; returning False cancels."""


# ---------------------------------------------------------------------- errors


class ExportError(StoreError):
    """The export or check could not be done; the message says why and what to do."""


class Cancelled(ExportError):
    """The manager cancelled; nothing was written."""


# ---------------------------------------------------------------------- the month and the dataset


def parse_period(text: str) -> Period:
    """``YYYY-MM``; anything else is an :class:`ExportError` in plain words."""
    try:
        return Period.parse(text)
    except ValueError as exc:
        raise ExportError(f"{str(exc)[:1].upper()}{str(exc)[1:]}.") from None


def chosen_period(period: Period | str, today: date) -> Period:
    """The month asked for, as a :class:`Period`; one that has not started is refused."""
    chosen = period if isinstance(period, Period) else parse_period(period)
    if chosen.start > today:
        raise ExportError(f"{chosen.label} has not started yet; choose a month up to this one.")
    return chosen


def dataset_spec(store: Store, dataset: str) -> DatasetSpec:
    """The specification of ``dataset``; a name that is not a dataset is refused."""
    if dataset not in DATASETS or dataset not in store.refdata.datasets:
        raise ExportError(f"'{dataset}' is not a dataset; choose cjit-q or secure-r.")
    return store.refdata.datasets[dataset]


def report_progress(progress: Progress | None, done: int, total: int, stopped: str) -> None:
    """Tell ``progress``; when it answers False, stop with :class:`Cancelled` (``stopped``)."""
    if progress is not None and progress(done, total) is False:
        raise Cancelled(stopped)
