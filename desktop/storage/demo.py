"""Demo stores of synthetic clients: for trying the window, for training, for benchmarks."""

from __future__ import annotations

from pathlib import Path

from desktop.domain.datasets import BY_KIND, KINDS
from desktop.domain.spec import RefData
from desktop.domain.synthetic import records as synthetic_records
from desktop.storage.db import new_id
from desktop.storage.store import Store

DEMO_USER = "demo"
DEMO_PASSWORD = "demo"
# Agency codes of the right shape (dataset Q: CJ and digits; R: a letter and four digits)
# that no real team holds.
DEMO_AGENCY = {kind: p.demo_agency for kind, p in BY_KIND.items()}
BATCH = 2000


def make_demo_store(
    path: Path,
    refdata: RefData,
    *,
    episodes: int,
    kind: str = "cjit",
    seed: int = 1,
    password: str = DEMO_PASSWORD,
) -> int:
    """Create ``path`` holding ``episodes`` synthetic episodes; return how many were made."""
    dataset = KINDS[kind]
    agency = DEMO_AGENCY[kind]
    spec = refdata.datasets[dataset]
    with Store.create(
        path,
        agency=agency,
        kind=kind,
        dat="A12B",
        user=DEMO_USER,
        password=password,
        refdata=refdata,
    ) as store:
        batch: list[dict[str, object]] = []
        for rec in synthetic_records(refdata, dataset, episodes, seed=seed):
            rec["CLIENTID"] = new_id()
            rec["EPISODID"] = new_id()
            items = rec.get(spec.items_key)
            for item in items if isinstance(items, list) else ():  # unique across laptops
                item[spec.item_fields[0].header] = new_id()
            rec["AGNCY"] = agency
            batch.append(rec)
            if len(batch) == BATCH:
                store.episodes.load_synthetic(batch, dataset)
                batch = []
        if batch:
            store.episodes.load_synthetic(batch, dataset)
    return episodes
