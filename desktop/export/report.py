"""The monthly report: what the team did in a month, as counts only.

Commissioners ask each month how many people the team saw, took on, referred and
discharged, and who is on the caseload. This module answers that from the episodes kept on
this laptop, for the CJIT (dataset Q) or the secure-setting (dataset R) team.

The report is made of counts and nothing else: no name, initial, date of birth, client
reference or id is carried into it, so it can be printed or e-mailed to a commissioner. It
counts every episode of the dataset recorded locally, whatever the client's NDTMS consent:
it is the team's own management report, not a submission to NDTMS.

:func:`count_report` is pure (episode rows in, a :class:`Report` out) and knows nothing of
the store; :func:`read_rows` and :func:`monthly_report` read the rows from a store.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Literal

from desktop.domain.datasets import Workflow, profile
from desktop.domain.period import Period, quarter_of
from desktop.domain.spec import DatasetSpec, RefData
from desktop.domain.values import age_on, is_blank, parse_code, parse_date, say_date
from desktop.storage.errors import NotPermitted, StoreError
from desktop.storage.extract import report_rows
from desktop.storage.store import Store

NOT_RECORDED = "Not recorded"
UNDER_18 = "Under 18"
AGE_BANDS = ((18, 24), (25, 34), (35, 44), (45, 54), (55, None))
_MONTH_ABBR = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")



# ---------------------------------------------------------------------- the period


def age_band(dob: date | None, day: date) -> str:
    if dob is None:
        return NOT_RECORDED
    age = age_on(dob, day)
    for low, high in AGE_BANDS:
        if high is None and age >= low:
            return f"{low}+"
        if high is not None and low <= age <= high:
            return f"{low}–{high}"
    return UNDER_18


# ---------------------------------------------------------------------- what the report holds


@dataclass(frozen=True, slots=True)
class Row:
    """One line of a measure: a category (a code's label, an age band) and its counts."""

    label: str
    counts: tuple[int, ...]
    code: str | None = None
    """The list code counted, when the row is one; None for bands, totals and blanks."""
    known: bool = True
    """False for 'Not recorded' and for codes that are not in the code list."""


@dataclass(frozen=True, slots=True)
class Measure:
    """One question the report answers, as a table of counts (and the chart drawn from it).

    ``chart`` says what to draw: ``rows`` (a bar per row, from the last column) or
    ``columns`` (a bar per column: the total of every row, e.g. one per month).
    ``base`` is what a percentage is of, when a percentage means something.
    """

    key: str
    title: str
    note: str
    columns: tuple[str, ...]
    rows: tuple[Row, ...]
    chart: Literal["rows", "columns"] = "rows"
    base: int | None = None
    summed: bool = True
    """False when the rows count different things, so a total would mean nothing."""

    @property
    def totals(self) -> tuple[int, ...]:
        return tuple(sum(r.counts[i] for r in self.rows) for i in range(len(self.columns)))

    def row(self, label: str) -> Row:
        for r in self.rows:
            if r.label == label:
                return r
        raise KeyError(label)

    def count(self, label: str, column: int = -1) -> int:
        """The count on the row with this label (0 when there is no such row)."""
        try:
            return self.row(label).counts[column]
        except KeyError:
            return 0

    def as_json(self) -> dict[str, object]:
        return {
            "key": self.key,
            "title": self.title,
            "note": self.note,
            "columns": list(self.columns),
            "rows": [
                {"label": r.label, "code": r.code, "counts": list(r.counts)} for r in self.rows
            ],
            "totals": list(self.totals) if self.summed else None,
            "base": self.base,
        }


@dataclass(frozen=True, slots=True)
class Report:
    """The monthly report of one dataset: counts only, never about one person."""

    agency: str
    dataset: str
    dataset_title: str
    period: Period
    generated: datetime
    episodes: int
    """How many episodes of the dataset were read (every one recorded on this laptop)."""
    unreadable: tuple[tuple[str, int], ...]
    """Dates that could not be read, by field (left out of the measures that use them)."""
    measures: tuple[Measure, ...]

    def measure(self, key: str) -> Measure:
        for m in self.measures:
            if m.key == key:
                return m
        raise KeyError(key)

    @property
    def scope(self) -> str:
        """What was counted, said once at the top of the report."""
        unread = ""
        if self.unreadable:
            n = sum(c for _, c in self.unreadable)
            fields = ", ".join(h for h, _ in self.unreadable)
            unread = (
                f" {n} {'date' if n == 1 else 'dates'} could not be read ({fields}) and"
                " are left out of the counts that use them; correct them in the episodes"
                " with errors."
            )
        counted = (
            f"Counted from all {self.episodes} episodes of this dataset recorded on this"
            " laptop, whatever the client's NDTMS consent. This is the team's own"
            " management report, not an NDTMS submission, so national figures will differ."
        )
        return counted + unread

    def as_json(self) -> dict[str, object]:
        return {
            "agency": self.agency,
            "dataset": self.dataset,
            "period": self.period.code,
            "period_start": self.period.start.isoformat(),
            "period_end": self.period.end.isoformat(),
            "generated": self.generated.isoformat(timespec="seconds"),
            "counts_only": True,
            "episodes": self.episodes,
            "unreadable_dates": dict(self.unreadable),
            "measures": [m.as_json() for m in self.measures],
        }

    def as_text(self) -> str:
        lines = [
            f"Monthly report: {self.agency}, {self.dataset_title}, {self.period.label}"
            f" ({say_date(self.period.start)} to {say_date(self.period.end)})",
            "Counts only — no client-level data.",
            self.scope,
        ]
        for m in self.measures:
            lines += ["", m.title]
            width = max([len(r.label) for r in m.rows] + [5]) + 2
            sizes = [max(8, len(c) + 2) for c in m.columns]
            lines.append(
                f"  {'':<{width}}"
                + "".join(f"{c:>{n}}" for c, n in zip(m.columns, sizes, strict=True))
            )
            table = [(r.label, r.counts) for r in m.rows]
            if m.summed and len(m.rows) > 1:
                table.append(("Total", m.totals))
            for label, counts in table:
                cells = "".join(f"{c:>{n}}" for c, n in zip(counts, sizes, strict=True))
                lines.append(f"  {label:<{width}}{cells}")
        return "\n".join(lines) + "\n"

    def to_json_text(self) -> str:
        return json.dumps(self.as_json(), indent=2, ensure_ascii=False) + "\n"


# ---------------------------------------------------------------------- counting


@dataclass(frozen=True, slots=True)
class EpisodeRow:
    """What the report reads of one episode: its fields as entered, and its items."""

    fields: Mapping[str, object]
    items: Sequence[Mapping[str, object]] = ()


class _Dates:
    """Reads each date of an episode once, and notes those that are filled in but unreadable."""

    def __init__(self, fields: Mapping[str, object], unreadable: Counter[str]) -> None:
        self._fields = fields
        self._unreadable = unreadable
        self._seen: dict[str, date | None] = {}

    def __call__(self, header: str) -> date | None:
        if header not in self._seen:
            self._seen[header] = read_date(self._fields.get(header), header, self._unreadable)
        return self._seen[header]


def read_date(raw: object, header: str, unreadable: Counter[str]) -> date | None:
    parsed = parse_date(raw)
    if isinstance(parsed.value, date):
        return parsed.value
    if not is_blank(raw):
        unreadable[header] += 1
    return None


def read_code(raw: object) -> str:
    """The code as the lists hold it, or '' when blank or not a code at all."""
    parsed = parse_code(raw)
    return parsed.value if isinstance(parsed.value, str) else ""


class _Tally:
    """Counts by code (or band) in one or more columns."""

    def __init__(self, columns: int = 1) -> None:
        self.columns = columns
        self.counts: dict[str, list[int]] = {}

    def add(self, key: str, column: int = 0) -> None:
        self.counts.setdefault(key, [0] * self.columns)[column] += 1

    def get(self, key: str) -> tuple[int, ...]:
        return tuple(self.counts.get(key, [0] * self.columns))


def _code_rows(refdata: RefData, spec: DatasetSpec, header: str, tally: _Tally) -> tuple[Row, ...]:
    """Every code of the field's lists in list order (zeros too), then codes not in the
    lists, then blanks; the last two only when there are some."""
    rows: list[Row] = []
    listed: set[str] = set()
    for code, _ in refdata.codes_for(spec.by_header[header]):
        listed.add(code.code)
        rows.append(Row(code.label, tally.get(code.code), code=code.code))
    for key in sorted(k for k in tally.counts if k and k not in listed):
        rows.append(Row(f"{key} (not in the code list)", tally.get(key), code=key, known=False))
    if "" in tally.counts:
        rows.append(Row(NOT_RECORDED, tally.get(""), known=False))
    return tuple(rows)


def _band_rows(tally: _Tally) -> tuple[Row, ...]:
    rows: list[Row] = []
    if UNDER_18 in tally.counts:
        rows.append(Row(UNDER_18, tally.get(UNDER_18)))
    for low, high in AGE_BANDS:
        band = f"{low}+" if high is None else f"{low}–{high}"
        rows.append(Row(band, tally.get(band)))
    if NOT_RECORDED in tally.counts:
        rows.append(Row(NOT_RECORDED, tally.get(NOT_RECORDED), known=False))
    return tuple(rows)


def count_report(
    rows: Iterable[EpisodeRow],
    *,
    refdata: RefData,
    dataset: str,
    period: Period,
    agency: str,
    generated: datetime,
) -> Report:
    """Count the month's activity from episode rows (pure: no store, no screen)."""
    spec = refdata.datasets[dataset]
    counter = _cjit if profile(dataset).workflow is Workflow.CJIT else _secure
    unreadable: Counter[str] = Counter()
    seen = _Seen()
    measures = counter(_counted(rows, seen), refdata, spec, period, unreadable)
    return Report(
        agency=agency,
        dataset=dataset,
        dataset_title=spec.title,
        period=period,
        generated=generated,
        episodes=seen.episodes,
        unreadable=tuple(sorted(unreadable.items(), key=lambda hc: spec.order.get(hc[0], 999))),
        measures=measures,
    )


@dataclass(slots=True)
class _Seen:
    episodes: int = 0


def _counted(rows: Iterable[EpisodeRow], seen: _Seen) -> Iterator[EpisodeRow]:
    for row in rows:
        seen.episodes += 1
        yield row


def _cjit(
    rows: Iterable[EpisodeRow],
    refdata: RefData,
    spec: DatasetSpec,
    period: Period,
    unreadable: Counter[str],
) -> tuple[Measure, ...]:
    months = period.fy_months()
    month_index = {ym: i for i, ym in enumerate(months)}
    quarters = period.quarter
    routes_month = _Tally()
    routes_by_month = _Tally(len(months))
    routes_by_quarter = _Tally(quarters + 1)
    by_sex, by_age, by_ethnic, closures = _Tally(), _Tally(), _Tally(), _Tally()
    assessed = taken_on = referred = closed = caseload = 0
    end = period.end
    for row in rows:
        day = _Dates(row.fields, unreadable)
        contact = day("TRIAGED") or day("REFLD")
        if contact is not None and period.fy_start <= contact <= end:
            route = read_code(row.fields.get("CJRFLS"))
            routes_by_month.add(route, month_index[(contact.year, contact.month)])
            routes_by_quarter.add(route, quarter_of(contact.month) - 1)
            routes_by_quarter.add(route, quarters)
            if period.contains(contact):
                routes_month.add(route)
        if period.contains(day("TRIAGED")):
            assessed += 1
        start = day("CPLANDT")
        if period.contains(start):
            taken_on += 1
        for item in row.items:
            if period.contains(read_date(item.get("REFDATE"), "REFDATE", unreadable)):
                referred += 1
        closure = day("DISD")
        if period.contains(closure):
            closed += 1
            closures.add(read_code(row.fields.get("CJDISRSN")))
        opened = day("TRIAGED") or day("REFLD")
        on_caseload = (
            start is not None
            and start <= end
            and (opened is None or opened <= end)
            and (closure is None or closure > end)
        )
        if on_caseload:
            caseload += 1
            by_sex.add(read_code(row.fields.get("SEX")))
            by_ethnic.add(read_code(row.fields.get("ETHNIC")))
            by_age.add(age_band(day("DOB"), end))
    month = period.label
    month_cols = tuple(_MONTH_ABBR[m - 1] for _, m in months)
    so_far = period.month not in (6, 9, 12, 3)
    quarter_cols = (
        *(_quarter_label(q, partial=so_far and q == quarters) for q in range(1, quarters + 1)),
        "Year to date",
    )
    at_end = f"on the caseload at the end of {month}"
    return (
        Measure(
            "activity",
            f"{month} at a glance",
            "Contacts assessed: contact (assessment) date in the month. Taken onto the"
            " caseload: caseload start date in the month. Referred: referrals to"
            " structured treatment dated in the month. Cases closed: closure date in the"
            " month.",
            (month,),
            (
                Row("Contacts assessed", (assessed,)),
                Row("Taken onto the caseload", (taken_on,)),
                Row("Referred to structured treatment", (referred,)),
                Row("Cases closed", (closed,)),
                Row(f"On the caseload at the end of {month}", (caseload,)),
            ),
            summed=False,
        ),
        Measure(
            "routes_month",
            f"What prompted the contact (referral route), {month}",
            "Each new contact once, in the month of its contact date (or, when that is"
            " blank, the date of the prompting event).",
            (month,),
            _code_rows(refdata, spec, "CJRFLS", routes_month),
            base=sum(routes_month.get(k)[0] for k in routes_month.counts),
        ),
        Measure(
            "routes_by_month",
            f"Referral routes by month, financial year {period.fy_label} to date",
            "New contacts by month of contact; the chart shows all routes together.",
            month_cols,
            _code_rows(refdata, spec, "CJRFLS", routes_by_month),
            chart="columns",
        ),
        Measure(
            "routes_by_quarter",
            f"Referral routes by quarter, financial year {period.fy_label} to date",
            "New contacts by quarter of contact; the bars show the year to date.",
            quarter_cols,
            _code_rows(refdata, spec, "CJRFLS", routes_by_quarter),
        ),
        Measure(
            "caseload_sex",
            f"Caseload at the end of {month}, by sex",
            f"People {at_end}: caseload start on or before the last day of the month,"
            " and not closed by then.",
            ("People",),
            _code_rows(refdata, spec, "SEX", by_sex),
            base=caseload,
        ),
        Measure(
            "caseload_age",
            f"Caseload at the end of {month}, by age",
            f"People {at_end}, by their age on the last day of the month.",
            ("People",),
            _band_rows(by_age),
            base=caseload,
        ),
        Measure(
            "caseload_ethnicity",
            f"Caseload at the end of {month}, by ethnicity",
            f"People {at_end}, by ethnicity as recorded.",
            ("People",),
            _code_rows(refdata, spec, "ETHNIC", by_ethnic),
            base=caseload,
        ),
        Measure(
            "exits",
            f"Cases closed in {month}, by closure reason",
            "Episodes with a case closure date in the month.",
            ("Closed",),
            _code_rows(refdata, spec, "CJDISRSN", closures),
            base=closed,
        ),
    )


def _quarter_label(q: int, *, partial: bool) -> str:
    names = {1: "Apr–Jun", 2: "Jul–Sep", 3: "Oct–Dec", 4: "Jan–Mar"}
    return f"Q{q} {names[q]}{' so far' if partial else ''}"


def _secure(
    rows: Iterable[EpisodeRow],
    refdata: RefData,
    spec: DatasetSpec,
    period: Period,
    unreadable: Counter[str],
) -> tuple[Measure, ...]:
    released_codes = refdata.field_tagged(spec.by_header["EXITRSN"], "released")
    naloxone_yes = refdata.field_tagged(spec.by_header["THNALOX"], "yes")
    reconnect_yes = refdata.field_tagged(spec.by_header["RECONNECT"], "yes")
    no_referral = refdata.field_tagged(spec.by_header["RTOAGNCY"], "none")
    interventions, discharges, exits = _Tally(), _Tally(), _Tally()
    triaged = started = discharged = exited = released = 0
    naloxone = reconnect = onward = 0
    for row in rows:
        day = _Dates(row.fields, unreadable)
        if period.contains(day("TRIAGED")):
            triaged += 1
        for item in row.items:
            if period.contains(read_date(item.get("MODST"), "MODST", unreadable)):
                started += 1
                interventions.add(read_code(item.get("MODAL")))
        if period.contains(day("DISD")):
            discharged += 1
            discharges.add(read_code(row.fields.get("DISRSN")))
        if period.contains(day("EXITD")):
            exited += 1
            reason = read_code(row.fields.get("EXITRSN"))
            exits.add(reason)
            if reason in released_codes:
                released += 1
                naloxone += read_code(row.fields.get("THNALOX")) in naloxone_yes
                reconnect += read_code(row.fields.get("RECONNECT")) in reconnect_yes
                referral = read_code(row.fields.get("RTOAGNCY"))
                onward += bool(referral) and referral not in no_referral
    month = period.label
    return (
        Measure(
            "activity",
            f"{month} at a glance",
            "Receptions triaged: triage date in the month. Interventions started: start"
            " date in the month. Discharges and exits: their dates in the month. Releases:"
            " exits in the month whose reason is release.",
            (month,),
            (
                Row("Receptions triaged", (triaged,)),
                Row("Interventions started", (started,)),
                Row("Discharges from treatment", (discharged,)),
                Row("Exits from this secure setting", (exited,)),
                Row("Releases", (released,)),
            ),
            summed=False,
        ),
        Measure(
            "interventions",
            f"Interventions started in {month}, by type",
            "Each treatment intervention with a start date in the month.",
            ("Started",),
            _code_rows(refdata, spec, "MODAL", interventions),
            base=started,
        ),
        Measure(
            "discharges",
            f"Discharges from treatment in {month}, by reason",
            "Episodes with a discharge date in the month.",
            ("Discharged",),
            _code_rows(refdata, spec, "DISRSN", discharges),
            base=discharged,
        ),
        Measure(
            "exits",
            f"Exits from this secure setting in {month}, by reason",
            "Episodes with an exit date in the month.",
            ("Exits",),
            _code_rows(refdata, spec, "EXITRSN", exits),
            base=exited,
        ),
        Measure(
            "releases",
            f"Releases in {month}: naloxone, RECONNECT and onward referral",
            f"Of the {released} {'exit' if released == 1 else 'exits'} in the month whose"
            " reason is release: how many left with take-home naloxone and training, with"
            " RECONNECT support, and with a referral to a community service.",
            ("Releases",),
            (
                Row("Take-home naloxone and training", (naloxone,)),
                Row("RECONNECT support", (reconnect,)),
                Row("Referred on to a community service", (onward,)),
            ),
            base=released,
            summed=False,
        ),
    )


# ---------------------------------------------------------------------- reading the store


def read_rows(store: Store, dataset: str) -> Iterator[EpisodeRow]:
    """Every episode of ``dataset`` in the store, with only the fields the report uses.

    Names, notes and every other field stay in the store; the rows stream from it, so
    memory stays flat as the store grows.
    """
    used = profile(dataset)
    for fields, items in report_rows(store, dataset, used.report_fields, used.report_item_fields):
        yield EpisodeRow(fields=fields, items=items)


def monthly_report(
    store: Store,
    period: Period,
    dataset: str | None = None,
    *,
    generated: datetime | None = None,
) -> Report:
    """The monthly report of a store (managers only).

    A store keeps one team's dataset, so ``dataset``, when given, must be the store's own.
    """
    if not store.user.is_manager:
        raise NotPermitted("read the monthly report")
    own = store.settings.dataset
    if dataset is not None and dataset != own:
        titles = {d: s.title for d, s in store.refdata.datasets.items()}
        raise StoreError(
            f"This store is for {titles[own]}; it holds no {titles.get(dataset, dataset)}"
            " episodes to report on."
        )
    dataset = own
    return count_report(
        read_rows(store, dataset),
        refdata=store.refdata,
        dataset=dataset,
        period=period,
        agency=store.settings.agency,
        generated=generated or datetime.now(),
    )
