"""Synthetic clients for tests, benchmarks and the demo store. Nobody real is described.

Records come back in the ``validate`` JSON shape (NDTMS headers → ISO dates, codes,
numbers), built so that a complete record passes every rule.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import date, timedelta

from desktop import CMSID
from desktop.domain.datasets import Workflow, profile
from desktop.domain.spec import RefData

_LETTERS = "ABCDEFGHIJKLMNOPRSTW"
_POSTCODES = ("NR14 7UJ", "SR1 3AB", "NE8 1HH", "LS1 4DY", "M1 1AE", "B1 1BB", "ZZ99 3VZ")


def _codes(refdata: RefData, name: str, exclude_tags: tuple[str, ...] = ()) -> list[str]:
    return [
        c.code
        for c in refdata.lists[name].codes.values()
        if not any(t in c.tags for t in exclude_tags)
    ]


def _tagged(refdata: RefData, name: str, tag: str) -> str:
    return sorted(refdata.tagged(name, tag))[0]


def cjit_record(
    refdata: RefData, rng: random.Random, serial: int, today: date
) -> dict[str, object]:
    """A complete CJIT (dataset Q) episode that passes validation."""
    triaged = today - timedelta(days=rng.randint(60, 700))
    dob = triaged - timedelta(days=rng.randint(18 * 366, 60 * 365))
    postcode = rng.choice(_POSTCODES)
    parent = rng.choice(("Y", "N"))
    children = rng.randint(1, 3) if parent == "Y" else 0
    drug1 = rng.choice(_codes(refdata, "DRUG", ("none_second", "none_third")))
    rec: dict[str, object] = {
        "CLIENTID": f"c{serial:08d}",
        "FINITIAL": rng.choice(_LETTERS),
        "SINITIAL": rng.choice(_LETTERS),
        "DOB": dob.isoformat(),
        "SEX": rng.choice(("1", "2")),
        "ETHNIC": rng.choice(_codes(refdata, "ETHNIC")),
        "NATION": rng.choice(("GBR", "IRL", "POL", "ROU", "JAM")),
        "AGNCY": "CJ123",
        "CLIENT": f"R{serial:06d}",
        "EPISODID": f"e{serial:08d}",
        "CMSID": CMSID,
        "CONSENT": "Y",
        "PC": postcode,
        "DAT": "A12B",
        "UTLA": "E08000024",
        "REFLD": (triaged - timedelta(days=rng.randint(0, 3))).isoformat(),
        "CJRFLS": rng.choice(_codes(refdata, "CJRFLS")),
        "TRIAGED": triaged.isoformat(),
        "OFFENCE": rng.choice(_codes(refdata, "OFFENCE")),
        "SEXUALO": rng.choice(_codes(refdata, "SEXUALO")),
        "PREGNANT": "N",
        "RELIGION": rng.choice(_codes(refdata, "RELIGION")),
        "DISABLE1": "NN",
        "ALCDDAYS": rng.randint(0, 28),
        "ALCUNITS": rng.randint(0, 40),
        "HOUSING": rng.choice(_codes(refdata, "HOUSING")),
        "HOMELESS": rng.choice(("Y", "N")),
        "VETERAN": "N",
        "PARENT": parent,
        "CHILDWTH": children,
        "DRUG1": drug1,
        "ROUTE": rng.choice(("2", "3", "4")),
        "DRUG2": _tagged(refdata, "DRUG", "none_second"),
        "DRUG3": _tagged(refdata, "DRUG", "none_third"),
        "INJSTAT": rng.choice(("P", "N")),
        "NALOXISS": rng.choice(_codes(refdata, "NALOXISS")),
        "NALOXAD": rng.choice(("Y", "N")),
        "referrals": [],
    }
    if rec["CJRFLS"] in refdata.tagged("CJRFLS", "no_prior_event"):
        rec["REFLD"] = rec["TRIAGED"]  # no preceding event: the contact date (seed 001 REFLD)
    if parent == "Y":
        rec["PRNTSTAT"] = rng.choice(("11", "12", "13"))
    if children or parent == "Y":
        rec["EHCS"] = rng.choice(("1", "2", "6"))
    on_caseload = rng.random() < 0.7
    if on_caseload:
        start = triaged + timedelta(days=rng.randint(0, 14))
        rec["CPLANDT"] = start.isoformat()
        referrals = []
        for k in range(rng.randint(0, 2)):
            referrals.append(
                {
                    "REFERID": f"r{serial:08d}{k}",
                    "REFDATE": (start + timedelta(days=rng.randint(1, 20))).isoformat(),
                }
            )
        rec["referrals"] = referrals
        if rng.random() < 0.5:
            rec["DISD"] = (start + timedelta(days=rng.randint(25, 28))).isoformat()
            rec["CJDISRSN"] = rng.choice(_codes(refdata, "CJDISRSN_CASELOAD"))
    elif rng.random() < 0.8:
        rec["DISD"] = triaged.isoformat()
        rec["CJDISRSN"] = rng.choice(_codes(refdata, "CJDISRSN_PRIOR"))
    return rec


def secure_record(
    refdata: RefData, rng: random.Random, serial: int, today: date
) -> dict[str, object]:
    """A complete secure-setting (dataset R) episode that passes validation."""
    first = today - timedelta(days=rng.randint(200, 900))
    transferred = rng.random() < 0.3
    here = first + timedelta(days=rng.randint(1, 60)) if transferred else first
    triaged = here + timedelta(days=rng.randint(0, 3))
    dob = triaged - timedelta(days=rng.randint(19 * 366, 60 * 365))
    prisons = _codes(refdata, "PRISON", ("non_ndtms_secure",))
    rec: dict[str, object] = {
        "CLIENTID": f"c{serial:08d}",
        "FINITIAL": rng.choice(_LETTERS),
        "SINITIAL": rng.choice(_LETTERS),
        "DOB": dob.isoformat(),
        "SEX": rng.choice(("1", "2")),
        "ETHNIC": rng.choice(_codes(refdata, "ETHNIC")),
        "NATION": rng.choice(("GBR", "IRL", "POL")),
        "AGNCY": "L0001",
        "CLIENT": f"{rng.choice(_LETTERS)}{rng.randint(1000, 9999)}"
        f"{rng.choice(_LETTERS)}{rng.choice(_LETTERS)}",
        "EPISODID": f"e{serial:08d}",
        "CMSID": CMSID,
        "CONSENT": "Y",
        "PC": rng.choice(_POSTCODES[:-1]),
        "UTLA": "E08000024",
        "INTRCPTD": first.isoformat(),
        "RECPDT": here.isoformat(),
        "TRIAGED": triaged.isoformat(),
        "SEXUALO": "1",
        "PREGNANT": "N",
        "RELIGION": rng.choice(_codes(refdata, "RELIGION")),
        "DISABLE1": "NN",
        "HOUSING": rng.choice(_codes(refdata, "HOUSING")),
        "DOMVIC": rng.choice(_codes(refdata, "DOMVIC")),
        "DOMPER": rng.choice(_codes(refdata, "DOMPER")),
        "TSLPE": rng.choice(_codes(refdata, "TSLPE")),
        "VETERAN": "N",
        "PARENT": "N",
        "CHILDWTH": 0,
        "DRUG1": rng.choice(_codes(refdata, "DRUG", ("none_second", "none_third"))),
        "ALCDDAYS": rng.randint(0, 28),
        "ALCUNITS": rng.randint(0, 30),
        "INJSTAT": rng.choice(("C", "P", "N")),
        "AUDIT": rng.randint(0, 40),
        "HEPBSTAT": rng.choice(_codes(refdata, "HEPBSTAT")),
        "HEPCSTAT": rng.choice(_codes(refdata, "HEPCSTAT")),
        "HIVSTAT": rng.choice(_codes(refdata, "HIVSTAT")),
        "DUALDIAG": rng.choice(("Y", "N")),
        "MHTINT": rng.choice(("Y", "N")),
        "SEXWORK": "N",
        "interventions": [],
    }
    if transferred:
        rec["PRISON"] = rng.choice(prisons)
    modal = [c for c in _codes(refdata, "MODAL") if c not in refdata.tagged("MODAL", "ost")]
    start = triaged + timedelta(days=rng.randint(0, 5))
    end = start + timedelta(days=rng.randint(10, 60))
    discharged = rng.random() < 0.6
    intervention: dict[str, object] = {
        "MODID": f"m{serial:08d}0",
        "MODAL": rng.choice(modal),
        "MODST": start.isoformat(),
    }
    if discharged:
        intervention["MODEND"] = end.isoformat()
        rec["DISD"] = end.isoformat()
        rec["DISRSN"] = "80"
        rec["NPSUSE"] = "N"
        if rng.random() < 0.7:
            exit_day = end + timedelta(days=rng.randint(0, 10))
            rec.update(
                {
                    "EXITD": exit_day.isoformat(),
                    "EXITRSN": "R",
                    "RECONNECT": "Y",
                    "MHTXEXIT": "N",
                    "SENTENCED": "Y",
                    "THNALOX": "Y",
                    "REFHEPCTX": "N",
                    "LIVSCRN": "N",
                    "HOMELESSEXIT": "N",
                    "RTOAGNCY": _tagged(refdata, "RTOAGNCY", "none"),
                    "EXITDEST": "E08000024",
                }
            )
    rec["interventions"] = [intervention]
    return rec


def records(
    refdata: RefData, dataset_id: str, count: int, seed: int = 1, today: date | None = None
) -> Iterator[dict[str, object]]:
    """``count`` synthetic records of a dataset, the same for the same seed."""
    rng = random.Random(seed)
    day = today or date(2026, 11, 24)
    make = cjit_record if profile(dataset_id).workflow is Workflow.CJIT else secure_record
    for serial in range(1, count + 1):
        yield make(refdata, rng, serial, day)
