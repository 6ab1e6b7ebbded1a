"""The single sheet: every field of the dataset on one page, checked as the worker types.

The form is built from the dataset specification (sections, fields, code lists, help
text); the domain's validator marks each field and the domain's workflow decides which
closure reasons are offered. The widgets hold no rule of their own.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import date

from PySide6.QtCore import QEvent, QSignalBlocker, Qt, Signal
from PySide6.QtGui import QPalette
from PySide6.QtWidgets import (
    QAbstractItemView,
    QApplication,
    QComboBox,
    QCompleter,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QLineEdit,
    QListWidget,
    QListWidgetItem,
    QPushButton,
    QSizePolicy,
    QTableWidget,
    QTableWidgetItem,
    QVBoxLayout,
    QWidget,
)

from desktop.domain.findings import Finding, Severity
from desktop.domain.record import Context, Record
from desktop.domain.spec import DatasetSpec, FieldSpec, FieldType, RefData
from desktop.domain.validation import Validator
from desktop.domain.values import as_date, parse_date, parse_partial_date
from desktop.domain.workflow import consent_given, not_applicable, offered_lists

SEP = " – "
MARK = {
    Severity.ERROR: ("✖", "Error", "#b00020"),
    Severity.WARNING: ("▲", "Check", "#8a5300"),
    Severity.INFO: ("ℹ", "Note", "#1f4e79"),
}
ITEM_ROLE = Qt.ItemDataRole.UserRole + 1
LABEL_WIDTH = 128  # most labels on one line, none on more than two


class SheetPart(QWidget):
    """A piece of guidance on the sheet beyond one field. ``changed`` re-checks the sheet.

    ``load`` takes the stored values, ``contribute`` adds what the part holds to the
    values being saved, ``refresh`` shows what the domain now says about the record.
    """

    changed = Signal()

    def load(self, raw: Mapping[str, object]) -> None:
        del raw

    def contribute(self, out: dict[str, object]) -> None:
        del out

    def refresh(self, record: Record, raw: Mapping[str, object], findings: list[Finding]) -> None:
        del record, raw, findings


def _columns(spec: DatasetSpec) -> list[list[str]]:
    """The sheet's columns of section ids: the dataset's layout, then any section it missed."""
    named = [list(c) for c in spec.layout] or [[s.id for s in spec.sections]]
    seen = {s for c in named for s in c}
    named[-1].extend(s.id for s in spec.sections if s.id not in seen and s.id != "episode")
    return named


# The same meanings on a dark or high-contrast background: light enough to read there.
DARK_MARK = {Severity.ERROR: "#ff8a80", Severity.WARNING: "#ffd180", Severity.INFO: "#82b1ff"}


def mark_colour(severity: Severity) -> str:
    """The marker colour for the current palette (symbol and words say the same thing)."""
    window = QApplication.palette().color(QPalette.ColorRole.Window)
    return DARK_MARK[severity] if window.lightness() < 128 else MARK[severity][2]


def _shown(spec: FieldSpec, value: object) -> str:
    """A stored value as the sheet shows it: dates as dd/mm/yyyy, the rest as typed."""
    text = "" if value is None else str(value)
    day = as_date(text) if spec.type in (FieldType.DATE, FieldType.PARTIAL_DATE) else None
    return day.strftime("%d/%m/%Y") if day is not None else text


def code_combo() -> QComboBox:
    """A box for a coded answer: type the code or words of its label, or pick from the list."""
    combo = QComboBox()
    combo.setEditable(True)
    combo.setInsertPolicy(QComboBox.InsertPolicy.NoInsert)
    combo.setSizeAdjustPolicy(QComboBox.SizeAdjustPolicy.AdjustToMinimumContentsLengthWithIcon)
    combo.setMinimumContentsLength(6)
    completer = QCompleter(combo.model(), combo)
    completer.setFilterMode(Qt.MatchFlag.MatchContains)
    completer.setCaseSensitivity(Qt.CaseSensitivity.CaseInsensitive)
    combo.setCompleter(completer)
    return combo


def offer_codes(combo: QComboBox, codes: list[tuple[str, str]]) -> None:
    """Offer these (code, label) pairs and a blank, keeping what was typed; no signal."""
    text = combo.currentText()
    with QSignalBlocker(combo):
        combo.clear()
        combo.addItem("", "")
        for code, label in codes:
            combo.addItem(f"{code}{SEP}{label}", code)
        combo.setEditText(text)


def _code_of(text: str) -> str:
    """The code in a combo box's text: 'code – label' or a typed code."""
    return text.split(SEP, 1)[0].strip()


class FieldEditor(QWidget):
    """One field: its input, and a marker saying (in symbol, colour and words) what is wrong."""

    changed = Signal()

    def __init__(self, spec: FieldSpec, refdata: RefData, provisional: bool) -> None:
        super().__init__()
        self.spec = spec
        self._refdata = refdata
        layout = QHBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.setSpacing(4)
        self.input: QComboBox | QLineEdit
        if spec.type is FieldType.CODE:
            combo = code_combo()
            offer_codes(combo, [(c.code, c.label) for c, _ in refdata.codes_for(spec)])
            combo.editTextChanged.connect(self._on_edit)
            self.input = combo
        else:
            line = QLineEdit()
            if spec.type in (FieldType.DATE, FieldType.PARTIAL_DATE):
                line.setPlaceholderText("dd/mm/yyyy")
            elif spec.type is FieldType.POSTCODE:
                line.setPlaceholderText("e.g. NR14 7UJ")
            if spec.max_length:
                line.setMaxLength(spec.max_length)
            line.textEdited.connect(self._on_edit)
            self.input = line
        tip = spec.help + ("\n(Provisional code list: our own codes.)" if provisional else "")
        self.input.setToolTip(tip)
        self.input.setAccessibleName(spec.label)
        self.input.setAccessibleDescription(spec.help)
        self._shown: list[Finding] | None = None
        self._shut: str | None = None
        self._restyling = False
        self.marker = QLabel()
        self.marker.setMinimumWidth(18)
        self.marker.setAccessibleName(f"{spec.label}: check result")
        self.weekday = QLabel()
        self.weekday.setMinimumWidth(24)
        layout.addWidget(self.input, 1)
        if spec.type in (FieldType.DATE, FieldType.PARTIAL_DATE):
            layout.addWidget(self.weekday)
        layout.addWidget(self.marker)

    def _on_edit(self, _text: str) -> None:
        self._show_weekday()
        self.changed.emit()

    def _show_weekday(self) -> None:
        """The weekday beside a date, so that a slip of a digit shows. A month or a year
        alone (a partial date) is not a day: no weekday, and how it is recorded on hover."""
        if self.spec.type not in (FieldType.DATE, FieldType.PARTIAL_DATE):
            return
        parser = parse_date if self.spec.type is FieldType.DATE else parse_partial_date
        parsed = parser(self.value()) if self.value() else None
        day = parsed.value if parsed is not None and isinstance(parsed.value, date) else None
        partial = parsed is not None and bool(parsed.note)
        self.weekday.setText(day.strftime("%a") if day is not None and not partial else "")
        note = parsed.note if parsed is not None and partial and parsed.note else ""
        self.weekday.setToolTip(note[:1].upper() + note[1:])

    def restrict(self, codes: list[tuple[str, str]]) -> None:
        """Offer only these codes (the workflow decides which), keeping what was typed."""
        if isinstance(self.input, QComboBox):
            offer_codes(self.input, codes)

    def value(self) -> str:
        if isinstance(self.input, QComboBox):
            return _code_of(self.input.currentText())
        return self.input.text().strip()

    def set_value(self, value: object) -> None:
        text = _shown(self.spec, value)
        with QSignalBlocker(self.input):
            if isinstance(self.input, QComboBox):
                found = self.input.findData(text)
                if found >= 0:
                    self.input.setCurrentIndex(found)
                else:
                    self.input.setEditText(text)
                edit = self.input.lineEdit()
                if edit is not None:
                    edit.setCursorPosition(0)
            else:
                self.input.setText(text)
        self._show_weekday()

    def changeEvent(self, event: QEvent) -> None:
        """A new palette (e.g. the system switched to high contrast): mark again in it."""
        super().changeEvent(event)
        palette_events = (QEvent.Type.PaletteChange, QEvent.Type.ApplicationPaletteChange)
        if event.type() in palette_events and self._shown and not self._restyling:
            self._restyling = True
            try:
                shown, self._shown = self._shown, None
                self.show_findings(shown)
            finally:
                self._restyling = False

    def set_applicable(self, reason: str | None) -> None:
        """Shut a field the answers so far make irrelevant, saying why on hover."""
        if reason == self._shut:
            return
        self._shut = reason
        self.input.setEnabled(reason is None)
        tip = self.spec.help if reason is None else f"Not asked now: {reason}\n\n{self.spec.help}"
        self.input.setToolTip(tip)
        self.setToolTip("" if reason is None else f"Not asked now: {reason}")

    def show_findings(self, findings: list[Finding]) -> None:
        if findings == self._shown:
            return  # nothing new to show: no restyle on every keystroke
        self._shown = list(findings)
        if not findings:
            self.marker.setText("")
            self.marker.setToolTip("")
            self.input.setStyleSheet("")
            self.marker.setAccessibleDescription("no problems")
            return
        worst = min(findings, key=lambda f: list(Severity).index(f.severity))
        symbol, word, _ = MARK[worst.severity]
        colour = mark_colour(worst.severity)
        self.marker.setText(symbol)
        self.marker.setStyleSheet(f"color: {colour}; font-weight: bold;")
        text = "\n".join(f"{MARK[f.severity][1]}: {f.message}" for f in findings)
        self.marker.setToolTip(text)
        self.marker.setAccessibleDescription(f"{word}: {worst.message}")
        palette = QApplication.palette()
        base = palette.color(QPalette.ColorRole.Base).name()
        ink = palette.color(QPalette.ColorRole.Text).name()
        self.input.setStyleSheet(
            f"border: 2px solid {colour}; background: {base}; color: {ink};"
            if worst.severity is not Severity.INFO
            else ""
        )


class ItemsTable(QWidget):
    """Referrals (Q) or interventions (R): a small table, add and remove rows."""

    changed = Signal()

    def __init__(self, spec: DatasetSpec) -> None:
        super().__init__()
        self.spec = spec
        self.fields = [f for f in spec.item_fields if not f.system]
        self.table = QTableWidget(0, len(self.fields))
        self.table.setHorizontalHeaderLabels([f.label for f in self.fields])
        self.table.horizontalHeader().setSectionResizeMode(QHeaderView.ResizeMode.Stretch)
        self.table.setAccessibleName(f"{spec.item_label}s")
        self.table.setSelectionBehavior(QAbstractItemView.SelectionBehavior.SelectRows)
        self.table.setMaximumHeight(96)
        self.table.itemChanged.connect(lambda _i: self.changed.emit())
        self._ids: list[str | None] = []
        add = QPushButton("Add")
        add.setAccessibleName(f"Add a {spec.item_label.lower()}")
        add.setToolTip(f"Add a {spec.item_label.lower()}")
        add.clicked.connect(self.add_row)
        remove = QPushButton("Remove selected")
        remove.setAccessibleName(f"Remove the selected {spec.item_label.lower()}s")
        remove.clicked.connect(self.remove_selected)
        buttons = QHBoxLayout()
        buttons.addWidget(add)
        buttons.addWidget(remove)
        buttons.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(self.table)
        layout.addLayout(buttons)

    @property
    def id_header(self) -> str:
        return self.spec.item_fields[0].header

    def add_row(self, values: Mapping[str, object] | None = None) -> None:
        row = self.table.rowCount()
        with QSignalBlocker(self.table):
            self.table.insertRow(row)
            for column, spec in enumerate(self.fields):
                value = (values or {}).get(spec.header)
                self.table.setItem(row, column, QTableWidgetItem(_shown(spec, value)))
        self._ids.append(str((values or {}).get(self.id_header) or "") or None)
        if values is None:
            self.changed.emit()

    def remove_selected(self) -> None:
        rows = sorted({i.row() for i in self.table.selectedIndexes()}, reverse=True)
        for row in rows:
            self.table.removeRow(row)
            del self._ids[row]
        if rows:
            self.changed.emit()

    def set_items(self, items: list[Mapping[str, object]]) -> None:
        with QSignalBlocker(self.table):
            self.table.setRowCount(0)
        self._ids = []
        for item in items:
            self.add_row(item)

    def items(self) -> list[dict[str, object]]:
        out: list[dict[str, object]] = []
        for row in range(self.table.rowCount()):
            item: dict[str, object] = {}
            if self._ids[row]:
                item[self.id_header] = self._ids[row]
            for column, spec in enumerate(self.fields):
                cell = self.table.item(row, column)
                text = cell.text().strip() if cell is not None else ""
                if text:
                    item[spec.header] = text
            out.append(item)
        return out


class Sheet(QWidget):
    """One episode on one page. ``changed`` fires on every edit (after re-validation)."""

    changed = Signal()

    def __init__(self, spec: DatasetSpec, refdata: RefData, validator: Validator) -> None:
        super().__init__()
        self.spec = spec
        self.refdata = refdata
        self.validator = validator
        self.today = date.today()
        self.agency_dat: str | None = None
        self.system_values: Callable[[dict[str, object]], dict[str, object]] | None = None
        self.editors: dict[str, FieldEditor] = {}
        self._hidden: dict[str, object] = {}
        self.banner = QLabel()
        self.banner.setWordWrap(True)
        self.banner.setStyleSheet(
            "background: #fff4ce; color: #3d2b00; padding: 6px; border: 1px solid #8a5300;"
        )
        self.banner.setAccessibleName("Consent notice")
        self.banner.hide()
        self.section_forms: dict[str, QFormLayout] = {}
        self.section_boxes: dict[str, QGroupBox] = {}
        self.labels: dict[str, QLabel] = {}
        self.parts: list[SheetPart] = []
        by_section: dict[str, list[FieldSpec]] = {}
        for f in spec.record_fields:
            if f.system:
                continue
            by_section.setdefault(f.section, []).append(f)
        self.items = ItemsTable(spec)
        self.items.changed.connect(self._edited)
        self.findings = QListWidget()
        self.findings.setAccessibleName("Findings")
        self.findings.setMinimumHeight(60)
        self.findings.itemActivated.connect(self._go_to)
        self.findings.itemClicked.connect(self._go_to)
        columns = QHBoxLayout()
        columns.setSpacing(8)
        stacks: list[QVBoxLayout] = []
        for ids in _columns(spec):
            column = QWidget()
            # Equal columns whatever their contents ask for: the sheet fits the window.
            column.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
            stack = QVBoxLayout(column)
            stack.setContentsMargins(0, 0, 0, 0)
            stack.setSpacing(4)
            columns.addWidget(column, 1)
            stacks.append(stack)
            for section_id in ids:
                title = next(s.title for s in spec.sections if s.id == section_id)
                if section_id == spec.items_key:
                    box = QGroupBox(title)
                    box.setAccessibleName(title)
                    box_layout = QVBoxLayout(box)
                    box_layout.setContentsMargins(6, 2, 6, 4)
                    box_layout.addWidget(self.items)
                    self.section_boxes[section_id] = box
                    stack.addWidget(box)
                    continue
                fields = by_section.get(section_id, [])
                if not fields:
                    continue
                stack.addWidget(self._section(section_id, title, fields, refdata))
        findings_box = QGroupBox("Findings: choose one to go to its field")
        findings_box.setAccessibleName("Findings")
        findings_layout = QVBoxLayout(findings_box)
        findings_layout.setContentsMargins(6, 2, 6, 4)
        findings_layout.addWidget(self.findings)
        note = QLabel("* provisional code list (our own codes until NDTMS publishes them)")
        note.setWordWrap(True)
        note.setStyleSheet("color: palette(mid);")
        findings_layout.addWidget(note)
        stacks[-1].addWidget(findings_box, 1)
        for stack in stacks[:-1]:
            stack.addStretch(1)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.setSpacing(4)
        layout.addWidget(self.banner)
        layout.addLayout(columns, 1)
        self._last_findings: list[Finding] = []
        self.record = Record()
        self._offered: dict[str, str] = {}  # header → the code list it offers now
        self.revalidate()

    def _section(
        self, section_id: str, title: str, fields: list[FieldSpec], refdata: RefData
    ) -> QGroupBox:
        box = QGroupBox(title)
        box.setAccessibleName(title)
        form = QFormLayout(box)
        form.setFieldGrowthPolicy(QFormLayout.FieldGrowthPolicy.AllNonFixedFieldsGrow)
        form.setContentsMargins(6, 2, 6, 4)
        form.setVerticalSpacing(2)
        form.setHorizontalSpacing(6)
        for f in fields:
            provisional = any(cl.provisional for cl in refdata.lists_for(f))
            editor = FieldEditor(f, refdata, provisional)
            editor.changed.connect(self._edited)
            self.editors[f.header] = editor
            label = QLabel(f.label + (" *" if provisional else ""))
            label.setWordWrap(True)
            label.setMinimumWidth(LABEL_WIDTH)
            label.setBuddy(editor.input)
            label.setToolTip(f.help)
            self.labels[f.header] = label
            form.addRow(label, editor)
        self.section_forms[section_id] = form
        self.section_boxes[section_id] = box
        return box

    def add_part(self, part: SheetPart) -> None:
        """Guidance beyond single fields (consent events, the caseload decision, ...)."""
        self.parts.append(part)
        part.changed.connect(self._edited)

    def apply(self, changes: Mapping[str, object]) -> None:
        """Set (or, with None, clear) fields as one edit, then check the sheet again."""
        merged = self.raw()
        for header, value in changes.items():
            editor = self.editors.get(header)
            if editor is not None:
                editor.set_value(value)
            elif value is None:
                self._hidden.pop(header, None)
                merged.pop(header, None)
            else:
                self._hidden[header] = value
                merged[header] = value
        for part in self.parts:
            part.load(merged)
        self._edited()

    def local(self, key: str) -> object:
        return self._hidden.get(key)

    # -- values
    def raw(self) -> dict[str, object]:
        """What is on the sheet, in the ``validate`` JSON shape (blank fields left out)."""
        out: dict[str, object] = dict(self._hidden)
        for header, editor in self.editors.items():
            value = editor.value()
            if value:
                out[header] = value
            else:
                out.pop(header, None)
        out[self.spec.items_key] = self.items.items()
        for part in self.parts:
            part.contribute(out)
        return out

    def load(self, raw: Mapping[str, object]) -> None:
        self._hidden = {
            k: v for k, v in raw.items() if k != self.spec.items_key and k not in self.editors
        }
        for header, editor in self.editors.items():
            editor.set_value(raw.get(header))
        items = raw.get(self.spec.items_key)
        self.items.set_items(list(items) if isinstance(items, list) else [])
        for part in self.parts:
            part.load(raw)
        self.revalidate()

    def clear(self) -> None:
        self.load({})

    # -- checking
    def _edited(self) -> None:
        self.revalidate()
        self.changed.emit()

    def revalidate(self) -> list[Finding]:
        raw = self.raw()
        # Checked as it will be saved: the ids, agency and software the store fills in.
        checked = self.system_values(raw) if self.system_values is not None else raw
        record, findings = self.validator.check(
            checked, Context(today=self.today, agency_dat=self.agency_dat)
        )
        if findings != self._last_findings:  # most keystrokes change no finding
            self._mark(findings)
        self._last_findings = findings
        self.record = record
        consent = raw.get("CONSENT")
        if consent and not consent_given(self.refdata, self.spec, consent):
            self.banner.setText(
                "No consent to share with NDTMS: this record stays on this laptop and is never"
                " submitted. Consent can be recorded later if the client agrees."
            )
            self.banner.show()
        else:
            self.banner.hide()
        shut = not_applicable(record, self.spec, self.refdata)
        for header, editor in self.editors.items():
            reason = shut.get(header)
            editor.set_applicable(reason)
            caption = self.labels.get(header)
            if caption is not None:
                caption.setEnabled(reason is None)
        for part in self.parts:
            part.refresh(record, raw, findings)
        for header, list_name in offered_lists(record, self.refdata, self.spec).items():
            if header in self.editors and self._offered.get(header) != list_name:
                codes = self.refdata.lists[list_name].codes.values()
                self.editors[header].restrict([(c.code, c.label) for c in codes])
                self._offered[header] = list_name
        return findings

    def _mark(self, findings: list[Finding]) -> None:
        """Each field's marker, and the findings list in sheet order."""
        by_field: dict[str, list[Finding]] = {}
        for f in findings:
            by_field.setdefault(f.field, []).append(f)
        for header, editor in self.editors.items():
            editor.show_findings(by_field.get(header, []))
        self.findings.clear()
        for f in findings:
            symbol, word, _ = MARK[f.severity]
            label = (
                self.spec.by_header[f.field].label if f.field in self.spec.by_header else f.field
            )
            where = f" ({self.spec.item_label.lower()} {f.item + 1})" if f.item is not None else ""
            item = QListWidgetItem(f"{symbol} {word} — {label}{where}: {f.message}")
            item.setData(Qt.ItemDataRole.UserRole, f.field)
            item.setData(ITEM_ROLE, f.item)
            self.findings.addItem(item)

    @property
    def current_findings(self) -> list[Finding]:
        return list(self._last_findings)

    def _go_to(self, item: QListWidgetItem) -> None:
        self.focus_field(str(item.data(Qt.ItemDataRole.UserRole)), item.data(ITEM_ROLE))

    def focus_field(self, header: str, item: int | None = None) -> bool:
        """Put the cursor in a field (or a cell of the items table); False if not on the sheet."""
        editor = self.editors.get(header)
        if editor is not None:
            editor.input.setFocus(Qt.FocusReason.OtherFocusReason)
            return True
        columns = [f.header for f in self.items.fields]
        if header in columns:
            row = item if isinstance(item, int) and item < self.items.table.rowCount() else 0
            self.items.table.setFocus(Qt.FocusReason.OtherFocusReason)
            if self.items.table.rowCount():
                self.items.table.setCurrentCell(row, columns.index(header))
            return True
        return False

    def focused_field(self) -> FieldSpec | None:
        for editor in self.editors.values():
            if editor.input.hasFocus():
                return editor.spec
        return None
