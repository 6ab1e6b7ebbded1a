"""Every per-dataset fact in one place: one :class:`DatasetProfile` per NDTMS dataset.

The fields, code lists and rules of a dataset are data in ``refdata/``; what is here is
the rest that code needs to know of a dataset (which dates open and close an episode,
which dates are contacts, which workflow it follows, what the report reads, which kind of
team records it). Adding a dataset is adding a profile here and its files in refdata.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum

# Kept on this laptop only (a leading underscore: never validated, never exported).
LAST_SEEN = "_LASTSEEN"  # the last face-to-face contact
REVIEWED = "_REVIEWED"  # the last case review


class Workflow(StrEnum):
    """Which episode workflow a dataset follows (desktop.domain.workflow)."""

    CJIT = "cjit"
    SECURE = "secure"


@dataclass(frozen=True, slots=True)
class DatasetProfile:
    """What code needs to know of one dataset beyond its specification.

    Attributes:
        id: the dataset's id, as in refdata/MANIFEST.toml ("cjit-q").
        store_kind: the kind of team store that records it ("cjit", "secure").
        team_words: the team in a worker's words ("CJIT", "prison team").
        workflow: the episode workflow it follows.
        item_table: the store's table of its repeating items.
        opened_by: the dates that open an episode, first found wins.
        closed_by: the date that closes an episode.
        contact_dates: the episode's dates that are contacts with the client.
        item_contact_dates: the item dates that are contacts.
        report_fields: the episode fields the monthly report reads (nothing else).
        report_item_fields: the item fields the monthly report reads.
        flag_fields: stored fields the caseload reads to flag a row.
        awaiting_decision: workflow states in which an episode is not sent yet.
        demo_agency: the agency code of a demo store.
    """

    id: str
    store_kind: str
    team_words: str
    workflow: Workflow
    item_table: str
    opened_by: tuple[str, ...]
    closed_by: str
    contact_dates: tuple[str, ...]
    item_contact_dates: tuple[str, ...]
    report_fields: tuple[str, ...]
    report_item_fields: tuple[str, ...]
    flag_fields: tuple[str, ...] = ()
    awaiting_decision: frozenset[str] = frozenset()
    demo_agency: str = ""


CJIT_Q = DatasetProfile(
    id="cjit-q",
    store_kind="cjit",
    team_words="CJIT",
    workflow=Workflow.CJIT,
    item_table="referrals",
    opened_by=("TRIAGED", "REFLD"),
    closed_by="DISD",
    contact_dates=("TRIAGED", "CPLANDT"),
    item_contact_dates=("REFDATE",),
    report_fields=(
        "REFLD", "TRIAGED", "CJRFLS", "CPLANDT", "DISD", "CJDISRSN", "DOB", "SEX", "ETHNIC",
    ),
    report_item_fields=("REFDATE",),
    flag_fields=("CPLANDT", REVIEWED),
    # Seed 000 FAQ: sent once the caseload decision is made (desktop.domain.workflow).
    awaiting_decision=frozenset({"contact", "triaged", "caseload_decision"}),
    demo_agency="CJ999",
)  # fmt: skip

SECURE_R = DatasetProfile(
    id="secure-r",
    store_kind="secure",
    team_words="prison team",
    workflow=Workflow.SECURE,
    item_table="interventions",
    opened_by=("RECPDT", "TRIAGED"),
    closed_by="EXITD",
    contact_dates=("RECPDT", "TRIAGED", "DISD", "EXITD"),
    item_contact_dates=("MODST", "MODEND"),
    report_fields=(
        "TRIAGED", "DISD", "DISRSN", "EXITD", "EXITRSN", "THNALOX", "RECONNECT", "RTOAGNCY",
    ),
    report_item_fields=("MODAL", "MODST"),
    demo_agency="Z9999",
)  # fmt: skip

PROFILES: dict[str, DatasetProfile] = {p.id: p for p in (CJIT_Q, SECURE_R)}
DATASETS: tuple[str, ...] = tuple(PROFILES)
BY_KIND: dict[str, DatasetProfile] = {p.store_kind: p for p in PROFILES.values()}
KINDS: dict[str, str] = {kind: p.id for kind, p in BY_KIND.items()}


def profile(dataset: str) -> DatasetProfile:
    """The profile of ``dataset``; a KeyError names an unknown one."""
    return PROFILES[dataset]
