"""Shipped files are found through desktop.app.resources alone, from source and when installed."""

from __future__ import annotations

import struct
from pathlib import Path

import pytest
from PySide6.QtGui import QGuiApplication, QImageReader

from desktop.app import paths, resources
from tests.conftest import REFDATA, REPO

ICONS = REPO / "resources" / "icons"


def test_from_source_the_folders_beside_the_package_are_used() -> None:
    assert resources.refdata_dir() == REFDATA
    assert resources.resources_dir() == REPO / "resources"
    assert resources.icon_file() == ICONS / "pathway-256.png"
    assert not resources.frozen()


def test_installed_layout_inside_the_package_comes_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The wheel and the built application put refdata/ and resources/ inside desktop/."""
    package = tmp_path / "desktop"
    (package / "refdata").mkdir(parents=True)
    (package / "refdata" / "MANIFEST.toml").write_text("", encoding="utf-8")
    (package / "resources" / "icons").mkdir(parents=True)
    monkeypatch.setattr(resources, "_package_root", lambda: package)
    assert resources.refdata_dir() == package / "refdata"
    assert paths.refdata_dir() == package / "refdata"
    assert resources.resources_dir() == package / "resources"


def test_a_missing_folder_is_said_plainly(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(resources, "_package_root", lambda: tmp_path / "desktop")
    with pytest.raises(resources.ResourceMissing, match="install Pathway again"):
        resources.refdata_dir()
    monkeypatch.setattr(resources, "resources_dir", lambda: tmp_path)
    with pytest.raises(resources.ResourceMissing, match=r"'resources/icons/none\.png'"):
        resources.resource("icons/none.png")


def test_paths_reads_refdata_through_the_accessor(monkeypatch: pytest.MonkeyPatch) -> None:
    assert paths.refdata_dir() == resources.refdata_dir()
    monkeypatch.setenv("PATHWAY_REFDATA", "/elsewhere/refdata")
    assert paths.refdata_dir() == Path("/elsewhere/refdata")


def test_the_icon_exists_for_each_platform(qapp: QGuiApplication) -> None:
    for size in (16, 32, 48, 256, 512):
        reader = QImageReader(str(ICONS / f"pathway-{size}.png"))
        assert reader.size().width() == reader.size().height() == size
    ico = (ICONS / "pathway.ico").read_bytes()
    reserved, kind, count = struct.unpack("<HHH", ico[:6])
    assert (reserved, kind) == (0, 1) and count >= 5
    sides = [ico[6 + 16 * i] or 256 for i in range(count)]
    assert {16, 32, 48, 256} <= set(sides)
    reader = QImageReader(str(ICONS / "pathway.ico"))
    assert reader.imageCount() == count
    icns = (ICONS / "pathway.icns").read_bytes()
    assert icns[:4] == b"icns" and struct.unpack(">I", icns[4:8])[0] == len(icns)
    assert b"ic08" in icns and b"ic10" in icns  # 256 px and 1024 px (512@2x)


def test_the_wheel_and_the_build_ship_both_folders_inside_the_package() -> None:
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert '"refdata" = "desktop/refdata"' in pyproject
    assert '"resources" = "desktop/resources"' in pyproject
    spec = (REPO / "build.spec").read_text(encoding="utf-8")
    assert '(str(ROOT / "refdata"), "desktop/refdata")' in spec
    assert '(str(ROOT / "resources"), "desktop/resources")' in spec
