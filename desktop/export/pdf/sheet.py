"""One episode's confidential sheet as a PDF: a single A4 page between two CONFIDENTIAL
bands, the fields in the dataset's sections with their values as a reader of the paper file
wants them, and the referrals or interventions as a small table. Saving a stored episode's
sheet notes in the audit trail who printed it, or the sheet is not kept.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from desktop import APP_NAME
from desktop.domain.spec import DatasetSpec, FieldSpec, FieldType, RefData
from desktop.domain.values import is_blank, parse_code, parse_date, say_date
from desktop.export.pdf.layout import (
    CONTENT_W,
    INK,
    MARGIN,
    MUTED,
    PAGE_H,
    ZEBRA,
    Box,
    Op,
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
from desktop.storage.errors import StoreError
from desktop.storage.store import Store

CONFIDENTIAL = "CONFIDENTIAL — contains personal data"
CONF_FILL = "#FDECEA"
CONF_EDGE = "#A4001D"
SECTION_FILL = "#E8EDF3"

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
    with drawing():
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
