"""The typed description of an NDTMS dataset and its code lists, as loaded from refdata/."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from desktop.domain.findings import Severity


class FieldType(StrEnum):
    ID = "id"
    TEXT = "text"
    DATE = "date"
    PARTIAL_DATE = "partial_date"
    CODE = "code"
    COUNT = "count"
    INITIAL = "initial"
    POSTCODE = "postcode"


class Level(StrEnum):
    """Which record a field belongs to. Referral and intervention fields repeat."""

    CLIENT = "client"
    EPISODE = "episode"
    REFERRAL = "referral"
    INTERVENTION = "intervention"

    @property
    def repeats(self) -> bool:
        return self in (Level.REFERRAL, Level.INTERVENTION)


class MayChange(StrEnum):
    YES = "yes"
    NO = "no"
    ONCE = "once"  # only from blank to a value as the episode progresses


class Status(StrEnum):
    CONFIRMED = "confirmed"
    NATIONAL = "national"
    PROVISIONAL = "provisional"
    IMPORTED = "imported"


Value = date | int | str
"""A typed field value: a date, a count, or a code or text. Blank is ``None``."""


@dataclass(frozen=True, slots=True)
class Code:
    code: str
    label: str
    definition: str = ""
    valid_from: date | None = None
    valid_to: date | None = None
    tags: frozenset[str] = frozenset()

    def valid_on(self, day: date) -> bool:
        if self.valid_from is not None and day < self.valid_from:
            return False
        return not (self.valid_to is not None and day > self.valid_to)


@dataclass(frozen=True, slots=True)
class CodeList:
    name: str
    status: Status
    source: str
    codes: Mapping[str, Code]
    partial: bool = False
    file: str = ""

    @property
    def provisional(self) -> bool:
        return self.status is Status.PROVISIONAL

    def tagged(self, tag: str) -> frozenset[str]:
        return frozenset(c.code for c in self.codes.values() if tag in c.tags)


@dataclass(frozen=True, slots=True)
class Condition:
    """``when FIELD set`` or ``when FIELD = a|b`` (a value matches a code or one of its tags);
    in ``applies`` also ``when FIELD > N``: a count above N (a special value such as 98
    'declined' is not a count)."""

    field: str
    values: frozenset[str] | None  # None: the field only has to be filled in
    above: int | None = None

    def describe(self) -> str:
        if self.above is not None:
            return f"{self.field} is more than {self.above}"
        if self.values is None:
            return f"{self.field} is filled in"
        return f"{self.field} is {' or '.join(sorted(self.values))}"


class RequirementKind(StrEnum):
    NONE = "none"
    REJECT = "reject"  # the business definitions: "if not, the record will be rejected"
    DQ = "dq"  # "if not, data may be excluded from performance monitoring reports"
    REQUIRED = "required"  # required, with no consequence stated (e.g. "as soon as known")
    WHEN = "when"


@dataclass(frozen=True, slots=True)
class Requirement:
    kind: RequirementKind
    condition: Condition | None = None
    severity: Severity = Severity.WARNING

    @property
    def text(self) -> str:
        if self.kind is RequirementKind.WHEN and self.condition is not None:
            return f"when {self.condition.describe()}"
        return self.kind.value


@dataclass(frozen=True, slots=True)
class FieldSpec:
    header: str
    label: str
    section: str
    level: Level
    type: FieldType
    help: str
    codes: tuple[str, ...] = ()
    requirement: Requirement = Requirement(RequirementKind.NONE)
    # For requirement = "required": what a blank means, in the worker's words.
    missing: str = ""
    may_change: MayChange = MayChange.YES
    mismatch: bool = False
    system: bool = False
    minimum: int | None = None
    maximum: int | None = None
    special: tuple[int, ...] = ()
    special_label: str = ""
    pattern: re.Pattern[str] | None = None
    pattern_hint: str = ""
    pattern_severity: Severity = Severity.ERROR
    max_length: int | None = None
    # Asked only when one of these holds ("applies = 'when FIELD = a|b or FIELD > 0'");
    # otherwise not applicable. Empty: always asked.
    applies: tuple[Condition, ...] = ()
    line: int = 0


@dataclass(frozen=True, slots=True)
class Section:
    id: str
    title: str


@dataclass(frozen=True)
class DatasetSpec:
    id: str
    letter: str
    title: str
    version: str
    source: str
    items_key: str
    item_label: str
    sections: tuple[Section, ...]
    fields: tuple[FieldSpec, ...]
    # The sheet's columns, top to bottom, as section ids ([layout] in the dataset file).
    layout: tuple[tuple[str, ...], ...] = ()
    by_header: Mapping[str, FieldSpec] = field(init=False, repr=False)
    order: Mapping[str, int] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "by_header", {f.header: f for f in self.fields})
        object.__setattr__(self, "order", {f.header: i for i, f in enumerate(self.fields)})

    @property
    def headers(self) -> tuple[str, ...]:
        return tuple(f.header for f in self.fields)

    @property
    def record_fields(self) -> tuple[FieldSpec, ...]:
        """Client and episode fields: one value per episode."""
        return tuple(f for f in self.fields if not f.level.repeats)

    @property
    def item_fields(self) -> tuple[FieldSpec, ...]:
        """Referral (Q) or intervention (R) fields: one value per item."""
        return tuple(f for f in self.fields if f.level.repeats)


class RowShape(StrEnum):
    """How an episode with several referrals (Q) or interventions (R) becomes CSV rows."""

    PER_ITEM = "per_item"
    """One row per item, the client and episode fields repeated on each (one row when none)."""
    PER_EPISODE = "per_episode"
    """One row per episode, carrying its first item only."""


LINE_ENDINGS = {"CRLF": "\r\n", "LF": "\n"}
DATE_TOKENS = {"YYYY": "%Y", "MM": "%m", "DD": "%d"}
FILE_NAME_FIELDS = frozenset({"AGNCY", "start", "end", "dataset"})


@dataclass(frozen=True, slots=True)
class ExportFormat:
    """The shape of the NDTMS submission file for one dataset (``[export]`` in MANIFEST.toml).

    Attributes:
        date_format: DD, MM and YYYY with separators, e.g. ``DD/MM/YYYY``.
        line_ending: ``CRLF`` (RFC 4180) or ``LF``.
        file_name: a pattern with {AGNCY}, {start}, {end} (YYYYMMDD) and {dataset} (letter).
        rows: one row per item, or one row per episode.
        provisional: true while the official CSV specification has not been checked.
        source: where these settings come from.
    """

    date_format: str = "DD/MM/YYYY"
    line_ending: str = "CRLF"
    file_name: str = "{AGNCY}-{start}-{end}-{dataset}.csv"
    rows: RowShape = RowShape.PER_ITEM
    provisional: bool = True
    source: str = ""

    @property
    def strftime(self) -> str:
        """``date_format`` for :meth:`datetime.date.strftime`."""
        out = self.date_format
        for token, directive in DATE_TOKENS.items():
            out = out.replace(token, directive)
        return out

    @property
    def newline(self) -> str:
        return LINE_ENDINGS[self.line_ending]


@dataclass(frozen=True)
class ExportSettings:
    """The submission file settings: a default, and overrides per dataset."""

    default: ExportFormat = ExportFormat()
    datasets: Mapping[str, ExportFormat] = field(default_factory=dict)

    def for_dataset(self, dataset_id: str) -> ExportFormat:
        return self.datasets.get(dataset_id, self.default)


@dataclass(frozen=True)
class RefData:
    """Every dataset and code list the application knows, after loading and overrides."""

    datasets: Mapping[str, DatasetSpec]
    lists: Mapping[str, CodeList]
    field_lists: Mapping[str, str] = field(default_factory=dict)
    """Per-field code lists imported by an agency (field header → list name)."""
    problems: tuple[str, ...] = ()
    """Imported lists that could not be used (the shipped list is used instead)."""
    export: ExportSettings = field(default_factory=ExportSettings)
    """How the NDTMS submission file is written (provisional until the spec is confirmed)."""

    def dataset(self, dataset_id: str) -> DatasetSpec:
        return self.datasets[dataset_id]

    def lists_for(self, spec: FieldSpec) -> tuple[CodeList, ...]:
        own = self.field_lists.get(spec.header)
        names: Iterable[str] = (own,) if own is not None else spec.codes
        return tuple(self.lists[n] for n in names)

    def codes_for(self, spec: FieldSpec) -> list[tuple[Code, CodeList]]:
        seen: set[str] = set()
        out: list[tuple[Code, CodeList]] = []
        for code_list in self.lists_for(spec):
            for code in code_list.codes.values():
                if code.code not in seen:
                    seen.add(code.code)
                    out.append((code, code_list))
        return out

    def tagged(self, list_name: str, tag: str) -> frozenset[str]:
        code_list = self.lists.get(list_name)
        return code_list.tagged(tag) if code_list is not None else frozenset()

    def field_tagged(self, spec: FieldSpec, tag: str) -> frozenset[str]:
        out: set[str] = set()
        for code_list in self.lists_for(spec):
            out |= code_list.tagged(tag)
        return frozenset(out)
