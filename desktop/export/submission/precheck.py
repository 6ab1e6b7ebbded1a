"""The pre-upload check: every record the file would hold, validated as the NDTMS portal will
validate it, with what the portal will report (load % and DQ %), the findings grouped by rule,
the records held back, and "mismatch" warnings for fields changed since NDTMS received them
(see "Mismatches" in :mod:`desktop.export.submission`).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from desktop.domain.findings import Finding, Severity
from desktop.domain.period import Period
from desktop.domain.spec import FieldSpec
from desktop.domain.values import is_blank, say_date
from desktop.domain.workflow import AWAITING_DECISION_MESSAGE, awaiting_decision
from desktop.export.submission.common import (
    Progress,
    chosen_period,
    dataset_spec,
    report_progress,
)
from desktop.export.submission.rows import Cells, Rows
from desktop.storage.extract import Remembered, reading
from desktop.storage.store import Store

MISMATCH = "mismatch"


# ---------------------------------------------------------------------- mismatches


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
    spec = dataset_spec(store, dataset)
    chosen = chosen_period(period, ctx.today)
    fmt = store.refdata.export.for_dataset(dataset)
    rows = Rows(store, spec, fmt)
    validator = store.validator(dataset)
    tally = _Tally()
    with reading(store) as extract:
        sel = extract.select(dataset, chosen.start, chosen.end, rows.yes)
        version = extract.version()
        total = extract.count(sel) if progress is not None else 0
        report_progress(progress, 0, total, "The check was stopped.")
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
            report_progress(progress, done, total, "The check was stopped.")
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
