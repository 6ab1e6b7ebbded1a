"""CJIT guidance on the sheet: consent events, the caseload decision, local dates, closure.

Every decision comes from ``desktop.domain.workflow``; these widgets only show it and pass
the worker's choices back to the sheet as field values.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date

from PySide6.QtCore import Signal
from PySide6.QtWidgets import (
    QButtonGroup,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QRadioButton,
    QSizePolicy,
    QWidget,
)

from desktop.domain.findings import Finding
from desktop.domain.record import Record
from desktop.domain.values import as_date
from desktop.domain.workflow import (
    LAST_SEEN,
    REVIEWED,
    TRANSFER_TO,
    Action,
    Decision,
    cjit_decision,
    cjit_step,
    decision_changes,
    dropped_out_closure,
    dropped_out_since,
    transfer_destination,
)
from desktop.ui.editing import EditingSession
from desktop.ui.sheet import LABEL_WIDTH, SEP, Sheet, SheetPart, code_combo, offer_codes

NOTICE_STYLE = "background: #e8f0fe; color: #0b2e59; padding: 4px; border: 1px solid #0b2e59;"


class DateBox(QWidget):
    """A date typed as dd/mm/yyyy (or the usual variants), its weekday, and a Today button."""

    edited = Signal()

    def __init__(self, name: str, *, today_button: bool = True) -> None:
        super().__init__()
        self.line = QLineEdit()
        self.line.setPlaceholderText("dd/mm/yyyy")
        self.line.setMinimumWidth(88)
        self.line.setAccessibleName(name)
        self.line.textEdited.connect(self._changed)
        self.weekday = QLabel()
        self.weekday.setMinimumWidth(24)
        self.today = QPushButton("Today")
        self.today.setAccessibleName(f"{name}: today")
        self.today.clicked.connect(self.set_today)
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        row.setSpacing(4)
        row.addWidget(self.line, 1)
        row.addWidget(self.weekday)
        row.addWidget(self.today)
        self.today.setVisible(today_button)

    def _changed(self, _text: str = "") -> None:
        day = as_date(self.line.text())
        if self.line.text().strip() and day is None:
            self.weekday.setText("✖")
            self.weekday.setToolTip("Not a date: type it as dd/mm/yyyy.")
        else:
            self.weekday.setText(day.strftime("%a") if day else "")
            self.weekday.setToolTip("")
        self.edited.emit()

    def set_today(self) -> None:
        self.line.setText(date.today().strftime("%d/%m/%Y"))
        self._changed()

    def set_text(self, value: object) -> None:
        text = "" if value in (None, "") else str(value)
        day = as_date(text)
        self.line.setText(day.strftime("%d/%m/%Y") if day else text)
        self.weekday.setText(day.strftime("%a") if day else "")

    def value(self) -> date | None:
        return as_date(self.line.text())

    def text(self) -> str:
        return self.line.text().strip()


class ConsentPart(SheetPart):
    """When and by whom consent was recorded, its history, and the separate, withdrawable
    continuity-of-care sharing consent (DIR briefing, seed 004)."""

    share = Signal(str)  # agencies: record sharing consent
    withdraw = Signal()

    def __init__(self, user_name: str) -> None:
        super().__init__()
        self.recorded_on = DateBox("Consent recorded on", today_button=False)
        self.recorded_on.set_today()
        self.recorded_on.edited.connect(self.changed)
        self.user_name = user_name
        self.history = QLabel(f"Not recorded yet (you are {user_name}).")
        self.history.setWordWrap(True)
        self.history.setAccessibleName("Consent history")
        self.sharing = QLabel("Not asked")
        self.sharing.setWordWrap(True)
        self.sharing.setAccessibleName("Continuity-of-care sharing consent")
        self.agencies = QLineEdit()
        self.agencies.setPlaceholderText("agencies named by the client")
        self.agencies.setAccessibleName("Agencies the client agrees to share with")
        self.agencies.setToolTip(
            "Continuity-of-care sharing needs the client's informed consent, naming who may"
            " receive their record. It is separate from NDTMS consent and can be withdrawn."
        )
        self.give = QPushButton("Agrees")
        self.give.setAccessibleName("Record continuity-of-care sharing consent")
        self.give.clicked.connect(self._give)
        self.take = QPushButton("Withdraw")
        self.take.setAccessibleName("Withdraw continuity-of-care sharing consent")
        self.take.clicked.connect(self.withdraw)
        self.take.setEnabled(False)
        self.agencies.textEdited.connect(lambda text: self.give.setEnabled(bool(text.strip())))
        self.give.setEnabled(False)
        self.when_row = QWidget()
        when = QHBoxLayout(self.when_row)
        when.setContentsMargins(0, 0, 0, 0)
        when.addWidget(self.recorded_on, 1)
        self.share_row = QWidget()
        share_row = QHBoxLayout(self.share_row)
        share_row.setContentsMargins(0, 0, 0, 0)
        share_row.addWidget(self.agencies, 1)
        share_row.addWidget(self.give)
        share_row.addWidget(self.take)

    def _give(self) -> None:
        agencies = self.agencies.text().strip()
        if agencies:
            self.share.emit(agencies)

    def show_history(self, lines: list[str], sharing: str, sharing_given: bool) -> None:
        self.history.setText(
            "\n".join(lines[-3:]) if lines else f"Not recorded yet (you are {self.user_name})."
        )
        self.sharing.setText(sharing)
        self.take.setEnabled(sharing_given)

    def consent_date(self) -> date:
        return self.recorded_on.value() or date.today()


class DecisionPart(SheetPart):
    """The explicit caseload decision: taken on (caseload start date) or not taken on
    (closed now with a prior-to-caseload reason). Dataset Q CPLANDT; appendix E."""

    def __init__(self, sheet: Sheet) -> None:
        super().__init__()
        self.sheet = sheet
        self._record = Record()
        self.group = QButtonGroup(self)
        self.buttons: dict[Decision, QRadioButton] = {}
        row = QHBoxLayout(self)
        row.setContentsMargins(0, 0, 0, 0)
        for decision, text, words in (
            (Decision.UNDECIDED, "Undecided", "not decided yet"),
            (Decision.TAKEN_ON, "Taken on", "taken onto the caseload"),
            (Decision.NOT_TAKEN_ON, "Not taken on", "not taken on, close now"),
        ):
            button = QRadioButton(text)
            button.setAccessibleName(f"Caseload decision: {words}")
            self.group.addButton(button)
            self.buttons[decision] = button
            button.clicked.connect(lambda _=False, d=decision: self.decide(d))
            button.setSizePolicy(QSizePolicy.Policy.Minimum, QSizePolicy.Policy.Fixed)
            row.addWidget(button)
        row.addStretch(1)
        self.buttons[Decision.TAKEN_ON].setToolTip(
            "The caseload start date is filled with today (never before the assessment)."
        )
        self.buttons[Decision.NOT_TAKEN_ON].setToolTip(
            "The episode is closed now, dated at the assessment, with a reason from the"
            " 'prior to caseload' set."
        )

    def decide(self, decision: Decision) -> None:
        changes = decision_changes(decision, self._record, self.sheet.refdata, self.sheet.today)
        if changes:
            self.sheet.apply(changes)
        focus = {Decision.TAKEN_ON: "CPLANDT", Decision.NOT_TAKEN_ON: "CJDISRSN"}.get(decision)
        if focus:
            self.sheet.focus_field(focus)

    def refresh(self, record: Record, raw: Mapping[str, object], findings: list[Finding]) -> None:
        self._record = record
        self.buttons[cjit_decision(record)].setChecked(True)
        step = cjit_step(record, self.sheet.refdata)
        blocked = dict(step.blocked).get(Action.TAKE_ONTO_CASELOAD)
        taken = self.buttons[Decision.TAKEN_ON]
        can_take = blocked is None or taken.isChecked()
        taken.setEnabled(can_take)
        taken.setToolTip(
            f"Not yet: {blocked}."
            if not can_take and blocked
            else "The caseload start date is filled with today (never before the assessment)."
        )


class ContactPart(SheetPart):
    """Dates kept on this laptop only: the last face-to-face contact and the last review."""

    def __init__(self) -> None:
        super().__init__()
        self.seen = DateBox("Last face-to-face contact")
        self.reviewed = DateBox("Last case review")
        for box in (self.seen, self.reviewed):
            box.edited.connect(self.changed)
            box.setToolTip("Kept on this laptop only; never sent to NDTMS.")

    def load(self, raw: Mapping[str, object]) -> None:
        self.seen.set_text(raw.get(LAST_SEEN))
        self.reviewed.set_text(raw.get(REVIEWED))

    def contribute(self, out: dict[str, object]) -> None:
        for key, box in ((LAST_SEEN, self.seen), (REVIEWED, self.reviewed)):
            if box.text():
                out[key] = box.text()
            else:
                out.pop(key, None)


class ClosurePart(SheetPart):
    """Where a transferred client went (kept locally), and the 'dropped out' suggestion
    after two months without contact (dataset Q DISD; appendix E code 8)."""

    def __init__(self, sheet: Sheet) -> None:
        super().__init__()
        self.sheet = sheet
        self.where = code_combo()
        self.where.setAccessibleName("Transferred to")
        self.where.setToolTip("Where the client went: kept on this laptop, never sent to NDTMS.")
        self.where.editTextChanged.connect(lambda _t: self.changed.emit())
        self._list: str | None = None
        self.notice = QLabel()
        self.notice.setWordWrap(True)
        self.notice.setStyleSheet(NOTICE_STYLE)
        self.notice.setAccessibleName("Suggestion")
        self.close_dropped = QPushButton("Close as dropped out")
        self.close_dropped.clicked.connect(self._close_dropped)
        self.suggestion = QWidget()
        row = QHBoxLayout(self.suggestion)
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.notice, 1)
        row.addWidget(self.close_dropped)
        self.suggestion.hide()
        self._last_seen: date | None = None

    def _fill(self, list_name: str | None) -> None:
        if list_name == self._list:
            return
        self._list = list_name
        codes = self.sheet.refdata.lists[list_name].codes.values() if list_name else ()
        offer_codes(self.where, [(c.code, c.label) for c in codes])

    def load(self, raw: Mapping[str, object]) -> None:
        value = raw.get(TRANSFER_TO)
        self.where.blockSignals(True)
        found = self.where.findData(value) if value else -1
        if found >= 0:
            self.where.setCurrentIndex(found)
        else:
            self.where.setEditText("" if value is None else str(value))
        self.where.blockSignals(False)

    def contribute(self, out: dict[str, object]) -> None:
        text = self.where.currentText().split(SEP, 1)[0].strip()
        if text and self._list is not None:
            out[TRANSFER_TO] = text
        else:
            out.pop(TRANSFER_TO, None)

    def refresh(self, record: Record, raw: Mapping[str, object], findings: list[Finding]) -> None:
        list_name = transfer_destination(record, self.sheet.refdata)
        self._fill(list_name)
        self.where.setEnabled(list_name is not None)
        self.where.setToolTip(
            "Where the client went: a prison or another area's DAT. Kept on this laptop only."
            if list_name
            else "Asked when the closure reason is a transfer."
        )
        seen = dropped_out_since(record, raw, self.sheet.refdata, self.sheet.today)
        self._last_seen = seen
        if seen is not None:
            self.notice.setText(
                f"No contact since {seen:%d/%m/%Y}. After two months without contact the case"
                " is closed as 'incomplete – dropped out', dated at the last contact."
            )
        self.suggestion.setVisible(seen is not None)

    def _close_dropped(self) -> None:
        if self._last_seen is not None:
            self.sheet.apply(dropped_out_closure(self.sheet.refdata, self._last_seen))


def _label(text: str, buddy: QWidget) -> QLabel:
    label = QLabel(text)
    label.setWordWrap(True)
    label.setMinimumWidth(LABEL_WIDTH)
    label.setBuddy(buddy)
    return label


class CjitGuidance:
    """The CJIT parts, placed in their sections of the sheet."""

    def __init__(self, sheet: Sheet, user_name: str) -> None:
        self.consent = ConsentPart(user_name)
        self.decision = DecisionPart(sheet)
        self.contact = ContactPart()
        self.closure = ClosurePart(sheet)
        for part in (self.consent, self.decision, self.contact, self.closure):
            sheet.add_part(part)
        forms = sheet.section_forms
        if "consent" in forms:
            form = forms["consent"]
            form.addRow(_label("Recorded on", self.consent.when_row), self.consent.when_row)
            form.addRow(self.consent.history)
            sharing = _label("Sharing for continuity of care", self.consent.sharing)
            form.addRow(sharing, self.consent.sharing)
            form.addRow(self.consent.share_row)
        if "caseload" in forms:
            forms["caseload"].insertRow(0, self.decision)
            seen, reviewed = self.contact.seen, self.contact.reviewed
            forms["caseload"].addRow(_label("Last face-to-face contact", seen.line), seen)
            forms["caseload"].addRow(_label("Last case review", reviewed.line), reviewed)
        if "closure" in forms:
            forms["closure"].addRow(
                _label("Transferred to", self.closure.where), self.closure.where
            )
            forms["closure"].addRow(self.closure.suggestion)
        sheet.revalidate()

    def follow(self, editing: EditingSession) -> None:
        """Show the open client's consent beside the record, date the NDTMS consent the
        record saves, and record the continuity-of-care sharing decisions on the client."""
        consent = self.consent
        editing.consent_on = consent.consent_date

        def show() -> None:
            view = editing.consent_view()
            consent.show_history(list(view.lines), view.sharing, view.shared)

        def sharing(value: str, agencies: str | None) -> None:
            if editing.record_sharing(value, agencies, consent.consent_date()):
                consent.agencies.clear()

        editing.consentChanged.connect(show)
        consent.share.connect(lambda agencies: sharing("given", agencies))
        consent.withdraw.connect(lambda: sharing("withdrawn", None))
