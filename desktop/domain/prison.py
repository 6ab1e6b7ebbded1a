"""Prison mode: NDTMS adult secure settings, dataset R v1.2 (seed 002).

What the prison sheet and caseload need beyond single-field rules, decided here so that the
widgets hold no rule of their own:

- the stay: a client's episodes grouped by initial reception and reception date;
- what the sheet offers next: discharge only when every intervention has ended (with an offer
  to end them on the discharge date), exit only when every episode of the stay is discharged,
  the release-only questions only when the exit reason is a release;
- appendix G (continuity of care on release): which scenario a discharge reason, referral on
  release and exit reason most likely mean, and what that scenario expects;
- re-opening (appendix D and DISD): under 21 days, or after a court appearance or video link
  transfer and return; never after a release to the community;
- the prison caseload: flags and groups.

Codes are recognised by their tags in refdata/codes (e.g. EXITRSN 'released'), never by number.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from enum import StrEnum

from desktop.domain.findings import Finding
from desktop.domain.period import Period
from desktop.domain.record import Record, item_date
from desktop.domain.rules.secure import (
    OST_REVIEW_DAYS,
    SCENARIOS,
    Scenario,
    exit_destination_expected,
    release_scenarios,
)
from desktop.domain.spec import DatasetSpec, RefData
from desktop.domain.values import as_date, say_date
from desktop.domain.workflow import (
    REOPEN_WITHIN_DAYS,
    Action,
    Flag,
    SecureState,
    Step,
    can_reopen_discharge,
    court_transfer,
    not_applicable,
    secure_step,
)

DISCHARGE_FIELDS = ("DISD", "DISRSN")
EXIT_FIELDS = ("EXITD", "EXITRSN", "EXITDEST")
# Kept on this laptop only (the "_" prefix): when and why the episode was last re-opened.
REOPENED = "_REOPENED"
REOPEN_REASON = "_REOPENREASON"


def _when(day: date) -> str:
    return day.strftime("%d/%m/%Y")


def _tagged(spec: DatasetSpec, refdata: RefData, header: str, tag: str) -> frozenset[str]:
    field = spec.by_header.get(header)
    return refdata.field_tagged(field, tag) if field is not None else frozenset()


def _has_tag(spec: DatasetSpec, refdata: RefData, header: str, code: object, *tags: str) -> bool:
    return isinstance(code, str) and any(
        code in _tagged(spec, refdata, header, tag) for tag in tags
    )


def _code_tags(spec: DatasetSpec, refdata: RefData, header: str, code: object) -> frozenset[str]:
    field = spec.by_header.get(header)
    if field is not None and isinstance(code, str):
        for entry, _ in refdata.codes_for(field):
            if entry.code == code:
                return entry.tags
    return frozenset()


def _label(spec: DatasetSpec, refdata: RefData, header: str, code: object) -> str:
    field = spec.by_header.get(header)
    if field is not None and isinstance(code, str):
        for entry, _ in refdata.codes_for(field):
            if entry.code == code:
                return f"'{entry.label}'"
    return f"'{code}'"


def _labels(spec: DatasetSpec, refdata: RefData, header: str, codes: Iterable[str]) -> str:
    return " or ".join(_label(spec, refdata, header, c) for c in sorted(codes, key=_code_key))


def _code_key(code: str) -> tuple[int, str]:
    return (int(code), "") if code.isdigit() else (10**6, code)


# ----------------------------------------------------------------------------- the stay


@dataclass(frozen=True, slots=True)
class EpisodeBrief:
    """What the stay needs to know of one episode."""

    episode_id: str
    initial_reception: date | None
    reception: date | None
    triaged: date | None
    discharged: date | None
    exited: date | None
    exit_reason: str | None

    @classmethod
    def of(cls, episode_id: str, values: Mapping[str, object]) -> EpisodeBrief:
        """From stored or typed values (dates as typed, ISO or typed values)."""
        reason = values.get("EXITRSN")
        return cls(
            episode_id=episode_id,
            initial_reception=as_date(values.get("INTRCPTD")),
            reception=as_date(values.get("RECPDT")),
            triaged=as_date(values.get("TRIAGED")),
            discharged=as_date(values.get("DISD")),
            exited=as_date(values.get("EXITD")),
            exit_reason=str(reason) if reason not in (None, "") else None,
        )

    @property
    def stay_key(self) -> tuple[date | None, date | None]:
        return (self.initial_reception, self.reception)


@dataclass(frozen=True, slots=True)
class Stay:
    """One continuous period at this secure setting: the episodes sharing the initial
    reception date (INTRCPTD) and the reception date here (RECPDT).

    Source: dataset R v1.2 episode details ("multiple treatment episodes can be recorded at
    each estate ... to record clients who ... re-present later in their custodial stay")
    and EXITD ("prior to exit all episodes must have discharge dates and discharge reasons").
    """

    initial_reception: date | None
    reception: date | None
    episodes: tuple[EpisodeBrief, ...]

    @property
    def not_discharged(self) -> tuple[EpisodeBrief, ...]:
        return tuple(e for e in self.episodes if e.discharged is None)


def stays(episodes: Iterable[EpisodeBrief]) -> list[Stay]:
    """A client's episodes grouped into stays, oldest stay first, episodes by triage date.

    An episode without a reception date yet is a stay of its own.
    """
    groups: dict[object, list[EpisodeBrief]] = {}
    for brief in episodes:
        key: object = brief.stay_key if all(brief.stay_key) else brief.episode_id
        groups.setdefault(key, []).append(brief)
    out = [
        Stay(
            members[0].initial_reception,
            members[0].reception,
            tuple(sorted(members, key=lambda e: (e.triaged or date.max, e.episode_id))),
        )
        for members in groups.values()
    ]
    return sorted(out, key=lambda s: (s.initial_reception or date.max, s.reception or date.max))


def stay_of(episode_id: str, episodes: Iterable[EpisodeBrief]) -> Stay | None:
    for stay in stays(episodes):
        if any(e.episode_id == episode_id for e in stay.episodes):
            return stay
    return None


# ------------------------------------------------------------------ what the sheet offers


def release_only_fields(spec: DatasetSpec) -> tuple[str, ...]:
    """Fields asked only when the exit reason is a release (``applies = "when EXITRSN =
    released"`` in the dataset file).

    Source: dataset R v1.2 RECONNECT, THNALOX, HOMELESSEXIT and RTOAGNCY ("should be
    populated if the client's exit reason is 'released'").
    """
    return tuple(
        f.header
        for f in spec.fields
        if len(f.applies) == 1
        and f.applies[0].field == "EXITRSN"
        and f.applies[0].values == frozenset({"released"})
    )


def open_interventions(record: Record) -> tuple[int, ...]:
    """Indexes of the interventions with no end date."""
    return tuple(i for i, item in enumerate(record.items) if item_date(item, "MODEND") is None)


@dataclass(frozen=True)
class Offer:
    """What the prison sheet offers now.

    Attributes:
        state: where the episode stands (received → triaged → in treatment → discharged →
            exited).
        next_step: what to do next, in the worker's words.
        open_interventions: indexes of the interventions not yet ended.
        end_interventions_on: when a discharge date is typed while interventions are open,
            the date the sheet offers to end them on (the discharge date).
        discharge_blocked: why discharge is not possible yet (None when it is).
        exit_blocked: why the exit is not offered yet (None when it is).
        shut: blank fields not asked now → why (shown on hover).
        new_episode: whether a new episode for the same client is offered (after an exit,
            unless the client died).
    """

    state: str
    next_step: str
    open_interventions: tuple[int, ...] = ()
    end_interventions_on: date | None = None
    discharge_blocked: str | None = None
    exit_blocked: str | None = None
    shut: Mapping[str, str] = field(default_factory=dict)
    new_episode: bool = False


def _plural(n: int, word: str) -> str:
    return f"{n} {word}{'' if n == 1 else 's'}"


def offer(
    record: Record,
    spec: DatasetSpec,
    refdata: RefData,
    today: date,
    stay: Stay | None = None,
    episode_id: str | None = None,
) -> Offer:
    """What the sheet offers next for one prison episode.

    Source: dataset R v1.2 DISD/DISRSN ("prior to discharge all interventions must have end
    dates"), EXITD/EXITRSN ("prior to exit all episodes must have discharge dates and
    discharge reasons"), and RECONNECT, THNALOX, HOMELESSEXIT, RTOAGNCY (asked only when the
    exit reason is 'released'); appendix D (a client received again after leaving gets a new
    episode under the same client).
    """
    step = secure_step(record, refdata, today)
    values = record.values
    opened = open_interventions(record)
    discharged = record.date("DISD")
    shut: dict[str, str] = {}

    discharge_blocked = (
        f"End every intervention before the discharge ({_plural(len(opened), 'intervention')}"
        " still open)."
        if opened
        else None
    )
    if "TRIAGED" not in values and not discharged:
        discharge_blocked = "Record the triage date first."
    end_on = discharged if discharged is not None and opened else None

    others = [
        e for e in (stay.not_discharged if stay is not None else ()) if e.episode_id != episode_id
    ]
    exit_blocked: str | None = None
    if discharged is None:
        exit_blocked = "Discharge the client from treatment first; the exit comes after."
    elif others:
        first = others[0]
        since = f" (triaged {_when(first.triaged)})" if first.triaged else ""
        exit_blocked = (
            f"Another episode of this stay{since} is not discharged yet: every episode of the"
            " stay is discharged before the exit."
        )
    if exit_blocked is not None:
        for header in EXIT_FIELDS:
            if header in spec.by_header and header not in values:
                shut[header] = exit_blocked

    exit_reason = values.get("EXITRSN")
    not_asked = not_applicable(record, spec, refdata)  # the dataset file's 'applies'
    for header in release_only_fields(spec):
        if header in not_asked:
            shut[header] = not_asked[header]

    return Offer(
        state=str(step.state),
        next_step=_next_step(step, record, spec, refdata, opened, exit_blocked),
        open_interventions=opened,
        end_interventions_on=end_on,
        discharge_blocked=discharge_blocked,
        exit_blocked=exit_blocked,
        shut=shut,
        new_episode=step.state == SecureState.EXITED
        and not _has_tag(spec, refdata, "EXITRSN", exit_reason, "died"),
    )


def _next_step(
    step: Step,
    record: Record,
    spec: DatasetSpec,
    refdata: RefData,
    opened: tuple[int, ...],
    exit_blocked: str | None,
) -> str:
    """What to do next, in words, for the workflow step (re-opening as the step allows)."""
    values, state = record.values, step.state
    if state == SecureState.RECEIVED:
        return "Record the triage date: the first meeting with a drug and alcohol worker here."
    if state == SecureState.TRIAGED:
        return "Add the interventions the client starts, or discharge if none is started."
    if state == SecureState.IN_TREATMENT:
        if opened:
            return (
                f"{_plural(len(opened), 'intervention')} open. Every intervention is ended"
                " before the discharge."
            )
        return (
            "Every intervention has ended: record the discharge date and reason, and ask about"
            " spice use (and the 13-week review for clients on opioid substitution)."
        )
    if state == SecureState.DISCHARGED:
        reopen = ""
        if Action.REOPEN_EPISODE in step.actions:
            reopen = (
                f" If the client re-presents within {REOPEN_WITHIN_DAYS} days of discharge the"
                " episode may be re-opened."
            )
        if exit_blocked is not None:
            return f"{exit_blocked}{reopen}"
        return (
            "When the client leaves this setting, record the exit date, reason and"
            f" destination.{reopen}"
        )
    reason = values.get("EXITRSN")
    exited = record.date("EXITD")
    said = f"Left{f' on {_when(exited)}' if exited else ''}"
    if _has_tag(spec, refdata, "EXITRSN", reason, "released"):
        return (
            f"{said}, released. If the client comes back into custody, even after a short"
            " time in the community, open a new episode."
        )
    if Action.REOPEN_AFTER_COURT in step.actions:
        return (
            f"{said}, transferred (e.g. for a court appearance or video link). If the client"
            " returns here, re-open this episode and open new interventions."
        )
    return f"{said}."


# ---------------------------------------------------------------- appendix G (on release)


@dataclass(frozen=True)
class ContinuityHint:
    """Which appendix G scenario the record most likely means, and what it expects.

    Attributes:
        scenario: the scenario meant.
        fits: whether the record already matches everything the scenario expects.
        wrong: fields that do not fit the scenario (header → what it expects).
        text: the hint in the worker's words.
        alternative: a second scenario that would fit the other answers, if any.
    """

    scenario: Scenario
    fits: bool
    wrong: Mapping[str, str]
    text: str
    alternative: Scenario | None = None


def _expected_discharge(s: Scenario, spec: DatasetSpec, refdata: RefData) -> str:
    codes: set[str] = set()
    for tag in s.discharge:
        codes |= _tagged(spec, refdata, "DISRSN", tag)
    return _labels(spec, refdata, "DISRSN", codes)


def _expected_referral(s: Scenario, spec: DatasetSpec, refdata: RefData) -> str:
    codes: set[str] = set()
    for tag in s.referral:
        codes |= _tagged(spec, refdata, "RTOAGNCY", tag)
    for tag in s.referral_not:
        codes -= _tagged(spec, refdata, "RTOAGNCY", tag)
    return _labels(spec, refdata, "RTOAGNCY", codes)


def _referral_fits(s: Scenario, spec: DatasetSpec, refdata: RefData, code: object) -> bool:
    return _has_tag(spec, refdata, "RTOAGNCY", code, *s.referral) and not (
        s.referral_not and _has_tag(spec, refdata, "RTOAGNCY", code, *s.referral_not)
    )


def _destination_fits(refdata: RefData, code: object) -> bool:
    """Released: a local authority area, outside the UK, or a non-NDTMS secure setting
    (appendix D: a secure hospital); never a prison."""
    if not isinstance(code, str):
        return False
    prisons = refdata.lists.get("PRISON")
    if prisons is not None and code in prisons.codes:
        return code in refdata.tagged("PRISON", "non_ndtms_secure")
    return True


def _nearest(
    candidates: Sequence[Scenario], spec: DatasetSpec, refdata: RefData, discharge: object
) -> Scenario | None:
    """Of the scenarios the referral fits, the one whose discharge reasons are of the same
    kind as the one chosen (e.g. both 'treatment completed'), else the first."""
    kinds = _code_tags(spec, refdata, "DISRSN", discharge)
    for scenario in candidates:
        own = kinds - set(scenario.discharge)
        codes = set().union(*(_tagged(spec, refdata, "DISRSN", t) for t in scenario.discharge))
        if any(_code_tags(spec, refdata, "DISRSN", code) & own for code in codes):
            return scenario
    return candidates[0] if candidates else None


def continuity_hint(
    spec: DatasetSpec,
    refdata: RefData,
    discharge: object,
    referral: object,
    exit_reason: object,
    destination: object = None,
) -> ContinuityHint | None:
    """The appendix G scenario that a discharge reason, referral on release status and exit
    reason most likely mean, with what it expects.

    Appendix G covers clients in structured treatment who are released: None when the exit
    reason is not a release, or the discharge reason is none of the scenarios' (e.g. dropped
    out, died, transferred in custody). The discharge reason is what the worker chose first,
    so of the scenarios it fits, the one whose referral also fits is meant; when none does,
    the scenario that fits the referral is named as the alternative.

    Source: dataset R v1.2 appendix G (continuity of care for clients transferred to a
    community provider) and appendix D (discharge and exit reasons).
    """
    if exit_reason not in (None, "") and not _has_tag(
        spec, refdata, "EXITRSN", exit_reason, "released"
    ):
        return None
    by_discharge = release_scenarios(spec, refdata, discharge)
    if not by_discharge:
        return None
    has_referral = referral not in (None, "")
    by_referral = [
        s for s in SCENARIOS if has_referral and _referral_fits(s, spec, refdata, referral)
    ]
    both = [s for s in by_discharge if s in by_referral]
    meant = both[0] if both else by_discharge[0]
    alternative = None if both else _nearest(by_referral, spec, refdata, discharge)
    expect_referral = _expected_referral(meant, spec, refdata)
    destination_text = "the local authority the client goes to"
    head = f"appendix G scenario {meant.number} (the client {meant.title})"
    wrong: dict[str, str] = {}
    if exit_reason in (None, ""):
        text = (
            f"On release, {head} expects the referral on release {expect_referral}, the exit"
            f" reason 'Released' and as destination {destination_text}."
        )
    else:
        if not has_referral or not _referral_fits(meant, spec, refdata, referral):
            wrong["RTOAGNCY"] = expect_referral
        if destination in (None, ""):
            if exit_destination_expected(spec, refdata, discharge, referral, exit_reason):
                wrong["EXITDEST"] = destination_text
        elif not _destination_fits(refdata, destination):
            wrong["EXITDEST"] = destination_text
        given = {"RTOAGNCY": referral, "EXITDEST": destination}
        parts = [
            f"the {spec.by_header[h].label.lower()} to be {expected}, not "
            + (_label(spec, refdata, h, given[h]) if given[h] not in (None, "") else "blank")
            for h, expected in wrong.items()
            if h in spec.by_header
        ]
        head_text = head[0].upper() + head[1:]
        text = f"Fits {head}." if not wrong else f"{head_text} expects {'; and '.join(parts)}."
    if meant.note:
        text += f" {meant.note}"
    if alternative is not None:
        text += (
            f" If instead the client {alternative.title} (scenario {alternative.number}),"
            f" the discharge reason is {_expected_discharge(alternative, spec, refdata)}."
        )
    fits = exit_reason not in (None, "") and not wrong
    return ContinuityHint(meant, fits, wrong, text, alternative)


def record_hint(record: Record, spec: DatasetSpec, refdata: RefData) -> ContinuityHint | None:
    """:func:`continuity_hint` for the values of a record."""
    v = record.values
    return continuity_hint(
        spec, refdata, v.get("DISRSN"), v.get("RTOAGNCY"), v.get("EXITRSN"), v.get("EXITDEST")
    )


# ------------------------------------------------------------------------- re-opening


class ReopenReason(StrEnum):
    """Why an episode is re-opened (dataset R v1.2 DISD and appendix D)."""

    SHORT_GAP = "short_gap"
    COURT = "court"
    VIDEO_LINK = "video_link"


REOPEN_REASONS: Mapping[ReopenReason, str] = {
    ReopenReason.SHORT_GAP: f"Re-presented within {REOPEN_WITHIN_DAYS} days of discharge",
    ReopenReason.COURT: "Back from a court appearance",
    ReopenReason.VIDEO_LINK: "Back from a video link transfer",
}


@dataclass(frozen=True, slots=True)
class ReopenDecision:
    allowed: bool
    message: str


def can_reopen(
    record: Record,
    spec: DatasetSpec,
    refdata: RefData,
    reason: ReopenReason,
    returned: date,
) -> ReopenDecision:
    """Whether this episode may be re-opened, and if not, why (in the worker's words).

    Source: dataset R v1.2 DISD (re-opening by removing the discharge date and reason "as
    long as the gap between discharge ... and re-presentation is less than 21 calendar
    days") and appendix D, transferring a client for court appearance/video links (closed
    as 'transferred – in custody' and 'transferred'; re-opened on return by removing the
    discharge and exit; "if the client is released to the community, even if only for a
    short time ... a new episode of treatment should be opened").
    """
    values = record.values
    discharged, exited = record.date("DISD"), record.date("EXITD")
    exit_reason = values.get("EXITRSN")
    if discharged is None:
        return ReopenDecision(False, "This episode is not discharged, so it is still open.")
    if _has_tag(spec, refdata, "EXITRSN", exit_reason, "released"):
        return ReopenDecision(
            False,
            "The client was released to the community, so this episode cannot be re-opened,"
            " even after a short time out: open a new episode for the client.",
        )
    if _has_tag(spec, refdata, "EXITRSN", exit_reason, "died"):
        return ReopenDecision(False, "The exit reason says the client died.")
    if _has_tag(spec, refdata, "EXITRSN", exit_reason, "absconded"):
        return ReopenDecision(
            False,
            "The client absconded: when they are received back, open a new episode.",
        )
    latest = max(d for d in (discharged, exited) if d is not None)
    if returned < latest:
        return ReopenDecision(
            False, f"The return date is before the {'exit' if exited else 'discharge'} date."
        )
    if reason is ReopenReason.SHORT_GAP:
        if exited is not None:
            return ReopenDecision(
                False,
                "The client left this setting. After an exit, an episode is re-opened only"
                " when the client comes back from a court appearance or video link.",
            )
        if not can_reopen_discharge(discharged, returned):
            gap = (returned - discharged).days
            return ReopenDecision(
                False,
                f"It is {gap} days since the discharge; an episode may be re-opened only when"
                f" the client re-presents within {REOPEN_WITHIN_DAYS} days. Open a new"
                " episode with a new triage date.",
            )
        return ReopenDecision(
            True,
            f"Re-opened: the client re-presented {(returned - discharged).days} days after"
            " discharge.",
        )
    if not _has_tag(spec, refdata, "DISRSN", values.get("DISRSN"), "transferred_in_custody"):
        return ReopenDecision(
            False,
            "Only an episode closed as 'transferred – in custody' for a court appearance or"
            " video link can be re-opened on the client's return.",
        )
    if not court_transfer(record, refdata):
        return ReopenDecision(
            False,
            "The client has not left this setting for court (exit 'transferred'): re-open"
            f" within {REOPEN_WITHIN_DAYS} days of the discharge instead.",
        )
    return ReopenDecision(True, f"Re-opened: {REOPEN_REASONS[reason].lower()}.")


def reopen_changes(
    raw: Mapping[str, object],
    spec: DatasetSpec,
    record: Record,
    reason: ReopenReason,
    returned: date,
) -> dict[str, object]:
    """The episode after re-opening: discharge and exit removed, old interventions closed.

    Appendix D: "the episode may be re-opened by removing the discharge date, discharge
    reason, exit date and exit status ... the old interventions remain closed and new
    interventions are opened". An intervention still open is closed on the old discharge
    date; the re-open date and reason are kept on this laptop so the sheet can ask for new
    interventions.
    """
    discharged = record.date("DISD")
    out = {k: v for k, v in raw.items() if k not in (*DISCHARGE_FIELDS, *EXIT_FIELDS)}
    for header in release_only_fields(spec):
        out.pop(header, None)
    items = raw.get(spec.items_key)
    closed: list[object] = []
    if isinstance(items, list):
        for item in items:
            if isinstance(item, Mapping) and as_date(item.get("MODEND")) is None and discharged:
                item = {**item, "MODEND": discharged.isoformat()}
            closed.append(item)
    out[spec.items_key] = closed
    out[REOPENED] = returned.isoformat()
    out[REOPEN_REASON] = str(reason)
    return out


def reopen_guidance(record: Record, raw: Mapping[str, object]) -> str | None:
    """After a re-open: old interventions stay closed and new ones are opened (appendix D)."""
    reopened = as_date(raw.get(REOPENED))
    if reopened is None or "DISD" in record.values:
        return None
    old_open = [
        i + 1
        for i, item in enumerate(record.items)
        if (start := item_date(item, "MODST")) is not None
        and start < reopened
        and item_date(item, "MODEND") is None
    ]
    if old_open:
        which = ", ".join(str(n) for n in old_open)
        return (
            f"Intervention {which} began before the re-open on {_when(reopened)}: it stays"
            " closed. Open a new intervention instead."
        )
    new = [
        item
        for item in record.items
        if (start := item_date(item, "MODST")) is not None and start >= reopened
    ]
    if not new:
        return (
            f"Re-opened on {_when(reopened)}: the earlier interventions stay closed; add the"
            " new interventions the client starts."
        )
    return None


# ------------------------------------------------------------------------ the caseload


def ost_started(record: Record, spec: DatasetSpec, refdata: RefData) -> date | None:
    """The first start of an opioid substitution intervention (MODAL tag 'ost')."""
    ost = _tagged(spec, refdata, "MODAL", "ost")
    starts = [
        start
        for item in record.items
        if item.get("MODAL") in ost and (start := item_date(item, "MODST")) is not None
    ]
    return min(starts) if starts else None


def ost_days(record: Record, spec: DatasetSpec, refdata: RefData, today: date) -> int:
    """Days of opioid substitution treatment in this episode (overlaps counted once), up to
    the discharge or today."""
    ost = _tagged(spec, refdata, "MODAL", "ost")
    stop = record.date("DISD") or today
    days: set[int] = set()
    for item in record.items:
        start = item_date(item, "MODST")
        if start is None or item.get("MODAL") not in ost:
            continue
        end = min(item_date(item, "MODEND") or stop, stop)
        days.update(range(start.toordinal(), end.toordinal() + 1))
    return len(days)


# The checks that find an exit answer missing once the exit is recorded: the exit date and
# reason together, the destination when needed, and the fields required at exit or on release.
EXIT_CHECKS = frozenset(
    {"secure_exit_date_and_reason_together", "secure_exit_destination_when_needed"}
)
EXIT_ON = ("EXITD", "EXITRSN")


def exit_missing(findings: Iterable[Finding], spec: DatasetSpec) -> tuple[str, ...]:
    """Exit answers still blank once the exit is recorded, as the record's checks find
    them: the exit reason, the destination when it is needed, and every field required at
    exit or on release.

    Source: dataset R v1.2 EXITD/EXITRSN, EXITDEST, and the fields "required when the client
    leaves" (LIVSCRN, MHTXEXIT, SENTENCED, REFHEPCTX) or "required when the client is
    released" (RECONNECT, THNALOX, HOMELESSEXIT, RTOAGNCY).
    """
    missing: list[str] = []
    for f in findings:
        asked = spec.by_header.get(f.field)
        cond = asked.requirement.condition if asked is not None else None
        at_exit = f.rule_id == "required_when" and cond is not None and cond.field in EXIT_ON
        if f.item is None and (f.rule_id in EXIT_CHECKS or at_exit) and f.field not in missing:
            missing.append(f.field)
    return tuple(missing)


def prison_flags(
    record: Record,
    spec: DatasetSpec,
    refdata: RefData,
    *,
    findings: Iterable[Finding],
    consented: bool,
    errors: int,
    today: date,
) -> tuple[Flag, ...]:
    """Flags on a prison caseload row.

    - review due: 13 weeks or more of opioid substitution treatment and no initial
      13-week clinical review recorded (dataset R v1.2 CLINREV; appendix E: extended
      prescribing is reviewed every 3 months);
    - interventions open at discharge (DISD: "prior to discharge all interventions must
      have end dates");
    - exit answers missing (EXITD, EXITRSN, EXITDEST and the fields required at exit or
      on release), from the record's ``findings``;
    - no consent: never submitted (CONSENT); errors: NDTMS would reject the record.
    """
    flags: list[Flag] = []
    state = secure_step(record, refdata, today).state
    days = ost_days(record, spec, refdata, today)
    clinrev = record.values.get("CLINREV")
    reviewed = _has_tag(spec, refdata, "CLINREV", clinrev, "yes")
    if days >= OST_REVIEW_DAYS and not reviewed and state != SecureState.EXITED:
        since = ost_started(record, spec, refdata)
        when = f" (OST since {_when(since)})" if since else ""
        flags.append(Flag("review", f"13-week review due{when}"))
    opened = open_interventions(record)
    if "DISD" in record.values and opened:
        flags.append(
            Flag("open_interventions", f"{_plural(len(opened), 'intervention')} open at discharge")
        )
    missing = exit_missing(findings, spec)
    if missing:
        flags.append(Flag("exit_missing", f"{_plural(len(missing), 'exit answer')} missing"))
    if not consented:
        flags.append(Flag("no_consent", "no consent: never submitted"))
    if errors:
        flags.append(Flag("errors", _plural(errors, "error")))
    return tuple(flags)


@dataclass(frozen=True, slots=True)
class CaseloadGroup:
    """A view of the prison caseload, as filters the store can apply.

    ``fields_in`` narrows to episodes whose stored field holds one of the codes.
    """

    key: str
    title: str
    states: tuple[str, ...] = ()
    closed_from: date | None = None
    closed_to: date | None = None
    fields_in: tuple[tuple[str, tuple[str, ...]], ...] = ()


def caseload_groups(spec: DatasetSpec, refdata: RefData, today: date) -> tuple[CaseloadGroup, ...]:
    """Everyone; in treatment now (not discharged); discharged but not yet exited;
    released this month (exit reason tagged 'released', exit date this month)."""
    month = Period(today.year, today.month)
    released = tuple(sorted(_tagged(spec, refdata, "EXITRSN", "released")))
    return (
        CaseloadGroup("all", "Everyone"),
        CaseloadGroup(
            "in_treatment",
            "In treatment now",
            (SecureState.RECEIVED, SecureState.TRIAGED, SecureState.IN_TREATMENT),
        ),
        CaseloadGroup("discharged", "Discharged, not exited", (SecureState.DISCHARGED,)),
        CaseloadGroup(
            "released",
            "Released this month",
            (SecureState.EXITED,),
            month.start,
            month.end,
            (("EXITRSN", released),),
        ),
    )


# ----------------------------------------------------------------------- re-received


def new_episode_values(raw: Mapping[str, object], spec: DatasetSpec) -> dict[str, object]:
    """What a new episode for the same client starts with: the client's own details only.

    Dataset R v1.2: the client reference "should remain the same ... during all treatment
    episodes"; a client released to the community and received again gets a new episode,
    with its own reception, triage and interventions (appendix D).
    """
    client = {f.header for f in spec.fields if f.level.value == "client" and not f.system}
    return {k: v for k, v in raw.items() if k in client}


def stay_summary(stay: Stay | None, episode_id: str | None) -> str:
    """The stay in a line: '2nd of 3 episodes of the stay received 03/02/2026'."""
    if stay is None or len(stay.episodes) < 2:
        return ""
    position = next((i for i, e in enumerate(stay.episodes, 1) if e.episode_id == episode_id), None)
    start = stay.initial_reception
    since = f" (initial reception {say_date(start)})" if start else ""
    where = f"episode {position} of {len(stay.episodes)}" if position else "episodes"
    return f"This stay{since}: {where}."


def stay_briefs(
    rows: Sequence[tuple[str, Mapping[str, object]]],
) -> list[EpisodeBrief]:
    """Briefs from (episode id, stored values) pairs."""
    return [EpisodeBrief.of(eid, values) for eid, values in rows]
