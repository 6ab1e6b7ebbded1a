"""The files Pathway ships beside its code, found the same way from every kind of install.

Two folders are shipped: ``refdata/`` (the NDTMS datasets and code lists) and
``resources/`` (icons). They are looked up with :mod:`importlib.resources` inside the
``desktop`` package, where the wheel (``force-include``) and the frozen application
(``build.spec``) put them; from a source checkout they sit beside the package, at the
repository root. Every other module asks here, never builds these paths itself.
"""

from __future__ import annotations

import sys
from pathlib import Path

PACKAGE = "desktop"
REFDATA = "refdata"
RESOURCES = "resources"
MARKERS = {REFDATA: "MANIFEST.toml", RESOURCES: "icons"}


class ResourceMissing(RuntimeError):
    """A shipped folder is not where the application was built to find it."""

    def __init__(self, name: str) -> None:
        super().__init__(
            f"Pathway's '{name}' folder is missing from this installation; install Pathway again."
        )


def _package_root() -> Path:
    here = Path(__file__).resolve().parents[1]  # desktop/, above this app/ folder
    if here.is_dir():  # source, wheel and built app keep the package as plain files
        return here
    from importlib import resources  # slower to load: only for other kinds of import

    root = resources.files(PACKAGE)
    if isinstance(root, Path):
        return root
    # A reader that is not a plain folder (a zip import): only its file-system form works
    # here, since the reference data is read as files.
    return Path(str(root))


def shipped_dir(name: str) -> Path:
    """The folder ``name`` (``refdata`` or ``resources``) as shipped with this installation."""
    marker = MARKERS[name]
    root = _package_root()
    for candidate in (root / name, root.parent / name):
        if (candidate / marker).exists():
            return candidate
    raise ResourceMissing(name)


def refdata_dir() -> Path:
    """The shipped reference data (``refdata/MANIFEST.toml`` and what it names)."""
    return shipped_dir(REFDATA)


def resources_dir() -> Path:
    """The shipped resources folder (icons)."""
    return shipped_dir(RESOURCES)


def resource(relative: str) -> Path:
    """One shipped resource file, e.g. ``icons/pathway-256.png``."""
    path = resources_dir() / relative
    if not path.is_file():
        raise ResourceMissing(f"{RESOURCES}/{relative}")
    return path


def icon_file() -> Path:
    """The application's icon for this platform's window and task bar (a PNG everywhere;
    the per-platform ``.ico`` and ``.icns`` are for the executable, set by ``build.spec``)."""
    return resource("icons/pathway-256.png")


def frozen() -> bool:
    """True inside the application built by ``build.spec``."""
    return bool(getattr(sys, "frozen", False))
