"""Moving records between stores: team bundles merged into one store, and client handovers.

A **team bundle** carries what changed on one laptop since its last bundle to the same
recipient (``collect``): clients, episodes, referrals or interventions, consent events,
deletions, and the laptop's own audit events. The receiving store merges it in one
transaction (``apply``):

- records by their technical ids, which are unique across laptops;
- each changed field with the value it had before that change (from the sender's audit
  trail). When the receiving store still holds that earlier value, the change is taken.
  When it holds a third value, both laptops changed the field: the later change (by the
  time in the audit trail) is kept for now and the pair is listed as a conflict, with
  who and when, for a manager to decide (``review``). The rules are
  ``desktop.domain.merge``;
- consent events as a history (they are never changed, only added); when the two sides
  disagree on an episode's NDTMS consent, the latest consent event decides;
- the sender's audit events, copied with their hashes into a table of their own, so each
  laptop's chain can still be walked from its first event and verified (``review``).

A **handover** carries one client's sheet, consent and episode history to another team,
only while the client's latest continuity-of-care consent (DIR, seed 004) is "given"
(``handover``).

Sealing and opening the bundle files is ``desktop.export.bundle``; this package knows only
records. The store's bundle key (X25519) lives in the ``settings`` table, inside the
encrypted store, and nowhere else (``keys``).
"""

from desktop.storage.transfer.apply import MergeResult, merge_team
from desktop.storage.transfer.collect import collect_team, record_sent
from desktop.storage.transfer.handover import (
    TRANSFERRED_FROM,
    HandoverResult,
    collect_handover,
    find_client,
    handover_sheet,
    receive_handover,
    sharing_refusal,
)
from desktop.storage.transfer.keys import (
    ensure_private_key,
    fingerprint,
    private_key,
    public_from_private,
    show_fingerprint,
)
from desktop.storage.transfer.peers import (
    Arrival,
    Outgoing,
    Recipient,
    TransferError,
    user_names,
)
from desktop.storage.transfer.review import (
    BundleInfo,
    ConflictView,
    Side,
    SourceReport,
    bundles,
    conflicts,
    resolve,
    sources,
)

__all__ = [
    "TRANSFERRED_FROM",
    "Arrival",
    "BundleInfo",
    "ConflictView",
    "HandoverResult",
    "MergeResult",
    "Outgoing",
    "Recipient",
    "Side",
    "SourceReport",
    "TransferError",
    "bundles",
    "collect_handover",
    "collect_team",
    "conflicts",
    "ensure_private_key",
    "find_client",
    "fingerprint",
    "handover_sheet",
    "merge_team",
    "private_key",
    "public_from_private",
    "receive_handover",
    "record_sent",
    "resolve",
    "sharing_refusal",
    "show_fingerprint",
    "sources",
    "user_names",
]
