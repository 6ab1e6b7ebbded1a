"""The stay: a client's episodes at this secure setting grouped by initial reception and
reception date, the stay in a line, and what a new episode of the same client starts with.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import date

from desktop.domain.spec import DatasetSpec
from desktop.domain.values import as_date, say_date


@dataclass(frozen=True, slots=True)
class EpisodeBrief:
    """What the stay needs to know of one episode."""

    episode_id: str
    initial_reception: date | None
    reception: date | None
    triaged: date | None
    discharged: date | None
    exited: date | None
    exit_reason: str | None

    @classmethod
    def of(cls, episode_id: str, values: Mapping[str, object]) -> EpisodeBrief:
        """From stored or typed values (dates as typed, ISO or typed values)."""
        reason = values.get("EXITRSN")
        return cls(
            episode_id=episode_id,
            initial_reception=as_date(values.get("INTRCPTD")),
            reception=as_date(values.get("RECPDT")),
            triaged=as_date(values.get("TRIAGED")),
            discharged=as_date(values.get("DISD")),
            exited=as_date(values.get("EXITD")),
            exit_reason=str(reason) if reason not in (None, "") else None,
        )

    @property
    def stay_key(self) -> tuple[date | None, date | None]:
        return (self.initial_reception, self.reception)


@dataclass(frozen=True, slots=True)
class Stay:
    """One continuous period at this secure setting: the episodes sharing the initial
    reception date (INTRCPTD) and the reception date here (RECPDT).

    Source: dataset R v1.2 episode details ("multiple treatment episodes can be recorded at
    each estate ... to record clients who ... re-present later in their custodial stay")
    and EXITD ("prior to exit all episodes must have discharge dates and discharge reasons").
    """

    initial_reception: date | None
    reception: date | None
    episodes: tuple[EpisodeBrief, ...]

    @property
    def not_discharged(self) -> tuple[EpisodeBrief, ...]:
        return tuple(e for e in self.episodes if e.discharged is None)


def stays(episodes: Iterable[EpisodeBrief]) -> list[Stay]:
    """A client's episodes grouped into stays, oldest stay first, episodes by triage date.

    An episode without a reception date yet is a stay of its own.
    """
    groups: dict[object, list[EpisodeBrief]] = {}
    for brief in episodes:
        key: object = brief.stay_key if all(brief.stay_key) else brief.episode_id
        groups.setdefault(key, []).append(brief)
    out = [
        Stay(
            members[0].initial_reception,
            members[0].reception,
            tuple(sorted(members, key=lambda e: (e.triaged or date.max, e.episode_id))),
        )
        for members in groups.values()
    ]
    return sorted(out, key=lambda s: (s.initial_reception or date.max, s.reception or date.max))


def stay_of(episode_id: str, episodes: Iterable[EpisodeBrief]) -> Stay | None:
    for stay in stays(episodes):
        if any(e.episode_id == episode_id for e in stay.episodes):
            return stay
    return None


def stay_summary(stay: Stay | None, episode_id: str | None) -> str:
    """The stay in a line: '2nd of 3 episodes of the stay received 03/02/2026'."""
    if stay is None or len(stay.episodes) < 2:
        return ""
    position = next((i for i, e in enumerate(stay.episodes, 1) if e.episode_id == episode_id), None)
    start = stay.initial_reception
    since = f" (initial reception {say_date(start)})" if start else ""
    where = f"episode {position} of {len(stay.episodes)}" if position else "episodes"
    return f"This stay{since}: {where}."


def stay_briefs(
    rows: Sequence[tuple[str, Mapping[str, object]]],
) -> list[EpisodeBrief]:
    """Briefs from (episode id, stored values) pairs."""
    return [EpisodeBrief.of(eid, values) for eid, values in rows]


def new_episode_values(raw: Mapping[str, object], spec: DatasetSpec) -> dict[str, object]:
    """What a new episode for the same client starts with: the client's own details only.

    Dataset R v1.2: the client reference "should remain the same ... during all treatment
    episodes"; a client released to the community and received again gets a new episode,
    with its own reception, triage and interventions (appendix D).
    """
    client = {f.header for f in spec.fields if f.level.value == "client" and not f.system}
    return {k: v for k, v in raw.items() if k in client}
