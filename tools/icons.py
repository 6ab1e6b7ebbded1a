"""Draw Pathway's application icon with Qt and write it for each platform.

    python tools/icons.py            # writes resources/icons/

Writes PNGs at 16-1024 px (the window icon and Linux), ``pathway.ico`` (Windows: PNG
entries at 16-256 px, readable from Windows Vista on) and ``pathway.icns`` (macOS: PNG
entries ic04-ic10). Both containers are written here byte by byte, so no image tool
beyond Qt is needed. The drawing uses shapes only (no font), so it is the same on every
machine; the files are committed and only need writing again when the drawing changes.
"""

from __future__ import annotations

import os
import struct
import sys
from pathlib import Path

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QPointF, QRectF, Qt
from PySide6.QtGui import QColor, QGuiApplication, QImage, QPainter, QPainterPath, QPen

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "resources" / "icons"
PNG_SIZES = (16, 24, 32, 48, 64, 128, 256, 512, 1024)
ICO_SIZES = (16, 24, 32, 48, 64, 128, 256)
# ICNS element types holding PNG data, by pixel size.
ICNS_TYPES = ((b"icp4", 16), (b"icp5", 32), (b"icp6", 64), (b"ic07", 128), (b"ic08", 256),
              (b"ic09", 512), (b"ic10", 1024))  # fmt: skip

BACKGROUND = ("#1d5d7e", "#12425c")
PATH_COLOUR = "#ffffff"
STEP_COLOUR = "#f2b441"


def draw(size: int) -> QImage:
    """The icon: a rounded blue square, a white winding path and an amber step at its end."""
    image = QImage(size, size, QImage.Format.Format_ARGB32_Premultiplied)
    image.fill(Qt.GlobalColor.transparent)
    p = QPainter(image)
    p.setRenderHint(QPainter.RenderHint.Antialiasing)
    p.scale(size / 100.0, size / 100.0)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(BACKGROUND[0]))
    p.drawRoundedRect(QRectF(4, 4, 92, 92), 20, 20)
    p.setBrush(QColor(BACKGROUND[1]))
    lower = QPainterPath()
    lower.addRoundedRect(QRectF(4, 4, 92, 92), 20, 20)
    band = QPainterPath()
    band.addRect(QRectF(4, 62, 92, 34))
    p.drawPath(lower.intersected(band))
    road = QPainterPath(QPointF(22, 84))
    road.cubicTo(QPointF(22, 56), QPointF(74, 66), QPointF(70, 42))
    road.cubicTo(QPointF(67, 28), QPointF(44, 34), QPointF(46, 22))
    pen = QPen(QColor(PATH_COLOUR), 11 if size >= 32 else 14)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    p.setPen(pen)
    p.setBrush(Qt.BrushStyle.NoBrush)
    p.drawPath(road)
    p.setPen(Qt.PenStyle.NoPen)
    p.setBrush(QColor(STEP_COLOUR))
    p.drawEllipse(QPointF(46, 20), 10, 10)
    p.end()
    return image


def png_bytes(image: QImage) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    if not image.save(buffer, "PNG"):
        raise RuntimeError("Qt could not encode a PNG")
    buffer.close()
    return bytes(data.data())


def ico_bytes(pngs: dict[int, bytes]) -> bytes:
    """An ICO file (ICONDIR + ICONDIRENTRY per image) whose images are PNG streams."""
    sizes = [s for s in ICO_SIZES if s in pngs]
    header = struct.pack("<HHH", 0, 1, len(sizes))
    offset = len(header) + 16 * len(sizes)
    entries, blobs = b"", b""
    for s in sizes:
        blob = pngs[s]
        side = 0 if s >= 256 else s  # 0 means 256
        entries += struct.pack("<BBBBHHII", side, side, 0, 0, 1, 32, len(blob), offset)
        blobs += blob
        offset += len(blob)
    return header + entries + blobs


def icns_bytes(pngs: dict[int, bytes]) -> bytes:
    """An ICNS file: 'icns' + length, then (type, length, PNG data) per element."""
    body = b""
    for kind, s in ICNS_TYPES:
        blob = pngs[s]
        body += kind + struct.pack(">I", 8 + len(blob)) + blob
    return b"icns" + struct.pack(">I", 8 + len(body)) + body


def main() -> int:
    app = QGuiApplication.instance() or QGuiApplication(sys.argv[:1])
    OUT.mkdir(parents=True, exist_ok=True)
    pngs = {s: png_bytes(draw(s)) for s in PNG_SIZES}
    for s, blob in pngs.items():
        (OUT / f"pathway-{s}.png").write_bytes(blob)
    (OUT / "pathway.ico").write_bytes(ico_bytes(pngs))
    (OUT / "pathway.icns").write_bytes(icns_bytes(pngs))
    written = sorted(p.name for p in OUT.iterdir())
    print(f"wrote {len(written)} files in {OUT.relative_to(ROOT)}: {', '.join(written)}")
    del app
    return 0


if __name__ == "__main__":
    sys.exit(main())
