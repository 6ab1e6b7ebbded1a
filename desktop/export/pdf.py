"""PDFs on A4: the monthly report (counts only) and the printable sheet of one episode.

Both are drawn with Qt: :class:`QPdfWriter` and :class:`QPainter`, in points (1/72 inch)
from the top-left corner of the page. Drawing happens in two steps. First each page is
laid out as a list of simple operations (:class:`Text`, :class:`Box`, :class:`Rule`), so
the number of pages and every word on them are known before anything is written. Then
the operations are painted onto the PDF, or onto an image for a preview.

The file is written to a temporary file beside the target and renamed over it, so a
crash leaves either the old file or the whole new one.
"""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
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
from desktop.domain.spec import DatasetSpec, FieldSpec, FieldType, RefData
from desktop.domain.values import is_blank, parse_code, parse_date, say_date
from desktop.export.report import Measure, Report, Row
from desktop.files import atomic_write_bytes
from desktop.storage.errors import StoreError
from desktop.storage.store import Store

PAGE_W = 595.0
PAGE_H = 842.0
MARGIN = 40.0
CONTENT_W = PAGE_W - 2 * MARGIN
FONTS = ["Arial", "Helvetica", "Liberation Sans", "DejaVu Sans"]
COUNTS_ONLY = "Counts only — no client-level data"
CONFIDENTIAL = "CONFIDENTIAL — contains personal data"

# Colours: dark blue bars on white (contrast above 8:1); every bar carries its number, and
# rows that are not a real category (not recorded, not in the list) are hatched grey and
# say so in words, so nothing depends on colour alone.
INK = "#1A1A1A"
MUTED = "#4A4A4A"
BAR = "#1F4E79"
BAR_OTHER = "#5F6B76"
ZEBRA = "#F2F4F7"
RULE = "#8A9099"
BANNER_FILL = "#FFF4CE"
BANNER_EDGE = "#8A6D00"
CONF_FILL = "#FDECEA"
CONF_EDGE = "#A4001D"
SECTION_FILL = "#E8EDF3"


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
def _qt() -> Iterator[None]:
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
    with _qt():
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
    with _qt():
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


class _Flow:
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


# ---------------------------------------------------------------------- the monthly report

TITLE = Style(18, True)
SUBTITLE = Style(11)
META = Style(9, color=MUTED)
HEADING = Style(12, True)
CONTINUED = Style(9, True, MUTED)
NOTE = Style(8, color=MUTED)
CELL = Style(8.5)
CELL_BOLD = Style(8.5, True)
COLUMN_HEAD = Style(7.5, True, MUTED)
BAR_VALUE = Style(7.5, True)
SMALL = Style(7.5, color=MUTED)
SMALL_BOLD = Style(7.5, True)
BANNER = Style(10.5, True)
BODY = Style(8.5)

REPORT_TOP = 48.0
REPORT_BOTTOM = PAGE_H - 44.0
CELL_PAD = 2.5
COLUMN_CHART_H = 138.0


def _generated(report: Report) -> str:
    return f"{say_date(report.generated.date())} at {report.generated:%H:%M}"


@dataclass(frozen=True, slots=True)
class _Columns:
    """Where each part of a measure's table goes across the page."""

    label_w: float
    count_w: float
    pct_w: float
    bars_w: float

    @property
    def counts_x(self) -> float:
        return MARGIN + self.label_w

    def bars_x(self, n: int) -> float:
        return self.counts_x + n * self.count_w + self.pct_w


def _columns(m: Measure) -> _Columns:
    n = len(m.columns)
    natural = max(text_width(r.label, CELL) for r in (*m.rows, Row("Total", ()))) + 10
    pct_w = 38.0 if m.base is not None and n == 1 else 0.0
    if m.chart == "columns":
        count_w = min(44.0, (CONTENT_W - 150) / n)
        label_w = min(natural, CONTENT_W - n * count_w, 260.0)
        return _Columns(label_w, count_w, 0.0, 0.0)
    widest = max(text_width(w, COLUMN_HEAD) for c in m.columns for w in c.split()) + 8
    count_w = max(44.0 if n == 1 else 50.0, widest)
    label_w = max(110.0, min(natural, CONTENT_W - n * count_w - pct_w - 130))
    return _Columns(label_w, count_w, pct_w, CONTENT_W - label_w - n * count_w - pct_w)


def _row_height(label: str, cols: _Columns, bold: bool = False) -> float:
    style = CELL_BOLD if bold else CELL
    return text_height(label, style, cols.label_w - 8) + 2 * CELL_PAD


def _header_height(m: Measure, cols: _Columns) -> float:
    heads = [text_height(c, COLUMN_HEAD, cols.count_w - 4) for c in m.columns]
    return max(heads) + 2 * CELL_PAD + 1


def _place_header(flow: _Flow, m: Measure, cols: _Columns, height: float) -> None:
    x = cols.counts_x
    for column in m.columns:
        flow.add(
            Text(x, flow.y + CELL_PAD, cols.count_w - 4, height, column, COLUMN_HEAD, "right", True)
        )
        x += cols.count_w
    if cols.pct_w:
        flow.add(Text(x, flow.y + CELL_PAD, cols.pct_w - 4, height, "%", COLUMN_HEAD, "right"))
    if cols.bars_w:
        bars = cols.bars_x(len(m.columns))
        flow.add(Text(bars + 4, flow.y + CELL_PAD, cols.bars_w - 4, height, "Chart", COLUMN_HEAD))
    flow.y += height
    flow.add(Rule(MARGIN, flow.y, MARGIN + CONTENT_W, flow.y, INK, 0.8))


def _place_row(
    flow: _Flow,
    m: Measure,
    cols: _Columns,
    row: Row,
    height: float,
    *,
    index: int,
    scale: int,
    total: bool = False,
) -> None:
    y = flow.y
    style = CELL_BOLD if total else CELL
    if index % 2 and not total:
        flow.add(Box(MARGIN, y, CONTENT_W, height, fill=ZEBRA))
    if total:
        flow.add(Rule(MARGIN, y, MARGIN + CONTENT_W, y, RULE, 0.6))
    flow.add(Text(MARGIN + 3, y + CELL_PAD, cols.label_w - 8, height, row.label, style, wrap=True))
    x = cols.counts_x
    for value in row.counts:
        flow.add(Text(x, y + CELL_PAD, cols.count_w - 4, height, str(value), style, "right"))
        x += cols.count_w
    if cols.pct_w:
        base = m.base or 0
        share = f"{round(100 * row.counts[-1] / base)}%" if base else "–"
        flow.add(Text(x, y + CELL_PAD, cols.pct_w - 4, height, share, style, "right"))
    if cols.bars_w and not total:
        value = row.counts[-1]
        label_room = text_width(str(scale), BAR_VALUE) + 8
        room = cols.bars_w - 8 - label_room
        length = room * value / scale if scale else 0.0
        bar_h = line_height(CELL) * 0.7
        bar_y = y + CELL_PAD + (line_height(CELL) - bar_h) / 2
        bars = cols.bars_x(len(m.columns)) + 4
        if length > 0:
            fill = BAR if row.known else BAR_OTHER
            flow.add(Box(bars, bar_y, length, bar_h, fill=fill, hatch=not row.known))
        flow.add(
            Text(
                bars + length + 3,
                y + CELL_PAD,
                label_room,
                height,
                str(value),
                BAR_VALUE,
            )
        )
    flow.y += height


def _place_column_chart(flow: _Flow, m: Measure) -> None:
    """One bar per column (e.g. per month), each the total of every row, with its number."""
    totals = m.totals
    scale = max(totals, default=0)
    top = flow.y + 8
    value_h = line_height(BAR_VALUE)
    plot_h = COLUMN_CHART_H - 8 - value_h - line_height(SMALL) - 14
    base_y = top + value_h + 2 + plot_h
    slot = min(42.0, (CONTENT_W - 20) / max(1, len(totals)))
    bar_w = slot * 0.62
    x0 = MARGIN + 10
    flow.add(Rule(MARGIN, base_y, MARGIN + 10 + slot * len(totals) + 10, base_y, INK, 0.8))
    for i, (name, value) in enumerate(zip(m.columns, totals, strict=True)):
        x = x0 + i * slot
        h = plot_h * value / scale if scale else 0.0
        if h > 0:
            flow.add(Box(x + (slot - bar_w) / 2, base_y - h, bar_w, h, fill=BAR))
        flow.add(Text(x, base_y - h - value_h - 1, slot, value_h, str(value), BAR_VALUE, "center"))
        flow.add(Text(x, base_y + 3, slot, line_height(SMALL), name, SMALL, "center"))
    flow.y += COLUMN_CHART_H


def _place_measure(flow: _Flow, m: Measure) -> None:
    cols = _columns(m)
    heading_h = text_height(m.title, HEADING, CONTENT_W)
    note_h = text_height(m.note, NOTE, CONTENT_W)
    header_h = _header_height(m, cols)
    heights = [_row_height(r.label, cols) for r in m.rows]
    total_h = _row_height("Total", cols, bold=True) if m.summed and len(m.rows) > 1 else 0.0
    chart_h = COLUMN_CHART_H if m.chart == "columns" else 0.0
    opening = heading_h + 3 + note_h + 6 + header_h
    whole = opening + sum(heights) + total_h + chart_h
    # Keep a measure on one page when it fits on one; otherwise start it with a few rows.
    flow.need(whole if whole <= flow.bottom - flow.top else opening + sum(heights[:3]))
    flow.add(Text(MARGIN, flow.y, CONTENT_W, heading_h, m.title, HEADING, wrap=True))
    flow.y += heading_h + 3
    flow.add(Text(MARGIN, flow.y, CONTENT_W, note_h, m.note, NOTE, wrap=True))
    flow.y += note_h + 6
    _place_header(flow, m, cols, header_h)
    scale = max((r.counts[-1] for r in m.rows), default=0)
    for index, (row, height) in enumerate(zip(m.rows, heights, strict=True)):
        if height > flow.room:
            flow.new_page()
            continued = f"{m.title} (continued)"
            flow.add(Text(MARGIN, flow.y, CONTENT_W, 14, continued, CONTINUED))
            flow.y += line_height(CONTINUED) + 4
            _place_header(flow, m, cols, header_h)
        _place_row(flow, m, cols, row, height, index=index, scale=scale)
    if total_h:
        flow.need(total_h)
        _place_row(flow, m, cols, Row("Total", m.totals), total_h, index=0, scale=scale, total=True)
    if m.chart == "columns":
        flow.need(COLUMN_CHART_H)
        _place_column_chart(flow, m)
    flow.y += 20


def _report_header(report: Report, flow: _Flow) -> None:
    y = 40.0
    flow.add(Text(MARGIN, y, CONTENT_W, 26, f"Monthly report: {report.period.label}", TITLE))
    y += line_height(TITLE) + 2
    sub = f"{report.dataset_title} · agency {report.agency}"
    flow.add(Text(MARGIN, y, CONTENT_W, 16, sub, SUBTITLE))
    y += line_height(SUBTITLE) + 2
    start, end = say_date(report.period.start), say_date(report.period.end)
    meta = f"Period {start} to {end} · generated {_generated(report)}"
    flow.add(Text(MARGIN, y, CONTENT_W, 14, meta, META))
    y += line_height(META) + 10
    inner = CONTENT_W - 20
    scope_h = text_height(report.scope, BODY, inner)
    box_h = 10 + line_height(BANNER) + 4 + scope_h + 10
    flow.add(
        Box(MARGIN, y, CONTENT_W, box_h, fill=BANNER_FILL, edge=BANNER_EDGE, edge_width=1.2),
        Text(MARGIN + 10, y + 10, inner, line_height(BANNER), COUNTS_ONLY, BANNER),
        Text(
            MARGIN + 10, y + 14 + line_height(BANNER), inner, scope_h, report.scope, BODY, wrap=True
        ),
    )
    flow.y = y + box_h + 18


def _report_furniture(report: Report, pages: list[Page]) -> None:
    """The running header (from page 2), and a footer with the page number on every page."""
    running = f"Monthly report · {report.agency} · {report.dataset_title} · {report.period.label}"
    for number, page in enumerate(pages, start=1):
        if number > 1:
            page.ops.extend(
                (
                    Text(MARGIN, 20, CONTENT_W * 0.62, 12, running, SMALL),
                    Text(MARGIN, 20, CONTENT_W, 12, COUNTS_ONLY, SMALL_BOLD, "right"),
                    Rule(MARGIN, 34, MARGIN + CONTENT_W, 34, RULE, 0.5),
                )
            )
        y = PAGE_H - 32
        page.ops.extend(
            (
                Rule(MARGIN, y - 4, MARGIN + CONTENT_W, y - 4, RULE, 0.5),
                Text(
                    MARGIN,
                    y,
                    CONTENT_W * 0.7,
                    12,
                    f"Generated {_generated(report)} by {APP_NAME} {__version__}",
                    SMALL,
                ),
                Text(MARGIN, y, CONTENT_W, 12, f"Page {number} of {len(pages)}", SMALL, "right"),
            )
        )


def report_pages(report: Report) -> list[Page]:
    """The monthly report laid out on A4 pages: a header, then each measure's table and chart."""
    with _qt():
        flow = _Flow(first_top=40.0, top=REPORT_TOP, bottom=REPORT_BOTTOM)
        _report_header(report, flow)
        for measure in report.measures:
            _place_measure(flow, measure)
        _report_furniture(report, flow.pages)
        return flow.pages


def report_title(report: Report) -> str:
    return f"{APP_NAME} monthly report, {report.agency}, {report.period.label}"


def write_report_pdf(report: Report, path: Path) -> int:
    """Write the report's PDF to ``path`` (replaced whole, or not at all); returns the pages."""
    pages = report_pages(report)
    write_pdf(pages, path, report_title(report))
    return len(pages)


# ---------------------------------------------------------------------- the episode sheet

SHEET_SIZES = tuple(9.0 - 0.25 * i for i in range(17))  # 9 pt down to 5 pt
BAND_H = 22.0
BAND_TOP = 16.0
MAX_VALUE = 200


def show_value(spec: FieldSpec, raw: object, refdata: RefData) -> str:
    """A value as a reader of the paper file wants it: dates as DD/MM/YYYY, codes with labels."""
    if is_blank(raw):
        return "—"
    if spec.type in (FieldType.DATE, FieldType.PARTIAL_DATE):
        parsed = parse_date(raw)
        if isinstance(parsed.value, date):
            return f"{parsed.value:%d/%m/%Y}"
    elif spec.type is FieldType.CODE:
        code = parse_code(raw).value
        for known, _ in refdata.codes_for(spec):
            if known.code == code:
                return f"{known.label} ({known.code})"
        return f"{str(raw).strip()} (not in the code list)"[:MAX_VALUE]
    text = str(raw).strip()
    return text if len(text) <= MAX_VALUE else text[: MAX_VALUE - 1] + "…"


def _band(y: float) -> tuple[Op, ...]:
    return (
        Box(MARGIN, y, CONTENT_W, BAND_H, fill=CONF_FILL, edge=CONF_EDGE, edge_width=1.4),
        Text(
            MARGIN,
            y + 5,
            CONTENT_W,
            BAND_H - 5,
            CONFIDENTIAL,
            Style(10.5, True, CONF_EDGE),
            "center",
        ),
    )


@dataclass(frozen=True, slots=True)
class _SheetInput:
    raw: Mapping[str, object]
    items: tuple[Mapping[str, object], ...]
    spec: DatasetSpec
    refdata: RefData
    agency: str
    client_name: str | None
    printed: datetime


def _sheet(data: _SheetInput, size: float, shown: int) -> tuple[Page, bool]:
    """Lay the sheet out at one font size; says whether it fits between the two bands."""
    page = Page()
    add = page.ops.extend
    spec = data.spec
    bottom_band = PAGE_H - BAND_TOP - BAND_H
    add(_band(BAND_TOP))
    add(_band(bottom_band))
    y = BAND_TOP + BAND_H + 10
    agency = f"Agency {data.agency}"
    agency_style = Style(9.5)
    heading = f"Episode sheet: {spec.title}"
    room = CONTENT_W - text_width(agency, agency_style) - 12
    title = Style(13, True)
    while text_width(heading, title) > room and title.size > 8:
        title = Style(title.size - 0.5, True)
    add(
        (
            Text(MARGIN, y, room, line_height(title), heading, title),
            Text(MARGIN, y + 2, CONTENT_W, 14, agency, agency_style, "right"),
        )
    )
    y += max(line_height(Style(13, True)), line_height(title)) + 2
    who = f"Client: {data.client_name}" if data.client_name else "Client name: not recorded"
    who_style = Style(9.5, True)
    who_h = text_height(who, who_style, CONTENT_W * 0.62)
    printed = f"Printed {say_date(data.printed.date())} at {data.printed:%H:%M}"
    add(
        (
            Text(MARGIN, y, CONTENT_W * 0.62, who_h, who, who_style, wrap=True),
            Text(MARGIN, y, CONTENT_W, 14, printed, Style(8.5, color=MUTED), "right"),
        )
    )
    y += who_h + 4 - line_height(who_style)
    y += line_height(Style(9.5, True)) + 4
    add((Rule(MARGIN, y, MARGIN + CONTENT_W, y, INK, 0.8),))
    y += 6
    limit = bottom_band - 6
    label_style = Style(size, color=MUTED)
    value_style = Style(size)
    head_style = Style(size + 1, True)
    gap = 12.0
    half = (CONTENT_W - gap) / 2
    label_w = half * 0.5
    value_w = half - label_w - 4
    for section in spec.sections:
        fields = [f for f in spec.fields if f.section == section.id]
        if not fields:
            continue
        head_h = line_height(head_style) + 2
        add(
            (
                Box(MARGIN, y, CONTENT_W, head_h, fill=SECTION_FILL),
                Text(MARGIN + 4, y + 1, CONTENT_W - 8, head_h, section.title, head_style),
            )
        )
        y += head_h + 2
        record = [f for f in fields if not f.level.repeats]
        for start in range(0, len(record), 2):
            height = 0.0
            for column, fs in enumerate(record[start : start + 2]):
                x = MARGIN + column * (half + gap)
                value = show_value(fs, data.raw.get(fs.header), data.refdata)
                lab_h = text_height(fs.label, label_style, label_w)
                val_h = text_height(value, value_style, value_w)
                add(
                    (
                        Text(x, y, label_w, lab_h, fs.label, label_style, wrap=True),
                        Text(x + label_w + 4, y, value_w, val_h, value, value_style, wrap=True),
                    )
                )
                height = max(height, lab_h, val_h)
            y += height + size * 0.25
        repeat = [f for f in fields if f.level.repeats]
        if repeat:
            y = _items_table(page, y, repeat, data, size, shown)
        y += size * 0.4
    return page, y <= limit


def _items_table(
    page: Page, y: float, columns: list[FieldSpec], data: _SheetInput, size: float, shown: int
) -> float:
    """The referrals (Q) or interventions (R) as a small table; several side by side when narrow."""
    add = page.ops.extend
    items = data.items
    noun = data.spec.items_key
    body = Style(size)
    head = Style(size, True, MUTED)
    if not items:
        add((Text(MARGIN, y, CONTENT_W, line_height(body), f"No {noun} recorded.", body),))
        return y + line_height(body) + 2
    cells = [
        [show_value(fs, item.get(fs.header), data.refdata) for fs in columns]
        for item in items[:shown]
    ]
    number_w = text_width(str(len(items)), body) + 8
    widths = []
    for i, fs in enumerate(columns):
        natural = max([text_width(fs.label, head)] + [text_width(row[i], body) for row in cells])
        widths.append(min(natural + 8, CONTENT_W * 0.5))
    table_w = number_w + sum(widths)
    if table_w > CONTENT_W:
        spare = CONTENT_W - number_w
        widths = [w * spare / sum(widths) for w in widths]
        table_w = CONTENT_W
    gap = 16.0
    groups = max(1, min(4, int((CONTENT_W + gap) // (table_w + gap))))
    per_group = -(-len(cells) // groups) if cells else 0
    header_h = max(
        text_height(fs.label, head, w - 4) for fs, w in zip(columns, widths, strict=True)
    )
    end_y = y
    for g in range(groups):
        x0 = MARGIN + g * (table_w + gap)
        gy = y
        x = x0 + number_w
        for fs, w in zip(columns, widths, strict=True):
            add((Text(x, gy, w - 4, header_h, fs.label, head, wrap=True),))
            x += w
        gy += header_h + 1
        add((Rule(x0, gy, x0 + table_w, gy, INK, 0.6),))
        gy += 1.5
        for r in range(g * per_group, min(len(cells), (g + 1) * per_group)):
            row_h = max(
                text_height(value, body, w - 4) for value, w in zip(cells[r], widths, strict=True)
            )
            if r % 2:
                add((Box(x0, gy - 0.5, table_w, row_h + 1, fill=ZEBRA),))
            add((Text(x0, gy, number_w - 6, row_h, str(r + 1), Style(size, color=MUTED), "right"),))
            x = x0 + number_w
            for value, w in zip(cells[r], widths, strict=True):
                add((Text(x, gy, w - 4, row_h, value, body, wrap=True),))
                x += w
            gy += row_h + 1
        end_y = max(end_y, gy)
    if shown < len(items):
        more = f"… and {len(items) - shown} more {noun} not shown here: see the episode in Pathway."
        add((Text(MARGIN, end_y + 1, CONTENT_W, line_height(body), more, Style(size, True)),))
        end_y += line_height(body) + 2
    return end_y


def sheet_pages(
    raw: Mapping[str, object],
    spec: DatasetSpec,
    refdata: RefData,
    *,
    agency: str,
    client_name: str | None = None,
    printed: datetime | None = None,
) -> list[Page]:
    """One A4 page for one episode, in the order and sections of the dataset.

    The font shrinks until everything fits; if even the smallest size cannot hold every
    item, as many as fit are shown and the sheet says how many more there are.
    """
    value = raw.get(spec.items_key)
    items = tuple(i for i in value if isinstance(i, Mapping)) if isinstance(value, list) else ()
    data = _SheetInput(raw, items, spec, refdata, agency, client_name, printed or datetime.now())
    with _qt():
        return _fitted_sheet(data)


def _fitted_sheet(data: _SheetInput) -> list[Page]:
    items = data.items
    for size in SHEET_SIZES:
        page, fits = _sheet(data, size, len(items))
        if fits:
            return [page]
    smallest = SHEET_SIZES[-1]
    best, _ = _sheet(data, smallest, 0)
    low, high = 0, len(items)
    while low < high:
        middle = (low + high + 1) // 2
        page, fits = _sheet(data, smallest, middle)
        if fits:
            low, best = middle, page
        else:
            high = middle - 1
    return [best]


def write_sheet_pdf(
    raw: Mapping[str, object],
    spec: DatasetSpec,
    refdata: RefData,
    path: Path,
    *,
    agency: str,
    client_name: str | None = None,
    printed: datetime | None = None,
) -> None:
    """Write one episode's confidential sheet (one A4 page) to ``path``, replaced whole."""
    pages = sheet_pages(raw, spec, refdata, agency=agency, client_name=client_name, printed=printed)
    write_pdf(pages, path, f"{APP_NAME} episode sheet (confidential)")


SHEET_EVENT = "print_sheet"


class SheetNotKept(StoreError):
    """The sheet was written but the store could not record who printed it, so it was removed."""


def note_printed(store: Store, episode_id: str) -> None:
    """Put in the audit trail who printed an episode's sheet, and when (never a value)."""
    with store.writing() as tx:
        tx.audit(SHEET_EVENT, "episode", episode_id)


def save_sheet(store: Store, episode_id: str, path: Path) -> None:
    """Write a stored episode's confidential sheet to ``path`` and note in the audit trail
    who printed which episode, and when (never a value of it).

    No sheet leaves without its audit event: if the store cannot record it, the file is
    removed and :class:`SheetNotKept` says so. An episode that cannot be read is a
    ``StoreError``; a file that cannot be written, an ``OSError``.
    """
    stored = store.episodes.load(episode_id)
    write_sheet_pdf(
        stored.raw,
        store.refdata.datasets[stored.dataset],
        store.refdata,
        path,
        agency=store.settings.agency,
        client_name=stored.client_name,
    )
    try:
        note_printed(store, stored.episode_id)
    except StoreError as exc:
        path.unlink(missing_ok=True)
        raise SheetNotKept(f"{exc} The sheet was not kept.") from None
