"""The caseload list: a table model over the store's query, one page at a time."""

from __future__ import annotations

from dataclasses import replace
from datetime import date
from typing import Any

from PySide6.QtCore import QAbstractTableModel, QModelIndex, QPersistentModelIndex, Qt

from desktop.domain.values import as_date
from desktop.domain.workflow import REVIEWED, cjit_flags, consent_given
from desktop.storage.store import CaseloadQuery, CaseloadRow, Store
from desktop.ui.prison import caseload_flags as prison_flags

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
FLAG_FIELDS: dict[str, tuple[str, ...]] = {"cjit-q": ("CPLANDT", REVIEWED)}


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
        wanted = FLAG_FIELDS.get(query.dataset or store.settings.dataset, ())
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
        if row.dataset == "secure-r":
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
