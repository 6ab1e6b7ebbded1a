"""PDFs on A4: the monthly report (counts only) and the printable sheet of one episode.

Both are drawn with Qt: :class:`QPdfWriter` and :class:`QPainter`, in points (1/72 inch)
from the top-left corner of the page. Drawing happens in two steps. First each page is
laid out as a list of simple operations (:class:`Text`, :class:`Box`, :class:`Rule`), so
the number of pages and every word on them are known before anything is written. Then
the operations are painted onto the PDF, or onto an image for a preview.

The file is written to a temporary file beside the target and renamed over it, so a
crash leaves either the old file or the whole new one.

The parts: ``layout`` (the page, the drawing operations, fonts and metrics, the flow down
the pages, painting and writing), ``report`` (the monthly report) and ``sheet`` (the episode
sheet, and saving it with its audit event). Only ``layout`` imports Qt.
"""

from desktop.export.pdf.layout import (
    CONTENT_W,
    FONTS,
    INK,
    MARGIN,
    MUTED,
    PAGE_H,
    PAGE_W,
    RULE,
    ZEBRA,
    Box,
    Flow,
    Op,
    Page,
    Rule,
    Style,
    Text,
    ensure_app,
    line_height,
    page_image,
    paint,
    pdf_bytes,
    text_height,
    text_width,
    write_pdf,
)
from desktop.export.pdf.report import (
    BANNER_EDGE,
    BANNER_FILL,
    BAR,
    BAR_OTHER,
    COUNTS_ONLY,
    REPORT_BOTTOM,
    REPORT_TOP,
    report_pages,
    report_title,
    write_report_pdf,
)
from desktop.export.pdf.sheet import (
    CONF_EDGE,
    CONF_FILL,
    CONFIDENTIAL,
    SECTION_FILL,
    SHEET_EVENT,
    SheetNotKept,
    note_printed,
    save_sheet,
    sheet_pages,
    show_value,
    write_sheet_pdf,
)

__all__ = [
    "BANNER_EDGE",
    "BANNER_FILL",
    "BAR",
    "BAR_OTHER",
    "CONFIDENTIAL",
    "CONF_EDGE",
    "CONF_FILL",
    "CONTENT_W",
    "COUNTS_ONLY",
    "FONTS",
    "INK",
    "MARGIN",
    "MUTED",
    "PAGE_H",
    "PAGE_W",
    "REPORT_BOTTOM",
    "REPORT_TOP",
    "RULE",
    "SECTION_FILL",
    "SHEET_EVENT",
    "ZEBRA",
    "Box",
    "Flow",
    "Op",
    "Page",
    "Rule",
    "SheetNotKept",
    "Style",
    "Text",
    "ensure_app",
    "line_height",
    "note_printed",
    "page_image",
    "paint",
    "pdf_bytes",
    "report_pages",
    "report_title",
    "save_sheet",
    "sheet_pages",
    "show_value",
    "text_height",
    "text_width",
    "write_pdf",
    "write_report_pdf",
    "write_sheet_pdf",
]
