"""Which CONSENT code the NDTMS file sends for a consenting client (seed 001/002 CONSENT)."""

from __future__ import annotations

from desktop.domain.spec import RefData
from desktop.domain.workflow import consent_given, consent_yes_code


def test_the_consent_sent_is_the_lists_yes_code_datasets_q_and_r_consent(
    refdata: RefData,
) -> None:
    """Seed 001/002 CONSENT: the code sent (and matched for a client with no consent
    event) is the code list's 'yes' code, the one consent_given accepts."""
    for dataset in ("cjit-q", "secure-r"):
        spec = refdata.datasets[dataset]
        code = consent_yes_code(refdata, spec)
        assert code == "Y"
        assert consent_given(refdata, spec, code)
