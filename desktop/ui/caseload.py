"""The caseload beside the sheet: a table model over the store's query, one page at a
time, with the finder and the filters above it and the count below."""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import replace
from datetime import date
from typing import Any

from PySide6.QtCore import (
    QAbstractTableModel,
    QModelIndex,
    QPersistentModelIndex,
    Qt,
    Signal,
)
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QTableView,
    QVBoxLayout,
    QWidget,
)

from desktop.domain import prison
from desktop.domain.datasets import REVIEWED, Workflow, profile
from desktop.domain.record import Context
from desktop.domain.values import as_date
from desktop.domain.workflow import cjit_flags, consent_given
from desktop.storage.errors import StoreError
from desktop.storage.store import CaseloadQuery, CaseloadRow, Store

PAGE = 200
STATES = {
    "contact": "contact",
    "triaged": "awaiting decision",
    "caseload_decision": "awaiting decision",
    "on_caseload": "on caseload",
    "closed": "closed",
    "received": "received",
    "in_treatment": "in treatment",
    "discharged": "discharged",
    "exited": "exited",
}
# (title, what the store sorts by, how a row shows it)
COLUMNS: tuple[tuple[str, str, Any], ...] = (
    ("Client ref", "client_ref", lambda r: r.client_ref or ""),
    ("Initials", "client_ref", lambda r: f"{r.finitial or '?'}{r.sinitial or '?'}"),
    ("Date of birth", "dob", lambda r: _day(r.dob)),
    ("Opened", "opened_on", lambda r: _day(r.opened_on)),
    ("Status", "state", lambda r: STATES.get(r.state, r.state)),
    ("Last contact", "last_contact", lambda r: _day(r.last_contact)),
    ("Flags", "errors", None),  # worked out by the model, which knows the code lists
)

Index = QModelIndex | QPersistentModelIndex


def _day(day: date | None) -> str:
    return "" if day is None else day.strftime("%d/%m/%Y")


# Stored values the flags need besides the caseload columns, per dataset.


def _cjit_flags(row: CaseloadRow, consented: bool, today: date) -> str:
    found = cjit_flags(
        state=row.state,
        consented=consented,
        errors=row.errors,
        caseload_start=as_date(row.extra.get("CPLANDT")),
        last_review=as_date(row.extra.get(REVIEWED)),
        last_seen=row.last_contact,
        today=today,
    )
    return "; ".join(f.text for f in found)


_FLAGS: OrderedDict[tuple[str, str, object], str] = OrderedDict()
FLAG_CACHE = 1000


def prison_flags(store: Store, row: CaseloadRow, today: date | None = None) -> str:
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


class CaseloadModel(QAbstractTableModel):
    """Rows come from ``store.caseload.page`` a page at a time (``fetchMore``), never all at once.

    Sorting and filtering are done by the store's query, so a 100,000-episode store costs
    the same as a small one.
    """

    def __init__(self, store: Store, query: CaseloadQuery | None = None) -> None:
        super().__init__()
        self._store = store
        self.today = date.today()
        query = query or CaseloadQuery()
        wanted = profile(query.dataset or store.settings.dataset).flag_fields
        self._query = replace(query, offset=0, limit=PAGE, extract=query.extract or wanted)
        self._rows: list[CaseloadRow] = []
        self._total = 0
        self.reload()

    # -- reading
    def reload(self) -> None:
        self.beginResetModel()
        self._total = self._store.caseload.count(self._query)
        self._rows = self._store.caseload.page(self._query)
        self.endResetModel()

    def clear(self) -> None:
        """Forget every row (at lock), without asking the store."""
        self.beginResetModel()
        self._rows = []
        self._total = 0
        self.endResetModel()

    def set_query(self, query: CaseloadQuery) -> None:
        self._query = replace(query, offset=0, limit=PAGE)
        self.reload()

    @property
    def query(self) -> CaseloadQuery:
        return self._query

    @property
    def total(self) -> int:
        return self._total

    def flags_of(self, row: CaseloadRow) -> str:
        if profile(row.dataset).workflow is Workflow.SECURE:
            return prison_flags(self._store, row, self.today)
        spec = self._store.refdata.datasets[row.dataset]
        return _cjit_flags(row, consent_given(self._store.refdata, spec, row.consent), self.today)

    def row_at(self, row: int) -> CaseloadRow:
        return self._rows[row]

    # -- Qt model
    def rowCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(self._rows)

    def columnCount(self, parent: Index = QModelIndex()) -> int:  # noqa: B008
        return 0 if parent.isValid() else len(COLUMNS)

    def canFetchMore(self, parent: Index = QModelIndex()) -> bool:  # noqa: B008
        return not parent.isValid() and len(self._rows) < self._total

    def fetchMore(self, parent: Index = QModelIndex()) -> None:  # noqa: B008
        if parent.isValid():
            return
        more = self._store.caseload.page(replace(self._query, offset=len(self._rows)))
        if not more:
            self._total = len(self._rows)
            return
        first = len(self._rows)
        self.beginInsertRows(QModelIndex(), first, first + len(more) - 1)
        self._rows.extend(more)
        self.endInsertRows()

    def data(self, index: Index, role: int = Qt.ItemDataRole.DisplayRole) -> Any:
        if not index.isValid() or not 0 <= index.row() < len(self._rows):
            return None
        row = self._rows[index.row()]
        flags_column = index.column() == len(COLUMNS) - 1
        if role in (Qt.ItemDataRole.DisplayRole, Qt.ItemDataRole.AccessibleTextRole):
            return self.flags_of(row) if flags_column else COLUMNS[index.column()][2](row)
        if role == Qt.ItemDataRole.ToolTipRole and flags_column:
            return self.flags_of(row) or "Nothing to look at"
        if role == Qt.ItemDataRole.UserRole:
            return row.episode_id
        return None

    def headerData(
        self, section: int, orientation: Qt.Orientation, role: int = Qt.ItemDataRole.DisplayRole
    ) -> Any:
        if orientation == Qt.Orientation.Horizontal and role == Qt.ItemDataRole.DisplayRole:
            return COLUMNS[section][0] if 0 <= section < len(COLUMNS) else None
        return None

    def sort(self, column: int, order: Qt.SortOrder = Qt.SortOrder.AscendingOrder) -> None:
        if not 0 <= column < len(COLUMNS):
            return
        self.set_query(
            replace(
                self._query,
                order_by=COLUMNS[column][1],
                descending=order == Qt.SortOrder.DescendingOrder,
            )
        )


class CaseloadPane(QWidget):
    """The caseload list with its finder (client ref, initials or birth date), the filters
    and the count of episodes.

    ``chosen`` fires with the episode the worker picked (click or Enter); ``edited`` after
    the worker changed the finder or a filter and the list was filtered again (a mode that
    narrows the list further, such as prison mode's groups, applies itself then).
    """

    chosen = Signal(str)
    edited = Signal()

    def __init__(self, store: Store, dataset: str) -> None:
        super().__init__()
        self._store = store
        self.model = CaseloadModel(store, CaseloadQuery(dataset=dataset))
        self.table = QTableView()
        self.table.setModel(self.model)
        self.table.setSortingEnabled(True)
        self.table.setSelectionBehavior(QTableView.SelectionBehavior.SelectRows)
        self.table.setSelectionMode(QTableView.SelectionMode.SingleSelection)
        self.table.setAccessibleName("Caseload")
        self.table.horizontalHeader().setStretchLastSection(True)
        self.table.verticalHeader().hide()
        self.table.activated.connect(self._choose)
        self.table.clicked.connect(self._choose)
        self.search = QLineEdit()
        self.search.setPlaceholderText(
            "Find: client ref, initials (e.g. JB) or birth date (YYYY-MM-DD)"
        )
        self.search.setAccessibleName("Find a client")
        self.search.textChanged.connect(self._edited)
        self.only_mine = QCheckBox("Mine")
        self.only_open = QCheckBox("Open")
        self.only_errors = QCheckBox("With errors")
        self.closed_month = QCheckBox("Closed this month")
        boxes = (self.only_mine, self.only_open, self.closed_month, self.only_errors)
        for box in boxes:
            box.toggled.connect(self._edited)
        filters = QHBoxLayout()
        for box in boxes:
            filters.addWidget(box)
        filters.addStretch(1)
        self.count = QLabel()
        self._layout = QVBoxLayout(self)
        self._layout.addWidget(self.search)
        self._layout.addLayout(filters)
        self._layout.addWidget(self.table)
        self._layout.addWidget(self.count)
        self.show_count()

    def add_choice(self, label: str, widget: QWidget) -> None:
        """A further choice of what the list shows, on a row under the finder."""
        row = QHBoxLayout()
        row.addWidget(QLabel(label))
        row.addWidget(widget, 1)
        self._layout.insertLayout(1, row)

    def _edited(self, *_args: object) -> None:
        self.refilter()
        self.edited.emit()

    def refilter(self) -> None:
        """Ask the store again with what the finder and the filters say now."""
        month_start = date.today().replace(day=1)
        query = replace(
            self.model.query,
            search=self.search.text().strip() or None,
            owner_id=self._store.user.id if self.only_mine.isChecked() else None,
            open_only=self.only_open.isChecked(),
            with_errors=self.only_errors.isChecked(),
            closed_from=month_start if self.closed_month.isChecked() else None,
            closed_to=date.today() if self.closed_month.isChecked() else None,
        )
        self.model.set_query(query)
        self.show_count()

    def reload(self) -> None:
        """The same query again (after a save), and its count."""
        self.model.reload()
        self.show_count()

    def show_count(self) -> None:
        total = self.model.total
        self.count.setText(f"{total} episode{'s' if total != 1 else ''}")

    def focus_finder(self) -> None:
        """Put the cursor in the finder, its text selected."""
        self.search.setFocus()
        self.search.selectAll()

    def clear(self) -> None:
        """At lock: no client shown and nothing worked out from client records kept."""
        self.search.clear()
        self.model.clear()
        forget_flags()

    def _choose(self, index: QModelIndex) -> None:
        if not index.isValid():
            return
        self.chosen.emit(str(self.model.data(index, Qt.ItemDataRole.UserRole)))
