"""Turning what a worker typed (or a file held) into typed values, with a reason when not.

Each parser takes any object and returns ``Parsed(value, problem, note)``: ``value`` is the
typed value or ``None``; ``problem`` says in plain words why the input was not accepted;
``note`` tells the worker how an accepted input was read (e.g. a partial date).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from desktop.domain.spec import Value

_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_UK = re.compile(r"^(\d{1,2})[/.\-](\d{1,2})[/.\-](\d{4})$")
_YEAR_MONTH = re.compile(r"^(\d{4})-(\d{1,2})$|^(\d{1,2})/(\d{4})$")
_YEAR = re.compile(r"^(\d{4})$")
_MONTHS = (
    "January", "February", "March", "April", "May", "June", "July", "August",
    "September", "October", "November", "December",
)  # fmt: skip

# BS 7666 shapes (A9 9AA, A99 9AA, A9A 9AA, AA9 9AA, AA99 9AA, AA9A 9AA) with the letters
# each position may hold; ZZ99 pseudo-postcodes (no fixed abode ZZ99 3VZ, and so on).
_POSTCODE = re.compile(
    r"^(?:[A-PR-UWYZ][0-9][0-9]?|[A-PR-UWYZ][A-HK-Y][0-9][0-9]?"
    r"|[A-PR-UWYZ][0-9][A-HJKPSTUW]|[A-PR-UWYZ][A-HK-Y][0-9][ABEHMNPRVWXY])"
    r" [0-9][ABD-HJLNP-UW-Z]{2}$"
)
_PSEUDO_POSTCODE = re.compile(r"^ZZ99 [0-9][A-Z]{2}$")
NO_FIXED_ABODE_POSTCODE = "ZZ99 3VZ"
_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._\-]{0,63}$")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
FORMULA_START = ("=", "+", "-", "@")


@dataclass(frozen=True, slots=True)
class Parsed:
    value: Value | None
    problem: str | None = None
    note: str | None = None


BLANK = Parsed(None)


def is_blank(raw: object) -> bool:
    return raw is None or (isinstance(raw, str) and not raw.strip())


def say_date(day: date) -> str:
    """A date as a worker reads it: 3 May 2024."""
    return f"{day.day} {_MONTHS[day.month - 1]} {day.year}"


def _make_date(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def parse_date(raw: object) -> Parsed:
    """A full date: a ``date``, ``YYYY-MM-DD`` or ``DD/MM/YYYY``."""
    if is_blank(raw):
        return BLANK
    if isinstance(raw, date):
        return Parsed(raw)
    if not isinstance(raw, str):
        return Parsed(None, "this is not a date; write it as DD/MM/YYYY")
    text = raw.strip()
    if m := _ISO.match(text):
        day = _make_date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    elif m := _UK.match(text):
        day = _make_date(int(m.group(3)), int(m.group(2)), int(m.group(1)))
    else:
        return Parsed(None, f"'{text[:20]}' is not a date; write it as DD/MM/YYYY")
    if day is None:
        return Parsed(None, f"'{text[:20]}' is not a real date (check the day and month)")
    if day.year < 1900:
        return Parsed(None, f"the year {day.year} is too early; check the date")
    return Parsed(day)


def as_date(raw: object) -> date | None:
    """The date in ``raw`` (as :func:`parse_date` reads it), or None if blank or not a date."""
    value = parse_date(raw).value
    return value if isinstance(value, date) else None


def age_on(dob: date, day: date) -> int:
    """Age in whole years on ``day`` (the birthday counts from that day)."""
    return day.year - dob.year - ((day.month, day.day) < (dob.month, dob.day))


def parse_partial_date(raw: object) -> Parsed:
    """A date that may be known only to the month or year.

    Dataset R (HEPCTSTD, HIVTESTDT): if only the month is known record the 1st of the
    month; if only the year, 1 January.
    """
    if is_blank(raw) or isinstance(raw, date):
        return parse_date(raw)
    if isinstance(raw, str):
        text = raw.strip()
        if m := _YEAR_MONTH.match(text):
            year = int(m.group(1) or m.group(4))
            month = int(m.group(2) or m.group(3))
            day = _make_date(year, month, 1)
            if day is None:
                return Parsed(None, f"'{text}' is not a real month")
            return Parsed(
                day, note=f"only the month is known, so it is recorded as {say_date(day)}"
            )
        if m := _YEAR.match(text):
            day = _make_date(int(m.group(1)), 1, 1)
            if day is None or day.year < 1900:
                return Parsed(None, f"'{text}' is not a year we can use")
            return Parsed(day, note=f"only the year is known, so it is recorded as {say_date(day)}")
    return parse_date(raw)


def parse_count(raw: object) -> Parsed:
    """A whole number (from an int or its digits)."""
    if is_blank(raw):
        return BLANK
    if isinstance(raw, bool):
        return Parsed(None, "this must be a whole number")
    if isinstance(raw, int):
        return Parsed(raw)
    if isinstance(raw, float) and raw.is_integer():
        return Parsed(int(raw))
    if isinstance(raw, str) and re.fullmatch(r"\s*\d{1,4}\s*", raw):
        return Parsed(int(raw))
    return Parsed(None, "this must be a whole number, like 0, 3 or 12")


def parse_code(raw: object) -> Parsed:
    """A code from a list: text, upper-cased (a number is read as its digits)."""
    if is_blank(raw):
        return BLANK
    if isinstance(raw, bool):
        return Parsed(None, "this must be one of the listed choices")
    if isinstance(raw, int):
        return Parsed(str(raw))
    if not isinstance(raw, str):
        return Parsed(None, "this must be one of the listed choices")
    text = raw.strip().upper()
    if len(text) > 20 or _CONTROL.search(text):
        return Parsed(None, "this must be one of the listed choices")
    return Parsed(text)


def parse_initial(raw: object) -> Parsed:
    """One letter A–Z (the first letter of the name as NDTMS records it)."""
    if is_blank(raw):
        return BLANK
    if not isinstance(raw, str):
        return Parsed(None, "an initial is one letter, A to Z")
    text = raw.strip().upper()
    if len(text) == 1 and "A" <= text <= "Z":
        return Parsed(text)
    return Parsed(None, "an initial is one letter, A to Z (leave out accents and punctuation)")


def normalise_postcode(text: str) -> str:
    """Upper case, one space before the last three characters."""
    compact = re.sub(r"\s+", "", text.upper())
    if len(compact) < 5:
        return compact
    return f"{compact[:-3]} {compact[-3:]}"


def parse_postcode(raw: object) -> Parsed:
    """A full UK postcode, or a ZZ99 pseudo-postcode (ZZ99 3VZ: no fixed abode or abroad)."""
    if is_blank(raw):
        return BLANK
    if not isinstance(raw, str):
        return Parsed(None, "this is not a postcode")
    text = normalise_postcode(raw.strip())
    if _POSTCODE.match(text) or _PSEUDO_POSTCODE.match(text):
        return Parsed(text)
    return Parsed(
        None,
        f"'{raw.strip()[:12]}' is not a full UK postcode; no fixed abode or abroad: ZZ99 3VZ",
    )


def is_pseudo_postcode(postcode: str) -> bool:
    return bool(_PSEUDO_POSTCODE.match(postcode))


def truncate_postcode(postcode: str) -> str:
    """The postcode NDTMS receives: the full postcode less its final two characters."""
    return normalise_postcode(postcode)[:-2]


def parse_text(raw: object, max_length: int | None = None) -> Parsed:
    if is_blank(raw):
        return BLANK
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        return Parsed(None, "this must be text")
    text = str(raw).strip()
    if _CONTROL.search(text):
        return Parsed(None, "this contains a line break or control character")
    if text.startswith(FORMULA_START):
        return Parsed(None, "this cannot start with = + - or @ (spreadsheets read it as a formula)")
    if max_length is not None and len(text) > max_length:
        return Parsed(None, f"this is longer than {max_length} characters")
    return Parsed(text)


def parse_id(raw: object) -> Parsed:
    """A technical identifier: letters, digits, dot, dash or underscore, up to 64."""
    if is_blank(raw):
        return BLANK
    if isinstance(raw, bool) or not isinstance(raw, str | int):
        return Parsed(None, "this must be a technical identifier")
    text = str(raw).strip()
    if not _ID.match(text):
        return Parsed(None, "a technical identifier has only letters, digits, '.', '-' or '_'")
    return Parsed(text)
