"""The dataset specifications hold every field of the business definitions, in order."""

from __future__ import annotations

import pytest

from desktop.domain.spec import FieldType, Level, RefData, RequirementKind

# Every CSV header of the NDTMS CJIT business definitions (dataset Q) v4.2, in order.
CJIT_Q_HEADERS = (
    "CLIENTID FINITIAL SINITIAL DOB SEX ETHNIC NATION AGNCY CLIENT "
    "EPISODID CMSID CONSENT PC DAT UTLA REFLD CJRFLS TRIAGED OFFENCE PRISON SEXUALO PREGNANT "
    "RELIGION DISABLE1 DISABLE2 DISABLE3 ALCDDAYS ALCUNITS HOUSING HOMELESS VETERAN PARENT "
    "PRNTSTAT CHILDWTH EHCS EHCSC2 EHCSC3 DRUG1 ROUTE DRUG2 DRUG3 INJSTAT CPLANDT NALOXISS "
    "NALOXAD DISD CJDISRSN REFERID REFDATE"
).split()

# Every CSV header of the NDTMS secure settings adult business definitions (dataset R) v1.2.
SECURE_R_HEADERS = (
    "CLIENTID FINITIAL SINITIAL DOB SEX ETHNIC NATION AGNCY CLIENT "
    "EPISODID CMSID CONSENT PC UTLA INTRCPTD RECPDT PRISON TRIAGED SEXUALO PREGNANT RELIGION "
    "DISABLE1 DISABLE2 DISABLE3 HOUSING DOMVIC DOMPER TSLPE VETERAN PARENT PRNTSTAT CHILDWTH "
    "EHCS EHCS2 EHCS3 DRUG1 DRUG2 DRUG3 ALCDDAYS ALCUNITS INJSTAT AUDIT HEPBSTAT HEPCSTAT "
    "HEPCTSTD HIVSTAT HIVTESTDT LIVSCRN DUALDIAG MHTINT SEXWORK NPSUSE CLINREV DISD DISRSN "
    "RECONNECT MHTXEXIT SENTENCED THNALOX REFHEPCTX REFHEPCTXDT HOMELESSEXIT EXITD EXITRSN "
    "EXITDEST RTOAGNCY MODID MODAL MODST MODEND"
).split()


@pytest.mark.parametrize(
    ("dataset", "headers"), [("cjit-q", CJIT_Q_HEADERS), ("secure-r", SECURE_R_HEADERS)]
)
def test_every_business_definition_header_is_in_the_spec_in_order(
    refdata: RefData, dataset: str, headers: list[str]
) -> None:
    assert refdata.dataset(dataset).headers == tuple(headers)


def test_field_counts_match_the_readme(refdata: RefData) -> None:
    assert len(refdata.dataset("cjit-q").fields) == 49
    assert len(refdata.dataset("secure-r").fields) == 70


def test_reject_class_fields_cjit_q(refdata: RefData) -> None:
    """Dataset Q v4.2: 'MUST be completed. If not, the record will be rejected.' CONSENT
    is not among them: 'client must give consent before their information can be sent'."""
    spec = refdata.dataset("cjit-q")
    reject = {f.header for f in spec.fields if f.requirement.kind is RequirementKind.REJECT}
    expected = {"CLIENTID", "FINITIAL", "SINITIAL", "DOB", "SEX", "AGNCY", "CLIENT", "EPISODID",
                "CMSID", "DRUG1", "REFERID"}  # fmt: skip
    assert reject == expected
    assert spec.by_header["CONSENT"].requirement.kind is RequirementKind.REQUIRED
    dq = {f.header for f in spec.fields if f.requirement.kind is RequirementKind.DQ}
    assert dq == {"DAT", "REFLD", "TRIAGED", "REFDATE"}


def test_reject_class_fields_secure_r(refdata: RefData) -> None:
    """Dataset R v1.2: reject-class fields, and UTLA as a data-quality field. MODAL
    ('required as soon as the intervention is known') and CONSENT state no rejection."""
    spec = refdata.dataset("secure-r")
    reject = {f.header for f in spec.fields if f.requirement.kind is RequirementKind.REJECT}
    assert reject == {"CLIENTID", "FINITIAL", "SINITIAL", "DOB", "SEX", "AGNCY", "EPISODID",
                      "CMSID", "INTRCPTD", "RECPDT", "TRIAGED", "DRUG1", "MODID"}  # fmt: skip
    assert spec.by_header["UTLA"].requirement.kind is RequirementKind.DQ
    required = {f.header for f in spec.fields if f.requirement.kind is RequirementKind.REQUIRED}
    assert required == {"MODAL", "CONSENT"}


def test_repeating_groups(refdata: RefData) -> None:
    """REFERID/REFDATE repeat per referral (Q); MODID/MODAL/MODST/MODEND per intervention (R)."""
    q, r = refdata.dataset("cjit-q"), refdata.dataset("secure-r")
    assert [f.header for f in q.item_fields] == ["REFERID", "REFDATE"]
    assert {f.level for f in q.item_fields} == {Level.REFERRAL}
    assert [f.header for f in r.item_fields] == ["MODID", "MODAL", "MODST", "MODEND"]
    assert q.items_key == "referrals" and r.items_key == "interventions"


def test_every_field_has_help_and_a_known_section(refdata: RefData) -> None:
    for spec in refdata.datasets.values():
        sections = {s.id for s in spec.sections}
        for field in spec.fields:
            assert field.help and len(field.help) > 15, field.header
            assert field.section in sections


def test_coded_fields_name_existing_lists(refdata: RefData) -> None:
    for spec in refdata.datasets.values():
        for field in spec.fields:
            if field.type is FieldType.CODE:
                assert refdata.codes_for(field), field.header


def test_closure_reason_sets_match_appendix_e(refdata: RefData) -> None:
    """Dataset Q v4.2 appendix E: the two sets of case closure reasons."""
    assert list(refdata.lists["CJDISRSN_PRIOR"].codes) == ["73", "1", "2", "99", "13", "14", "74"]
    assert list(refdata.lists["CJDISRSN_CASELOAD"].codes) == [
        "10", "15", "4", "99", "13", "14", "74", "7", "8", "12", "11", "9"
    ]  # fmt: skip


def test_secure_discharge_and_exit_reasons_match_appendix_d(refdata: RefData) -> None:
    """Dataset R v1.2 appendix D: discharge reasons and exit reasons T/R/A/D."""
    assert set(refdata.lists["DISRSN"].codes) == {
        "80", "81", "82", "83", "84", "85", "86", "88", "89", "71", "74", "98", "99"
    }  # fmt: skip
    assert list(refdata.lists["EXITRSN"].codes) == ["T", "R", "A", "D"]
    assert list(refdata.lists["INJSTAT"].codes) == ["C", "P", "N", "Z"]


def test_safeguarding_and_disability_codes_match_the_appendices(refdata: RefData) -> None:
    """Dataset Q appendices A and C; dataset R appendices B and C; housing B/H (1–24)."""
    assert list(refdata.lists["PRNTSTAT"].codes) == ["11", "12", "13", "15"]
    assert list(refdata.lists["EHCS"].codes) == ["1", "2", "3", "4", "5", "6", "7", "99"]
    assert list(refdata.lists["DISABILITY"].codes) == [
        "1", "2", "3", "4", "5", "6", "7", "8", "9", "10", "XX", "NN", "ZZ"
    ]  # fmt: skip
    assert list(refdata.lists["HOUSING"].codes) == [str(n) for n in range(1, 25)]


def test_provisional_lists_are_marked(refdata: RefData) -> None:
    """Lists whose NDTMS codes are not public are marked provisional in MANIFEST.toml."""
    expected = {"CJRFLS", "OFFENCE", "DRUG", "ROUTE", "NALOXISS", "NALOXAD", "TSLPE", "DOMVIC",
                "DOMPER", "SEXWORK", "DUALDIAG", "MHTINT", "HEPBSTAT", "HEPCSTAT", "HIVSTAT",
                "RECONNECT", "RTOAGNCY", "YESNO", "YESNO_DECLINED", "MODAL", "DAT", "UTLA",
                "PRISON"}  # fmt: skip
    provisional = {n for n, cl in refdata.lists.items() if cl.provisional}
    assert provisional == expected
    confirmed = {n for n, cl in refdata.lists.items() if cl.status.value == "confirmed"}
    assert "CJDISRSN_PRIOR" in confirmed and "CJRFLS" not in confirmed
