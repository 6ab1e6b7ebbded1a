"""The printable sheet (month-end issue 6, item 6): "one A4 PDF page per episode, marked
confidential, for the paper file or a continuity-of-care handover"."""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

import pytest

from desktop.domain.spec import RefData
from desktop.export import pdf
from desktop.storage.store import Store, StoredEpisode
from tests.fixtures import MakeStore, synthetic_records
from tests.report import kit
from tests.report.pdftext import page_count, page_texts

PRINTED = datetime(2025, 4, 3, 9, 30)


class Stores:
    """One store per team type, made when first needed (a store keeps one dataset)."""

    def __init__(self, make_store: MakeStore) -> None:
        self.make_store = make_store
        self.open: dict[str, Store] = {}

    def __getitem__(self, dataset: str) -> Store:
        kind = "cjit" if dataset == "cjit-q" else "secure"
        if kind not in self.open:
            self.open[kind] = self.make_store(kind, name=f"{kind}.store")
        return self.open[kind]


@pytest.fixture
def store(make_store: MakeStore) -> Stores:
    return Stores(make_store)


def saved(
    stores: Stores, refdata: RefData, dataset: str, items: int, seed: int = 21
) -> StoredEpisode:
    """A synthetic episode with ``items`` referrals (Q) or interventions (R), saved and
    read back as the sheet command reads it."""
    store = stores[dataset]
    (rec,) = synthetic_records(1, dataset, seed=seed, refdata=refdata)
    key = refdata.datasets[dataset].items_key
    if dataset == "cjit-q":
        rec[key] = [{"REFDATE": f"2025-{1 + i % 12:02d}-{1 + i % 28:02d}"} for i in range(items)]
    else:
        rec[key] = [
            {"MODAL": str(1 + i % 19), "MODST": "2025-01-02", "MODEND": "2025-02-03"}
            for i in range(items)
        ]
    done = store.episodes.save(rec, dataset=dataset, client_name=kit.NAME)
    return store.episodes.load(done.episode_id)


def write(episode: StoredEpisode, refdata: RefData, path: Path) -> bytes:
    pdf.write_sheet_pdf(
        episode.raw,
        refdata.datasets[episode.dataset],
        refdata,
        path,
        agency="CJ123",
        client_name=episode.client_name,
        printed=PRINTED,
    )
    return path.read_bytes()


def row_numbers(episode: StoredEpisode, refdata: RefData) -> list[str]:
    """The numbers down the side of the items table, as laid out on the page."""
    page = pdf.sheet_pages(
        episode.raw, refdata.datasets[episode.dataset], refdata, agency="CJ123", printed=PRINTED
    )[0]
    return [
        op.text
        for op in page.ops
        if isinstance(op, pdf.Text) and op.style.color == pdf.MUTED and op.text.isdigit()
    ]


@pytest.mark.parametrize("dataset", ["cjit-q", "secure-r"])
def test_sheet_is_one_a4_page_marked_confidential_top_and_bottom(
    store: Stores, refdata: RefData, tmp_path: Path, dataset: str
) -> None:
    episode = saved(store, refdata, dataset, items=2)
    data = write(episode, refdata, tmp_path / "sheet.pdf")
    assert data.startswith(b"%PDF-")
    assert page_count(data) == 1
    assert re.findall(rb"/MediaBox \[0 0 (\d+)\.?\d* (\d+)", data) == [(b"595", b"842")]
    (text,) = page_texts(data)
    lines = text.split("\n")
    assert lines.count("CONFIDENTIAL — contains personal data") == 2
    page = pdf.sheet_pages(
        episode.raw, refdata.datasets[dataset], refdata, agency="CJ123", printed=PRINTED
    )[0]
    bands = [
        op for op in page.ops if isinstance(op, pdf.Text) and op.text.startswith("CONFIDENTIAL")
    ]
    assert [op.y < 60 for op in bands] == [True, False]
    assert all(op.y > pdf.PAGE_H - 60 for op in bands[1:])
    assert f"Client: {kit.NAME}" in lines


@pytest.mark.parametrize("dataset", ["cjit-q", "secure-r"])
def test_sheet_follows_the_sections_and_fields_of_the_dataset(
    store: Stores, refdata: RefData, tmp_path: Path, dataset: str
) -> None:
    """Laid out in the order and sections of the dataset spec, codes with their labels,
    dates as DD/MM/YYYY."""
    spec = refdata.datasets[dataset]
    episode = saved(store, refdata, dataset, items=2)
    (text,) = page_texts(write(episode, refdata, tmp_path / "sheet.pdf"))
    lines = text.split("\n")
    titles = [s.title for s in spec.sections if any(f.section == s.id for f in spec.fields)]
    positions = [lines.index(t) for t in titles]
    assert positions == sorted(positions)
    flat = text.replace("\n", " ")
    for f in spec.record_fields:
        assert f.label in flat, f.header
    sex = refdata.lists["SEX"].codes[str(episode.raw["SEX"])]
    assert f"{sex.label} ({sex.code})" in lines
    dob = datetime.strptime(str(episode.raw["DOB"]), "%Y-%m-%d")
    assert f"{dob:%d/%m/%Y}" in lines
    for f in spec.item_fields:
        assert f.label in flat, f.header


@pytest.mark.parametrize(("dataset", "items"), [("cjit-q", 12), ("secure-r", 12)])
def test_a_dozen_items_all_fit_on_the_page(
    store: Stores, refdata: RefData, tmp_path: Path, dataset: str, items: int
) -> None:
    """The font shrinks before anything is left out."""
    episode = saved(store, refdata, dataset, items=items)
    data = write(episode, refdata, tmp_path / "sheet.pdf")
    assert page_count(data) == 1
    (text,) = page_texts(data)
    assert "not shown here" not in text
    assert row_numbers(episode, refdata) == [str(n) for n in range(1, items + 1)]


@pytest.mark.parametrize(("dataset", "items"), [("cjit-q", 250), ("secure-r", 90)])
def test_sheet_is_one_page_even_with_very_many_items(
    store: Stores, refdata: RefData, tmp_path: Path, dataset: str, items: int
) -> None:
    """Issue 6 item 6: one page per episode, however many referrals or interventions. What
    cannot fit even at the smallest size is counted on the sheet, never silently lost."""
    episode = saved(store, refdata, dataset, items=items)
    data = write(episode, refdata, tmp_path / "sheet.pdf")
    assert page_count(data) == 1
    (text,) = page_texts(data)
    noun = refdata.datasets[dataset].items_key
    more = re.search(rf"and (\d+) more {noun} not shown here", text.replace("\n", " "))
    assert more is not None
    page = pdf.sheet_pages(
        episode.raw, refdata.datasets[dataset], refdata, agency="CJ123", printed=PRINTED
    )[0]
    shown = row_numbers(episode, refdata)
    assert len(shown) > 10
    assert shown == [str(n) for n in range(1, len(shown) + 1)]
    assert len(shown) + int(more.group(1)) == items
    bottom_band = min(
        op.y
        for op in page.ops
        if isinstance(op, pdf.Box) and op.fill == pdf.CONF_FILL and op.y > 400
    )
    assert all(
        op.y + op.h <= bottom_band
        for op in page.ops
        if isinstance(op, pdf.Text) and not op.text.startswith("CONFIDENTIAL")
    )


def test_the_name_is_on_the_page_but_not_in_the_file_properties(
    store: Stores, refdata: RefData, tmp_path: Path
) -> None:
    """The sheet shows the client's name (it is for the paper file), but the PDF's title
    and other properties, which file managers and mail programs show, do not."""
    episode = saved(store, refdata, "cjit-q", items=1)
    data = write(episode, refdata, tmp_path / "sheet.pdf")
    assert f"Client: {kit.NAME}" in page_texts(data)[0]
    assert b"Pathway episode sheet (confidential)" in data  # the title, as the XMP has it
    for encoding in ("utf-8", "utf-16-be"):
        assert kit.NAME.encode(encoding) not in data
