"""What validation reports: one finding per problem, in words a worker understands."""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Severity(StrEnum):
    """How serious a finding is.

    ERROR: NDTMS would reject the record, or the record contradicts itself.
    WARNING: the record may be excluded from performance reports, or looks wrong.
    INFO: something the worker should know, nothing to fix.
    """

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem found in a record.

    Attributes:
        field: the NDTMS CSV header the finding is about.
        severity: error, warning or info.
        rule_id: the name of the rule that found it (stable; tests and reports use it).
        message: what is wrong and what to do, for the worker.
        item: for a referral or intervention, its position in the episode's list.
    """

    field: str
    severity: Severity
    rule_id: str
    message: str
    item: int | None = None

    def as_json(self) -> dict[str, object]:
        out: dict[str, object] = {
            "field": self.field,
            "severity": self.severity.value,
            "rule": self.rule_id,
            "message": self.message,
        }
        if self.item is not None:
            out["item"] = self.item
        return out
