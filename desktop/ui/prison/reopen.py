"""Re-opening a prison episode: why, and when the client came back (dataset R v1.2 DISD;
appendix D; seed 002)."""

from __future__ import annotations

from datetime import date

from PySide6.QtWidgets import (
    QButtonGroup,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QRadioButton,
    QVBoxLayout,
    QWidget,
)

from desktop.domain import prison
from desktop.domain.prison import ReopenReason
from desktop.domain.record import Record
from desktop.domain.spec import DatasetSpec, RefData
from desktop.domain.workflow import court_transfer
from desktop.ui.prison.common import CHECK, GOOD, NOTICE, DateLine, notice


class ReopenDialog(QDialog):
    """Why the episode is re-opened, and when the client came back; says at once whether
    seed 002 allows it (dataset R v1.2 DISD; appendix D)."""

    def __init__(
        self,
        parent: QWidget,
        record: Record,
        spec: DatasetSpec,
        refdata: RefData,
        today: date,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Re-open this episode")
        self._record, self._spec, self._refdata = record, spec, refdata
        self.group = QButtonGroup(self)
        self.buttons: dict[ReopenReason, QRadioButton] = {}
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Why is the episode re-opened?"))
        for reason, text in prison.REOPEN_REASONS.items():
            button = QRadioButton(text)
            button.setAccessibleName(f"Re-open: {text}")
            self.group.addButton(button)
            self.buttons[reason] = button
            button.toggled.connect(self._judge)
            layout.addWidget(button)
        self.returned = DateLine("Date the client came back", today)
        self.returned.textEdited.connect(self._judge)
        row = QHBoxLayout()
        row.addWidget(QLabel("The client came back on"))
        row.addWidget(self.returned)
        row.addStretch(1)
        layout.addLayout(row)
        self.verdict = notice(NOTICE, "Whether the episode may be re-opened")
        layout.addWidget(self.verdict)
        layout.addWidget(
            QLabel(
                "The discharge and exit are removed; the old interventions stay closed and new"
                " ones are opened."
            )
        )
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Re-open")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout.addWidget(buttons)
        default = ReopenReason.COURT if court_transfer(record, refdata) else ReopenReason.SHORT_GAP
        self.buttons[default].setChecked(True)
        self._judge()

    def reason(self) -> ReopenReason | None:
        return next((r for r, b in self.buttons.items() if b.isChecked()), None)

    def _judge(self, *_args: object) -> None:
        reason, day = self.reason(), self.returned.day()
        if reason is None or day is None:
            self.verdict.setText("Choose a reason and type the date as dd/mm/yyyy.")
            self.ok.setEnabled(False)
            return
        decision = prison.can_reopen(self._record, self._spec, self._refdata, reason, day)
        self.verdict.setText(("✔ " if decision.allowed else "✖ ") + decision.message)
        self.verdict.setStyleSheet(GOOD if decision.allowed else CHECK)
        self.ok.setEnabled(decision.allowed)
