"""``pathway --self-test``: does this installation work? Checked end to end, in a minute.

Run from source or from the built application alike. Everything happens in a temporary
folder that is deleted afterwards, on synthetic clients only:

1. the shipped reference data loads without problems;
2. for each dataset (CJIT Q in a CJIT store, R in a prison store): a complete record passes
   validation and one missing its date of birth is rejected; the store is created (the
   encryption library checked), the record saved and read back, the store locked and
   unlocked with the password, the NDTMS file for the month exported and read back
   (header, agency, cut postcode, SHA-256), the episode's sheet PDF written, the audit trail
   verified, and the main window built and drawn offscreen.

Each check prints one line, ``ok`` or ``FAILED`` with the reason: a store's own message,
or else only the kind of error and where it happened (never an error's text, which
could hold a value). Exit status 0 when every check passed, 1 otherwise.
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
import traceback
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from desktop import APP_NAME, CMSID
from desktop.app import resources
from desktop.domain.datasets import PROFILES, Workflow, profile

if TYPE_CHECKING:
    from desktop.domain.spec import RefData
    from desktop.storage.store import Store

TODAY = date(2026, 11, 24)
NOW = datetime(2026, 11, 24, 12, 0)
PERIOD = "2026-10"
TRIAGED = date(2026, 10, 6)  # open during October 2026
PASSWORD = "self-test-Password-1"
USER = "selftest"
POSTCODE, SENT_POSTCODE = "NR14 7UJ", "NR14 7"
STORES = tuple((p.store_kind, p.id, p.demo_agency) for p in PROFILES.values())


class CheckFailed(Exception):
    """A check's own finding, in plain words and without client values."""


@dataclass
class Outcome:
    passed: list[str] = field(default_factory=list)
    failed: list[tuple[str, str]] = field(default_factory=list)


def _clock() -> datetime:
    return NOW


def _where(exc: BaseException) -> str:
    """The innermost frame of the error inside Pathway (else the innermost frame at all)."""
    frames = traceback.extract_tb(exc.__traceback__)
    ours = [f for f in frames if f"{os.sep}desktop{os.sep}" in f.filename] or frames
    if not ours:
        return "no frame"
    last = ours[-1]
    return f"{Path(last.filename).name}:{last.lineno} in {last.name}"


def _reason(exc: BaseException) -> str:
    from desktop.storage.errors import StoreError

    if isinstance(exc, CheckFailed | StoreError):
        return str(exc)
    return f"{type(exc).__name__} at {_where(exc)}"


class Checks:
    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.outcome = Outcome()

    @contextmanager
    def check(self, name: str, *, needed: bool = False) -> Iterator[None]:
        """One check. A failure is reported and the run goes on; when later checks
        cannot run without this one (``needed``), they are left out."""
        started = time.perf_counter()
        try:
            yield
        except Exception as exc:
            self.outcome.failed.append((name, _reason(exc)))
            self.say(f"FAILED  {name}: {_reason(exc)}")
            if needed:
                raise _Skip from None
            return
        self.outcome.passed.append(name)
        self.say(f"ok      {name} ({(time.perf_counter() - started) * 1000:.0f} ms)")

    def say(self, line: str) -> None:
        self.out.write(line + "\n")
        self.out.flush()


class _Skip(Exception):
    """Raised after a failed check: the checks that depend on it are left out."""


def _expect(condition: bool, message: str) -> None:
    if not condition:
        raise CheckFailed(message)


def _record(refdata: RefData, dataset: str) -> dict[str, object]:
    """A complete synthetic episode of ``dataset``, open during the test month."""
    from desktop.domain.synthetic import records

    rec = next(records(refdata, dataset, 1, seed=7, today=TODAY))
    rec["PC"] = POSTCODE
    if profile(dataset).workflow is Workflow.CJIT:
        for header in ("DISD", "CJDISRSN"):
            rec.pop(header, None)
        rec.update(
            DOB="1985-05-17",
            REFLD=TRIAGED.isoformat(),
            TRIAGED=TRIAGED.isoformat(),
            CPLANDT=date(2026, 10, 7).isoformat(),
            referrals=[{"REFERID": "r1", "REFDATE": date(2026, 10, 9).isoformat()}],
        )
    else:
        for header in (
            "EXITD", "EXITRSN", "RECONNECT", "MHTXEXIT", "SENTENCED", "THNALOX", "REFHEPCTX",
            "LIVSCRN", "HOMELESSEXIT", "RTOAGNCY", "EXITDEST", "DISD", "DISRSN", "NPSUSE",
        ):  # fmt: skip
            rec.pop(header, None)
        items = rec["interventions"]
        assert isinstance(items, list)
        for item in items:
            item.pop("MODEND", None)
    return rec


def _new(raw: dict[str, object], items_key: str) -> dict[str, object]:
    """The record as a new contact: its ids (and its items' ids) are left to the store."""
    fresh = {k: v for k, v in raw.items() if k not in ("CLIENTID", "EPISODID")}
    items = raw.get(items_key)
    if isinstance(items, list):
        fresh[items_key] = [
            {k: v for k, v in item.items() if k not in ("REFERID", "MODID")} for item in items
        ]
    return fresh


def _ensure_qt() -> object:
    """A QApplication for the window check; Qt's offscreen platform when there is no display."""
    headless = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if sys.platform.startswith("linux") and headless:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    from PySide6.QtWidgets import QApplication

    app = QApplication.instance()
    if app is None:
        app = QApplication([APP_NAME.lower()])
    if not isinstance(app, QApplication):
        raise CheckFailed("a Qt application without windows is already running here")
    return app


def _check_dataset(
    checks: Checks, refdata: RefData, folder: Path, kind: str, dataset: str, agency: str
) -> None:
    import csv  # here, not at the top: the start-up timing imports this module
    import hashlib

    from desktop.domain.findings import Severity
    from desktop.domain.record import Context
    from desktop.domain.validation import Validator
    from desktop.export.pdf import write_sheet_pdf
    from desktop.export.submission import export
    from desktop.storage.store import Store

    spec = refdata.datasets[dataset]
    raw = _record(refdata, dataset)
    ctx = Context(today=TODAY, agency_dat="A12B")
    label = spec.title

    path = folder / f"{kind}.store"
    store: Store | None = None
    try:
        with checks.check(f"{label}: a complete record passes validation"):
            validator = Validator(refdata, dataset)
            errors = [f for f in validator.validate(raw, ctx) if f.severity is Severity.ERROR]
            named = ", ".join(f"{f.field} {f.rule_id}" for f in errors)
            _expect(not errors, f"{len(errors)} error(s): {named}")
        with checks.check(f"{label}: a record without a date of birth is rejected"):
            broken = {k: v for k, v in raw.items() if k != "DOB"}
            errors = [f for f in validator.validate(broken, ctx) if f.severity is Severity.ERROR]
            _expect(any(f.field == "DOB" for f in errors), "no error on DOB")
        with checks.check(f"{label}: encrypted store created", needed=True):
            store = Store.create(
                path,
                agency=agency,
                kind=kind,
                user=USER,
                password=PASSWORD,
                refdata=refdata,
                dat="A12B",
                clock=_clock,
            )
            _expect(path.read_bytes()[:16] != b"SQLite format 3\0", "the file is not encrypted")
        with checks.check(f"{label}: record saved and read back", needed=True):
            saved = store.episodes.save(_new(raw, spec.items_key))
            back = store.episodes.load(saved.episode_id).raw
            differ = [h for h in ("FINITIAL", "SINITIAL", "DOB", "TRIAGED") if back[h] != raw[h]]
            _expect(not differ, f"read back differently: {', '.join(differ)}")
        with checks.check(f"{label}: locked and unlocked with the password", needed=True):
            store.close(backup_reason=None)
            store = Store.open(path, USER, PASSWORD, refdata=refdata, clock=_clock)
        with checks.check(f"{label}: NDTMS file exported and read back"):
            out = folder / f"{kind}-export"
            out.mkdir()
            result = export(store, dataset, PERIOD, out, today=TODAY)
            data = result.path.read_bytes()
            _expect(hashlib.sha256(data).hexdigest() == result.sha256, "SHA-256 differs")
            with open(result.path, newline="", encoding="utf-8") as fh:
                header, *rows = list(csv.reader(fh))
            _expect(len(rows) == result.rows >= 1, f"{len(rows)} rows, {result.rows} reported")
            row = dict(zip(header, rows[0], strict=True))
            _expect(header[:1] != [""] and "CONSENT" in header, "no CONSENT column")
            _expect(row.get("AGNCY") == agency, "AGNCY is not the store's agency")
            _expect(row.get("CMSID") == CMSID, "CMSID is not this version of Pathway")
            _expect(row.get("PC") == SENT_POSTCODE, "the postcode was not cut to its district")
            _expect(POSTCODE not in data.decode("utf-8"), "the full postcode left the store")
        with checks.check(f"{label}: sheet PDF written"):
            _ensure_qt()
            pdf = folder / f"{kind}-sheet.pdf"
            write_sheet_pdf(raw, spec, refdata, pdf, agency=agency, printed=NOW)
            _expect(pdf.read_bytes()[:5] == b"%PDF-", "not a PDF")
        with checks.check(f"{label}: audit trail intact"):
            report = store.backups.verify_audit()
            _expect(report.ok and report.events > 0, "; ".join(report.problems) or "no events")
        with checks.check(f"{label}: main window drawn"):
            _draw_window(store, saved.episode_id)
    except _Skip:
        pass
    finally:
        if store is not None and store.is_open:
            store.close(backup_reason=None)


def _draw_window(store: Store, episode_id: str) -> None:
    from PySide6.QtWidgets import QApplication

    from desktop.ui.main_window import MainWindow

    app = _ensure_qt()
    assert isinstance(app, QApplication)
    window = MainWindow(store)
    try:
        window.editing.stop()
        window.idle.stop()
        window.resize(1200, 700)
        window.editing.open(episode_id)
        app.processEvents()
        image = window.grab().toImage()
        _expect(not image.isNull() and image.width() > 0, "nothing was drawn")
        colours = {image.pixel(x, y) for x in range(0, image.width(), 37)
                   for y in range(0, image.height(), 37)}  # fmt: skip
        _expect(len(colours) > 2, "the window was drawn blank")
        _expect(window.editing.episode_id == episode_id, "the saved episode did not open")
    finally:
        window.editing.discard()
        window.idle.stop()
        window.close()
        window.deleteLater()
        app.processEvents()


def run(out: TextIO | None = None, *, folder: Path | None = None) -> int:
    """Run every check; print one line each and a summary. 0 when all passed."""
    checks = Checks(out if out is not None else sys.stdout)
    where = "the built application" if resources.frozen() else "source"
    checks.say(f"{APP_NAME} self-test ({CMSID}, from {where}, Python {sys.version.split()[0]})")
    with tempfile.TemporaryDirectory(prefix="pathway-self-test-", dir=folder) as name:
        tmp = Path(name)
        refdata: RefData | None = None
        try:
            with checks.check("reference data loads", needed=True):
                from desktop.domain.refdata import load_refdata

                refdata = load_refdata(resources.refdata_dir())
                _expect(not refdata.problems, f"{len(refdata.problems)} problem(s)")
                _expect(set(refdata.datasets) >= {d for _, d, _ in STORES}, "a dataset is missing")
        except _Skip:
            refdata = None
        with checks.check("application icon found"):
            _expect(resources.icon_file().stat().st_size > 0, "the icon is empty")
        if refdata is not None:
            for kind, dataset, agency in STORES:
                _check_dataset(checks, refdata, tmp, kind, dataset, agency)
    outcome = checks.outcome
    total = len(outcome.passed) + len(outcome.failed)
    if outcome.failed:
        checks.say(f"self-test FAILED: {len(outcome.failed)} of {total} checks failed")
        return 1
    checks.say(f"self-test passed: {total} checks")
    return 0


def _stream() -> TextIO:
    """Standard output; in a build without a console (no stdout), a file in the log folder."""
    if sys.stdout is not None:
        return sys.stdout
    from desktop.app import paths

    folder = paths.log_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return open(folder / "self-test.txt", "w", encoding="utf-8")


def start_only() -> int:
    """Start exactly as the window does, up to the unlock window drawn, then quit: the part
    of a cold start that is Pathway's own (``bench/ui.py`` and ``bench/dist.py`` time it)."""
    from PySide6.QtCore import QTimer
    from PySide6.QtWidgets import QApplication

    from desktop.ui.app import run_app

    app = _ensure_qt()
    assert isinstance(app, QApplication)

    def drawn_then_quit() -> None:
        app.processEvents()
        app.closeAllWindows()

    QTimer.singleShot(0, drawn_then_quit)
    with tempfile.TemporaryDirectory(prefix="pathway-start-") as folder:
        # A file where the store would be: the window starts at the unlock window, which
        # reads nothing from the store until a password is typed.
        store = Path(folder) / "team.store"
        store.touch()
        return run_app(store=store)


def main(what: str = "all") -> int:
    """``pathway --self-test [all|start]``."""
    if what == "start":
        return start_only()
    stream = _stream()
    try:
        return run(stream)
    finally:
        if stream is not sys.stdout:
            stream.close()
