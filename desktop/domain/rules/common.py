"""Rules shared by the CJIT (Q) and secure settings (R) datasets."""

from __future__ import annotations

from collections.abc import Iterator

from desktop.domain.rules import ERROR, INFO, WARNING, Check, Hit, rule, when
from desktop.domain.values import NO_FIXED_ABODE_POSTCODE, age_on, is_pseudo_postcode


def _age(check: Check, on_header: str) -> int | None:
    born, on = check.d("DOB"), check.d(on_header)
    if born is None or on is None:
        return None
    return age_on(born, on)


@rule("Q", "R")
def consent_refused_is_not_submitted(c: Check) -> Iterator[Hit]:
    """CONSENT: the client must consent before anything is sent to NDTMS.

    Source: dataset Q v4.2 and dataset R v1.2, field CONSENT; CJIT supplementary guidance
    (2018) FAQ — a client who does not consent is recorded with consent 'No' and is not
    submitted.
    """
    if c.is_("CONSENT", "no"):
        yield Hit(
            "CONSENT",
            INFO,
            "No consent to share with NDTMS: this episode is kept here but nothing about "
            "the client will be sent.",
        )


@rule("Q", "R")
def triage_not_before_birth(c: Check) -> Iterator[Hit]:
    """TRIAGED must not be before DOB (a contact cannot precede birth)."""
    born, triaged = c.d("DOB"), c.d("TRIAGED")
    if born and triaged and triaged < born:
        yield Hit(
            "TRIAGED", ERROR, f"{c.label('TRIAGED')} is before the date of birth ({when(born)})."
        )


@rule("Q", "R")
def client_age_plausible(c: Check) -> Iterator[Hit]:
    """Age at triage should be plausible: 10 to 100 (local check of DOB typing errors).

    Dataset R applies to adults (secure settings with populations aged 18 and over), so
    an age under 18 there is flagged too.
    """
    age = _age(c, "TRIAGED")
    if age is None:
        return
    if age < 10 or age > 100:
        yield Hit("DOB", WARNING, f"The client would be {age} at triage; check the date of birth.")
    elif c.spec.letter == "R" and age < 18:
        yield Hit(
            "DOB",
            WARNING,
            f"The client would be {age} at triage; this dataset is for adults (18 and over).",
        )


@rule("Q", "R")
def disability_2_3_blank_when_none_or_not_stated(c: Check) -> Iterator[Hit]:
    """DISABLE2 and DISABLE3 are left blank when DISABLE1 is 'no disability' or 'not stated'.

    Source: dataset Q v4.2 field DISABLE1 / appendix A; dataset R v1.2 field DISABLE1 /
    appendix B.
    """
    if c.is_("DISABLE1", "none") or c.is_("DISABLE1", "not_stated"):
        for header in ("DISABLE2", "DISABLE3"):
            if c.has(header):
                yield Hit(
                    header,
                    WARNING,
                    f"Leave {c.label(header)} blank: disability 1 is {c.code_label('DISABLE1')}.",
                )


@rule("Q", "R")
def disabilities_listed_in_order(c: Check) -> Iterator[Hit]:
    """DISABLE2/3 hold further disabilities: no repeats, no gap, no 'none' after the first.

    Source: dataset Q v4.2 / dataset R v1.2 fields DISABLE2 and DISABLE3 ("if the client
    has no second disability then this field should be left blank").
    """
    values = [c.s(h) for h in ("DISABLE1", "DISABLE2", "DISABLE3")]
    if values[2] and not values[1]:
        yield Hit("DISABLE3", WARNING, "Disability 3 is filled in but disability 2 is blank.")
    for index, header in ((1, "DISABLE2"), (2, "DISABLE3")):
        value = values[index]
        if not value:
            continue
        if value in values[:index]:
            yield Hit(header, WARNING, f"{c.label(header)} repeats an earlier disability.")
        elif c.is_(header, "none") or c.is_(header, "not_stated"):
            yield Hit(
                header,
                WARNING,
                f"{c.code_label(header)} belongs in disability 1 only; "
                f"leave {c.label(header)} blank.",
            )


@rule("Q", "R")
def prntstat_only_when_parent(c: Check) -> Iterator[Hit]:
    """PRNTSTAT is answered only when PARENT is yes (appendix C of datasets Q and R)."""
    if c.has("PRNTSTAT") and c.has("PARENT") and not c.is_("PARENT", "yes"):
        yield Hit(
            "PRNTSTAT",
            WARNING,
            "Only answer whether the children live with the client when they have parental "
            "responsibility.",
        )


def _children_involved(c: Check) -> bool | None:
    """True/False when the answers settle whether EHCS applies; None when not yet known."""
    children = c.n("CHILDWTH")
    if c.is_("PARENT", "yes") or (children is not None and 0 < children < 98):
        return True
    if c.is_("PARENT", "no") and children == 0:
        return False
    return None


def _ehcs_headers(c: Check) -> tuple[str, str, str]:
    if "EHCSC2" in c.spec.by_header:
        return ("EHCS", "EHCSC2", "EHCSC3")
    return ("EHCS", "EHCS2", "EHCS3")


@rule("Q", "R")
def ehcs_asked_when_children(c: Check) -> Iterator[Hit]:
    """EHCS is completed when PARENT is yes or children under 18 live with the client.

    Source: dataset Q v4.2 appendix C (EHCSC1/2/3); dataset R v1.2 appendix C (EHCS1/2/3).
    The question applies only to those children, so it is left blank otherwise.
    """
    involved = _children_involved(c)
    first = _ehcs_headers(c)[0]
    if involved is True and not c.has(first):
        yield Hit(
            first,
            WARNING,
            "Record what help the children receive: the client has parental responsibility "
            "or children live with them.",
        )
    elif involved is False and c.has(first):
        yield Hit(
            first,
            WARNING,
            "Leave this blank: the client has no parental responsibility and no children "
            "live with them.",
        )


@rule("Q", "R")
def ehcs_2_3_blank_when_none_or_declined(c: Check) -> Iterator[Hit]:
    """EHCS2/3 are blank when EHCS is 'none of the children receive help' or 'declined'.

    Source: dataset Q v4.2 field EHCS (EHCSC2/EHCSC3); dataset R v1.2 field EHCS (EHCS2/EHCS3).
    """
    first, second, third = _ehcs_headers(c)
    if c.is_(first, "none") or c.is_(first, "declined"):
        for header in (second, third):
            if c.has(header):
                yield Hit(
                    header,
                    WARNING,
                    f"Leave {c.label(header)} blank: the first answer is {c.code_label(first)}.",
                )
    if c.has(third) and not c.has(second):
        yield Hit(third, WARNING, f"{c.label(third)} is filled in but {c.label(second)} is blank.")


@rule("Q", "R")
def pseudo_postcode_for_nfa_or_abroad(c: Check) -> Iterator[Hit]:
    """No fixed abode or resident abroad is recorded as ZZ99 3VZ (datasets Q and R, field PC)."""
    postcode = c.s("PC")
    if postcode and is_pseudo_postcode(postcode) and postcode != NO_FIXED_ABODE_POSTCODE:
        yield Hit(
            "PC",
            WARNING,
            "For no fixed abode or living outside the UK, NDTMS expects "
            f"{NO_FIXED_ABODE_POSTCODE}.",
        )


@rule("Q", "R")
def problem_substances_consistent(c: Check) -> Iterator[Hit]:
    """DRUG2/DRUG3 are further substances: not a repeat of an earlier one, no gap.

    Source: datasets Q and R, fields DRUG2 and DRUG3; CJIT supplementary guidance (2018)
    FAQ: alcohol-only clients are recorded with 'no second' and 'no third' substance.
    """
    first, second, third = c.s("DRUG1"), c.s("DRUG2"), c.s("DRUG3")
    if c.is_("DRUG1", "none_second") or c.is_("DRUG1", "none_third"):
        yield Hit("DRUG1", ERROR, "Problem substance 1 must be a substance.")
    if second and c.is_("DRUG2", "none_third"):
        yield Hit("DRUG2", WARNING, "Use 'No second substance' here, not 'No third substance'.")
    if third and c.is_("DRUG3", "none_second"):
        yield Hit("DRUG3", WARNING, "Use 'No third substance' here, not 'No second substance'.")
    if second and second == first:
        yield Hit("DRUG2", WARNING, "Problem substance 2 repeats substance 1.")
    if third and third in (first, second) and not c.is_("DRUG3", "none_third"):
        yield Hit("DRUG3", WARNING, "Problem substance 3 repeats an earlier substance.")
    no_second = not second or c.is_("DRUG2", "none_second")
    if third and no_second and not c.is_("DRUG3", "none_third"):
        yield Hit("DRUG3", WARNING, "A third substance is recorded without a second.")


@rule("Q")
def route_matches_injecting_status(c: Check) -> Iterator[Hit]:
    """ROUTE 'injecting' for substance 1 contradicts INJSTAT 'never injected' (dataset Q)."""
    if c.is_("ROUTE", "inject") and c.is_("INJSTAT", "never"):
        yield Hit(
            "INJSTAT",
            WARNING,
            "Substance 1 is injected, but the injecting status says 'never injected'.",
        )
