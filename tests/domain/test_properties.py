"""Properties that hold for any input: validation never raises, findings are well formed,
and the order of the fields in the input does not change the result."""

from __future__ import annotations

import random
from datetime import date

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from desktop.domain.findings import Finding, Severity
from desktop.domain.record import Context
from desktop.domain.refdata import load_refdata
from desktop.domain.synthetic import cjit_record, secure_record
from desktop.domain.validation import Validator
from tests.conftest import REFDATA

REF = load_refdata(REFDATA)
VALIDATORS = {d: Validator(REF, d) for d in ("cjit-q", "secure-r")}
CTX = Context(today=date(2026, 11, 24), agency_dat="A12B")
HOSTILE = st.sampled_from(
    ["", " ", "=1+1", "+44", "-", "@x", "\x00", "a,b", 'q"q', "line\nbreak", "\ufeffY", "Ŵŷ", "é",
     "ZZ99 3VZ", "2024-02-29", "29/02/2023", "0000-00-00", "9999-12-31", "98", "NN", "Y", "R"]
)  # fmt: skip
SCALARS = st.one_of(
    st.none(), st.booleans(), st.integers(-(10**6), 10**6), st.floats(allow_nan=True),
    st.text(max_size=40), HOSTILE, st.dates().map(date.isoformat),
)  # fmt: skip
VALUES = st.one_of(
    SCALARS,
    st.lists(SCALARS, max_size=3),
    st.dictionaries(st.text(max_size=8), SCALARS, max_size=3),
)


def _well_formed(findings: list[Finding], headers: set[str]) -> None:
    for f in findings:
        assert isinstance(f, Finding)
        assert f.severity in (Severity.ERROR, Severity.WARNING, Severity.INFO)
        assert f.rule_id and f.rule_id != "rule_could_not_run", f
        assert f.message and "Traceback" not in f.message
        assert f.item is None or f.item >= 0
        assert isinstance(f.field, str)


def _mutated(dataset: str, seed: int, changes: dict[str, object]) -> dict[str, object]:
    maker = cjit_record if dataset == "cjit-q" else secure_record
    rec = maker(REF, random.Random(seed), seed, CTX.today)
    rec.update(changes)
    return rec


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    dataset=st.sampled_from(sorted(VALIDATORS)),
    seed=st.integers(0, 50),
    data=st.data(),
)
def test_validators_never_raise_and_findings_are_well_formed(
    dataset: str, seed: int, data: st.DataObject
) -> None:
    validator = VALIDATORS[dataset]
    headers = [*validator.spec.headers, validator.spec.items_key, "OTHER"]
    changes = data.draw(st.dictionaries(st.sampled_from(headers), VALUES, max_size=8))
    findings = validator.validate(_mutated(dataset, seed, changes), CTX)
    _well_formed(findings, set(headers))


@settings(max_examples=200, deadline=None)
@given(raw=st.one_of(VALUES, st.dictionaries(st.text(max_size=10), VALUES, max_size=10)))
def test_any_json_like_value_is_handled(raw: object) -> None:
    for validator in VALIDATORS.values():
        _well_formed(validator.validate(raw, CTX), set())


@settings(max_examples=100, deadline=None)
@given(
    dataset=st.sampled_from(sorted(VALIDATORS)),
    seed=st.integers(0, 200),
    shuffle=st.randoms(use_true_random=False),
)
def test_field_order_does_not_change_the_result(
    dataset: str, seed: int, shuffle: random.Random
) -> None:
    validator = VALIDATORS[dataset]
    rec = _mutated(dataset, seed, {})
    # Make the record interesting: blank a few fields so that rules fire.
    for key in shuffle.sample(sorted(rec), 4):
        rec.pop(key)
    keys = list(rec)
    shuffle.shuffle(keys)
    reordered = {k: rec[k] for k in keys}
    assert validator.validate(rec, CTX) == validator.validate(reordered, CTX)
