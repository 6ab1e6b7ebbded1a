"""Field formats: dates, partial dates, initials, postcodes, counts, identifiers, text."""

from __future__ import annotations

from datetime import date

import pytest

from desktop.domain.values import (
    parse_code,
    parse_count,
    parse_date,
    parse_id,
    parse_initial,
    parse_partial_date,
    parse_postcode,
    parse_text,
    say_date,
    truncate_postcode,
)


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("2024-05-03", date(2024, 5, 3)), ("03/05/2024", date(2024, 5, 3)),
     ("3.5.2024", date(2024, 5, 3)), (date(2020, 1, 1), date(2020, 1, 1)), ("", None),
     (None, None)],
)  # fmt: skip
def test_dates_accept_iso_and_uk_order(raw: object, expected: date | None) -> None:
    parsed = parse_date(raw)
    assert parsed.problem is None and parsed.value == expected


@pytest.mark.parametrize("raw", ["2024-02-30", "31/04/2024", "tomorrow", "1850-01-01", 20240101])
def test_dates_refuse_what_is_not_a_real_date(raw: object) -> None:
    parsed = parse_date(raw)
    assert parsed.value is None and parsed.problem


@pytest.mark.parametrize(
    ("raw", "expected", "note"),
    [("2023-05", date(2023, 5, 1), "first of the month"), ("05/2023", date(2023, 5, 1), "month"),
     ("2019", date(2019, 1, 1), "1 January 2019"), ("2023-05-17", date(2023, 5, 17), None)],
)  # fmt: skip
def test_partial_test_dates_recorded_as_first_of_month_or_1_january(
    raw: str, expected: date, note: str | None
) -> None:
    """Dataset R v1.2 HEPCTSTD / HIVTESTDT: month only → the 1st; year only → 1 January."""
    parsed = parse_partial_date(raw)
    assert parsed.value == expected
    if note is None:
        assert parsed.note is None
    else:
        assert parsed.note is not None
        assert "1 May 2023" in parsed.note or note in parsed.note


@pytest.mark.parametrize(("raw", "expected"), [("m", "M"), (" s ", "S"), ("Z", "Z")])
def test_initial_is_one_letter_a_to_z(raw: str, expected: str) -> None:
    """Datasets Q/R FINITIAL, SINITIAL: the first letter of the name."""
    assert parse_initial(raw).value == expected


@pytest.mark.parametrize("raw", ["MS", "1", "É", "'", "-", 5])
def test_initial_refuses_anything_else(raw: object) -> None:
    assert parse_initial(raw).problem


@pytest.mark.parametrize(
    ("raw", "expected"),
    [("nr14 7uj", "NR14 7UJ"), ("NR147UJ", "NR14 7UJ"), ("SW1A 1AA", "SW1A 1AA"),
     ("M1 1AE", "M1 1AE"), ("B33 8TH", "B33 8TH"), ("CR2 6XH", "CR2 6XH"),
     ("DN55 1PT", "DN55 1PT"), ("W1A 0AX", "W1A 0AX"), ("EC1A 1BB", "EC1A 1BB"),
     ("zz99 3vz", "ZZ99 3VZ"), ("ZZ99 3WZ", "ZZ99 3WZ")],
)  # fmt: skip
def test_uk_postcode_shapes_and_zz99_pseudo_postcodes(raw: str, expected: str) -> None:
    assert parse_postcode(raw).value == expected


@pytest.mark.parametrize("raw", ["NR14", "QR14 7UJ", "NR14 7CJ", "12345", "NR14 7UJX", "ZZ99"])
def test_postcode_refuses_bad_shapes(raw: str) -> None:
    assert parse_postcode(raw).problem


@pytest.mark.parametrize(
    ("full", "sent"), [("NR14 7UJ", "NR14 7"), ("ZZ99 3VZ", "ZZ99 3"), ("M1 1AE", "M1 1")]
)
def test_postcode_truncated_by_two_characters_on_extract(full: str, sent: str) -> None:
    """Datasets Q/R field PC: the final 2 characters are removed on extract."""
    assert truncate_postcode(full) == sent


def test_counts_codes_ids_and_text() -> None:
    assert parse_count("12").value == 12 and parse_count(True).problem
    assert parse_count("1.5").problem and parse_count(3.0).value == 3
    assert parse_code(" xx ").value == "XX" and parse_code(99).value == "99"
    assert parse_id("c-0001").value == "c-0001" and parse_id("a b").problem
    assert parse_text("=HYPERLINK()").problem  # spreadsheet formula
    assert parse_text("line\nbreak").problem
    assert parse_text("x" * 31, max_length=30).problem


def test_dates_read_as_a_worker_says_them() -> None:
    assert say_date(date(2024, 5, 3)) == "3 May 2024"


def test_age_in_whole_years_counts_from_the_birthday() -> None:
    """One age rule for the checks (dataset Q/R DOB at triage) and the report's age bands."""
    from datetime import date

    from desktop.domain.values import age_on

    assert age_on(date(1990, 5, 3), date(2026, 5, 2)) == 35
    assert age_on(date(1990, 5, 3), date(2026, 5, 3)) == 36
    assert age_on(date(2000, 2, 29), date(2026, 2, 28)) == 25
