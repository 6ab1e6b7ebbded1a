"""Consent as a history of decisions (DIR briefing, seed 004, paragraphs 40-42).

Continuity-of-care sharing needs the client's informed consent, in respect of the agencies
it names, and stops when the client withdraws it: the latest 'sharing' decision decides.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from desktop.domain.consent import agency_named, answer_says, handover_refusal, latest_sharing
from desktop.domain.spec import RefData


@dataclass(frozen=True)
class Event:
    kind: str
    value: str
    recorded_on: date
    agencies: str | None = None


GIVEN = Event("sharing", "given", date(2026, 11, 2), "L0001 CARATs, probation")
WITHDRAWN = Event("sharing", "withdrawn", date(2026, 11, 9))
NDTMS = Event("ndtms", "given", date(2026, 11, 10))


def test_the_latest_sharing_decision_is_the_one_in_force() -> None:
    """Seed 004 para 42: consent given and 'not subsequently withdrawn'; NDTMS consent
    events are another decision and do not count."""
    assert latest_sharing([]) is None
    assert latest_sharing([NDTMS]) is None
    assert latest_sharing([GIVEN, NDTMS]) is GIVEN
    assert latest_sharing([GIVEN, WITHDRAWN, NDTMS]) is WITHDRAWN
    again = Event("sharing", "given", date(2026, 11, 12))
    assert latest_sharing([GIVEN, WITHDRAWN, again]) is again


def test_consent_covers_the_agencies_it_names_or_any_when_it_names_none() -> None:
    """Seed 004 para 42: shared 'in respect of those agencies'."""
    assert agency_named("L0001 CARATs, probation", "l0001")
    assert not agency_named("L0001 CARATs, probation", "CJ456")
    assert agency_named(None, "CJ456")
    assert agency_named("  ", "CJ456")


def test_a_handover_needs_sharing_consent_given_and_naming_the_receiver() -> None:
    """Seed 004 paras 40-42: only with informed consent, for the agencies named, not once
    withdrawn or refused; NDTMS consent alone (seed 001 CONSENT) does not allow it."""
    assert "No continuity-of-care consent" in str(handover_refusal([NDTMS], "L0001"))
    assert handover_refusal([GIVEN, NDTMS], "L0001") is None
    assert "names L0001 CARATs, probation, not CJ456" in str(handover_refusal([GIVEN], "CJ456"))
    assert "withdrew continuity-of-care consent on 09 November 2026" in str(
        handover_refusal([GIVEN, WITHDRAWN], "L0001")
    )
    refused = Event("sharing", "refused", date(2026, 11, 3))
    assert "refused continuity-of-care consent" in str(handover_refusal([refused], "L0001"))
    anyone = Event("sharing", "given", date(2026, 11, 20))
    assert handover_refusal([GIVEN, WITHDRAWN, anyone], "CJ456") is None


def test_an_ndtms_consent_event_is_said_by_the_answer_with_its_tag(refdata: RefData) -> None:
    """Seed 001/002 CONSENT: 'given' is a 'yes' answer; refused or withdrawn a 'no' one,
    read from the code list's tags (merging two laptops' answers, the latest event decides)."""
    for dataset in ("cjit-q", "secure-r"):
        spec = refdata.datasets[dataset]
        assert answer_says(refdata, spec, "Y", "given")
        assert not answer_says(refdata, spec, "N", "given")
        assert answer_says(refdata, spec, "N", "refused")
        assert answer_says(refdata, spec, "N", "withdrawn")
        assert not answer_says(refdata, spec, "Y", "withdrawn")
        assert not answer_says(refdata, spec, None, "refused")
