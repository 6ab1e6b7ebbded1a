"""The page layout primitives: an A4 page in points (1/72 inch) from its top-left corner,
the drawing operations (:class:`Text`, :class:`Box`, :class:`Rule`) a laid-out
:class:`Page` is made of, fonts and text metrics, the :class:`Flow` that places blocks down
the pages, and the painting of pages onto a PDF or a preview image.

Only this part imports Qt. Text is measured and pages are laid out inside :func:`drawing`,
which makes Qt's application object when there is none and lets go of fonts after.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path

from PySide6.QtCore import QBuffer, QByteArray, QIODevice, QLineF, QMarginsF, QRectF, Qt
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QGuiApplication,
    QImage,
    QPageLayout,
    QPageSize,
    QPainter,
    QPdfWriter,
    QPen,
)

from desktop import APP_NAME, __version__
from desktop.app.files import atomic_write_bytes

PAGE_W = 595.0
PAGE_H = 842.0
MARGIN = 40.0
CONTENT_W = PAGE_W - 2 * MARGIN
FONTS = ["Arial", "Helvetica", "Liberation Sans", "DejaVu Sans"]

# Colours shared by the report and the sheet (dark text on white).
INK = "#1A1A1A"
MUTED = "#4A4A4A"
ZEBRA = "#F2F4F7"
RULE = "#8A9099"


# ---------------------------------------------------------------------- drawing operations


@dataclass(frozen=True, slots=True)
class Style:
    size: float
    bold: bool = False
    color: str = INK


@dataclass(frozen=True, slots=True)
class Text:
    x: float
    y: float
    w: float
    h: float
    text: str
    style: Style
    align: str = "left"  # left, right or center
    wrap: bool = False


@dataclass(frozen=True, slots=True)
class Box:
    x: float
    y: float
    w: float
    h: float
    fill: str | None = None
    edge: str | None = None
    edge_width: float = 0.6
    hatch: bool = False


@dataclass(frozen=True, slots=True)
class Rule:
    x1: float
    y1: float
    x2: float
    y2: float
    color: str = RULE
    width: float = 0.6


Op = Text | Box | Rule


@dataclass(slots=True)
class Page:
    ops: list[Op] = field(default_factory=list)

    @property
    def texts(self) -> list[str]:
        """Every piece of text on the page, in drawing order."""
        return [op.text for op in self.ops if isinstance(op, Text)]


# ---------------------------------------------------------------------- Qt set-up and metrics


_app: QGuiApplication | None = None


def ensure_app() -> None:
    """Qt draws text only inside an application object; make one if there is none.

    On a Linux machine without a display, Qt's offscreen platform is used.
    """
    global _app
    if QGuiApplication.instance() is not None:
        return
    headless = not (os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY"))
    if sys.platform.startswith("linux") and headless:
        os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
    _app = QGuiApplication(["pathway"])


@contextlib.contextmanager
def drawing() -> Iterator[None]:
    """Run one drawing. The fonts and metrics it made are let go when it ends: kept until
    the program exits, they could be freed after Qt's application object, which crashes."""
    ensure_app()
    try:
        yield
    finally:
        _metrics.cache_clear()
        _font.cache_clear()
        _reference.cache_clear()


@cache
def _font(size: float, bold: bool) -> QFont:
    font = QFont()
    font.setFamilies(FONTS)
    font.setStyleHint(QFont.StyleHint.SansSerif)
    font.setHintingPreference(QFont.HintingPreference.PreferNoHinting)
    font.setPointSizeF(size)
    font.setBold(bold)
    return font


@cache
def _reference() -> QImage:
    """A 72-dpi device: one font point is one unit, on paper and in the preview alike."""
    image = QImage(8, 8, QImage.Format.Format_RGB32)
    image.setDotsPerMeterX(2835)
    image.setDotsPerMeterY(2835)
    return image


@cache
def _metrics(size: float, bold: bool) -> QFontMetricsF:
    return QFontMetricsF(_font(size, bold), _reference())


def line_height(style: Style) -> float:
    return _metrics(style.size, style.bold).lineSpacing()


def text_width(text: str, style: Style) -> float:
    return _metrics(style.size, style.bold).horizontalAdvance(text)


def text_height(text: str, style: Style, width: float) -> float:
    """The height of ``text`` wrapped at word boundaries into ``width``."""
    flags = int(Qt.AlignmentFlag.AlignLeft) | int(Qt.TextFlag.TextWordWrap)
    rect = _metrics(style.size, style.bold).boundingRect(QRectF(0, 0, width, 10_000), flags, text)
    return max(rect.height(), line_height(style))


# ---------------------------------------------------------------------- painting and writing


_ALIGN = {
    "left": Qt.AlignmentFlag.AlignLeft,
    "right": Qt.AlignmentFlag.AlignRight,
    "center": Qt.AlignmentFlag.AlignHCenter,
}


def paint(painter: QPainter, page: Page) -> None:
    """Draw one laid-out page with ``painter`` (on a 72-dpi device, or scaled to one)."""
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    for op in page.ops:
        if isinstance(op, Box):
            rect = QRectF(op.x, op.y, op.w, op.h)
            if op.fill is not None:
                painter.fillRect(rect, QColor(op.fill))
            if op.hatch:
                painter.fillRect(rect, QBrush(QColor("#FFFFFF"), Qt.BrushStyle.BDiagPattern))
            if op.edge is not None:
                painter.setPen(QPen(QColor(op.edge), op.edge_width))
                painter.setBrush(Qt.BrushStyle.NoBrush)
                painter.drawRect(rect)
        elif isinstance(op, Rule):
            painter.setPen(QPen(QColor(op.color), op.width))
            painter.drawLine(QLineF(op.x1, op.y1, op.x2, op.y2))
        else:
            painter.setFont(_font(op.style.size, op.style.bold))
            painter.setPen(QColor(op.style.color))
            flags = int(_ALIGN[op.align]) | int(Qt.AlignmentFlag.AlignTop)
            if op.wrap:
                flags |= int(Qt.TextFlag.TextWordWrap)
            painter.drawText(QRectF(op.x, op.y, op.w, op.h), flags, op.text)


def pdf_bytes(pages: Sequence[Page], title: str) -> bytes:
    """The PDF of laid-out A4 pages. ``title`` goes into the file's properties."""
    with drawing():
        return _pdf_bytes(pages, title)


def _pdf_bytes(pages: Sequence[Page], title: str) -> bytes:
    data = QByteArray()
    buffer = QBuffer(data)
    buffer.open(QIODevice.OpenModeFlag.WriteOnly)
    writer = QPdfWriter(buffer)
    writer.setResolution(72)
    writer.setPageSize(QPageSize(QPageSize.PageSizeId.A4))
    writer.setPageMargins(QMarginsF(0, 0, 0, 0), QPageLayout.Unit.Point)
    writer.setTitle(title)
    writer.setCreator(f"{APP_NAME} {__version__}")
    painter = QPainter()
    if not painter.begin(writer):
        raise OSError("the PDF could not be started")
    try:
        for index, page in enumerate(pages):
            if index:
                writer.newPage()
            paint(painter, page)
    finally:
        painter.end()
        buffer.close()
    return bytes(data.data())


def write_pdf(pages: Sequence[Page], path: Path, title: str) -> None:
    atomic_write_bytes(path, pdf_bytes(pages, title))


def page_image(page: Page, scale: float = 2.0) -> QImage:
    """A preview of one page, drawn with the same operations as the PDF."""
    with drawing():
        return _page_image(page, scale)


def _page_image(page: Page, scale: float) -> QImage:
    image = QImage(round(PAGE_W * scale), round(PAGE_H * scale), QImage.Format.Format_RGB32)
    image.setDotsPerMeterX(2835)
    image.setDotsPerMeterY(2835)
    image.fill(QColor("#FFFFFF"))
    painter = QPainter(image)
    painter.scale(scale, scale)
    paint(painter, page)
    painter.end()
    return image


# ---------------------------------------------------------------------- page flow


class Flow:
    """Places blocks down the pages, starting a new page when the next one does not fit."""

    def __init__(self, first_top: float, top: float, bottom: float) -> None:
        self.pages = [Page()]
        self.top = top
        self.bottom = bottom
        self.y = first_top

    @property
    def room(self) -> float:
        return self.bottom - self.y

    def new_page(self) -> None:
        self.pages.append(Page())
        self.y = self.top

    def need(self, height: float) -> None:
        """Start a new page unless ``height`` fits (a block taller than a page starts one)."""
        if height > self.room and self.y > self.top:
            self.new_page()

    def add(self, *ops: Op) -> None:
        self.pages[-1].ops.extend(ops)
