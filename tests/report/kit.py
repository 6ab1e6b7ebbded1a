"""Hand-built stores for the report tests: a few episodes with exactly the dates and codes
each measure counts, so that every expected number can be worked out by hand.

The period is March 2025: financial year 2024-25, quarter 4 (January to March).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from desktop.domain.spec import RefData
from desktop.storage.store import SavedEpisode, Store
from tests.fixtures import PASSWORD as PASSWORD  # the stores' password, kit.PASSWORD
from tests.fixtures import synthetic_records

GENERATED = datetime(2025, 4, 3, 9, 30)

# Marker strings seeded into everything that identifies a person, to look for in outputs.
NAME = "Zebedee Quixotic-Marker"
CLIENT_NOTES = "CLIENTNOTEMARKER about housing"
EPISODE_NOTES = "EPISODENOTEMARKER seen at court"
CLIENT_REF = "REFMARK77"

CJIT_REPORT_FIELDS = (
    "REFLD", "TRIAGED", "CJRFLS", "CPLANDT", "DISD", "CJDISRSN", "DOB", "SEX", "ETHNIC",
)  # fmt: skip
SECURE_REPORT_FIELDS = (
    "TRIAGED", "DISD", "DISRSN", "EXITD", "EXITRSN", "THNALOX", "RECONNECT", "RTOAGNCY",
)  # fmt: skip


def _episode(base: dict[str, Any], clear: tuple[str, ...], values: dict[str, Any]) -> dict:
    rec = {k: v for k, v in base.items() if k not in clear}
    rec.update({k: v for k, v in values.items() if v is not None})
    return rec


# (fields, referral dates, saved as you go only) for each CJIT episode; what each tests
# is beside it.
CJIT_EPISODES: list[tuple[dict[str, Any], list[str], bool]] = [
    # E1 assessed, taken on and referred in March; on the caseload; 25 on 31 March
    (
        {"TRIAGED": "2025-03-05", "REFLD": "2025-03-04", "CJRFLS": "1",
         "CPLANDT": "2025-03-10", "SEX": "1", "DOB": "2000-03-31", "ETHNIC": "A"},
        ["2025-03-15", "2025-04-02"],
        False,
    ),
    # E2 assessed and closed before the caseload in March
    (
        {"TRIAGED": "2025-03-20", "CJRFLS": "1", "DISD": "2025-03-20", "CJDISRSN": "1",
         "SEX": "2", "DOB": "1990-01-01", "ETHNIC": "B"},
        [],
        False,
    ),
    # E3 February contact; referred 1 March; closed on the last day, so off the caseload
    (
        {"TRIAGED": "2025-02-10", "CJRFLS": "6", "CPLANDT": "2025-02-12",
         "DISD": "2025-03-31", "CJDISRSN": "10", "SEX": "1", "DOB": "1980-06-15", "ETHNIC": "A"},
        ["2025-03-01"],
        False,
    ),
    # E4 May contact (quarter 1); on the caseload; 23
    (
        {"TRIAGED": "2024-05-15", "CJRFLS": "6", "CPLANDT": "2024-05-20", "SEX": "2",
         "DOB": "2001-04-01", "ETHNIC": "N"},
        [],
        False,
    ),
    # E5 contact in the previous financial year; closed after the month, so still on; 55
    (
        {"TRIAGED": "2024-03-30", "CJRFLS": "3", "CPLANDT": "2024-04-02",
         "DISD": "2025-04-05", "CJDISRSN": "8", "SEX": "1", "DOB": "1970-01-01", "ETHNIC": "A"},
        [],
        False,
    ),
    # E6 no contact date: counted by the prompting event's date; no route recorded
    (
        {"REFLD": "2025-03-02", "SEX": "1", "DOB": "1985-01-01", "ETHNIC": "A"},
        [],
        False,
    ),
    # E7 contact date that cannot be read; route code not in the list
    (
        {"TRIAGED": "not a date", "REFLD": "2025-03-03", "CJRFLS": "99", "SEX": "1",
         "DOB": "1985-01-01", "ETHNIC": "A"},
        [],
        False,
    ),
    # E8 April 2025: after the month, counted nowhere
    (
        {"TRIAGED": "2025-04-01", "CJRFLS": "1", "CPLANDT": "2025-04-01", "SEX": "1",
         "DOB": "1985-01-01", "ETHNIC": "A"},
        [],
        False,
    ),
    # E9 saved as the worker went, never with Ctrl+S: counted like the rest; sex not known,
    # no date of birth, no ethnicity
    (
        {"TRIAGED": "2025-03-25", "CJRFLS": "12", "CPLANDT": "2025-03-25", "SEX": "X"},
        [],
        True,
    ),
    # E10 January contact; on the caseload at 16; ethnicity not stated
    (
        {"TRIAGED": "2025-01-09", "CJRFLS": "4", "CPLANDT": "2025-01-10", "SEX": "2",
         "DOB": "2008-06-01", "ETHNIC": "Z"},
        [],
        False,
    ),
]  # fmt: skip


def fill_cjit(store: Store, refdata: RefData, *, markers: bool = False) -> list[SavedEpisode]:
    """Save the CJIT fixture."""
    clear = (*CJIT_REPORT_FIELDS, "referrals")
    saved = []
    bases = synthetic_records(len(CJIT_EPISODES), "cjit-q", seed=11, refdata=refdata)
    for base, (values, referrals, _saved_as_you_go) in zip(bases, CJIT_EPISODES, strict=True):
        rec = _episode(base, clear, values)
        rec["referrals"] = [{"REFDATE": day} for day in referrals]
        if markers:
            rec["CLIENT"] = CLIENT_REF
        saved.append(
            store.episodes.save(
                rec,
                dataset="cjit-q",
                client_name=NAME if markers else None,
                client_notes=CLIENT_NOTES if markers else None,
                notes=EPISODE_NOTES if markers else None,
            )
        )
    return saved


SECURE_EPISODES: list[tuple[dict[str, Any], list[dict[str, str]]]] = [
    # S1 triaged in March; one intervention in March and one in February; discharged,
    # then released with naloxone, RECONNECT and a referral to structured treatment
    (
        {"TRIAGED": "2025-03-03", "DISD": "2025-03-20", "DISRSN": "80", "EXITD": "2025-03-25",
         "EXITRSN": "R", "THNALOX": "Y", "RECONNECT": "Y", "RTOAGNCY": "1"},
        [{"MODAL": "5", "MODST": "2025-03-04"}, {"MODAL": "13", "MODST": "2025-02-20"}],
    ),
    # S2 released on the last day: no naloxone, RECONNECT refused, no onward referral
    (
        {"TRIAGED": "2025-03-10", "EXITD": "2025-03-31", "EXITRSN": "R", "THNALOX": "N",
         "RECONNECT": "R", "RTOAGNCY": "4"},
        [{"MODAL": "5", "MODST": "2025-03-11"}, {"MODAL": "16", "MODST": "2025-03-12"}],
    ),
    # S3 triaged in February, dropped out and transferred in March (naloxone ignored:
    # not a release)
    (
        {"TRIAGED": "2025-02-27", "DISD": "2025-03-01", "DISRSN": "85", "EXITD": "2025-03-02",
         "EXITRSN": "T", "THNALOX": "Y"},
        [],
    ),
    # S4 released in February and triaged in April: outside the month
    (
        {"TRIAGED": "2025-04-01", "EXITD": "2025-02-28", "EXITRSN": "R", "THNALOX": "Y"},
        [{"MODAL": "5", "MODST": "2025-04-02"}],
    ),
    # S5 triage date unreadable; an intervention with no type and one with an unknown
    # code; released having declined naloxone, with RECONNECT and recovery support
    (
        {"TRIAGED": "yesterday", "EXITD": "2025-03-18", "EXITRSN": "R", "THNALOX": "Z",
         "RECONNECT": "Y", "RTOAGNCY": "3"},
        [{"MODST": "2025-03-15"}, {"MODAL": "77", "MODST": "2025-03-16"}],
    ),
]  # fmt: skip


def fill_secure(store: Store, refdata: RefData) -> list[SavedEpisode]:
    """Save the prisons fixture."""
    clear = (*SECURE_REPORT_FIELDS, "interventions")
    saved = []
    bases = synthetic_records(len(SECURE_EPISODES), "secure-r", seed=13, refdata=refdata)
    for base, (values, interventions) in zip(bases, SECURE_EPISODES, strict=True):
        rec = _episode(base, clear, values)
        rec["interventions"] = interventions
        saved.append(store.episodes.save(rec, dataset="secure-r"))
    return saved
