"""Where a prison episode stands and what comes next, the appendix G hint on release, and
the actions on a discharged episode (re-open, a new episode for a returning client)."""

from __future__ import annotations

from collections.abc import Callable, Mapping

from PySide6.QtCore import Signal
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPushButton

from desktop.domain import prison
from desktop.domain.findings import Finding
from desktop.domain.prison import EpisodeBrief, Offer, Stay
from desktop.domain.record import Record
from desktop.domain.workflow import SecureState
from desktop.ui.prison.common import CHECK, GOOD, NOTICE, notice, sheet_client
from desktop.ui.sheet import Sheet, SheetPart

STATES = {
    SecureState.RECEIVED: "Received",
    SecureState.TRIAGED: "Triaged",
    SecureState.IN_TREATMENT: "In treatment",
    SecureState.DISCHARGED: "Discharged",
    SecureState.EXITED: "Exited",
}


class ProgressPart(SheetPart):
    """Where the episode stands and what comes next; the release-only and exit questions
    shut until they apply (with the reason on hover); the appendix G hint; re-open and a
    new episode for a returning client."""

    reopen_asked = Signal()
    new_episode_asked = Signal()

    def __init__(self, sheet: Sheet) -> None:
        super().__init__()
        self.sheet = sheet
        self.stay: Stay | None = None
        self.episode_id: str | None = None
        # The client's stored episodes (client id, date of birth) → their briefs.
        self.find_stay: Callable[[str, object], list[EpisodeBrief]] | None = None
        self.offered: list[Callable[[Offer], None]] = []  # told what the sheet offers now
        self.step: Offer | None = None
        self.state = QLabel()
        self.state.setAccessibleName("Episode state")
        self.state.setStyleSheet("font-weight: bold;")
        self.next_step = QLabel()
        self.next_step.setWordWrap(True)
        self.next_step.setAccessibleName("What comes next")
        self.reopen = QPushButton("Re-&open…")
        self.reopen.setAccessibleName("Re-open this episode")
        self.reopen.clicked.connect(self.reopen_asked)
        self.new_episode = QPushButton("New &episode for this client")
        self.new_episode.setToolTip(
            "A client received again after a release gets a new episode under the same client."
        )
        self.new_episode.clicked.connect(self.new_episode_asked)
        row = QHBoxLayout(self)
        row.setContentsMargins(4, 2, 4, 2)
        row.addWidget(self.state)
        row.addWidget(self.next_step, 1)
        row.addWidget(self.reopen)
        row.addWidget(self.new_episode)
        self.setStyleSheet("ProgressPart { border-bottom: 1px solid palette(mid); }")
        self.hint = notice(NOTICE, "Appendix G: continuity of care on release")
        self.hint.hide()
        self.reopened = notice(CHECK, "After re-opening")
        self.reopened.hide()

    def load(self, raw: Mapping[str, object]) -> None:
        eid = raw.get("EPISODID")
        self.episode_id = str(eid) if eid else None
        client = sheet_client(raw)
        found = self.find_stay(client, raw.get("DOB")) if client and self.find_stay else []
        self.stay = prison.stay_of(self.episode_id, found) if self.episode_id else None

    def refresh(self, record: Record, raw: Mapping[str, object], findings: list[Finding]) -> None:
        sheet = self.sheet
        spec, refdata = sheet.spec, sheet.refdata
        stay = self._stay_with(record)
        step = prison.offer(record, spec, refdata, sheet.today, stay, self.episode_id)
        self.step = step
        for tell in self.offered:
            tell(step)
        self.state.setText(STATES.get(SecureState(step.state), step.state))
        summary = prison.stay_summary(stay, self.episode_id)
        self.next_step.setText(f"{step.next_step} {summary}".strip())
        for header, reason in step.shut.items():
            editor = sheet.editors.get(header)
            if editor is not None:
                editor.set_applicable(reason)
            caption = sheet.labels.get(header)
            if caption is not None:
                caption.setEnabled(False)
        discharged = step.state in (SecureState.DISCHARGED, SecureState.EXITED)
        self.reopen.setVisible(discharged)
        self.reopen.setEnabled(self.episode_id is not None)
        self.new_episode.setVisible(step.new_episode and sheet_client(raw) is not None)
        hint = prison.record_hint(record, spec, refdata)
        if hint is None:
            self.hint.hide()
        else:
            self.hint.setText(("✔ " if hint.fits else "▲ " if hint.wrong else "ℹ ") + hint.text)
            self.hint.setStyleSheet(GOOD if hint.fits else (CHECK if hint.wrong else NOTICE))
            self.hint.show()
        after = prison.reopen_guidance(record, raw)
        self.reopened.setText(after or "")
        self.reopened.setVisible(after is not None)

    def _stay_with(self, record: Record) -> Stay | None:
        if self.stay is None:
            return None
        here = EpisodeBrief.of(self.episode_id or "", record.values)
        others = [e for e in self.stay.episodes if e.episode_id != self.episode_id]
        return prison.stay_of(here.episode_id, [here, *others])
