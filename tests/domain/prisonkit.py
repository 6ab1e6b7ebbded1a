"""A prison client's record at each step from reception to exit (dataset R, synthetic).

Each builder returns a new record in the ``validate`` JSON shape; the steps can be chained:
``released(discharged(treated(triaged(received()))))``. Nobody real is described.
"""

from __future__ import annotations

import copy
from datetime import date
from typing import Any

Raw = dict[str, Any]

TODAY = date(2026, 11, 24)
PRISON = "ACI"  # HMP Altcourse (PRISON list)
LOCAL_AUTHORITY = "E08000024"  # a UTLA
OUTSIDE_UK = "Z99999999"  # UTLA tag outside_uk
SECURE_HOSPITAL = "NNR"  # PRISON tag non_ndtms_secure
OST = "8"  # opioid maintenance – methadone (MODAL tag ost)
PSYCHOSOCIAL = "13"  # other structured psychosocial intervention


def received(**changes: object) -> Raw:
    """Received into custody here on 1 June 2026; not triaged yet."""
    rec: Raw = {
        "FINITIAL": "J",
        "SINITIAL": "B",
        "DOB": "1984-03-07",
        "SEX": "1",
        "ETHNIC": "A",
        "NATION": "GBR",
        "CLIENT": "A1234BC",
        "CONSENT": "Y",
        "PC": "NR14 7UJ",
        "UTLA": LOCAL_AUTHORITY,
        "INTRCPTD": "2026-06-01",
        "RECPDT": "2026-06-01",
        "interventions": [],
    }
    rec.update(changes)
    return rec


def triaged(rec: Raw, on: str = "2026-06-02") -> Raw:
    out = copy.deepcopy(rec)
    out.update(
        {
            "TRIAGED": on,
            "SEXUALO": "1",
            "PREGNANT": "N",
            "RELIGION": "A",
            "DISABLE1": "NN",
            "HOUSING": "1",
            "TSLPE": "1",
            "VETERAN": "N",
            "PARENT": "N",
            "CHILDWTH": 0,
            "DRUG1": "1101",
            "ALCDDAYS": 4,
            "ALCUNITS": 6,
            "INJSTAT": "P",
            "HEPBSTAT": "C",
            "HEPCSTAT": "C",
            "HIVSTAT": "N",
            "DUALDIAG": "N",
            "MHTINT": "N",
            "SEXWORK": "N",
        }
    )
    return out


def treated(rec: Raw, *starts: tuple[str, str]) -> Raw:
    """Two concurrent interventions by default: OST from 2 June, psychosocial from 5 June."""
    out = copy.deepcopy(rec)
    for modal, start in starts or ((OST, "2026-06-02"), (PSYCHOSOCIAL, "2026-06-05")):
        out["interventions"].append({"MODAL": modal, "MODST": start})
    return out


def discharged(
    rec: Raw, on: str = "2026-10-30", reason: str = "83", end_interventions: bool = True
) -> Raw:
    out = copy.deepcopy(rec)
    if end_interventions:
        for item in out["interventions"]:
            item.setdefault("MODEND", on)
    out.update({"DISD": on, "DISRSN": reason, "NPSUSE": "N"})
    if any(i["MODAL"] == OST for i in out["interventions"]):
        out["CLINREV"] = "Y"
    return out


def exited(rec: Raw, on: str = "2026-11-02", reason: str = "R", **changes: object) -> Raw:
    """Left this setting; the answers asked of everyone at exit are given."""
    out = copy.deepcopy(rec)
    out.update(
        {
            "EXITD": on,
            "EXITRSN": reason,
            "MHTXEXIT": "N",
            "SENTENCED": "Y",
            "REFHEPCTX": "N",
            "LIVSCRN": "N",
        }
    )
    out.update(changes)
    return {k: v for k, v in out.items() if v is not None}


def released(rec: Raw, referral: str = "1", on: str = "2026-11-02", **changes: object) -> Raw:
    """Released to the community with the answers asked on release."""
    values: dict[str, object] = {
        "EXITDEST": LOCAL_AUTHORITY,
        "RTOAGNCY": referral,
        "RECONNECT": "Y",
        "THNALOX": "Y",
        "HOMELESSEXIT": "N",
    }
    values.update(changes)
    return exited(rec, on, "R", **values)


def in_treatment() -> Raw:
    return treated(triaged(received()))


def with_ids(rec: Raw) -> Raw:
    """What the store fills in: technical ids, the agency code and the software version."""
    from desktop import CMSID

    out = copy.deepcopy(rec)
    out.setdefault("CLIENTID", "c1")
    out.setdefault("EPISODID", "e1")
    out.setdefault("AGNCY", "Z9999")
    out.setdefault("CMSID", CMSID)
    for n, item in enumerate(out["interventions"]):
        item.setdefault("MODID", f"m{n}")
    return out
