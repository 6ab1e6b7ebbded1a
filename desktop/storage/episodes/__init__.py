"""Clients, episodes and their referrals or interventions: the only writer of their rows
for a worker's records.

Every row of ``clients``, ``episodes``, ``referrals`` and ``interventions``, and every
column derived from the values (state, dates, consent, findings, the client's
attributors), that a worker's save, an import, a demo load, a re-open, a link or a delete
makes is written by :class:`Episodes` (``store.episodes``). What the caseload sorts on is
derived again whenever the values change.
"""

from desktop.storage.episodes.layout import (
    CLIENT_EXTRA,
    EPISODE_EXTRA,
    Split,
    client_columns,
    client_values,
    episode_columns,
    episode_values,
    plain_fields,
    split,
)
from desktop.storage.episodes.saving import Episodes, ImportResult, SavedEpisode, StoredEpisode

__all__ = [
    "CLIENT_EXTRA",
    "EPISODE_EXTRA",
    "Episodes",
    "ImportResult",
    "SavedEpisode",
    "Split",
    "StoredEpisode",
    "client_columns",
    "client_values",
    "episode_columns",
    "episode_values",
    "plain_fields",
    "split",
]
