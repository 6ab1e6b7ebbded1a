"""Prison mode on the sheet (dataset R): interventions, discharge, exit, appendix G, re-open.

Placed on top of the generic sheet when the store is a secure setting's. Every decision
comes from ``desktop.domain.prison``; these widgets show it and pass the worker's choices
back to the sheet as field values (or to the store, for a re-open).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import replace
from datetime import date
from typing import TYPE_CHECKING

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QPersistentModelIndex,
    QSignalBlocker,
    Qt,
    Signal,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QButtonGroup,
    QCheckBox,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QRadioButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from desktop.domain import prison
from desktop.domain.findings import Finding
from desktop.domain.prison import EpisodeBrief, Offer, ReopenReason, Stay
from desktop.domain.record import Context, Record
from desktop.domain.spec import DatasetSpec, FieldType, RefData
from desktop.domain.values import as_date
from desktop.domain.workflow import SecureState, consent_given, court_transfer
from desktop.storage.errors import StoreError
from desktop.storage.store import CaseloadQuery, CaseloadRow, Store
from desktop.ui.sheet import SEP, Sheet, SheetPart

if TYPE_CHECKING:
    from desktop.ui.main_window import MainWindow

NOTICE = "background: #e8f0fe; color: #0b2e59; padding: 4px; border: 1px solid #0b2e59;"
CHECK = "background: #fff4ce; color: #3d2b00; padding: 4px; border: 1px solid #8a5300;"
GOOD = "background: #e6f4ea; color: #0d3d1c; padding: 4px; border: 1px solid #1e6b35;"
STATES = {
    SecureState.RECEIVED: "Received",
    SecureState.TRIAGED: "Triaged",
    SecureState.IN_TREATMENT: "In treatment",
    SecureState.DISCHARGED: "Discharged",
    SecureState.EXITED: "Exited",
}
DATE_TYPES = (FieldType.DATE, FieldType.PARTIAL_DATE)


def sheet_client(raw: Mapping[str, object]) -> str | None:
    client = raw.get("CLIENTID")
    return str(client) if client else None


def _notice(style: str, name: str) -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setStyleSheet(style)
    label.setAccessibleName(name)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    return label


class DateLine(QLineEdit):
    """A date typed as dd/mm/yyyy, today by default."""

    def __init__(self, name: str, today: date | None = None) -> None:
        super().__init__((today or date.today()).strftime("%d/%m/%Y"))
        self.setPlaceholderText("dd/mm/yyyy")
        self.setAccessibleName(name)
        self.setMaximumWidth(96)

    def day(self) -> date | None:
        return as_date(self.text())


# ----------------------------------------------------------------- interventions table


class InterventionDelegate(QStyledItemDelegate):
    """Shows an intervention code with its name, dates as dd/mm/yyyy, and an empty end
    date as 'open'; edits the intervention with a list of appendix E codes."""

    def __init__(self, sheet: Sheet) -> None:
        super().__init__(sheet.items.table)
        self.columns = [f.header for f in sheet.items.fields]
        modal = sheet.spec.by_header.get("MODAL")
        self.codes = [(c.code, c.label) for c, _ in sheet.refdata.codes_for(modal)] if modal else []
        self.names = dict(self.codes)
        self.dates = {f.header for f in sheet.items.fields if f.type in DATE_TYPES}

    def _header(self, index: QModelIndex | QPersistentModelIndex) -> str:
        column = index.column()
        return self.columns[column] if 0 <= column < len(self.columns) else ""

    def initStyleOption(
        self, option: QStyleOptionViewItem, index: QModelIndex | QPersistentModelIndex
    ) -> None:
        super().initStyleOption(option, index)
        header = self._header(index)
        text = str(index.data() or "").strip()
        if header == "MODAL" and text:
            name = self.names.get(text.upper())
            option.text = f"{text}{SEP}{name}" if name else text
        elif header in self.dates and text:
            day = as_date(text)
            option.text = day.strftime("%d/%m/%Y") if day else text
        elif header == "MODEND" and not text:
            option.text = "open"
            option.palette.setColor(option.palette.ColorRole.Text, QColor("#5f6368"))
            font = option.font
            font.setItalic(True)
            option.font = font

    def createEditor(
        self,
        parent: QWidget,
        option: QStyleOptionViewItem,
        index: QModelIndex | QPersistentModelIndex,
    ) -> QWidget:
        if self._header(index) != "MODAL":
            return super().createEditor(parent, option, index)
        combo = QComboBox(parent)
        combo.setEditable(True)
        combo.setAccessibleName("Intervention")
        combo.addItem("", "")
        for code, label in self.codes:
            combo.addItem(f"{code}{SEP}{label}", code)
        return combo

    def setEditorData(self, editor: QWidget, index: QModelIndex | QPersistentModelIndex) -> None:
        if isinstance(editor, QComboBox):
            found = editor.findData(str(index.data() or ""))
            editor.setCurrentIndex(max(found, 0))
            return
        super().setEditorData(editor, index)

    def setModelData(
        self,
        editor: QWidget,
        model: QAbstractItemModel,
        index: QModelIndex | QPersistentModelIndex,
    ) -> None:
        if isinstance(editor, QComboBox):
            code = editor.currentText().split(SEP, 1)[0].strip()
            model.setData(index, code)
            return
        super().setModelData(editor, model, index)


class AddInterventionsDialog(QDialog):
    """Start one or several interventions on one date (appendix E)."""

    def __init__(self, parent: QWidget, codes: list[tuple[str, str]], today: date) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add interventions")
        self.choices = QListWidget()
        self.choices.setAccessibleName("Interventions to start")
        for code, label in codes:
            item = QListWidgetItem(f"{code}{SEP}{label}")
            item.setData(Qt.ItemDataRole.UserRole, code)
            item.setFlags(item.flags() | Qt.ItemFlag.ItemIsUserCheckable)
            item.setCheckState(Qt.CheckState.Unchecked)
            self.choices.addItem(item)
        self.choices.setMinimumHeight(260)
        self.start = DateLine("Start date", today)
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #b00020;")
        self.problem.setAccessibleName("Problem")
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        self.ok = buttons.button(QDialogButtonBox.StandardButton.Ok)
        self.ok.setText("Add")
        buttons.accepted.connect(self._accept)
        buttons.rejected.connect(self.reject)
        row = QHBoxLayout()
        row.addWidget(QLabel("Started on"))
        row.addWidget(self.start)
        row.addStretch(1)
        layout = QVBoxLayout(self)
        layout.addWidget(QLabel("Tick each intervention the client starts (several at once):"))
        layout.addWidget(self.choices)
        layout.addLayout(row)
        layout.addWidget(self.problem)
        layout.addWidget(buttons)

    def tick(self, *codes: str) -> None:
        for i in range(self.choices.count()):
            item = self.choices.item(i)
            if item.data(Qt.ItemDataRole.UserRole) in codes:
                item.setCheckState(Qt.CheckState.Checked)

    def chosen(self) -> list[str]:
        return [
            str(self.choices.item(i).data(Qt.ItemDataRole.UserRole))
            for i in range(self.choices.count())
            if self.choices.item(i).checkState() == Qt.CheckState.Checked
        ]

    def _accept(self) -> None:
        if not self.chosen():
            self.problem.setText("Tick at least one intervention.")
            return
        if self.start.day() is None:
            self.problem.setText("Type the start date as dd/mm/yyyy.")
            return
        self.accept()


class InterventionsPart(SheetPart):
    """Interventions: add one or several, end the selected ones on a date, and the offer to
    end every open one on the discharge date (dataset R v1.2 MODST, MODEND, DISD)."""

    def __init__(self, sheet: Sheet) -> None:
        super().__init__()
        self.sheet = sheet
        self.table = sheet.items.table
        self.delegate = InterventionDelegate(sheet)
        self.table.setItemDelegate(self.delegate)
        self.table.setSelectionMode(QAbstractItemView.SelectionMode.ExtendedSelection)
        self.table.setMaximumHeight(150)
        self.table.setWordWrap(False)
        self.table.setTextElideMode(Qt.TextElideMode.ElideRight)
        header = self.table.horizontalHeader()
        short = {"MODAL": "Intervention", "MODST": "Start", "MODEND": "End"}
        for column, spec in enumerate(sheet.items.fields):
            title = self.table.horizontalHeaderItem(column)
            if title is not None:
                title.setText(short.get(spec.header, spec.label))
                title.setToolTip(f"{spec.label}: {spec.help}")
            if spec.type in DATE_TYPES:
                header.setSectionResizeMode(column, QHeaderView.ResizeMode.ResizeToContents)
        self.table.setToolTip(
            "Several interventions may run at once. Changing an intervention: end it and add"
            " a new one. Select rows (Ctrl or Shift for several) to end them on a date."
        )
        self.dialog: AddInterventionsDialog | None = None
        self.end_on = DateLine("End the selected interventions on", sheet.today)
        self.end = QPushButton("En&d selected")
        self.end.setAccessibleName("End the selected interventions on the date given")
        self.end.clicked.connect(self.end_selected)
        self.problem = QLabel()
        self.problem.setStyleSheet("color: #b00020;")
        self.problem.setAccessibleName("Interventions: problem")
        self.problem.setWordWrap(True)
        bar = QHBoxLayout(self)
        bar.setContentsMargins(0, 0, 0, 0)
        bar.addWidget(QLabel("End on"))
        bar.addWidget(self.end_on)
        bar.addWidget(self.end)
        bar.addStretch(1)
        self.offer = _notice(CHECK, "Offer to end the open interventions")
        self.end_all = QPushButton("End them on the discharge date")
        self.end_all.setAccessibleName("End every open intervention on the discharge date")
        self.end_all.clicked.connect(self.end_open_on_discharge)
        self.offer_row = QWidget()
        offer_row = QVBoxLayout(self.offer_row)
        offer_row.setContentsMargins(0, 0, 0, 0)
        offer_row.setSpacing(2)
        offer_row.addWidget(self.offer)
        offer_row.addWidget(self.end_all, 0, Qt.AlignmentFlag.AlignRight)
        self.offer_row.hide()
        self._end_on: date | None = None
        self._adopt_add_button()

    def _adopt_add_button(self) -> None:
        """The table's own Add button opens the dialog that adds one or several."""
        for button in self.sheet.items.findChildren(QPushButton):
            if button.text().startswith("Add"):
                button.clicked.disconnect()
                button.clicked.connect(self.open_add)
                button.setText("Add…")
                button.setToolTip("Start one or several interventions on a date")
                self.add = button
                return
        self.add = QPushButton("Add…")
        self.add.clicked.connect(self.open_add)
        self.layout().insertWidget(0, self.add)  # type: ignore[union-attr]

    # -- adding
    def open_add(self) -> AddInterventionsDialog:
        self.dialog = AddInterventionsDialog(self.sheet, self.delegate.codes, self.sheet.today)
        self.dialog.accepted.connect(self._added)
        self.dialog.open()
        return self.dialog

    def _added(self) -> None:
        if self.dialog is None:
            return
        start = self.dialog.start.day()
        if start is not None:
            self.add_interventions(self.dialog.chosen(), start)
        self.dialog = None

    def add_interventions(self, codes: list[str], start: date) -> None:
        """Start several interventions at once on ``start``."""
        items = self.sheet.items
        with QSignalBlocker(self.table):
            for code in codes:
                items.add_row({"MODAL": code, "MODST": start.strftime("%d/%m/%Y")})
        items.changed.emit()

    # -- ending
    def _column(self, header: str) -> int:
        return [f.header for f in self.sheet.items.fields].index(header)

    def _set_end(self, rows: list[int], day: date) -> int:
        column = self._column("MODEND")
        ended = 0
        with QSignalBlocker(self.table):
            for row in rows:
                cell = self.table.item(row, column)
                if cell is not None and not cell.text().strip():
                    cell.setText(day.strftime("%d/%m/%Y"))
                    ended += 1
        if ended:
            self.sheet.items.changed.emit()
        return ended

    def end_selected(self) -> int:
        """End the selected interventions (those still open) on the date given."""
        rows = sorted({i.row() for i in self.table.selectedIndexes()})
        day = self.end_on.day()
        if not rows:
            self.problem.setText("Select the interventions to end first.")
            return 0
        if day is None:
            self.problem.setText("Type the end date as dd/mm/yyyy.")
            return 0
        self.problem.setText("")
        return self._set_end(rows, day)

    def end_open_on_discharge(self) -> int:
        if self._end_on is None:
            return 0
        return self._set_end(list(range(self.table.rowCount())), self._end_on)

    def show_offer(self, step: Offer) -> None:
        self._end_on = step.end_interventions_on
        if step.end_interventions_on is None:
            self.offer_row.hide()
            return
        n = len(step.open_interventions)
        self.offer.setText(
            f"{n} intervention{'s are' if n != 1 else ' is'} still open: every intervention"
            " ends on or before the discharge date."
        )
        self.end_all.setText(
            f"End {'them' if n != 1 else 'it'} on {step.end_interventions_on:%d/%m/%Y}"
        )
        self.offer_row.show()


# --------------------------------------------------------------------------- re-open


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
        self.verdict = _notice(NOTICE, "Whether the episode may be re-opened")
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
        default = (
            ReopenReason.COURT
            if court_transfer(record, refdata)
            else ReopenReason.SHORT_GAP
        )
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


# ------------------------------------------------------------------ progress and exit


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
        self.hint = _notice(NOTICE, "Appendix G: continuity of care on release")
        self.hint.hide()
        self.reopened = _notice(CHECK, "After re-opening")
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


# ------------------------------------------------------------------------ caseload


_FLAGS: OrderedDict[tuple[str, str, object], str] = OrderedDict()
FLAG_CACHE = 1000


def caseload_flags(store: Store, row: CaseloadRow, today: date | None = None) -> str:
    """The prison flags of a caseload row (13-week review due, interventions open at
    discharge, exit answers missing, consent, errors), from the stored episode."""
    key = (str(store.path), row.episode_id, row.updated_at)
    found = _FLAGS.get(key)
    if found is not None:
        _FLAGS.move_to_end(key)
        return found
    spec = store.refdata.datasets[row.dataset]
    try:
        stored = store.episodes.load(row.episode_id)
    except StoreError:
        return ""
    day = today or date.today()
    record, findings = store.validator(row.dataset).check(stored.raw, Context(today=day))
    flags = prison.prison_flags(
        record,
        spec,
        store.refdata,
        findings=findings,
        consented=consent_given(store.refdata, spec, row.consent),
        errors=row.errors,
        today=day,
    )
    text = "; ".join(f.text for f in flags)
    _FLAGS[key] = text
    while len(_FLAGS) > FLAG_CACHE:
        _FLAGS.popitem(last=False)
    return text


def forget_flags() -> None:
    """At lock: nothing worked out from client records stays in memory."""
    _FLAGS.clear()


def client_episodes(store: Store, client_id: str, dob: object) -> list[EpisodeBrief]:
    """The client's episodes in this store, found by date of birth (an indexed search)."""
    day = as_date(dob)
    if day is None:
        return []
    rows = store.caseload.page(CaseloadQuery(search=day.isoformat(), limit=200))
    out: list[EpisodeBrief] = []
    for row in rows:
        if row.client_id != client_id:
            continue
        try:
            out.append(EpisodeBrief.of(row.episode_id, store.episodes.load(row.episode_id).raw))
        except StoreError:
            continue
    return out


# --------------------------------------------------------------------------- window


class PrisonMode:
    """The prison parts of the main window: placed in their sections of the sheet, the
    caseload groups above the caseload, and the re-open and new-episode actions."""

    def __init__(self, window: MainWindow) -> None:
        self.window = window
        sheet = window.sheet
        self.sheet = sheet
        self.interventions = InterventionsPart(sheet)
        self.progress = ProgressPart(sheet)
        for part in (self.interventions, self.progress):
            sheet.add_part(part)
        sheet.layout().insertWidget(1, self.progress)  # type: ignore[union-attr]
        box = sheet.section_boxes.get(sheet.spec.items_key)
        if box is not None and box.layout() is not None:
            box.layout().addWidget(self.interventions)  # type: ignore[union-attr]
        forms = sheet.section_forms
        if "discharge" in forms:
            forms["discharge"].addRow(self.interventions.offer_row)
            forms["discharge"].addRow(self.progress.reopened)
        if "exit" in forms:
            forms["exit"].insertRow(0, self.progress.hint)
        for editor in sheet.editors.values():
            if editor.spec.type is FieldType.PARTIAL_DATE and isinstance(editor.input, QLineEdit):
                editor.input.setPlaceholderText("mm/yyyy or dd/mm/yyyy")
                editor.input.setToolTip(
                    f"{editor.input.toolTip()}\nDay not known: type the month and year"
                    " (05/2024); only the year known: type the year (2024)."
                )
        self.progress.offered.append(self.interventions.show_offer)
        self.progress.find_stay = lambda client, dob: client_episodes(window.store, client, dob)
        self.progress.reopen_asked.connect(self.ask_reopen)
        self.progress.new_episode_asked.connect(self.new_episode_for_client)
        self.dialog: ReopenDialog | None = None
        self.group = QComboBox()
        self.group.setAccessibleName("Show in the caseload")
        for group in self.groups:
            self.group.addItem(group.title, group.key)
        self.group.currentIndexChanged.connect(self._group_chosen)
        self._place_group_choice()
        window.locked.connect(forget_flags)
        sheet.revalidate()

    def _place_group_choice(self) -> None:
        window = self.window
        left = window.search.parentWidget()
        layout = left.layout() if left is not None else None
        if not isinstance(layout, QVBoxLayout):
            return
        row = QHBoxLayout()
        row.addWidget(QLabel("Show"))
        row.addWidget(self.group, 1)
        layout.insertLayout(1, row)
        # The window's own filters rebuild the query; the group is applied after them.
        window.search.textChanged.connect(self.apply_group)
        for box in left.findChildren(QCheckBox) if left is not None else []:
            box.toggled.connect(self.apply_group)

    @property
    def groups(self) -> tuple[prison.CaseloadGroup, ...]:
        return prison.caseload_groups(self.sheet.spec, self.sheet.refdata, self.sheet.today)

    def _group_chosen(self) -> None:
        self.window._filter()  # the window's own filters first, then the group
        self.apply_group()

    def apply_group(self, *_args: object) -> None:
        key = self.group.currentData()
        group = next((g for g in self.groups if g.key == key), self.groups[0])
        query = self.window.model.query
        wanted = replace(query, states=group.states, fields_in=group.fields_in)
        if group.closed_from or group.closed_to:
            wanted = replace(wanted, closed_from=group.closed_from, closed_to=group.closed_to)
        if wanted != query:
            self.window.model.set_query(wanted)
            self.window._update_count()

    # -- actions
    def ask_reopen(self) -> ReopenDialog | None:
        window = self.window
        if window.episode_id is None:
            return None
        if window.dirty and not window.save():
            return None
        self.dialog = ReopenDialog(
            window, self.sheet.record, self.sheet.spec, self.sheet.refdata, self.sheet.today
        )
        self.dialog.accepted.connect(self._reopen)
        self.dialog.open()
        return self.dialog

    def _reopen(self) -> None:
        dialog, window = self.dialog, self.window
        self.dialog = None
        if dialog is None or window.episode_id is None:
            return
        reason, day = dialog.reason(), dialog.returned.day()
        if reason is None or day is None:
            return
        episode_id = window.episode_id
        try:
            window.store.episodes.reopen(episode_id, reason.value, day)
        except StoreError as exc:
            window.say(str(exc))
            return
        window.open_episode(episode_id)
        window.model.reload()
        window.statusBar().showMessage(
            "Episode re-opened: the old interventions stay closed; add the new ones."
        )
        self.sheet.focus_field("MODAL")

    def new_episode_for_client(self) -> None:
        """A client received again after a release: a new episode under the same client,
        starting with the client's own details (dataset R v1.2 CLIENT; appendix D)."""
        window = self.window
        client_id = window.client_id
        values = prison.new_episode_values(self.sheet.raw(), self.sheet.spec)
        if client_id is None:
            return
        window.new_episode()
        window.client_id = client_id
        window._fresh_client = False
        self.sheet.load(values)
        self.sheet.apply({})  # saved as the worker goes, under the same client
        self.sheet.focus_field("INTRCPTD")
        window.statusBar().showMessage(
            "New episode for the same client: record the new reception and triage."
        )


def attach(window: MainWindow) -> PrisonMode:
    """Add prison mode to a main window whose store is a secure setting's."""
    return PrisonMode(window)
