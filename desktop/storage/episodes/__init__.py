"""Clients, episodes and their referrals or interventions: the only writer of their rows.

Every row of ``clients``, ``episodes``, ``referrals`` and ``interventions``, and every
column derived from the values (state, dates, consent, findings, the client's
attributors), is written by this package: a worker's save, an import, a demo load, a
re-open, a link or a delete (:class:`Episodes`, ``store.episodes``), and a merge of another
laptop's bundle (:class:`MergedRows`, ``store.episodes.merged``: ``desktop.storage.transfer``
decides what to take, the rows are written here). What the caseload sorts on is derived
again whenever the values change.
"""

from desktop.storage.episodes.layout import (
    CLIENT_EXTRA,
    EPISODE_EXTRA,
    GONE,
    ChangedEpisode,
    ItemRow,
    NewClient,
    NewEpisode,
    Split,
    client_columns,
    client_values,
    episode_columns,
    episode_values,
    plain_fields,
    split,
)
from desktop.storage.episodes.merged import MergedRows
from desktop.storage.episodes.saving import Episodes, ImportResult, SavedEpisode, StoredEpisode

__all__ = [
    "CLIENT_EXTRA",
    "EPISODE_EXTRA",
    "GONE",
    "ChangedEpisode",
    "Episodes",
    "ImportResult",
    "ItemRow",
    "MergedRows",
    "NewClient",
    "NewEpisode",
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
