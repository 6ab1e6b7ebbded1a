"""Prison mode on the main window: the parts placed in their sections of the sheet, the
caseload groups, and the re-open and new-episode actions on the open record."""

from __future__ import annotations

from dataclasses import replace

from PySide6.QtWidgets import QComboBox, QLineEdit

from desktop.domain import prison
from desktop.domain.prison import EpisodeBrief
from desktop.domain.spec import FieldType
from desktop.domain.values import as_date
from desktop.storage.errors import StoreError
from desktop.storage.store import CaseloadQuery, Store
from desktop.ui.caseload import CaseloadPane
from desktop.ui.editing import EditingSession
from desktop.ui.prison.interventions import InterventionsPart
from desktop.ui.prison.progress import ProgressPart
from desktop.ui.prison.reopen import ReopenDialog


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


class PrisonMode:
    """The prison parts of the main window: placed in their sections of the sheet, the
    caseload groups above the caseload, and the re-open and new-episode actions on the
    open record."""

    def __init__(self, editing: EditingSession, caseload: CaseloadPane) -> None:
        self.editing = editing
        self.caseload = caseload
        sheet = editing.sheet
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
        self.progress.find_stay = lambda client, dob: client_episodes(editing.store, client, dob)
        self.progress.reopen_asked.connect(self.ask_reopen)
        self.progress.new_episode_asked.connect(self.new_episode_for_client)
        self.dialog: ReopenDialog | None = None
        self.group = QComboBox()
        self.group.setAccessibleName("Show in the caseload")
        for group in self.groups:
            self.group.addItem(group.title, group.key)
        self.group.currentIndexChanged.connect(self._group_chosen)
        self._place_group_choice()
        sheet.revalidate()

    def _place_group_choice(self) -> None:
        # The caseload's own filters rebuild the query; the group is applied after them.
        self.caseload.add_choice("Show", self.group)
        self.caseload.edited.connect(self.apply_group)

    @property
    def groups(self) -> tuple[prison.CaseloadGroup, ...]:
        return prison.caseload_groups(self.sheet.spec, self.sheet.refdata, self.sheet.today)

    def _group_chosen(self) -> None:
        self.caseload.refilter()  # the caseload's own filters first, then the group
        self.apply_group()

    def apply_group(self, *_args: object) -> None:
        key = self.group.currentData()
        group = next((g for g in self.groups if g.key == key), self.groups[0])
        query = self.caseload.model.query
        wanted = replace(query, states=group.states, fields_in=group.fields_in)
        if group.closed_from or group.closed_to:
            wanted = replace(wanted, closed_from=group.closed_from, closed_to=group.closed_to)
        if wanted != query:
            self.caseload.model.set_query(wanted)
            self.caseload.show_count()

    # -- actions
    def ask_reopen(self) -> ReopenDialog | None:
        editing = self.editing
        if editing.episode_id is None:
            return None
        if editing.dirty and not editing.save():
            return None
        self.dialog = ReopenDialog(
            self.sheet.window(),
            self.sheet.record,
            self.sheet.spec,
            self.sheet.refdata,
            self.sheet.today,
        )
        self.dialog.accepted.connect(self._reopen)
        self.dialog.open()
        return self.dialog

    def _reopen(self) -> None:
        dialog, editing = self.dialog, self.editing
        self.dialog = None
        if dialog is None or editing.episode_id is None:
            return
        reason, day = dialog.reason(), dialog.returned.day()
        if reason is None or day is None:
            return
        episode_id = editing.episode_id
        try:
            editing.store.episodes.reopen(episode_id, reason.value, day)
        except StoreError as exc:
            editing.warn(str(exc))
            return
        editing.open(episode_id)
        self.caseload.model.reload()
        editing.tell("Episode re-opened: the old interventions stay closed; add the new ones.")
        self.sheet.focus_field("MODAL")

    def new_episode_for_client(self) -> None:
        """A client received again after a release: a new episode under the same client,
        starting with the client's own details (dataset R v1.2 CLIENT; appendix D)."""
        client_id = self.editing.client_id
        values = prison.new_episode_values(self.sheet.raw(), self.sheet.spec)
        if client_id is None:
            return
        self.editing.new(client_id)
        self.sheet.load(values)
        self.sheet.apply({})  # saved as the worker goes, under the same client
        self.sheet.focus_field("INTRCPTD")
        self.editing.tell("New episode for the same client: record the new reception and triage.")


def attach(editing: EditingSession, caseload: CaseloadPane) -> PrisonMode:
    """Add prison mode to the sheet and caseload of a secure setting's store."""
    return PrisonMode(editing, caseload)
