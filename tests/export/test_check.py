"""The pre-upload check: load % and DQ % as the portal reports them, findings by rule,
records held back for errors, and validation mismatches.

Rules cited: issue 6 item 2; seed 000 (load % counts records without errors, DQ % records
without warnings; mismatches when a field that must not change is changed after
submission); dataset Q v4.2 fields DOB and SEX (may_change = no, mismatch) and PC (may
change).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from desktop.domain.validation import Validator
from desktop.export.submission import MISMATCH, check, export
from desktop.storage.store import Store
from tests.export.conftest import TODAY, as_dicts, cjit

OCTOBER = "2026-10"
IN_OCTOBER = date(2026, 3, 1)


def _fixture(store: Store) -> dict[str, str]:
    """Five October records: two clean, one missing DRUG1 (an error: NDTMS rejects it),
    one with a bad SEX code and a missing DAT (an error and a warning), one missing its
    DAT (a warning only). Seeds 201-205."""
    saved = {
        "clean1": cjit(201, triaged=IN_OCTOBER, PC="NR14 7UJ"),
        "clean2": cjit(202, triaged=IN_OCTOBER, PC="SR1 3AB"),
        "no_drug": cjit(203, triaged=IN_OCTOBER, PC="NR14 7UJ"),
        "bad_sex": cjit(204, triaged=IN_OCTOBER, PC="NR14 7UJ", SEX="7", DAT=""),
        "no_dat": cjit(205, triaged=IN_OCTOBER, PC="LS1 4DY", DAT=""),
    }
    saved["no_drug"].pop("DRUG1")
    return {name: store.episodes.save(rec, today=TODAY).episode_id for name, rec in saved.items()}


def test_load_and_dq_percent_on_a_fixture(store: Store) -> None:
    """Seed 000 / issue 6 item 2, seeds 201-205: load % = 3/5 records without errors,
    DQ % = 3/5 records without warnings; findings are grouped by rule with the episode
    and field of each."""
    ids = _fixture(store)
    result = check(store, "cjit-q", OCTOBER, today=TODAY)
    assert (result.records, result.with_errors, result.with_warnings) == (5, 2, 2)
    assert result.load_pct == 60.0 and result.dq_pct == 60.0
    rules = {(r.rule_id, r.severity.value): r for r in result.rules}
    reject = rules[("required_reject", "error")]
    assert reject.count == 1 and {(h.episode_id, h.field) for h in reject.hits} == {
        (ids["no_drug"], "DRUG1")
    }
    code = rules[("code_not_in_list", "error")]
    assert {(h.episode_id, h.field) for h in code.hits} == {(ids["bad_sex"], "SEX")}
    dq = rules[("required_dq", "warning")]
    assert dq.records == 2 and {h.field for h in dq.hits} == {"DAT"}
    assert {h.episode_id for h in result.held_back} == {ids["no_drug"], ids["bad_sex"]}
    as_json = result.as_json()
    for key in ("records", "with_errors", "with_warnings", "load_pct", "dq_pct", "rules"):
        assert key in as_json
    assert as_json["load_pct"] == 60.0


def test_records_with_errors_are_held_back_unless_included(store: Store, out: Path) -> None:
    """Issue 6 item 2 (records with errors are held back, with an explicit override)."""
    ids = _fixture(store)
    held = export(store, "cjit-q", OCTOBER, out, today=TODAY)
    sent = {r["EPISODID"] for r in as_dicts(held.path)}
    assert sent == {ids["clean1"], ids["clean2"], ids["no_dat"]}
    assert set(held.held_back) == {ids["no_drug"], ids["bad_sex"]}
    everything = export(store, "cjit-q", OCTOBER, out, today=TODAY, include_errors=True)
    assert {r["EPISODID"] for r in as_dicts(everything.path)} == set(ids.values())
    assert everything.held_back == ()


def test_check_shows_a_missing_dat_unless_the_client_is_of_no_fixed_abode(store: Store) -> None:
    """Seed 001 (dataset Q v4.2) fields PC and DAT, seeds 211-212: ZZ99 3VZ is for no fixed
    abode or living outside the UK. A rough sleeper's blank DAT is the team's own DAT in
    the file, so the check finds nothing; any other client with ZZ99 3VZ and no DAT is not
    hidden behind that fill: the check shows the DAT missing, and says that a client
    living outside the UK takes 'Out of England' (Z00B)."""
    nfa = store.episodes.save(
        cjit(211, triaged=IN_OCTOBER, PC="ZZ99 3VZ", HOUSING="17", DAT=""), today=TODAY
    ).episode_id
    abroad = store.episodes.save(
        cjit(212, triaged=IN_OCTOBER, PC="ZZ99 3VZ", HOUSING="2", DAT=""), today=TODAY
    ).episode_id
    result = check(store, "cjit-q", OCTOBER, today=TODAY)
    dat = {
        (h.episode_id, r.rule_id): h.message
        for r in result.rules
        for h in r.hits
        if h.field == "DAT"
    }
    assert set(dat) == {
        (abroad, "required_dq"),
        (abroad, "cjit_own_dat_for_no_fixed_abode"),
    }
    assert "Z00B" in dat[(abroad, "cjit_own_dat_for_no_fixed_abode")]
    assert nfa not in {episode for episode, _ in dat}


def test_an_empty_month_is_100_percent(store: Store) -> None:
    """Issue 6 item 2: with no records nothing fails, so both figures are 100 %."""
    result = check(store, "cjit-q", OCTOBER, today=TODAY)
    assert (result.records, result.load_pct, result.dq_pct) == (0, 100.0, 100.0)


def test_mismatch_after_changing_dob_and_sex_since_the_export(store: Store, out: Path) -> None:
    """Dataset Q DOB and SEX (may_change = no, mismatch), seed 211: after an export,
    changing them gives a mismatch warning for each, counted apart from DQ %."""
    saved = store.episodes.save(cjit(211, triaged=IN_OCTOBER, SEX="1"), today=TODAY)
    export(store, "cjit-q", OCTOBER, out, today=TODAY)
    raw = store.episodes.load(saved.episode_id).raw
    store.episodes.save({**raw, "DOB": "1986-05-17", "SEX": "2"}, today=TODAY)
    result = check(store, "cjit-q", OCTOBER, today=TODAY)
    (rule,) = [r for r in result.rules if r.rule_id == MISMATCH]
    assert {h.field for h in rule.hits} == {"DOB", "SEX"}
    assert all(h.episode_id == saved.episode_id for h in rule.hits)
    dob = next(h for h in rule.hits if h.field == "DOB")
    assert "17/05/1985" in dob.message and "17/05/1986" in dob.message
    assert result.with_mismatches == 1 and result.dq_pct == 100.0


def test_a_client_detail_corrected_on_a_later_episode_is_a_mismatch_on_the_sent_one(
    store: Store, out: Path
) -> None:
    """Issue 13 item 2, dataset Q DOB (may_change = no, mismatch): one client, many
    episodes. A date of birth corrected on the client's second episode holds for the
    first too, which NDTMS has already received: Check reports it there as a mismatch."""
    first = store.episodes.save(cjit(212, triaged=IN_OCTOBER), today=TODAY)
    export(store, "cjit-q", OCTOBER, out, today=TODAY)
    second = dict(store.episodes.load(first.episode_id).raw)
    second.pop("EPISODID")
    second.update(DOB="1986-05-17", referrals=[])
    saved = store.episodes.save(second, today=TODAY)
    assert saved.client_changed == ("DOB",) and saved.other_episodes == 1
    result = check(store, "cjit-q", OCTOBER, today=TODAY)
    (rule,) = [r for r in result.rules if r.rule_id == MISMATCH]
    assert [(h.episode_id, h.field) for h in rule.hits] == [(first.episode_id, "DOB")]


def test_no_mismatch_for_fields_that_may_change_or_are_filled_in_later(
    store: Store, out: Path
) -> None:
    """Dataset Q: PC may change, DISD/CJDISRSN change once (blank to a value), and a new
    referral is not a change; none of these gives a mismatch. Seed 221."""
    saved = store.episodes.save(cjit(221, triaged=IN_OCTOBER, PC="NR14 7UJ"), today=TODAY)
    export(store, "cjit-q", OCTOBER, out, today=TODAY)
    raw = store.episodes.load(saved.episode_id).raw
    closed = cjit(221, triaged=IN_OCTOBER, closed=date(2026, 11, 10))
    referrals = [*raw["referrals"], {"REFDATE": "2026-03-05"}]  # type: ignore[misc]
    store.episodes.save(
        {
            **raw,
            "PC": "SR1 3AB",
            "DISD": closed["DISD"],
            "CJDISRSN": closed["CJDISRSN"],
            "referrals": referrals,
        },
        today=TODAY,
    )
    result = check(store, "cjit-q", OCTOBER, today=TODAY)
    assert result.with_mismatches == 0
    assert all(r.rule_id != MISMATCH for r in result.rules)


def test_mismatch_on_a_referral_field(store: Store, out: Path) -> None:
    """Dataset Q REFDATE (may_change = no), seed 231: a referral's date changed after it
    was sent is a mismatch on that referral."""
    saved = store.episodes.save(cjit(231, triaged=IN_OCTOBER, referrals=2), today=TODAY)
    export(store, "cjit-q", OCTOBER, out, today=TODAY)
    raw = store.episodes.load(saved.episode_id).raw
    items = [dict(i) for i in raw["referrals"]]  # type: ignore[union-attr]
    items[1]["REFDATE"] = "2026-03-09"
    store.episodes.save({**raw, "referrals": items}, today=TODAY)
    result = check(store, "cjit-q", OCTOBER, today=TODAY)
    (rule,) = [r for r in result.rules if r.rule_id == MISMATCH]
    (hit,) = rule.hits
    assert (hit.field, hit.item) == ("REFDATE", 1)


def test_export_after_a_fresh_check_does_not_validate_again(
    store: Store, out: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 6 item 2: the check's held-back list is used when nothing has changed since;
    after a change every record is validated again (a fixed record is then sent)."""
    ids = _fixture(store)
    result = check(store, "cjit-q", OCTOBER, today=TODAY)
    calls = 0
    real = Validator.validate

    def counting(self: Validator, raw: object, ctx: object) -> object:
        nonlocal calls
        calls += 1
        return real(self, raw, ctx)  # type: ignore[arg-type]

    monkeypatch.setattr(Validator, "validate", counting)
    reused = export(store, "cjit-q", OCTOBER, out, today=TODAY, checked=result)
    assert calls == 0 and set(reused.held_back) == {ids["no_drug"], ids["bad_sex"]}

    raw = store.episodes.load(ids["no_drug"]).raw
    store.episodes.save({**raw, "DRUG1": cjit(201, triaged=IN_OCTOBER)["DRUG1"]}, today=TODAY)
    again = export(store, "cjit-q", OCTOBER, out, today=TODAY, checked=result)
    assert calls == 5 and set(again.held_back) == {ids["bad_sex"]}
