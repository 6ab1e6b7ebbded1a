"""Where an episode stands, and what the sheet offers next.

CJIT (dataset Q): contact → triaged → caseload decision → on caseload → closed.
Secure settings (dataset R): received → triaged → in treatment → discharged → exited.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from desktop.domain.datasets import CJIT_Q, Workflow, profile
from desktop.domain.datasets import LAST_SEEN as LAST_SEEN  # the sheet's local fields
from desktop.domain.datasets import REVIEWED as REVIEWED
from desktop.domain.record import Record, item_date
from desktop.domain.spec import Condition, DatasetSpec, RefData
from desktop.domain.values import as_date

REOPEN_WITHIN_DAYS = 21
DISENGAGED_AFTER_DAYS = 61  # about two months without contact


class CjitState(StrEnum):
    CONTACT = "contact"
    TRIAGED = "triaged"
    CASELOAD_DECISION = "caseload_decision"
    ON_CASELOAD = "on_caseload"
    CLOSED = "closed"


class SecureState(StrEnum):
    RECEIVED = "received"
    TRIAGED = "triaged"
    IN_TREATMENT = "in_treatment"
    DISCHARGED = "discharged"
    EXITED = "exited"


class Action(StrEnum):
    RECORD_CONSENT = "record_consent"
    RECORD_TRIAGE = "record_triage"
    TAKE_ONTO_CASELOAD = "take_onto_caseload"
    CLOSE_PRIOR_TO_CASELOAD = "close_prior_to_caseload"
    ADD_REFERRAL = "add_referral"
    CLOSE_FROM_CASELOAD = "close_from_caseload"
    START_INTERVENTION = "start_intervention"
    END_INTERVENTION = "end_intervention"
    DISCHARGE = "discharge"
    REOPEN_EPISODE = "reopen_episode"
    RECORD_EXIT = "record_exit"
    REOPEN_AFTER_COURT = "reopen_after_court"


@dataclass(frozen=True)
class Step:
    """The state of an episode and what the worker can do next.

    Attributes:
        state: where the episode stands.
        actions: what the sheet offers now.
        closure_list: for a CJIT episode being closed, the code list its reason comes from.
        blocked: actions not offered yet, each with the reason in the worker's words.
    """

    state: str
    actions: tuple[Action, ...]
    closure_list: str | None = None
    blocked: tuple[tuple[Action, str], ...] = ()


def cjit_step(record: Record, refdata: RefData) -> Step:
    """The CJIT workflow (dataset Q v4.2; CJIT supplementary guidance 2018).

    A contact is triaged once the contact date is recorded; the caseload decision follows
    once consent and the first problem substance are known; a care plan date puts the
    client on the caseload; a closure date closes the episode. Closure reasons come from
    the 'prior to caseload' set until there is a caseload start date, then from the
    'from caseload' set (appendix E).
    """
    values = record.values
    if "DISD" in values:
        return Step(CjitState.CLOSED, ())
    if "TRIAGED" not in values:
        return Step(CjitState.CONTACT, (Action.RECORD_TRIAGE, Action.RECORD_CONSENT))
    if "CPLANDT" in values:
        return Step(
            CjitState.ON_CASELOAD,
            (Action.ADD_REFERRAL, Action.CLOSE_FROM_CASELOAD),
            closure_list="CJDISRSN_CASELOAD",
        )
    missing = [
        label
        for header, label in (("CONSENT", "consent"), ("DRUG1", "problem substance 1"))
        if header not in values
    ]
    if missing:
        reason = f"record {' and '.join(missing)} first"
        return Step(
            CjitState.TRIAGED,
            (Action.RECORD_CONSENT, Action.CLOSE_PRIOR_TO_CASELOAD),
            closure_list="CJDISRSN_PRIOR",
            blocked=((Action.TAKE_ONTO_CASELOAD, reason),),
        )
    return Step(
        CjitState.CASELOAD_DECISION,
        (Action.TAKE_ONTO_CASELOAD, Action.CLOSE_PRIOR_TO_CASELOAD),
        closure_list="CJDISRSN_PRIOR",
        blocked=((Action.ADD_REFERRAL, "take the client onto the caseload first"),),
    )


def secure_step(record: Record, refdata: RefData, today: date) -> Step:
    """The secure-settings workflow (dataset R v1.2, appendix D transfer rules).

    Discharge is offered only when every intervention has ended. A discharged episode
    may be re-opened within 21 days of discharge (new interventions are then opened);
    an exited episode may be re-opened only after a transfer for a court appearance
    (discharge 'transferred – in custody', exit 'transferred').
    """
    values = record.values
    open_items = [i for i in record.items if item_date(i, "MODEND") is None]
    if "EXITD" in values:
        actions: tuple[Action, ...] = ()
        if court_transfer(record, refdata):
            actions = (Action.REOPEN_AFTER_COURT,)
        return Step(SecureState.EXITED, actions)
    if "DISD" in values:
        discharged = record.date("DISD")
        actions = (Action.RECORD_EXIT,)
        blocked: tuple[tuple[Action, str], ...] = ()
        if discharged is not None and can_reopen_discharge(discharged, today):
            actions = (Action.RECORD_EXIT, Action.REOPEN_EPISODE)
        else:
            blocked = (
                (
                    Action.REOPEN_EPISODE,
                    f"more than {REOPEN_WITHIN_DAYS} days since discharge: open a new episode",
                ),
            )
        return Step(SecureState.DISCHARGED, actions, blocked=blocked)
    if "TRIAGED" not in values:
        return Step(SecureState.RECEIVED, (Action.RECORD_TRIAGE,))
    started = any(item_date(i, "MODST") is not None for i in record.items)
    if not started:
        return Step(SecureState.TRIAGED, (Action.START_INTERVENTION, Action.DISCHARGE))
    if open_items:
        return Step(
            SecureState.IN_TREATMENT,
            (Action.START_INTERVENTION, Action.END_INTERVENTION),
            blocked=((Action.DISCHARGE, "end every intervention first"),),
        )
    return Step(SecureState.IN_TREATMENT, (Action.START_INTERVENTION, Action.DISCHARGE))


AWAITING_DECISION_MESSAGE = (
    "No caseload decision yet: the episode is sent once the client is taken onto the"
    " caseload or the episode is closed."
)


def awaiting_decision(dataset: str, state: str) -> bool:
    """A CJIT episode with neither a caseload start nor a closure is not sent yet.

    CJIT supplementary guidance (seed 000), FAQ on a client not yet taken onto the
    caseload with a further appointment at this CJIT: "wait until the outcome of the next
    appointment is known before entering onto NDTMS CJIT"; each episode sent says whether
    the contact resulted in the client being taken onto the caseload (dataset Q CPLANDT,
    or DISD with a 'prior to caseload' reason). A secure-setting episode (dataset R) is
    sent from reception on.
    """
    return state in profile(dataset).awaiting_decision


def can_reopen_discharge(discharged: date, re_presented: date) -> bool:
    """A discharged episode may be re-opened if the client re-presents within 21 days.

    Source: dataset R v1.2 field DISD ("as long as the gap between discharge from the old
    episode and re-presentation is less than 21 calendar days").
    """
    return timedelta(0) <= re_presented - discharged < timedelta(days=REOPEN_WITHIN_DAYS)


def court_transfer(record: Record, refdata: RefData) -> bool:
    """Whether the client left for a court appearance or video link: discharge
    'transferred – in custody' and exit 'transferred' (appendix D). Only such an exited
    episode is re-opened on the client's return."""
    disrsn, exitrsn = record.text("DISRSN"), record.text("EXITRSN")
    return (
        disrsn is not None
        and exitrsn is not None
        and disrsn in refdata.tagged("DISRSN", "transferred_in_custody")
        and exitrsn in refdata.tagged("EXITRSN", "transferred")
    )


def cjit_disengaged(last_contact: date, today: date) -> bool:
    """Two months without contact: close the case, dated at the last contact.

    Source: dataset Q v4.2 field DISD and appendix E code 8 ('incomplete – dropped out').
    """
    return (today - last_contact).days >= DISENGAGED_AFTER_DAYS


def consent_given(refdata: RefData, spec: DatasetSpec, code: object) -> bool:
    """Whether a CONSENT code means the client agreed to share with NDTMS (the 'yes' tag).

    Seed 001/002: only then may the record be sent; anything else stays on the laptop.
    """
    field = spec.by_header.get("CONSENT")
    return field is not None and str(code) in refdata.field_tagged(field, "yes")


def consent_decision(refdata: RefData, spec: DatasetSpec, code: object) -> str | None:
    """What a CONSENT code records as a consent event: 'given' (the 'yes' tag), 'refused'
    (the 'no' tag), or None when blank or not a known answer.

    Seed 001/002 CONSENT; each change of the answer is a dated consent event.
    """
    field = spec.by_header.get("CONSENT")
    if field is None or code in (None, ""):
        return None
    if str(code) in refdata.field_tagged(field, "yes"):
        return "given"
    if str(code) in refdata.field_tagged(field, "no"):
        return "refused"
    return None


def offered_lists(record: Record, refdata: RefData, spec: DatasetSpec) -> dict[str, str]:
    """Fields whose choices the workflow narrows now: header → the code list to offer.

    CJIT appendix E: closure reasons come from the 'prior to caseload' set until there is
    a caseload start date, then from the 'from caseload' set.
    """
    if profile(spec.id).workflow is not Workflow.CJIT or "CJDISRSN" not in spec.by_header:
        return {}
    closure = cjit_step(record, refdata).closure_list
    return {"CJDISRSN": closure} if closure else {}


# ---------------------------------------------------------------------- CJIT guidance

TRANSFER_TO = "_TRANSFERTO"  # where a transferred client went: a prison or DAT code (local)
REVIEW_AFTER_DAYS = 183  # about six months


class Decision(StrEnum):
    """The CJIT caseload decision (dataset Q CPLANDT; supplementary guidance FAQ)."""

    UNDECIDED = "undecided"
    TAKEN_ON = "taken_on"
    NOT_TAKEN_ON = "not_taken_on"


def cjit_decision(record: Record) -> Decision:
    """A caseload start date means taken on; a closure without one means not taken on."""
    if "CPLANDT" in record.values:
        return Decision.TAKEN_ON
    if "DISD" in record.values:
        return Decision.NOT_TAKEN_ON
    return Decision.UNDECIDED


def decision_changes(
    decision: Decision, record: Record, refdata: RefData, today: date
) -> dict[str, str | None]:
    """The fields the sheet fills (a value) or clears (None) when the worker decides.

    Dataset Q CPLANDT: the caseload start date defaults to today and is never before the
    triage (assessment) date. Appendix E: a client not taken on is closed now with a
    'prior to caseload' reason, dated at the assessment by default; a closure reason
    from the other set is cleared so that only a valid one can be chosen.
    """
    triaged = record.date("TRIAGED")
    reason = record.text("CJDISRSN")
    changes: dict[str, str | None] = {}
    if decision is Decision.TAKEN_ON:
        if "CPLANDT" not in record.values:
            start = max(today, triaged) if triaged else today
            changes["CPLANDT"] = start.strftime("%d/%m/%Y")
        if "DISD" in record.values and (
            reason is None or reason not in refdata.lists["CJDISRSN_CASELOAD"].codes
        ):
            changes["DISD"] = None
            changes["CJDISRSN"] = None
    elif decision is Decision.NOT_TAKEN_ON:
        changes["CPLANDT"] = None
        if "DISD" not in record.values:
            changes["DISD"] = (triaged or today).strftime("%d/%m/%Y")
        if reason is not None and reason not in refdata.lists["CJDISRSN_PRIOR"].codes:
            changes["CJDISRSN"] = None
    else:
        changes = {"CPLANDT": None, "DISD": None, "CJDISRSN": None}
    return changes


def transfer_destination(record: Record, refdata: RefData) -> str | None:
    """For a transfer closure, the code list the destination comes from (kept locally).

    Appendix E: 'transferred – in custody' goes to a prison; the other transfers go to
    another area's services, named by its DAT. None when the reason is not a transfer.
    """
    reason = record.text("CJDISRSN")
    if reason is None:
        return None
    closure = cjit_step(record, refdata).closure_list
    lists = [closure] if closure else ["CJDISRSN_PRIOR", "CJDISRSN_CASELOAD"]
    for name in lists:
        code = refdata.lists[name].codes.get(reason)
        if code is None:
            continue
        if "in_custody" in code.tags and "transferred" in code.tags:
            return "PRISON"
        if "transferred" in code.tags:
            return "DAT"
    return None


def last_contact(record: Record, raw: Mapping[str, object], dataset: str) -> date | None:
    """The latest dated contact. CJIT: triage, caseload start, a referral, a review, or the
    last face-to-face contact the worker recorded. Secure setting: reception, triage, an
    intervention starting or ending, discharge or exit."""
    known_by = profile(dataset)
    days = [record.date(h) for h in known_by.contact_dates]
    days += [item_date(i, h) for i in record.items for h in known_by.item_contact_dates]
    days += [as_date(raw.get(LAST_SEEN)), as_date(raw.get(REVIEWED))]
    known = [d for d in days if d is not None]
    return max(known) if known else None


@dataclass(frozen=True)
class Flag:
    """Something the caseload list points out about an episode, with what to do."""

    kind: str
    text: str


def cjit_flags(
    *,
    state: str,
    consented: bool,
    errors: int,
    caseload_start: date | None,
    last_review: date | None,
    last_seen: date | None,
    today: date,
) -> tuple[Flag, ...]:
    """Flags on a CJIT caseload row.

    - review due: on the caseload with no case review in six months (supplementary
      guidance, case management and case reviews);
    - no contact: two months without contact; close as 'incomplete – dropped out' dated
      at the last contact (dataset Q DISD; appendix E code 8);
    - no consent: never submitted (dataset Q CONSENT);
    - errors: NDTMS would reject the record as it stands.
    """
    flags: list[Flag] = []
    if state == CjitState.ON_CASELOAD:
        reviewed = max((d for d in (caseload_start, last_review) if d), default=None)
        if reviewed is not None and (today - reviewed).days >= REVIEW_AFTER_DAYS:
            flags.append(Flag("review", "review due"))
        if last_seen is not None and cjit_disengaged(last_seen, today):
            flags.append(
                Flag("no_contact", f"no contact since {last_seen:%d/%m/%Y}: close as dropped out?")
            )
    if not consented:
        flags.append(Flag("no_consent", "no consent: never submitted"))
    if errors:
        flags.append(Flag("errors", f"{errors} error{'s' if errors != 1 else ''}"))
    return tuple(flags)


def dropped_out_since(
    record: Record, raw: Mapping[str, object], refdata: RefData, today: date
) -> date | None:
    """The last contact of a client on the caseload not seen for two months (the date the
    case should be closed at), or None when that does not apply.

    Source: dataset Q v4.2 DISD and appendix E code 8 ('incomplete – dropped out').
    """
    if cjit_step(record, refdata).state != CjitState.ON_CASELOAD:
        return None
    seen = last_contact(record, raw, CJIT_Q.id)
    return seen if seen is not None and cjit_disengaged(seen, today) else None


def dropped_out_closure(refdata: RefData, last_seen: date) -> dict[str, str]:
    """Closing a client who dropped out: the 'incomplete – dropped out' reason (the
    'dropped_out' tag), dated at the last contact.

    Source: dataset Q v4.2 DISD ("2 months since last face-to-face contact ... the date of
    last face-to-face contact"), appendix E code 8.
    """
    out = {"DISD": last_seen.strftime("%d/%m/%Y")}
    dropped = sorted(refdata.tagged("CJDISRSN_CASELOAD", "dropped_out"))
    if dropped:
        out["CJDISRSN"] = dropped[0]
    return out


def _holds(cond: Condition, record: Record, spec: DatasetSpec, refdata: RefData) -> bool:
    """Whether one ``applies`` condition holds for the answers so far."""
    target = spec.by_header[cond.field]
    current = record.values.get(cond.field)
    if cond.above is not None:
        return (
            isinstance(current, int)
            and not isinstance(current, bool)
            and current not in target.special
            and current > cond.above
        )
    if cond.values is None:
        return current is not None
    return isinstance(current, str) and current in _wanted(cond, spec, refdata)


def _wanted(cond: Condition, spec: DatasetSpec, refdata: RefData) -> set[str]:
    wanted = set(cond.values or ())
    for tag in cond.values or ():
        wanted |= refdata.field_tagged(spec.by_header[cond.field], tag)
    return wanted


def _why_not(
    cond: Condition, record: Record, spec: DatasetSpec, refdata: RefData
) -> tuple[str, str | None]:
    """What the condition asks for, and what the answer is now (None when blank)."""
    target = spec.by_header[cond.field]
    label = target.label.lower()
    current = record.values.get(cond.field)
    if cond.above is not None:
        now = None
        if isinstance(current, int) and not isinstance(current, bool):
            special = current in target.special and target.special_label
            now = f"{label}: {target.special_label if special else current}"
        return f"{label} above {cond.above}", now
    wanted = _wanted(cond, spec, refdata)
    labels = {c.code: c.label for c, _ in refdata.codes_for(target)}
    named = " or ".join(f"'{labels[c]}'" for c in sorted(wanted) if c in labels)
    now = f"the {label} is '{labels.get(current, current)}'" if isinstance(current, str) else None
    return f"{label} {named or ' or '.join(sorted(wanted))}", now


def not_applicable(record: Record, spec: DatasetSpec, refdata: RefData) -> dict[str, str]:
    """Blank fields the answers so far make irrelevant: header → why, in words.

    A field with ``applies = "when FIELD ..."`` in the dataset file is asked only when one
    of its conditions holds (e.g. dataset Q PRNTSTAT only for a client with parental
    responsibility, EHCS also when children under 18 live with the client; CJDISRSN once
    there is a closure date). A field that already holds a value is never shut, so nothing
    typed is hidden.
    """
    out: dict[str, str] = {}
    for field in spec.fields:
        conds = field.applies
        if not conds or field.header in record.values:
            continue
        if any(_holds(c, record, spec, refdata) for c in conds):
            continue
        if len(conds) == 1 and conds[0].values is None and conds[0].above is None:
            target = spec.by_header[conds[0].field]
            out[field.header] = f"Asked once {target.label.lower()} is filled in."
            continue
        reasons = [_why_not(c, record, spec, refdata) for c in conds]
        why = f"Asked only with {' or '.join(w for w, _ in reasons)}"
        now = [n for _, n in reasons if n is not None]
        out[field.header] = why + (f"; {' and '.join(now)}" if now else "") + "."
    return out


def consent_yes_code(refdata: RefData, spec: DatasetSpec) -> str:
    """The CONSENT code that says the client agreed to share with NDTMS: the code list's
    'yes' code (the first, should the list tag more than one; 'Y' when it tags none).

    Seed 001/002 CONSENT: every episode sent carries it, and an episode whose client has
    no consent event is sent only when its own CONSENT is this code.
    """
    field = spec.by_header.get("CONSENT")
    codes = sorted(refdata.field_tagged(field, "yes")) if field is not None else []
    return codes[0] if codes else "Y"
