"""Screenshots for docs/guide.md, taken offscreen from demo stores of synthetic clients.

    python tools/screenshots.py [--only NAME ...]

Builds a CJIT and a prison demo store in a temporary folder (deleted afterwards), opens
the windows a worker sees and saves each one with ``QWidget.grab()`` into
docs/screenshots/guide-*.png. Nobody real is shown. A shot that cannot be taken (a window
that changed) is reported and the others are still taken; the exit status is then 1.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import traceback
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from PySide6.QtCore import QSize
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QLabel, QWidget

from desktop import APP_NAME
from desktop.app import paths, resources
from desktop.domain.spec import RefData
from desktop.storage.demo import DEMO_PASSWORD, DEMO_USER, make_demo_store
from desktop.storage.store import CaseloadQuery, Store
from desktop.ui.dialogs import SetupDialog, UnlockDialog
from desktop.ui.main_window import MainWindow

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "screenshots"
WINDOW = QSize(1366, 768)
SHOWN_STORE = r"C:\Users\amy\AppData\Local\Pathway\pathway.store"


def _settle(app: QApplication) -> None:
    for _ in range(3):
        app.processEvents()


def _save(widget: QWidget, name: str, app: QApplication) -> Path:
    _settle(app)
    path = OUT / f"guide-{name}.png"
    if not widget.grab().save(str(path)):
        raise RuntimeError(f"could not write {path}")
    return path


def _typical_path(dialog: QWidget) -> None:
    """Show the store where a Windows laptop keeps it, not the temporary folder used here."""
    for label in dialog.findChildren(QLabel):
        if label.text().startswith("Store: "):
            label.setText(f"Store: {SHOWN_STORE}")


def _window(store: Store, app: QApplication) -> MainWindow:
    window = MainWindow(store)
    window.idle.stop()
    window.resize(WINDOW)
    window.show()
    _settle(app)
    return window


def _done(window: MainWindow, app: QApplication) -> None:
    window.editing.discard()
    window.idle.stop()
    window.close()
    window.deleteLater()
    _settle(app)


def _row_where(window: MainWindow, want: Callable[[dict[str, object]], bool]) -> str:
    """The first episode on the caseload whose record satisfies ``want``."""
    store = window.store
    model = window.caseload.model
    while model.canFetchMore():
        model.fetchMore()
    for i in range(model.rowCount()):
        episode_id = model.row_at(i).episode_id
        if want(store.episodes.load(episode_id).raw):
            return episode_id
    raise LookupError("no demo episode fits")


class Shots:
    def __init__(self, app: QApplication, tmp: Path, refdata: RefData) -> None:
        self.app = app
        self.tmp = tmp
        self.refdata = refdata
        self.cjit_path = tmp / "cjit.store"
        self.prison_path = tmp / "prison.store"
        make_demo_store(self.cjit_path, refdata, episodes=60, kind="cjit", seed=3)
        make_demo_store(self.prison_path, refdata, episodes=40, kind="secure", seed=5)

    def open(self, path: Path) -> Store:
        return Store.open(path, DEMO_USER, DEMO_PASSWORD, refdata=self.refdata)

    # -- first run and unlocking
    def setup(self) -> list[Path]:
        dialog = SetupDialog(self.tmp / "new.store", self.refdata)
        dialog.agency.setText("CJ123")
        dialog.dat.setText("A12B")
        dialog.user.setText("amy")
        dialog.password.setText("a long password")
        dialog.again.setText("a long password")
        dialog.resize(520, dialog.sizeHint().height())
        dialog.show()
        try:
            return [_save(dialog, "setup", self.app)]
        finally:
            dialog.close()

    def unlock(self) -> list[Path]:
        shots = []
        dialog = UnlockDialog(self.cjit_path, self.refdata, user=DEMO_USER)
        _typical_path(dialog)
        dialog.resize(520, dialog.sizeHint().height())
        dialog.show()
        shots.append(_save(dialog, "unlock", self.app))
        dialog.password.setText("not the password")
        dialog._unlock()
        shots.append(_save(dialog, "unlock-wrong-password", self.app))
        dialog.close()
        store = self.open(self.cjit_path)
        try:
            second = UnlockDialog(self.cjit_path, self.refdata, user=DEMO_USER)
            _typical_path(second)
            second.resize(520, second.sizeHint().height())
            second.show()
            second.password.setText(DEMO_PASSWORD)
            second._unlock()
            shots.append(_save(second, "unlock-in-use", self.app))
            second.close()
        finally:
            store.close(backup_reason=None)
        return shots

    # -- the CJIT sheet
    def cjit(self) -> list[Path]:
        store = self.open(self.cjit_path)
        window = _window(store, self.app)
        shots = []
        try:
            open_on_caseload = _row_where(
                window, lambda r: bool(r.get("CPLANDT")) and not r.get("DISD")
            )
            window.editing.open(open_on_caseload)
            shots.append(_save(window, "main-window", self.app))
            boxes = window.sheet.section_boxes
            for section, name in (("consent", "consent"), ("caseload", "caseload-decision"),
                                  ("closure", "closure")):  # fmt: skip
                if section in boxes:
                    shots.append(_save(boxes[section], name, self.app))
            window.new_episode()
            yesterday = (date.today() - timedelta(days=1)).isoformat()
            window.sheet.apply({
                "CONSENT": "Y", "FINITIAL": "J", "SINITIAL": "B", "DOB": "1985-05-17",
                "SEX": "1", "TRIAGED": yesterday,
            })  # fmt: skip
            window.editing.stop()
            shots.append(_save(window, "new-contact", self.app))
            window.editing.discard()
        finally:
            _done(window, self.app)
            store.close(backup_reason=None)
        return shots

    # -- the prison sheet
    def prison(self) -> list[Path]:
        store = self.open(self.prison_path)
        window = _window(store, self.app)
        try:
            rows = store.caseload.page(CaseloadQuery(dataset="secure-r", limit=1))
            window.editing.open(rows[0].episode_id)
            return [_save(window, "prison-sheet", self.app)]
        finally:
            _done(window, self.app)
            store.close(backup_reason=None)

    # -- month end
    def month_end(self) -> list[Path]:
        from desktop.ui.month_end import month_end_of

        store = self.open(self.cjit_path)
        window = _window(store, self.app)
        shots = []
        try:
            month_end = month_end_of(window)
            if month_end is None:
                raise LookupError("the main window has no Month end menu")
            # One record with a blank required field, so the check has something to show.
            end = date.today().replace(day=1) - timedelta(days=1)  # last month, as offered
            start = end.replace(day=1).isoformat()
            episode = _row_where(window, lambda r: r.get("CONSENT") == "Y"
                                 and str(r.get("TRIAGED", "9")) <= end.isoformat()
                                 and str(r.get("DISD") or "9") >= start)  # fmt: skip
            raw = store.episodes.load(episode).raw
            raw["ALCUNITS"] = 999
            raw["ETHNIC"] = ""
            store.episodes.save(raw)
            check = month_end.show_check()
            check.resize(1100, 700)
            for job in month_end.jobs.active:
                job.wait()
            _settle(self.app)
            shots.append(_save(check, "month-end-check", self.app))
            check.close()
            export = month_end.show_export()
            export.resize(760, export.sizeHint().height())
            shots.append(_save(export, "month-end-export", self.app))
            export.close()
            for job in month_end.jobs.active:
                job.wait()
            _settle(self.app)
        finally:
            _done(window, self.app)
            store.close(backup_reason=None)
        return shots


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", nargs="+", help="take only these groups of shots")
    args = parser.parse_args()
    app = QApplication.instance() or QApplication([APP_NAME])
    assert isinstance(app, QApplication)
    app.setApplicationName(APP_NAME)
    app.setWindowIcon(QIcon(str(resources.icon_file())))
    OUT.mkdir(parents=True, exist_ok=True)
    failed = 0
    with tempfile.TemporaryDirectory(prefix="pathway-shots-") as name:
        tmp = Path(name)
        os.environ["PATHWAY_DATA_DIR"] = str(tmp / "data")
        shots = Shots(app, tmp, paths.load())
        groups = ("setup", "unlock", "cjit", "prison", "month_end")
        for group in args.only or groups:
            try:
                for path in getattr(shots, group)():
                    print(f"wrote {path.relative_to(ROOT)}")
            except Exception:
                failed += 1
                print(f"{group}: not taken", file=sys.stderr)
                traceback.print_exc()
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
