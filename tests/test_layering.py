"""The domain layer stays pure: importing it loads no Qt, no SQLAlchemy, no SQLCipher."""

from __future__ import annotations

import subprocess
import sys

from tests.conftest import REPO

FORBIDDEN = (
    "PySide6",
    "sqlalchemy",
    "sqlcipher3",
    "desktop.cli",
    "desktop.app.paths",
    "platformdirs",
)


def test_domain_imports_no_ui_or_storage_modules() -> None:
    code = (
        "import sys, desktop.domain.validation, desktop.domain.workflow, desktop.domain.synthetic\n"
        f"bad = [m for m in sys.modules\n"
        f"       if m.split('.')[0] in {FORBIDDEN!r} or m in {FORBIDDEN!r}]\n"
        "print(','.join(sorted(bad)))\n"
    )
    proc = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert proc.stdout.strip() == ""
