"""First-run setup and unlock: the two windows a worker sees before any client data."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtWidgets import (
    QComboBox,
    QDialog,
    QDialogButtonBox,
    QFormLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from desktop import APP_NAME
from desktop.storage.errors import StoreDamaged, StoreError

if TYPE_CHECKING:  # the store (and SQLAlchemy) load after the window is on screen
    from desktop.domain.spec import RefData
    from desktop.storage.store import Store

def resolve(refdata: RefData | Callable[[], RefData]) -> RefData:
    """The reference data itself; a RefDataError says what is wrong with the files."""
    return refdata() if callable(refdata) else refdata


def refdata_problem(exc: Exception) -> str:
    return (
        f"Pathway's code lists could not be loaded ({exc}). Nothing was changed; ask whoever"
        " looks after Pathway to reinstall it or to fix the imported code list."
    )


def _message_label() -> QLabel:
    label = QLabel()
    label.setWordWrap(True)
    label.setAccessibleName("Message")
    label.hide()
    return label


def show_message(label: QLabel, text: str) -> None:
    """Show a message the worker can select and copy (e.g. to read it to a helpdesk)."""
    from PySide6.QtCore import Qt  # Qt's namespace costs a fifth of a start: load it late

    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setText(text)
    label.show()


class SetupDialog(QDialog):
    """Set up a new store: the team's codes and the first manager."""

    def __init__(
        self, path: Path, refdata: RefData | Callable[[], RefData], parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{APP_NAME}: set up this laptop")
        self.path = path
        self.refdata = refdata
        self.store: Store | None = None
        form = QFormLayout()
        self.agency = QLineEdit()
        self.agency.setPlaceholderText("e.g. CJ123")
        self.kind = QComboBox()
        self.kind.addItem("CJIT (police custody, dataset Q)", "cjit")
        self.kind.addItem("Prison team (secure settings, dataset R)", "secure")
        self.dat = QLineEdit()
        self.dat.setPlaceholderText("used for clients of no fixed abode")
        self.user = QLineEdit()
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.again = QLineEdit()
        self.again.setEchoMode(QLineEdit.EchoMode.Password)
        for label, widget in (
            ("NDTMS &agency code", self.agency),
            ("&Team type", self.kind),
            ("This team's &DAT", self.dat),
            ("First manager's &user name", self.user),
            ("&Password", self.password),
            ("Password &again", self.again),
        ):
            widget.setAccessibleName(label.replace("&", ""))
            form.addRow(label, widget)
        self.message = _message_label()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Set up")
        buttons.accepted.connect(self.create_store)
        buttons.rejected.connect(self.reject)
        intro = QLabel(
            "Records are kept encrypted on this laptop. Every worker has their own password;"
            " nobody can read the records without one."
        )
        intro.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(intro)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(buttons)

    def _say(self, text: str) -> None:
        show_message(self.message, text)

    def create_store(self) -> None:
        if self.password.text() != self.again.text():
            self._say("The two passwords are not the same. Type them again.")
            return
        if len(self.password.text()) < 8:
            self._say("Choose a password of at least 8 characters.")
            return
        from desktop.domain.refdata import RefDataError
        from desktop.storage.store import Store

        try:
            self.store = Store.create(
                self.path,
                agency=self.agency.text(),
                kind=str(self.kind.currentData()),
                dat=self.dat.text().strip().upper() or None,
                user=self.user.text(),
                password=self.password.text(),
                refdata=resolve(self.refdata),
            )
        except RefDataError as exc:
            self._say(refdata_problem(exc))
            return
        except StoreError as exc:
            self._say(str(exc))
            return
        self.password.clear()
        self.again.clear()
        self.accept()


class UnlockDialog(QDialog):
    """Ask for the user name and password; every failure is one plain sentence."""

    def __init__(
        self,
        path: Path,
        refdata: RefData | Callable[[], RefData],
        parent: QWidget | None = None,
        *,
        user: str = "",
        opener: Callable[..., Store] | None = None,
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"{APP_NAME}: unlock")
        self.path = path
        self.refdata = refdata
        self.store: Store | None = None
        self._opener = opener
        self.user = QLineEdit(user)
        self.user.setAccessibleName("User name")
        self.password = QLineEdit()
        self.password.setEchoMode(QLineEdit.EchoMode.Password)
        self.password.setAccessibleName("Password")
        form = QFormLayout()
        form.addRow("&User name", self.user)
        form.addRow("&Password", self.password)
        self.message = _message_label()
        buttons = QDialogButtonBox(
            QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel
        )
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Unlock")
        buttons.accepted.connect(self.unlock)
        buttons.rejected.connect(self.reject)
        where = QLabel(f"Store: {path}")
        where.setWordWrap(True)
        layout = QVBoxLayout(self)
        layout.addWidget(where)
        layout.addLayout(form)
        layout.addWidget(self.message)
        layout.addWidget(buttons)
        (self.password if user else self.user).setFocus()

    def unlock(self) -> None:
        from desktop.domain.refdata import RefDataError
        from desktop.storage.store import Store

        opener = self._opener or Store.open
        try:
            self.store = opener(
                self.path,
                self.user.text().strip() or None,
                self.password.text(),
                refdata=resolve(self.refdata),
            )
        except RefDataError as exc:
            show_message(self.message, refdata_problem(exc))
            return
        except StoreDamaged as exc:
            show_message(self.message, str(exc))
            return
        except StoreError as exc:
            show_message(self.message, str(exc))
            self.password.selectAll()
            self.password.setFocus()
            return
        finally:
            self.password.clear()
        self.accept()
