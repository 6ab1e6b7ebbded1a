"""The record open on the sheet: its ids, whether typing waits to be saved, the save as the
worker goes, the returning-client offer, and the consent shown beside the record.

One :class:`EditingSession` per main window. The window, prison mode, the CJIT guidance and
month end talk to it through its signals and public methods only; it is the one place that
saves the sheet. What is saved is the record: Check counts it and the month's file sends it
when it passes, whether or not Ctrl+S was ever pressed.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from PySide6.QtCore import QObject, QTimer, Signal

from desktop.domain.consent import latest_sharing
from desktop.domain.spec import Level
from desktop.domain.values import is_blank
from desktop.domain.workflow import last_contact
from desktop.storage.errors import StoreError
from desktop.storage.store import ConsentRecord, Store
from desktop.ui.sheet import Sheet

log = logging.getLogger(__name__)

AUTOSAVE_MS = 800


@dataclass(frozen=True)
class ConsentView:
    """What is shown of the open client's consent: the NDTMS consent events, and the
    continuity-of-care sharing decision in force (DIR briefing, seed 004)."""

    lines: tuple[str, ...]
    sharing: str
    shared: bool


class EditingSession(QObject):
    """The open record of one main window.

    Signals: ``opened(episode_id)`` after an episode is put on the sheet; ``saved(episode_id)``
    once the store has what is on the sheet; ``dirtyChanged(bool)`` when typing starts or
    stops waiting to be saved; ``matchOffered(text)`` / ``matchWithdrawn()`` for the
    returning-client offer; ``consentChanged()`` when :meth:`consent_view` may say something
    new; ``message(text)`` for the status line and ``problem(text)`` for what the worker
    must read (the store's refusal, in its own words).
    """

    opened = Signal(str)
    saved = Signal(str)
    dirtyChanged = Signal(bool)
    matchOffered = Signal(str)
    matchWithdrawn = Signal()
    consentChanged = Signal()
    message = Signal(str)
    problem = Signal(str)

    def __init__(self, store: Store, sheet: Sheet, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.store = store
        self.sheet = sheet
        self.consent_on: Callable[[], date] | None = None  # the consent date the sheet shows
        self._episode_id: str | None = None
        self._client_id: str | None = None
        self._dirty = False
        self._match_id: str | None = None
        self._match_key: tuple[object, ...] | None = None  # what the offer was worked out for
        self._fresh_client = False  # a client first made by this sheet, not yet linked
        self._client_headers = tuple(
            f.header for f in sheet.spec.record_fields if f.level is Level.CLIENT and not f.system
        )
        self._stored_client: dict[str, object] = {}  # the client's details as stored
        self._holds = 0  # writers running (an export): the autosave waits for them
        self._save_waiting = False
        self._autosave = QTimer(self)
        self._autosave.setSingleShot(True)
        self._autosave.setInterval(AUTOSAVE_MS)
        self._autosave.timeout.connect(self._autosave_due)

    # -- state
    @property
    def episode_id(self) -> str | None:
        return self._episode_id

    @property
    def client_id(self) -> str | None:
        return self._client_id

    @property
    def dirty(self) -> bool:
        """Something typed is not saved yet."""
        return self._dirty

    def _set_dirty(self, dirty: bool) -> None:
        if dirty != self._dirty:
            self._dirty = dirty
            self.dirtyChanged.emit(dirty)

    @property
    def save_pending(self) -> bool:
        """The autosave timer runs: what was typed is saved when it fires."""
        return self._autosave.isActive()

    @property
    def autosave_ms(self) -> int:
        """How long typing rests before it is saved."""
        return self._autosave.interval()

    @autosave_ms.setter
    def autosave_ms(self, ms: int) -> None:
        self._autosave.setInterval(ms)

    # -- telling the worker
    def tell(self, text: str) -> None:
        """A line for the status bar."""
        self.message.emit(text)

    def warn(self, text: str) -> None:
        """Something the worker must read (shown in a message box, too)."""
        self.problem.emit(text)

    # -- opening
    def open(self, episode_id: str) -> bool:
        """Save what was typed, then put the stored episode on the sheet. False (and the
        store's reason told) when it cannot be read."""
        if self._dirty:
            self.save()
        try:
            stored = self.store.episodes.load(episode_id)
        except StoreError as exc:
            self.warn(str(exc))
            return False
        self._episode_id = episode_id
        self._client_id = stored.client_id
        self._fresh_client = False
        self._match_key = None
        self.matchWithdrawn.emit()
        self.sheet.load(stored.raw)
        self._remember_client(stored.raw)
        self.consentChanged.emit()
        self._set_dirty(False)
        self._remember_place(episode_id)
        self.opened.emit(episode_id)
        self.tell(f"Opened, last saved {stored.updated_at:%d/%m/%Y %H:%M} UTC")
        return True

    def new(self, client_id: str | None = None) -> None:
        """Save what was typed, then an empty sheet: a new contact, or (with ``client_id``)
        a new episode of a client already recorded."""
        if self._dirty:
            self.save()
        self._episode_id = None
        self._client_id = client_id
        self._fresh_client = client_id is None
        self._match_key = None
        self.matchWithdrawn.emit()
        self.sheet.clear()
        self._stored_client = {}
        self.consentChanged.emit()
        self._set_dirty(False)
        self._remember_place(None)
        self.tell("New contact: start with consent")

    def edited(self) -> None:
        """The worker changed the sheet: saved as they go, and a returning client offered."""
        self._set_dirty(True)
        self._autosave.start()
        self._offer_existing_client()

    # -- the returning client
    def _offer_existing_client(self) -> None:
        """Before a new client is made, offer the ones NDTMS would link this episode to
        (same initials, date of birth and sex). Asked again only when those change."""
        record = self.sheet.record
        finitial, sinitial = record.text("FINITIAL"), record.text("SINITIAL")
        dob, sex = record.date("DOB"), record.text("SEX")
        key = (finitial, sinitial, dob, sex) if self._fresh_client else None
        if key == self._match_key:
            return
        self._match_key = key
        self.matchWithdrawn.emit()
        self._match_id = None
        if not (finitial and sinitial and dob and sex):
            return
        matches = [
            m
            for m in self.store.caseload.find_clients(finitial, sinitial, dob, sex)
            if m.client_id != self._client_id
        ]
        if not matches:
            return
        best = matches[0]
        more = f" (and {len(matches) - 1} more)" if len(matches) > 1 else ""
        self._match_id = best.client_id
        self.matchOffered.emit(
            f"A client with these initials, date of birth and sex is already recorded:"
            f" {best.client_ref or 'no reference'}, {best.episodes} episode"
            f"{'s' if best.episodes != 1 else ''}{more}. A returning client gets a new"
            " episode under the same client."
        )

    def use_match(self) -> None:
        """Link this contact to the offered client: a new episode of the same client.

        The sheet's client details are filled from the client; nothing stored about the
        client is blanked. Where the worker had typed something else, the stored answer is
        kept and the worker is told which, to change on the sheet if it is wrong.
        """
        if self._match_id is None:
            return
        typed = self.sheet.raw()
        try:
            if self._episode_id is not None:
                # Saved as the worker went under a client of its own: join it to this one.
                self.store.episodes.link(self._episode_id, self._match_id)
            known = self.store.episodes.client_fields(self._match_id)
        except StoreError as exc:
            self.warn(str(exc))
            return
        self._fresh_client = False
        self._client_id = self._match_id
        self.matchWithdrawn.emit()
        kept = {h: v for h, v in known.items() if h in self._client_headers and not is_blank(v)}
        differ = [
            self.sheet.spec.by_header[h].label
            for h, v in kept.items()
            if not is_blank(typed.get(h)) and str(typed.get(h)).upper() != str(v).upper()
        ]
        self._stored_client = dict(known)
        self.sheet.apply(kept)
        message = "A new episode of the existing client, whose details are filled in"
        if differ:
            message += (
                f". Kept as recorded for the client: {', '.join(differ)}. If the client's"
                " answer has changed, change it on the sheet."
            )
        self._set_dirty(True)
        if self.save():
            self.tell(message)

    def _remember_client(self, raw: dict[str, object]) -> None:
        self._stored_client = {
            h: raw[h] for h in self._client_headers if h in raw and not is_blank(raw[h])
        }

    def _remember_place(self, episode_id: str | None) -> None:
        """The record this worker is on, to open again after a restart, a crash or a lock."""
        try:
            self.store.places.remember(episode_id)
        except StoreError as exc:
            log.warning("remember place: %s", type(exc).__name__)

    # -- saving
    def save_now(self) -> None:
        """Ctrl+S: everything is saved as the worker goes; this saves at once and says so."""
        unsaved_new = self._episode_id is None and bool(self.sheet.record.values)
        self._set_dirty(self._dirty or unsaved_new)
        if self.save():
            self.tell(f"Saved at {datetime.now():%H:%M:%S}")

    def save(self) -> bool:
        """Save what is on the sheet; "Saved" is shown only after the store has it."""
        self._autosave.stop()
        if not self.store.is_open:
            return False
        if not self._dirty:
            return True
        raw = self.sheet.raw()
        if self._client_id is not None:
            raw["CLIENTID"] = self._client_id
        if self._episode_id is not None:
            raw["EPISODID"] = self._episode_id
        cleared = [
            h for h in self._stored_client if h in self._client_headers and is_blank(raw.get(h))
        ]
        try:
            saved = self.store.episodes.save(
                raw,
                last_contact=last_contact(self.sheet.record, raw, self.sheet.spec.id),
                consent_on=self.consent_on() if self.consent_on is not None else None,
                cleared=cleared,
            )
        except StoreError as exc:
            self.warn(str(exc))
            return False
        first_save = self._episode_id is None
        self._episode_id = saved.episode_id
        self._client_id = saved.client_id
        self._set_dirty(False)
        self._remember_client(raw)
        self.consentChanged.emit()
        if first_save:
            self._remember_place(saved.episode_id)
            self.sheet.load(self.store.episodes.load(saved.episode_id).raw)
        self.saved.emit(saved.episode_id)
        if saved.client_changed and saved.other_episodes:
            labels = ", ".join(
                self.sheet.spec.by_header[h].label
                for h in saved.client_changed
                if h in self.sheet.spec.by_header
            )
            self.tell(
                f"Saved. Client details changed ({labels}): the change holds for all"
                f" {saved.other_episodes + 1} episodes of this client."
            )
        else:
            self.tell(f"Saved as you go at {datetime.now():%H:%M:%S}")
        return True

    def _autosave_due(self) -> None:
        if self._holds:
            self._save_waiting = True  # made when the writer has ended
            return
        self.save()

    def hold_saves(self) -> None:
        """A writer is starting (an export holds the store's write lock until its file is
        in place): what was typed is saved first, then the autosave waits for
        :meth:`release_saves`."""
        if self._dirty:
            self.save()
        self._autosave.stop()
        self._holds += 1

    def release_saves(self, *, resume: bool = True) -> None:
        """The writer has ended. With ``resume`` (not when the window is locking or
        closing), a save that waited, or typing not yet saved, is made on the autosave
        timer."""
        self._holds = max(0, self._holds - 1)
        if self._holds:
            return
        waiting, self._save_waiting = self._save_waiting, False
        if resume and (waiting or self._dirty):
            self._autosave.start()

    def stop(self) -> None:
        """No more saves by the timer (the window is closing, retired or put away)."""
        self._autosave.stop()

    def discard(self) -> None:
        """Forget what was typed since the last save: nothing more is saved of it (a window
        put away unsaved, as the self-test and the screenshots do)."""
        self._autosave.stop()
        self._set_dirty(False)

    # -- consent
    def _consent_events(self) -> list[ConsentRecord]:
        if self._client_id is None or not self.store.is_open:
            return []
        try:
            return self.store.consent.history(self._client_id)
        except StoreError:
            return []

    def consent_view(self) -> ConsentView:
        """The open client's consent, as the sheet shows it."""
        names = {u.id: u.name for u in self.store.users.all()} if self.store.is_open else {}
        events = self._consent_events()

        def said(e: ConsentRecord) -> str:
            return f"on {e.recorded_on:%d/%m/%Y} by {names.get(e.recorded_by, 'another user')}"

        lines = tuple(f"NDTMS consent {e.value} {said(e)}" for e in events if e.kind == "ndtms")
        latest = latest_sharing(events)  # the decision in force (seed 004)
        shared = latest is not None and latest.value == "given"
        if latest is None:
            sharing = "Not asked"
        elif shared:
            sharing = f"Agreed {said(latest)} to share with {latest.agencies}"
        else:
            sharing = f"{latest.value.capitalize()} {said(latest)}"
        return ConsentView(lines, sharing, shared)

    def record_sharing(self, value: str, agencies: str | None, on: date) -> bool:
        """Continuity-of-care sharing consent (DIR briefing, seed 004): a separate, dated
        decision naming the agencies, which the client may withdraw at any time. A contact
        not saved yet is saved first, so that there is a client to record it on."""
        if self._client_id is None:
            self._set_dirty(True)
            if not self.save() or self._client_id is None:
                return False
        try:
            self.store.consent.record(
                self._client_id,
                "sharing",
                value,
                on,
                episode_id=self._episode_id,
                agencies=agencies,
            )
        except StoreError as exc:
            self.warn(str(exc))
            return False
        self.consentChanged.emit()
        self.tell("Sharing consent recorded" if value == "given" else "Sharing consent withdrawn")
        return True
