"""Where an episode stands, and what the sheet offers next.

CJIT (dataset Q): contact → triaged → caseload decision → on caseload → closed.
Secure settings (dataset R): received → triaged → in treatment → discharged → exited.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from enum import StrEnum

from desktop.domain.record import Record, item_date
from desktop.domain.spec import DatasetSpec, RefData

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
        if _court_transfer(record, refdata):
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


def can_reopen_discharge(discharged: date, re_presented: date) -> bool:
    """A discharged episode may be re-opened if the client re-presents within 21 days.

    Source: dataset R v1.2 field DISD ("as long as the gap between discharge from the old
    episode and re-presentation is less than 21 calendar days").
    """
    return timedelta(0) <= re_presented - discharged < timedelta(days=REOPEN_WITHIN_DAYS)


def _court_transfer(record: Record, refdata: RefData) -> bool:
    """Whether the exit was a transfer for a court appearance (appendix D)."""
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


def offered_lists(record: Record, refdata: RefData, spec: DatasetSpec) -> dict[str, str]:
    """Fields whose choices the workflow narrows now: header → the code list to offer.

    CJIT appendix E: closure reasons come from the 'prior to caseload' set until there is
    a caseload start date, then from the 'from caseload' set.
    """
    if spec.id != "cjit-q" or "CJDISRSN" not in spec.by_header:
        return {}
    closure = cjit_step(record, refdata).closure_list
    return {"CJDISRSN": closure} if closure else {}
