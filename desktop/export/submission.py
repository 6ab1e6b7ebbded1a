"""The month-end NDTMS submission: the pre-upload check, the CSV file and its history.

:func:`check` validates every record the file would hold and reports what the NDTMS
portal will report (load % and DQ %), findings grouped by rule, the records held back for
errors, and "mismatch" warnings. :func:`export` writes the file; :func:`history` lists
past exports. The choices below are the rules of the file.

Who is in the file
    Only clients whose *current* NDTMS consent is yes. The client's newest NDTMS consent
    event decides (ordered by the date it was recorded for, then when it was entered); a
    client with no consent event falls back to the CONSENT value of the episode. Consent
    refused, withdrawn, blank or unknown: the client's episodes are left out entirely.
    An older NDTMS exporter sent a stub row (AGNCY, CLIENTID, CONSENT=N) for such
    clients; we take the stricter option and send nothing at all about them. Episodes
    of consenting clients carry CONSENT = yes, since that is their consent now.

Which episodes
    Every episode of the dataset that was open at any time in the month
    (opened on or before its last day and not closed before its first), was closed in
    it, or was changed since the previous export of the dataset (its fields, its
    client's, or the client's consent) - unless it was opened after the month, in which
    case it waits for its own month. Before the first export of a dataset, only the
    month decides. Each file is a full refresh: it holds all of these every time. What
    the worker saved is the record (there is no draft); a CJIT episode with neither a
    caseload start nor a closure waits for the caseload decision (seed 000 FAQ) and is
    listed by the check with that reason.

What each row holds
    The header and column order are the dataset specification's (every field, the
    referral or intervention fields included). One row per episode, repeated for each
    referral (Q) or intervention (R) with the client and episode fields on every row;
    an episode without any gives one row with those fields blank. Episodes come in the
    order they were first saved, items in their order in the episode. Values are those
    entered, read the way validation reads them: dates in the configured format
    (default DD/MM/YYYY), codes and initials in capitals, text trimmed. The postcode is
    cut by its last two characters (NR14 7UJ -> NR14 7; no fixed abode or abroad is
    entered as ZZ99 3VZ -> ZZ99 3); a PC that is not a postcode is sent blank, never in
    part (validation flags it). A client of no fixed abode with no DAT gets the
    team's own DAT (dataset Q). CMSID is Pathway's name and version and AGNCY the
    agency code from setup. UTLA is sent as entered: Pathway ships no postcode to UTLA
    lookup (the ONS file is not included), so it is not derived from the postcode.

The file
    Row shape, date format, line ending (default CRLF) and file name (default
    ``{AGNCY}-{start}-{end}-{dataset}.csv``) come from ``[export]`` in the reference
    data manifest, marked provisional until the official CSV specification is checked.
    RFC 4180 quoting (only where needed), UTF-8 without a byte-order mark. A value that
    starts with = + - @ TAB or CR is written with a leading ' so that no spreadsheet
    runs it as a formula (ASVS 1.2.10); validation already flags such values.

Writing safely
    Only managers export. Records with errors are held back unless the manager chooses to
    include them. The file is written to a hidden temporary file in the chosen folder,
    flushed to disk and renamed into place; nothing else is written outside the store
    (a temporary file left by an export that was cut off is removed by the next export
    of that file). The whole export is one transaction of the store: if the store cannot
    record it, the file is taken back. A file byte-identical to the previous export of
    the same dataset and month is refused (NDTMS rejects a file it already has) and
    nothing is written. Each export is an audit event and a history row (who, when,
    dataset, month, counts, SHA-256, file name, episode ids); no copy of the file is
    kept (see Mismatches for the one thing remembered).

Mismatches
    For each episode the store keeps the rows NDTMS last received for it (the newest
    only, inside the encrypted store; every value in them is derived from the episode
    itself). The check compares the fields whose definitions say they do not change (or
    change once, from blank to a value), or that are marked as causing a mismatch, with
    the episode now: a value that was sent and has since changed or been cleared is a
    "mismatch" warning. Filling in a field sent blank, or adding a referral, is not.
"""

from __future__ import annotations

import contextlib
import csv
import errno
import functools
import hashlib
import io
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import BinaryIO

from desktop import CMSID
from desktop.app.files import atomic_writer, fsync_dir
from desktop.domain.datasets import DATASETS
from desktop.domain.findings import Finding, Severity
from desktop.domain.period import Period
from desktop.domain.rules.cjit import own_dat_for_no_fixed_abode
from desktop.domain.spec import (
    DatasetSpec,
    ExportFormat,
    FieldSpec,
    FieldType,
    MayChange,
    RowShape,
)
from desktop.domain.values import (
    is_blank,
    parse_count,
    parse_date,
    parse_partial_date,
    parse_postcode,
    say_date,
    truncate_postcode,
)
from desktop.domain.workflow import AWAITING_DECISION_MESSAGE, awaiting_decision, consent_yes_code
from desktop.storage.errors import NotPermitted, StoreError
from desktop.storage.extract import (
    ExportRecord,
    ExportWriter,
    Extracted,
    Remembered,
    Selection,
    exporting,
    reading,
)
from desktop.storage.extract import (
    history as _history,
)
from desktop.storage.store import Store

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_FORMULA_CHARS = frozenset("".join(FORMULA_START))
MISMATCH = "mismatch"

Progress = Callable[[int, int], bool]
"""``progress(done, total)`` after each batch of episodes; returning False cancels."""


# ---------------------------------------------------------------------- errors


class ExportError(StoreError):
    """The export or check could not be done; the message says why and what to do."""


class IdenticalFile(ExportError):
    """The file would be byte-identical to the previous export of that dataset and month."""


class Cancelled(ExportError):
    """The manager cancelled; nothing was written."""


# ---------------------------------------------------------------------- the month


def parse_period(text: str) -> Period:
    """``YYYY-MM``; anything else is an :class:`ExportError` in plain words."""
    try:
        return Period.parse(text)
    except ValueError as exc:
        raise ExportError(f"{str(exc)[:1].upper()}{str(exc)[1:]}.") from None


def _period(period: Period | str, today: date) -> Period:
    chosen = period if isinstance(period, Period) else parse_period(period)
    if chosen.start > today:
        raise ExportError(f"{chosen.label} has not started yet; choose a month up to this one.")
    return chosen


def _dataset(store: Store, dataset: str) -> DatasetSpec:
    if dataset not in DATASETS or dataset not in store.refdata.datasets:
        raise ExportError(f"'{dataset}' is not a dataset; choose cjit-q or secure-r.")
    return store.refdata.datasets[dataset]


# ---------------------------------------------------------------------- rows


def _text(value: object) -> str:
    return str(value).strip()


def _capitals(value: object) -> str:
    return str(value).strip().upper()


def _count(value: object) -> str:
    if type(value) is int:
        return str(value)
    number = parse_count(value).value
    return _text(value) if number is None else str(number)


def _postcode(value: object) -> str:
    """The postcode less its last two characters; something that is not a postcode is
    left out (blank) rather than sent in part."""
    postcode = parse_postcode(value).value
    return truncate_postcode(postcode) if isinstance(postcode, str) else ""


@functools.lru_cache(maxsize=65536)
def _date_text(text: str, strftime: str, partial: bool) -> str:
    day = (parse_partial_date if partial else parse_date)(text).value
    return day.strftime(strftime) if isinstance(day, date) else text.strip()


def _formatter(spec: FieldSpec, fmt: ExportFormat) -> Callable[[object], str]:
    """How one field's stored value becomes its cell, read as validation reads it."""
    kind = spec.type
    if kind in (FieldType.DATE, FieldType.PARTIAL_DATE):
        strftime, partial = fmt.strftime, kind is FieldType.PARTIAL_DATE

        def as_date(value: object) -> str:
            return _date_text(value if isinstance(value, str) else str(value), strftime, partial)

        return as_date
    if kind is FieldType.POSTCODE:
        return _postcode
    if kind in (FieldType.CODE, FieldType.INITIAL):
        return _capitals
    if kind is FieldType.COUNT:
        return _count
    return _text


def _tracked(spec: FieldSpec) -> bool:
    """Fields whose change after submission NDTMS reports as a validation mismatch."""
    return spec.mismatch or spec.may_change in (MayChange.NO, MayChange.ONCE)


CACHE_LIMIT = 4096
"""Formatted cells remembered per column (codes and dates repeat); bounded, so memory
stays flat however large the store."""
_CACHED = frozenset(
    {
        FieldType.CODE,
        FieldType.INITIAL,
        FieldType.COUNT,
        FieldType.DATE,
        FieldType.PARTIAL_DATE,
        FieldType.POSTCODE,
    }
)


class _Column:
    """One column of the file: where it goes, how its cell is made, whether it is tracked."""

    __slots__ = ("cache", "header", "index", "make", "tracked")

    def __init__(self, index: int, spec: FieldSpec, fmt: ExportFormat) -> None:
        self.index = index
        self.header = spec.header
        self.make = _formatter(spec, fmt)
        self.tracked = _tracked(spec)
        self.cache: dict[object, str] | None = {} if spec.type in _CACHED else None

    def cell(self, value: object) -> tuple[str, bool]:
        """The cell for a stored value, and whether it had to be neutralised."""
        cache = self.cache if type(value) is not bool else None  # True == 1 as a key
        if cache is not None:
            try:
                hit = cache.get(value)
            except TypeError:  # not a plain value (a list or object typed into JSON)
                hit, cache = None, None
            if hit is not None:
                return hit, False
        cell = self.make(value)
        if cell and cell[0] in _FORMULA_CHARS:
            return "'" + cell, True
        if cache is not None and len(cache) < CACHE_LIMIT:
            cache[value] = cell
        return cell, False


@dataclass(slots=True)
class Cells:
    """One record's rows as they are written, and how many cells were neutralised."""

    rows: list[list[str]]
    neutralised: int


class Rows:
    """Turns stored episodes into the records NDTMS receives and the file's rows."""

    def __init__(self, store: Store, spec: DatasetSpec, fmt: ExportFormat) -> None:
        self.spec = spec
        self.fmt = fmt
        self.agency = store.settings.agency
        self.dat = store.settings.dat
        self.items_key = spec.items_key
        self.id_header = spec.item_fields[0].header
        self.yes = consent_yes_code(store.refdata, spec)
        self.width = len(spec.fields)
        self.record_columns: dict[str, _Column] = {}
        self.item_columns: dict[str, _Column] = {}
        for i, f in enumerate(spec.fields):
            column = _Column(i, f, fmt)
            (self.item_columns if f.level.repeats else self.record_columns)[f.header] = column
        self.refdata = store.refdata

    @property
    def header(self) -> list[str]:
        return list(self.spec.headers)

    def record(self, episode: Extracted) -> dict[str, object]:
        """The episode as it will be sent, in the ``validate`` shape (what the check checks).

        AGNCY, CMSID and CONSENT are what Pathway provides; a client of no fixed abode
        (ZZ99 3VZ and a no-fixed-abode housing situation) without a DAT gets this team's
        DAT. ZZ99 3VZ alone may be a client living outside the UK: that DAT stays blank, so
        the check shows it missing.
        """
        raw: dict[str, object] = dict(episode.values)
        raw["AGNCY"] = self.agency
        raw["CMSID"] = CMSID
        raw["CONSENT"] = self.yes
        own = own_dat_for_no_fixed_abode(raw, self.spec, self.refdata, self.dat)
        if own is not None:
            raw["DAT"] = own
        raw[self.items_key] = episode.items
        return raw

    def cells(self, raw: dict[str, object]) -> Cells:
        """The rows for one record (see the module's notes), ready to write."""
        in_base = in_items = 0
        base = [""] * self.width
        columns = self.record_columns
        for header, value in raw.items():
            col = columns.get(header)
            if col is None or value is None:
                continue
            cell, changed = col.cell(value)
            if not cell:
                continue
            in_base += changed
            base[col.index] = cell
        items = raw.get(self.items_key)
        entries = [i for i in items if isinstance(i, dict)] if isinstance(items, list) else []
        if self.fmt.rows is RowShape.PER_EPISODE:
            entries = entries[:1]
        rows: list[list[str]] = []
        item_columns = self.item_columns
        for item in entries:
            row = base.copy()
            for header, value in item.items():
                col = item_columns.get(header)
                if col is None or value is None:
                    continue
                cell, changed = col.cell(value)
                if not cell:
                    continue
                in_items += changed
                row[col.index] = cell
            rows.append(row)
        if not rows:
            rows.append(base)
        return Cells(rows, in_base * len(rows) + in_items)


def _mismatches(rows: Rows, now: Cells, sent: Remembered) -> list[Finding]:
    """Fields that must not change whose cell differs from what NDTMS last received.

    A field sent blank may be filled in later; a value sent and then changed or cleared
    is a mismatch. Referrals or interventions are matched by their id.
    """
    spec = rows.spec
    header = rows.spec.headers
    try:
        before = list(csv.reader(io.StringIO(sent.text, newline="")))
    except csv.Error:
        return []
    if not before or not sent.header:
        return []
    when = say_date(sent.exported_at.date())
    old_record = dict(zip(sent.header, before[0], strict=False))
    new_record = dict(zip(header, now.rows[0], strict=False))
    out: list[Finding] = []
    for name, col in rows.record_columns.items():
        old = old_record.get(name, "")
        if col.tracked and old and new_record.get(name, "") != old:
            out.append(_mismatch(spec.by_header[name], old, new_record.get(name, ""), when, None))
    id_header = rows.id_header
    current = {
        row.get(id_header, ""): (position, row)
        for position, row in enumerate(dict(zip(header, r, strict=False)) for r in now.rows)
    }
    for old_row in (dict(zip(sent.header, r, strict=False)) for r in before):
        found = current.get(old_row.get(id_header, ""))
        if not old_row.get(id_header) or found is None:
            continue  # no item then, or the item was removed: not a change of a field
        position, new_row = found
        for name, col in rows.item_columns.items():
            old = old_row.get(name, "")
            if col.tracked and old and new_row.get(name, "") != old:
                out.append(
                    _mismatch(spec.by_header[name], old, new_row.get(name, ""), when, position)
                )
    return out


def _mismatch(spec: FieldSpec, old: str, new: str, when: str, item: int | None) -> Finding:
    now = f"now '{new}'" if new else "now blank"
    return Finding(
        spec.header,
        Severity.WARNING,
        MISMATCH,
        f"{spec.label} has changed since it was sent to NDTMS on {when} (was '{old}', {now});"
        " NDTMS will report a validation mismatch. Change it back unless the value sent"
        " was wrong.",
        item,
    )


# ---------------------------------------------------------------------- the check


@dataclass(frozen=True, slots=True)
class Hit:
    """Where one finding is: the episode, the field, and the item (referral or intervention)."""

    episode_id: str
    field: str
    item: int | None
    message: str

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "episode": self.episode_id,
            "field": self.field,
            "message": self.message,
        }
        if self.item is not None:
            out["item"] = self.item
        return out


@dataclass(frozen=True, slots=True)
class RuleFindings:
    """Every finding of one rule: how many, in how many records, and where."""

    rule_id: str
    severity: Severity
    count: int
    records: int
    hits: tuple[Hit, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "rule": self.rule_id,
            "severity": self.severity.value,
            "count": self.count,
            "records": self.records,
            "hits": [h.as_json() for h in self.hits],
        }


@dataclass(frozen=True, slots=True)
class HeldBack:
    """A record left out of the file: one with errors (unless errors are included), or a
    CJIT episode waiting for its caseload decision (``errors`` then says so)."""

    episode_id: str
    client: str | None
    errors: tuple[Hit, ...]

    def as_json(self) -> dict[str, object]:
        return {
            "episode": self.episode_id,
            "client": self.client,
            "errors": [h.as_json() for h in self.errors],
        }


@dataclass(frozen=True)
class CheckResult:
    """What the portal will make of the file, before it is written.

    ``load_pct``: records with no error / all records. ``dq_pct``: records with no warning
    / all records (mismatches are counted apart, as the portal does). 100 when empty.
    """

    dataset: str
    period: str
    today: date
    records: int
    with_errors: int
    with_warnings: int
    with_mismatches: int
    left_out_no_consent: int
    rules: tuple[RuleFindings, ...]
    held_back: tuple[HeldBack, ...]
    format_provisional: bool
    undecided: tuple[HeldBack, ...] = ()
    version: str = field(repr=False, default="")

    @property
    def load_pct(self) -> float:
        return _pct(self.records - self.with_errors, self.records)

    @property
    def dq_pct(self) -> float:
        return _pct(self.records - self.with_warnings, self.records)

    def as_json(self) -> dict[str, object]:
        return {
            "dataset": self.dataset,
            "period": self.period,
            "today": self.today.isoformat(),
            "records": self.records,
            "with_errors": self.with_errors,
            "with_warnings": self.with_warnings,
            "with_mismatches": self.with_mismatches,
            "load_pct": self.load_pct,
            "dq_pct": self.dq_pct,
            "left_out_no_consent": self.left_out_no_consent,
            "waiting_for_caseload_decision": [h.as_json() for h in self.undecided],
            "format_provisional": self.format_provisional,
            "rules": [r.as_json() for r in self.rules],
            "held_back": [h.as_json() for h in self.held_back],
        }


def _pct(part: int, whole: int) -> float:
    return 100.0 if whole == 0 else round(100.0 * part / whole, 1)


class _Tally:
    def __init__(self) -> None:
        self.records = 0
        self.with_errors = 0
        self.with_warnings = 0
        self.with_mismatches = 0
        self.hits: dict[tuple[str, Severity], list[Hit]] = {}
        self.records_by_rule: dict[tuple[str, Severity], set[str]] = {}
        self.held_back: list[HeldBack] = []
        self.undecided: list[HeldBack] = []

    def wait(self, episode_id: str, client: object) -> None:
        """A CJIT episode with no caseload decision yet: not sent, not counted as sent."""
        hit = Hit(episode_id, "CPLANDT", None, AWAITING_DECISION_MESSAGE)
        who = None if is_blank(client) else str(client)
        self.undecided.append(HeldBack(episode_id, who, (hit,)))

    def add(self, episode_id: str, client: object, findings: Iterable[Finding]) -> None:
        self.records += 1
        errors: list[Hit] = []
        warning = mismatch = False
        for f in findings:
            if f.severity is Severity.INFO:
                continue
            hit = Hit(episode_id, f.field, f.item, f.message)
            key = (f.rule_id, f.severity)
            self.hits.setdefault(key, []).append(hit)
            self.records_by_rule.setdefault(key, set()).add(episode_id)
            if f.severity is Severity.ERROR:
                errors.append(hit)
            elif f.rule_id == MISMATCH:
                mismatch = True
            else:
                warning = True
        if errors:
            self.with_errors += 1
            self.held_back.append(
                HeldBack(episode_id, None if is_blank(client) else str(client), tuple(errors))
            )
        self.with_warnings += warning
        self.with_mismatches += mismatch

    def rules(self) -> tuple[RuleFindings, ...]:
        rank = {Severity.ERROR: 0, Severity.WARNING: 1}
        out = [
            RuleFindings(rule, sev, len(hits), len(self.records_by_rule[(rule, sev)]), tuple(hits))
            for (rule, sev), hits in self.hits.items()
        ]
        out.sort(key=lambda r: (rank.get(r.severity, 2), -r.count, r.rule_id))
        return tuple(out)


def check(
    store: Store,
    dataset: str,
    period: Period | str,
    *,
    today: date | None = None,
    progress: Progress | None = None,
) -> CheckResult:
    """Validate every record the file would hold, as the NDTMS portal will.

    Each record is checked as it will be sent (see :meth:`Rows.record`) with the
    current rules; fields that must not change are compared with what NDTMS last
    received. Any user may run the check; it changes nothing.
    """
    ctx = store.context(today)
    spec = _dataset(store, dataset)
    chosen = _period(period, ctx.today)
    fmt = store.refdata.export.for_dataset(dataset)
    rows = Rows(store, spec, fmt)
    validator = store.validator(dataset)
    tally = _Tally()
    with reading(store) as extract:
        sel = extract.select(dataset, chosen.start, chosen.end, rows.yes)
        version = extract.version()
        total = extract.count(sel) if progress is not None else 0
        _report(progress, 0, total, "The check was stopped.")
        done = no_consent = 0
        for batch in extract.episodes(sel, remembered=True):
            no_consent += batch.no_consent
            for episode in batch.episodes:
                raw = rows.record(episode)
                if awaiting_decision(dataset, episode.state):
                    tally.wait(episode.episode_id, raw.get("CLIENT"))
                    continue
                findings = validator.validate(raw, ctx)
                if episode.exported is not None:
                    findings.extend(_mismatches(rows, rows.cells(raw), episode.exported))
                tally.add(episode.episode_id, raw.get("CLIENT"), findings)
            done += batch.seen
            _report(progress, done, total, "The check was stopped.")
    return CheckResult(
        dataset=dataset,
        period=chosen.code,
        today=ctx.today,
        records=tally.records,
        with_errors=tally.with_errors,
        with_warnings=tally.with_warnings,
        with_mismatches=tally.with_mismatches,
        left_out_no_consent=no_consent,
        rules=tally.rules(),
        held_back=tuple(tally.held_back),
        undecided=tuple(tally.undecided),
        format_provisional=fmt.provisional,
        version=version,
    )


def _report(progress: Progress | None, done: int, total: int, stopped: str) -> None:
    if progress is not None and progress(done, total) is False:
        raise Cancelled(stopped)


# ---------------------------------------------------------------------- the file


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
    spec = _dataset(store, dataset)
    chosen = _period(period, ctx.today)
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
            _report(progress, 0, total, stopped)
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
                        progress=lambda done: _report(progress, done, total, stopped),
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


# ---------------------------------------------------------------------- history


def history(store: Store, dataset: str | None = None) -> list[ExportRecord]:
    """Past exports, newest first: who, when, dataset, month, counts and SHA-256."""
    if dataset is not None:
        _dataset(store, dataset)
    return _history(store, dataset)


__all__ = [
    "DATASETS",
    "Cancelled",
    "CheckResult",
    "ExportError",
    "ExportRecord",
    "ExportResult",
    "HeldBack",
    "Hit",
    "IdenticalFile",
    "Period",
    "Progress",
    "Rows",
    "RuleFindings",
    "check",
    "export",
    "file_name",
    "history",
]
