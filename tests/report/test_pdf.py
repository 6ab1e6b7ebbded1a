"""The monthly report as a PDF (month-end issue 6, item 5: "PDF headed with agency and
period", charts with a table beside each, no client-level data)."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from desktop.domain.period import Period
from desktop.domain.spec import RefData
from desktop.export import pdf
from desktop.export.report import (
    NOT_RECORDED,
    Measure,
    Report,
    Row,
    monthly_report,
)
from desktop.storage.store import SavedEpisode
from tests.fixtures import MakeStore
from tests.report import kit
from tests.report.pdftext import page_count, page_texts

MARCH_2025 = Period(2025, 3)


@pytest.fixture
def marked(make_store: MakeStore, refdata: RefData) -> tuple[Report, list[SavedEpisode]]:
    """The CJIT fixture with a name, notes and a client reference on every client."""
    store = make_store("cjit", name="cjit.store")
    saved = kit.fill_cjit(store, refdata, markers=True)
    return monthly_report(store, MARCH_2025, generated=kit.GENERATED), saved


def test_report_pdf_is_a4_with_every_laid_out_page(
    marked: tuple[Report, list[SavedEpisode]], tmp_path: Path
) -> None:
    """The file is a PDF of A4 pages; each page is numbered 'Page n of N' in its footer."""
    report, _ = marked
    out = tmp_path / "march.pdf"
    pages = pdf.write_report_pdf(report, out)
    data = out.read_bytes()
    assert data.startswith(b"%PDF-")
    assert pages == len(pdf.report_pages(report)) >= 2
    assert page_count(data) == pages
    assert re.findall(rb"/MediaBox \[0 0 (\d+)\.?\d* (\d+)", data) == [(b"595", b"842")] * pages
    texts = page_texts(data)
    for number, text in enumerate(texts, start=1):
        assert f"Page {number} of {pages}" in text
        assert "Counts only — no client-level data" in text


def test_report_pdf_is_headed_with_agency_dataset_and_period(
    marked: tuple[Report, list[SavedEpisode]], tmp_path: Path
) -> None:
    """Issue 6 item 5: "PDF headed with agency and period"; the generated date too."""
    report, _ = marked
    out = tmp_path / "march.pdf"
    pdf.write_report_pdf(report, out)
    first = page_texts(out.read_bytes())[0]
    assert "Monthly report: March 2025" in first
    assert "NDTMS CJIT (dataset Q) · agency CJ123" in first
    assert "Period 1 March 2025 to 31 March 2025 · generated 3 April 2025 at 09:30" in first
    assert "whatever the client's NDTMS consent" in first.replace("\n", " ")


def test_report_pdf_has_no_client_level_data(
    marked: tuple[Report, list[SavedEpisode]], tmp_path: Path
) -> None:
    """Issue 6 item 5: no client-level data. The text drawn on every page (read back from
    the PDF) holds the counts and labels, and none of the names, notes, references or ids
    seeded into the store; neither do the file's own bytes (its properties)."""
    report, saved = marked
    out = tmp_path / "march.pdf"
    pdf.write_report_pdf(report, out)
    data = out.read_bytes()
    text = "\n".join(page_texts(data))
    flat = text.replace("\n", "")
    assert "Contacts assessed" in text
    assert "Voluntary – following a cell sweep" in text
    secrets = [kit.NAME, kit.CLIENT_NOTES, kit.EPISODE_NOTES, kit.CLIENT_REF, "MARKER"]
    secrets += [s.client_id for s in saved] + [s.episode_id for s in saved]
    for secret in secrets:
        assert secret.lower() not in text.lower(), secret
        assert secret.lower() not in flat.lower(), secret
        for encoding in ("utf-8", "utf-16-be"):
            assert secret.encode(encoding) not in data, secret


def test_each_measure_has_a_table_and_bars_with_their_numbers(
    marked: tuple[Report, list[SavedEpisode]],
) -> None:
    """Issue 6 item 5: a chart beside each table. Bar lengths are in proportion to the
    counts, each bar carries its number, and rows that are not a real category are hatched
    and named, so nothing is told by colour alone."""
    report, _ = marked
    pages = pdf.report_pages(report)
    ops = [op for page in pages for op in page.ops]
    texts = [op.text for op in ops if isinstance(op, pdf.Text)]
    for measure in report.measures:
        assert measure.title in texts
        for row in measure.rows:
            assert row.label in texts
    routes = report.measure("routes_month")
    start = next(i for i, op in enumerate(ops) if getattr(op, "text", "") == routes.title)
    end = next(i for i, op in enumerate(ops) if getattr(op, "text", "") == report.measures[2].title)
    bars = [
        op
        for op in ops[start:end]
        if isinstance(op, pdf.Box) and op.fill in (pdf.BAR, pdf.BAR_OTHER)
    ]
    assert len(bars) == sum(1 for r in routes.rows if r.counts[0])
    sweep, other, unknown, blank = bars
    assert sweep.w == pytest.approx(2 * other.w)
    assert unknown.hatch and blank.hatch and not sweep.hatch
    assert unknown.fill == blank.fill == pdf.BAR_OTHER
    assert texts.count(NOT_RECORDED) >= 1


def test_a_long_measure_continues_on_the_next_page(refdata: RefData, tmp_path: Path) -> None:
    """Page breaks: a table too long for one page goes on over the next, says it is
    continued, repeats its column headings, and loses no row."""
    rows = tuple(Row(f"Category number {i}", (i,), code=str(i)) for i in range(1, 121))
    long = Measure("long", "A long measure", "Every row must appear once.", ("Count",), rows)
    report = Report(
        agency="CJ123",
        dataset="cjit-q",
        dataset_title="NDTMS CJIT (dataset Q)",
        period=MARCH_2025,
        generated=datetime(2025, 4, 3, 9, 30),
        episodes=0,
        unreadable=(),
        measures=(long,),
    )
    out = tmp_path / "long.pdf"
    pages = pdf.write_report_pdf(report, out)
    texts = page_texts(out.read_bytes())
    assert pages == page_count(out.read_bytes()) == len(texts) >= 3
    lines = "\n".join(texts).split("\n")
    for i in range(1, 121):
        assert lines.count(f"Category number {i}") == 1
    assert all("A long measure (continued)" in t for t in texts[1:])
    assert all("Count" in t.split("\n") for t in texts)
    for page in pdf.report_pages(report):
        for op in page.ops:
            if isinstance(op, pdf.Text) and op.text.startswith("Category"):
                assert op.y >= pdf.REPORT_TOP and op.y + op.h <= pdf.REPORT_BOTTOM + 0.01


def test_an_existing_pdf_is_replaced_whole(
    marked: tuple[Report, list[SavedEpisode]], tmp_path: Path
) -> None:
    """Safe writing: the new file replaces the old in one rename; no temporary file stays."""
    report, _ = marked
    out = tmp_path / "reports" / "march.pdf"
    out.parent.mkdir()
    out.write_bytes(b"an older report")
    pdf.write_report_pdf(report, out)
    assert out.read_bytes().startswith(b"%PDF-")
    assert sorted(p.name for p in out.parent.iterdir()) == ["march.pdf"]
