"""The monthly report as a PDF (counts only): a header with the scope of the counts, then
each measure's table, with its bars or its column chart, flowed down A4 pages with a running
header and a footer on each.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from desktop import APP_NAME, __version__
from desktop.domain.values import say_date
from desktop.export.pdf.layout import (
    CONTENT_W,
    INK,
    MARGIN,
    MUTED,
    PAGE_H,
    RULE,
    ZEBRA,
    Box,
    Flow,
    Page,
    Rule,
    Style,
    Text,
    drawing,
    line_height,
    text_height,
    text_width,
    write_pdf,
)
from desktop.export.report import Measure, Report, Row

COUNTS_ONLY = "Counts only — no client-level data"

# Colours: dark blue bars on white (contrast above 8:1); every bar carries its number, and
# rows that are not a real category (not recorded, not in the list) are hatched grey and
# say so in words, so nothing depends on colour alone.
BAR = "#1F4E79"
BAR_OTHER = "#5F6B76"
BANNER_FILL = "#FFF4CE"
BANNER_EDGE = "#8A6D00"

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


def _place_header(flow: Flow, m: Measure, cols: _Columns, height: float) -> None:
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
    flow: Flow,
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


def _place_column_chart(flow: Flow, m: Measure) -> None:
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


def _place_measure(flow: Flow, m: Measure) -> None:
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


def _report_header(report: Report, flow: Flow) -> None:
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
    with drawing():
        flow = Flow(first_top=40.0, top=REPORT_TOP, bottom=REPORT_BOTTOM)
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
