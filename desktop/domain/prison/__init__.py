"""Prison mode: NDTMS adult secure settings, dataset R v1.2 (seed 002).

What the prison sheet and caseload need beyond single-field rules, decided here so that the
widgets hold no rule of their own:

- the stay: a client's episodes grouped by initial reception and reception date;
- what the sheet offers next: discharge only when every intervention has ended (with an offer
  to end them on the discharge date), exit only when every episode of the stay is discharged,
  the release-only questions only when the exit reason is a release;
- appendix G (continuity of care on release): which scenario a discharge reason, referral on
  release and exit reason most likely mean, and what that scenario expects;
- re-opening (appendix D and DISD): under 21 days, or after a court appearance or video link
  transfer and return; never after a release to the community;
- the prison caseload: flags and groups.

Codes are recognised by their tags in refdata/codes (e.g. EXITRSN 'released'), never by number.

The parts: ``stay`` (the stay, and a new episode of the same client), ``offers`` (what the
sheet offers next), ``continuity`` (appendix G), ``reopen`` (re-opening), ``caseload`` (flags
and groups) and ``common`` (codes by their tags, the discharge and exit fields, the
release-only questions, open interventions, words).
"""

from desktop.domain.prison.caseload import (
    EXIT_CHECKS,
    EXIT_ON,
    CaseloadGroup,
    caseload_groups,
    exit_missing,
    ost_days,
    ost_started,
    prison_flags,
)
from desktop.domain.prison.common import (
    DISCHARGE_FIELDS,
    EXIT_FIELDS,
    open_interventions,
    release_only_fields,
)
from desktop.domain.prison.continuity import ContinuityHint, continuity_hint, record_hint
from desktop.domain.prison.offers import Offer, offer
from desktop.domain.prison.reopen import (
    REOPEN_REASON,
    REOPEN_REASONS,
    REOPENED,
    ReopenDecision,
    ReopenReason,
    can_reopen,
    reopen_changes,
    reopen_guidance,
)
from desktop.domain.prison.stay import (
    EpisodeBrief,
    Stay,
    new_episode_values,
    stay_briefs,
    stay_of,
    stay_summary,
    stays,
)
from desktop.domain.rules.secure import OST_REVIEW_DAYS

__all__ = [
    "DISCHARGE_FIELDS",
    "EXIT_CHECKS",
    "EXIT_FIELDS",
    "EXIT_ON",
    "OST_REVIEW_DAYS",
    "REOPENED",
    "REOPEN_REASON",
    "REOPEN_REASONS",
    "CaseloadGroup",
    "ContinuityHint",
    "EpisodeBrief",
    "Offer",
    "ReopenDecision",
    "ReopenReason",
    "Stay",
    "can_reopen",
    "caseload_groups",
    "continuity_hint",
    "exit_missing",
    "new_episode_values",
    "offer",
    "open_interventions",
    "ost_days",
    "ost_started",
    "prison_flags",
    "record_hint",
    "release_only_fields",
    "reopen_changes",
    "reopen_guidance",
    "stay_briefs",
    "stay_of",
    "stay_summary",
    "stays",
]
