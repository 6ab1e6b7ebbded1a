"""Writing the file: managers only, into a hidden temporary file in the chosen folder that
is flushed and renamed into place, in one transaction of the store that records it in the
history and remembers what each episode sent; a file identical to the previous export of
that dataset and month is refused (see "The file" and "Writing safely" in
:mod:`desktop.export.submission`).
"""

from __future__ import annotations

import contextlib
import csv
import errno
import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import BinaryIO

from desktop.app.files import atomic_writer, fsync_dir
from desktop.domain.findings import Severity
from desktop.domain.period import Period
from desktop.domain.spec import DatasetSpec, ExportFormat
from desktop.domain.values import say_date
from desktop.domain.workflow import awaiting_decision
from desktop.export.submission.common import (
    ExportError,
    Progress,
    chosen_period,
    dataset_spec,
    report_progress,
)
from desktop.export.submission.precheck import CheckResult
from desktop.export.submission.rows import Rows
from desktop.storage.errors import NotPermitted
from desktop.storage.extract import ExportWriter, Selection, exporting
from desktop.storage.store import Store


class IdenticalFile(ExportError):
    """The file would be byte-identical to the previous export of that dataset and month."""


@dataclass(frozen=True)
class ExportResult:
    """A file written and recorded in the export history."""

    path: Path
    dataset: str
    period: str
    rows: int
    episodes: int
    held_back: tuple[str, ...]
    neutralised: int
    sha256: str
    batch_id: str
    left_out_no_consent: int
    format_provisional: bool
    undecided: int = 0


class _Sink:
    """What ``csv.writer`` writes to: collected per record, then written to the file as
    UTF-8 and hashed on the way (the text is also what the store remembers as sent)."""

    def __init__(self, fh: BinaryIO) -> None:
        self.fh = fh
        self.hash = hashlib.sha256()
        self.parts: list[str] = []

    def write(self, text: str) -> int:
        self.parts.append(text)
        return len(text)

    def flush(self) -> str:
        text = "".join(self.parts)
        self.parts.clear()
        data = text.encode("utf-8", errors="replace")
        self.hash.update(data)
        self.fh.write(data)
        return text


def file_name(fmt: ExportFormat, agency: str, spec: DatasetSpec, period: Period) -> str:
    name = fmt.file_name.format(
        AGNCY=agency,
        start=f"{period.start:%Y%m%d}",
        end=f"{period.end:%Y%m%d}",
        dataset=spec.letter,
    )
    if not name or Path(name).name != name or name.startswith(".") or "\\" in name:
        raise ExportError(
            f"The file name '{name[:60]}' made from the export settings is not a plain file"
            " name; check file_name under [export] in the reference data."
        )
    return name


def _folder(folder: Path) -> Path:
    if not folder.is_dir():
        raise ExportError(f"There is no folder {folder}; choose an existing folder for the file.")
    return folder


def _clear_stale(folder: Path, name: str) -> None:
    """Temporary files of this file name left by an export that was cut off."""
    prefix, suffix = f".{name}.", ".tmp"
    with contextlib.suppress(OSError):
        for stale in folder.iterdir():
            if stale.name.startswith(prefix) and stale.name.endswith(suffix):
                with contextlib.suppress(OSError):
                    stale.unlink()


def _write_failed(exc: OSError, folder: Path) -> ExportError:
    if exc.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
        return ExportError(
            "The disk is full, so the file was not written. Free some space and export again;"
            " the store is unchanged."
        )
    reason = exc.strerror or "it could not be written"
    return ExportError(
        f"The file could not be written in {folder} ({reason}). Nothing was written;"
        " choose another folder or check its permissions."
    )


def _usable(checked: CheckResult | None, dataset: str, period: Period, today: date) -> bool:
    return (
        checked is not None
        and checked.dataset == dataset
        and checked.period == period.code
        and checked.today == today
        and bool(checked.version)
    )


def export(
    store: Store,
    dataset: str,
    period: Period | str,
    folder: Path,
    *,
    include_errors: bool = False,
    progress: Progress | None = None,
    today: date | None = None,
    checked: CheckResult | None = None,
) -> ExportResult:
    """Write the NDTMS file for one dataset and month into ``folder`` (managers only).

    Records with errors are held back unless ``include_errors``; a CJIT episode waiting
    for its caseload decision is never sent. ``checked``, a
    :func:`check` of the same dataset, month and day, saves validating again when no
    record has changed since; otherwise every record is validated here. ``progress``
    is told after each batch; returning False stops, and nothing is written.
    """
    if not store.user.is_manager:
        raise NotPermitted("export the NDTMS file")
    ctx = store.context(today)
    spec = dataset_spec(store, dataset)
    chosen = chosen_period(period, ctx.today)
    fmt = store.refdata.export.for_dataset(dataset)
    name = file_name(fmt, store.settings.agency, spec, chosen)
    target = _folder(folder) / name
    _clear_stale(folder, name)
    rows_of = Rows(store, spec, fmt)
    validator = store.validator(dataset)
    stopped = "The export was cancelled; no file was written."

    def has_errors(raw: dict[str, object]) -> bool:
        return any(f.severity is Severity.ERROR for f in validator.validate(raw, ctx))

    renamed = False
    try:
        with exporting(store) as extract:
            sel = extract.select(dataset, chosen.start, chosen.end, rows_of.yes)
            known: frozenset[str] | None = None
            if (
                checked is not None
                and _usable(checked, dataset, chosen, ctx.today)
                and checked.version == extract.version()
            ):  # nothing changed since the check: its held-back list stands
                known = frozenset(h.episode_id for h in checked.held_back)
            total = extract.count(sel) if progress is not None else 0
            previous = extract.last_export(dataset, chosen.code)
            report_progress(progress, 0, total, stopped)
            batch_id = extract.begin(dataset, chosen.code, name, rows_of.header)
            try:
                with atomic_writer(target) as fh:
                    written = _write_rows(
                        extract,
                        sel,
                        rows_of,
                        fh,
                        batch_id,
                        keep_errors=include_errors,
                        failed=(lambda e, raw: e in known) if known is not None else None,
                        has_errors=has_errors,
                        progress=lambda done: report_progress(progress, done, total, stopped),
                    )
                    if previous is not None and previous[0] == written.sha256:
                        raise _identical(spec, chosen, previous[1])
                    extract.finish(
                        batch_id,
                        rows=written.rows,
                        episodes=written.episodes,
                        held_back=len(written.held_back),
                        neutralised=written.neutralised,
                        include_errors=include_errors,
                        sha256=written.sha256,
                        episode_ids=written.episode_ids,
                    )
            except OSError as exc:
                raise _write_failed(exc, folder) from None
            renamed = True
    except BaseException:
        if renamed:  # the store could not record the export: take the file back
            with contextlib.suppress(OSError):
                target.unlink()
                fsync_dir(folder)
        raise
    return ExportResult(
        path=target,
        dataset=dataset,
        period=chosen.code,
        rows=written.rows,
        episodes=written.episodes,
        held_back=tuple(written.held_back),
        neutralised=written.neutralised,
        sha256=written.sha256,
        batch_id=batch_id,
        left_out_no_consent=written.no_consent,
        undecided=written.undecided,
        format_provisional=fmt.provisional,
    )


def _identical(spec: DatasetSpec, period: Period, when: datetime) -> IdenticalFile:
    local = when.replace(tzinfo=UTC).astimezone()
    return IdenticalFile(
        f"Nothing has changed since the {spec.letter} file for {period.label} was exported on"
        f" {say_date(local.date())} at {local:%H:%M}: the new file would be identical, and"
        " NDTMS rejects a file it already has. No file was written; upload the earlier file,"
        " or correct or add records first."
    )


@dataclass(slots=True)
class _Written:
    rows: int = 0
    episodes: int = 0
    neutralised: int = 0
    held_back: list[str] = field(default_factory=list)
    no_consent: int = 0
    undecided: int = 0
    sha256: str = ""
    episode_ids: str = "[]"


def _write_rows(
    extract: ExportWriter,
    sel: Selection,
    rows_of: Rows,
    fh: BinaryIO,
    batch_id: str,
    *,
    keep_errors: bool,
    failed: Callable[[str, dict[str, object]], bool] | None,
    has_errors: Callable[[dict[str, object]], bool],
    progress: Callable[[int], None],
) -> _Written:
    """Stream the selected records into ``fh``, batch by batch, remembering what was sent."""
    out = _Written()
    sink = _Sink(fh)
    writer = csv.writer(sink, lineterminator=rows_of.fmt.newline, quoting=csv.QUOTE_MINIMAL)
    writer.writerow(rows_of.header)
    sink.flush()
    ids = bytearray(b"[")
    done = 0
    for batch in extract.episodes(sel):
        out.no_consent += batch.no_consent
        keep: list[tuple[str, str]] = []
        for episode in batch.episodes:
            if awaiting_decision(sel.dataset, episode.state):
                out.undecided += 1  # never sent, errors included or not (seed 000 FAQ)
                continue
            raw = rows_of.record(episode)
            if not keep_errors and (
                failed(episode.episode_id, raw) if failed is not None else has_errors(raw)
            ):
                out.held_back.append(episode.episode_id)
                continue
            cells = rows_of.cells(raw)
            writer.writerows(cells.rows)
            keep.append((episode.episode_id, sink.flush()))
            out.rows += len(cells.rows)
            out.neutralised += cells.neutralised
            out.episodes += 1
            if len(ids) > 1:
                ids += b","
            ids += json.dumps(episode.episode_id).encode()
        if keep:
            extract.remember(batch_id, sel.dataset, keep)
        done += batch.seen
        progress(done)
    ids += b"]"
    out.sha256 = sink.hash.hexdigest()
    out.episode_ids = ids.decode()
    return out
