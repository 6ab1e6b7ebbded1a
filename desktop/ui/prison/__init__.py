"""Prison mode on the sheet (dataset R): interventions, discharge, exit, appendix G, re-open.

Placed on top of the generic sheet when the store is a secure setting's. Every decision
comes from ``desktop.domain.prison``; these widgets show it and pass the worker's choices
back to the sheet as field values (or to the store, for a re-open). The parts:
``interventions``, ``progress`` (state, next step, release hints), ``reopen`` (the re-open
dialog), ``mode`` (placing them on the window's sheet and caseload) and ``common``.
"""

from desktop.ui.prison.interventions import AddInterventionsDialog, InterventionsPart
from desktop.ui.prison.mode import PrisonMode, attach, client_episodes
from desktop.ui.prison.progress import ProgressPart
from desktop.ui.prison.reopen import ReopenDialog

__all__ = [
    "AddInterventionsDialog",
    "InterventionsPart",
    "PrisonMode",
    "ProgressPart",
    "ReopenDialog",
    "attach",
    "client_episodes",
]
