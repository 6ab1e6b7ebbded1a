"""Interventions on the prison sheet: several at once, ended on a date, and the offer to end
every open one on the discharge date (dataset R v1.2 MODAL, MODST, MODEND, DISD; appendix E)."""

from __future__ import annotations

from datetime import date

from PySide6.QtCore import (
    QAbstractItemModel,
    QModelIndex,
    QPersistentModelIndex,
    QSignalBlocker,
    Qt,
)
from PySide6.QtGui import QColor
from PySide6.QtWidgets import (
    QAbstractItemView,
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QStyledItemDelegate,
    QStyleOptionViewItem,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.prison import Offer
from desktop.domain.values import as_date
from desktop.ui.prison.common import CHECK, DATE_TYPES, DateLine, notice
from desktop.ui.sheet import SEP, Sheet, SheetPart


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
        self.offer = notice(CHECK, "Offer to end the open interventions")
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
