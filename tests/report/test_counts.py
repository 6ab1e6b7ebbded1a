"""The monthly report's counts (month-end issue 6, item 5; item 8: "the report's counts on a
fixture"). Each fixture episode in tests/report/kit.py is built to land in, or fall just
outside, one measure, so every number below can be checked by hand."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, datetime

import pytest

from desktop.domain.datasets import CJIT_Q
from desktop.domain.period import Period
from desktop.domain.spec import RefData
from desktop.export.report import (
    NOT_RECORDED,
    EpisodeRow,
    Measure,
    Report,
    Row,
    age_band,
    count_report,
    monthly_report,
    read_rows,
)
from desktop.storage.errors import NotPermitted
from desktop.storage.store import Store
from tests.fixtures import MakeStore
from tests.report import kit

MARCH_2025 = Period(2025, 3)


@pytest.fixture
def cjit_store(make_store: MakeStore) -> Store:
    return make_store("cjit", name="cjit.store")


@pytest.fixture
def secure_store(make_store: MakeStore) -> Store:
    return make_store("secure", name="prison.store")


def nonzero(m: Measure) -> dict[str, tuple[int, ...]]:
    return {r.label: r.counts for r in m.rows if any(r.counts)}


def test_cjit_counts_for_a_month(cjit_store: Store, refdata: RefData) -> None:
    """Issue 6 item 5, CJIT: referral routes by month and quarter, contacts assessed, taken
    onto the caseload, referred to structured treatment, caseload by sex, age band and
    ethnicity, exits by closure reason."""
    kit.fill_cjit(cjit_store, refdata)
    report = monthly_report(cjit_store, MARCH_2025, generated=kit.GENERATED)

    assert (report.dataset, report.agency, report.episodes) == (
        "cjit-q",
        "CJ123",
        10,
    )
    assert report.unreadable == (("TRIAGED", 1),)
    activity = report.measure("activity")
    assert [(r.label, r.counts) for r in activity.rows] == [
        ("Contacts assessed", (3,)),
        ("Taken onto the caseload", (2,)),
        ("Referred to structured treatment", (2,)),
        ("Cases closed", (2,)),
        ("On the caseload at the end of March 2025", (5,)),
    ]
    assert nonzero(report.measure("routes_month")) == {
        "Voluntary – following a cell sweep": (2,),
        "Other": (1,),
        "99 (not in the code list)": (1,),
        NOT_RECORDED: (1,),
    }
    by_month = report.measure("routes_by_month")
    assert by_month.columns == (
        "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec", "Jan", "Feb", "Mar",
    )  # fmt: skip
    assert by_month.totals == (0, 1, 0, 0, 0, 0, 0, 0, 0, 1, 1, 5)
    assert nonzero(by_month)["Restriction on bail"] == (0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0)
    assert nonzero(by_month)["Voluntary – liaison and diversion"][9] == 1
    by_quarter = report.measure("routes_by_quarter")
    assert by_quarter.columns == (
        "Q1 Apr–Jun", "Q2 Jul–Sep", "Q3 Oct–Dec", "Q4 Jan–Mar", "Year to date",
    )  # fmt: skip
    assert nonzero(by_quarter) == {
        "Voluntary – following a cell sweep": (0, 0, 0, 2, 2),
        "Voluntary – liaison and diversion": (0, 0, 0, 1, 1),
        "Restriction on bail": (1, 0, 0, 1, 2),
        "Other": (0, 0, 0, 1, 1),
        "99 (not in the code list)": (0, 0, 0, 1, 1),
        NOT_RECORDED: (0, 0, 0, 1, 1),
    }
    assert nonzero(report.measure("caseload_sex")) == {
        "Male": (2,),
        "Female": (2,),
        "Not known": (1,),
    }
    age = report.measure("caseload_age")
    assert [(r.label, r.counts[0]) for r in age.rows] == [
        ("Under 18", 1),
        ("18–24", 1),
        ("25–34", 1),
        ("35–44", 0),
        ("45–54", 0),
        ("55+", 1),
        (NOT_RECORDED, 1),
    ]
    assert age.base == 5
    assert nonzero(report.measure("caseload_ethnicity")) == {
        "White – British": (2,),
        "Black or Black British – African": (1,),
        "Not stated": (1,),
        NOT_RECORDED: (1,),
    }
    exits = report.measure("exits")
    assert nonzero(exits) == {
        "Did not want to engage": (1,),
        "Care plan objectives completed – drug free": (1,),
    }
    assert exits.base == 2


def test_prisons_counts_for_a_month(secure_store: Store, refdata: RefData) -> None:
    """Issue 6 item 5, prisons: receptions triaged, interventions started by type,
    discharges and exits by reason, releases with naloxone, RECONNECT and onward referral."""
    kit.fill_secure(secure_store, refdata)
    report = monthly_report(secure_store, MARCH_2025, generated=kit.GENERATED)

    assert (report.dataset, report.episodes) == ("secure-r", 5)
    assert report.unreadable == (("TRIAGED", 1),)
    assert [(r.label, r.counts) for r in report.measure("activity").rows] == [
        ("Receptions triaged", (2,)),
        ("Interventions started", (5,)),
        ("Discharges from treatment", (2,)),
        ("Exits from this secure setting", (4,)),
        ("Releases", (3,)),
    ]
    assert nonzero(report.measure("interventions")) == {
        "Opioid reduction – methadone": (2,),
        "Alcohol – brief intervention": (1,),
        "77 (not in the code list)": (1,),
        NOT_RECORDED: (1,),
    }
    assert nonzero(report.measure("discharges")) == {
        "Treatment completed – drug free": (1,),
        "Incomplete – dropped out": (1,),
    }
    assert nonzero(report.measure("exits")) == {"Transferred": (1,), "Released": (3,)}
    releases = report.measure("releases")
    assert [(r.label, r.counts) for r in releases.rows] == [
        ("Take-home naloxone and training", (1,)),
        ("RECONNECT support", (2,)),
        ("Referred on to a community service", (2,)),
    ]
    assert releases.base == 3


def test_every_code_of_a_list_is_a_row_even_at_zero(secure_store: Store, refdata: RefData) -> None:
    """A commissioner sees which reasons did not happen, in the code list's order."""
    kit.fill_secure(secure_store, refdata)
    report = monthly_report(secure_store, MARCH_2025)
    spec = refdata.datasets["secure-r"]
    codes = [c.code for c, _ in refdata.codes_for(spec.by_header["DISRSN"])]
    assert [r.code for r in report.measure("discharges").rows] == codes


def test_the_report_reads_only_the_fields_it_counts(cjit_store: Store, refdata: RefData) -> None:
    """Issue 6 item 5: no client-level data. Names, notes, initials, client reference and
    ids are never read out of the store for the report."""
    kit.fill_cjit(cjit_store, refdata, markers=True)
    rows = list(read_rows(cjit_store, "cjit-q"))
    assert len(rows) == 10
    assert all(set(r.fields) <= set(CJIT_Q.report_fields) for r in rows)
    assert all(set(i) <= set(CJIT_Q.report_item_fields) for r in rows for i in r.items)
    assert {"TRIAGED", "DOB", "SEX"} <= set().union(*(r.fields for r in rows))


def test_the_report_holds_counts_only(cjit_store: Store, refdata: RefData) -> None:
    """Issue 6 item 5: no client-level data. The report's structure has no place for a
    person's details, and none of the seeded markers or ids appear in its text or JSON."""
    saved = kit.fill_cjit(cjit_store, refdata, markers=True)
    report = monthly_report(cjit_store, MARCH_2025, generated=kit.GENERATED)
    assert {f.name for f in dataclasses.fields(Report)} == {
        "agency", "dataset", "dataset_title", "period", "generated", "episodes",
        "unreadable", "measures",
    }  # fmt: skip
    assert {f.name for f in dataclasses.fields(Measure)} == {
        "key", "title", "note", "columns", "rows", "chart", "base", "summed",
    }  # fmt: skip
    assert {f.name for f in dataclasses.fields(Row)} == {"label", "counts", "code", "known"}
    outputs = report.as_text() + report.to_json_text()
    assert "Contacts assessed" in outputs
    secrets = [kit.NAME, kit.CLIENT_NOTES, kit.EPISODE_NOTES, kit.CLIENT_REF, "MARKER"]
    secrets += [s.client_id for s in saved] + [s.episode_id for s in saved]
    for secret in secrets:
        assert secret.lower() not in outputs.lower(), secret
    data = json.loads(report.to_json_text())
    assert data["counts_only"] is True
    assert data["period"] == "2025-03"


def test_the_report_says_what_it_counted(cjit_store: Store, refdata: RefData) -> None:
    """Issue 6 item 5 (consent): every episode recorded locally is counted, whatever the
    client's NDTMS consent, and the report says so, with unreadable dates."""
    kit.fill_cjit(cjit_store, refdata)
    report = monthly_report(cjit_store, MARCH_2025)
    assert "all 10 episodes" in report.scope
    assert "whatever the client's NDTMS consent" in report.scope
    assert "not an NDTMS submission" in report.scope
    assert "1 date could not be read (TRIAGED)" in report.scope


def test_a_worker_cannot_read_the_report(cjit_store: Store, refdata: RefData) -> None:
    """Issue 6: the monthly report is for managers."""
    kit.fill_cjit(cjit_store, refdata)
    cjit_store.users.add("bob", "bob's password", "worker")
    path = cjit_store.path
    cjit_store.close(backup_reason=None)
    worker = Store.open(path, "bob", "bob's password", refdata=refdata)
    try:
        with pytest.raises(NotPermitted) as refused:
            monthly_report(worker, MARCH_2025)
    finally:
        worker.close(backup_reason=None)
    assert str(refused.value) == "Only a manager can read the monthly report."
    reopened = Store.open(path, "amy", kit.PASSWORD, refdata=refdata)
    try:
        assert monthly_report(reopened, MARCH_2025).measure("activity").rows[0].counts == (3,)
    finally:
        reopened.close(backup_reason=None)


@pytest.mark.parametrize(
    ("text", "period", "fy_months", "quarters"),
    [
        ("2025-03", Period(2025, 3), 12, ("Q1 Apr–Jun", "Q2 Jul–Sep", "Q3 Oct–Dec", "Q4 Jan–Mar")),
        ("2025-04", Period(2025, 4), 1, ("Q1 Apr–Jun so far",)),
        (" 2024-11 ", Period(2024, 11), 8, ("Q1 Apr–Jun", "Q2 Jul–Sep", "Q3 Oct–Dec so far")),
        ("2025-1", Period(2025, 1), 10, ("Q1 Apr–Jun", "Q2 Jul–Sep", "Q3 Oct–Dec",
                                         "Q4 Jan–Mar so far")),
    ],
)  # fmt: skip
def test_period_and_financial_year(
    text: str, period: Period, fy_months: int, quarters: tuple[str, ...], refdata: RefData
) -> None:
    """Issue 6 item 5: "by month and quarter" of the financial year (April to March)."""
    assert Period.parse(text) == period
    report = count_report(
        [], refdata=refdata, dataset="cjit-q", period=period, agency="X", generated=datetime.now()
    )
    assert len(report.measure("routes_by_month").columns) == fy_months
    assert report.measure("routes_by_quarter").columns == (*quarters, "Year to date")


def test_period_bounds() -> None:
    assert (Period(2024, 2).start, Period(2024, 2).end) == (date(2024, 2, 1), date(2024, 2, 29))
    assert Period(2024, 12).end == date(2024, 12, 31)
    assert Period(2025, 3).fy_label == "2024–25"
    assert Period(2025, 3).label == "March 2025"


@pytest.mark.parametrize("text", ["2025-13", "2025-00", "March", "2025/03", "", "1999-05"])
def test_bad_period_text_is_refused_in_one_line(text: str) -> None:
    """Issue 6 item 7: the period is YYYY-MM; anything else is a plain one-line message."""
    with pytest.raises(ValueError, match=r"month|year") as bad:
        Period.parse(text)
    assert "\n" not in str(bad.value)


@pytest.mark.parametrize(
    ("dob", "band"),
    [
        (date(2007, 3, 31), "18–24"),  # 18 on 31 March 2025, the last day of the month
        (date(2007, 4, 1), "Under 18"),  # 18 the day after
        (date(2000, 3, 31), "25–34"),
        (date(1990, 3, 31), "35–44"),
        (date(1980, 3, 31), "45–54"),
        (date(1970, 3, 31), "55+"),
        (date(1970, 4, 1), "45–54"),
        (None, NOT_RECORDED),
    ],
)
def test_age_bands_at_the_end_of_the_month(dob: date | None, band: str) -> None:
    """Issue 6 item 5: age bands 18–24, 25–34, 35–44, 45–54, 55+ at the period's end."""
    assert age_band(dob, MARCH_2025.end) == band


def test_counting_is_pure(refdata: RefData) -> None:
    """The counting takes rows, not a store: the same rows give the same report."""
    rows = [
        EpisodeRow({"TRIAGED": "05/03/2025", "CJRFLS": 1}),
        EpisodeRow({"TRIAGED": "2025-03-06", "CJRFLS": " 1 "}),
    ]
    report = count_report(
        rows,
        refdata=refdata,
        dataset="cjit-q",
        period=MARCH_2025,
        agency="CJ123",
        generated=kit.GENERATED,
    )
    assert report.measure("routes_month").count("Voluntary – following a cell sweep") == 2
    assert report.measure("activity").count("Contacts assessed") == 2
    assert report.episodes == 2
