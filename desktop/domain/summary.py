"""What a caseload list needs to know about an episode, worked out from what was entered."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from desktop.domain.datasets import Workflow, profile
from desktop.domain.findings import Finding, Severity
from desktop.domain.record import Context
from desktop.domain.spec import RefData
from desktop.domain.validation import Validator
from desktop.domain.workflow import cjit_step, consent_decision, secure_step


@dataclass(frozen=True, slots=True)
class Summary:
    """The sortable facts of one episode, plus its findings.

    ``consent`` is the NDTMS consent code as entered (Y/N) or None when not yet recorded;
    ``consent_decision`` what it records: 'given', 'refused' or None.
    """

    state: str
    opened_on: date | None
    closed_on: date | None
    consent: str | None
    consent_decision: str | None
    client_ref: str | None
    finitial: str | None
    sinitial: str | None
    dob: date | None
    sex: str | None
    errors: int
    warnings: int
    findings: tuple[Finding, ...]


def summarise(
    validator: Validator, refdata: RefData, raw: dict[str, object], ctx: Context
) -> Summary:
    """Validate ``raw`` and work out the episode's state and key dates."""
    known_by = profile(validator.spec.id)
    record, findings = validator.check(raw, ctx)
    if known_by.workflow is Workflow.CJIT:
        state = str(cjit_step(record, refdata).state)
    else:
        state = str(secure_step(record, refdata, ctx.today).state)
    opened = next((d for h in known_by.opened_by if (d := record.date(h)) is not None), None)
    return Summary(
        state=state,
        opened_on=opened,
        closed_on=record.date(known_by.closed_by),
        consent=record.text("CONSENT"),
        consent_decision=consent_decision(refdata, validator.spec, record.text("CONSENT")),
        client_ref=record.text("CLIENT"),
        finitial=record.text("FINITIAL"),
        sinitial=record.text("SINITIAL"),
        dob=record.date("DOB"),
        sex=record.text("SEX"),
        errors=sum(1 for f in findings if f.severity is Severity.ERROR),
        warnings=sum(1 for f in findings if f.severity is Severity.WARNING),
        findings=tuple(findings),
    )
