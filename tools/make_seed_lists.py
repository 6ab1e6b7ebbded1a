"""Write the code lists that come from the business definitions or are provisional.

Run once by hand when a list changes; the CSV files are the source the app reads.
Columns: code, label, definition, valid_from, valid_to, tags (space-separated meanings
that rules rely on, so that a replaced list keeps working when its codes differ).
"""

import csv
from pathlib import Path

OUT = Path(__file__).resolve().parent.parent / "refdata" / "codes"

LISTS: dict[str, list[tuple[str, str, str, str]]] = {
    # code, label, definition, tags
    "DISABILITY": [
        ("1", "Behaviour and emotional", "Times when the client lacks control over feelings or actions", ""),
        ("2", "Hearing", "Difficulty hearing, needs hearing aids or lip-reads", ""),
        ("3", "Manual dexterity", "Difficulty performing tasks with the hands", ""),
        ("4", "Learning disability", "Difficulty with memory, concentration, learning or understanding that began before 18", ""),
        ("5", "Mobility and gross motor", "Difficulty getting around without help or aids, or controlling arm, leg or head movement", ""),
        ("6", "Perception of physical danger", "Difficulty understanding that things, places or situations can be dangerous", ""),
        ("7", "Personal, self-care and continence", "Difficulty keeping clean and dressing as they would like", ""),
        ("8", "Progressive conditions and physical health", "An illness that limits what they can do and is getting worse (e.g. HIV, cancer, MS, fits)", ""),
        ("9", "Sight", "Difficulty seeing print or things at a distance", ""),
        ("10", "Speech", "Difficulty speaking or using language to make needs known", ""),
        ("XX", "Other", "Any other important health issue, including dementia or autism", ""),
        ("NN", "No disability", "", "none"),
        ("ZZ", "Not stated", "Asked, but the client declined to answer", "not_stated"),
    ],
    "HOUSING": [
        ("1", "Owns home", "", ""),
        ("2", "Rented, self-contained – private landlord", "", ""),
        ("3", "Rented, self-contained – social landlord (council or housing association)", "", ""),
        ("4", "Rented, shares facilities – private landlord", "Shares a kitchen or bathroom with others", ""),
        ("5", "Rented, shares facilities – social landlord (council or housing association)", "Shares a kitchen or bathroom with others", ""),
        ("6", "Other – university or college accommodation", "", ""),
        ("7", "Other – living with friends permanently", "", ""),
        ("8", "Other – living with family permanently", "", ""),
        ("9", "Other – supported accommodation", "Permanent supported housing, not a homelessness response", ""),
        ("10", "Other – healthcare setting", "For example a hospital or mental health unit", ""),
        ("11", "Other – accommodation tied to job (including Armed Forces)", "", ""),
        ("12", "Other – approved premises", "Formerly bail or probation hostels", ""),
        ("13", "Other – authorised Gypsy and Traveller site", "", ""),
        ("14", "No home of their own – with friends as a short-term guest", "Has their own bed space", "no_home"),
        ("15", "No home of their own – with family as a short-term guest", "Has their own bed space", "no_home"),
        ("16", "No home of their own – sofa surfing", "Sleeps on a different floor or sofa each night; no bed space", "no_home"),
        ("17", "No home of their own – rough sleeping", "", "no_home no_fixed_abode"),
        ("18", "No home of their own – squatting", "", "no_home"),
        ("19", "No home of their own – night or winter shelter", "", "no_home"),
        ("20", "No home of their own – bed and breakfast or hotel", "", "no_home"),
        ("21", "No home of their own – hostel", "", "no_home"),
        ("22", "No home of their own – supported accommodation", "Temporary, provided to relieve homelessness", "no_home"),
        ("23", "No home of their own – temporary housing", "Other temporary housing", "no_home"),
        ("24", "No home of their own – unauthorised Gypsy and Traveller encampment", "", "no_home"),
    ],
    "PRNTSTAT": [
        ("11", "All the children live with the client", "", "all"),
        ("12", "Some of the children live with the client", "", "some"),
        ("13", "None of the children live with the client", "", "none"),
        ("15", "Client declined to answer", "", "declined"),
    ],
    "EHCS": [
        ("1", "Early Help (family support)", "", ""),
        ("2", "Child in Need (local authority service)", "", ""),
        ("3", "Has a Child Protection Plan (local authority service)", "", ""),
        ("4", "Looked after child (local authority service)", "", ""),
        ("5", "None of the children are receiving any help", "", "none"),
        ("6", "Other relevant child or family support service", "", ""),
        ("7", "Not known", "", "not_known"),
        ("99", "Client declined to answer", "", "declined"),
    ],
    "CJDISRSN_PRIOR": [
        ("73", "No further intervention required", "Assessed; no further work with the team needed. No care plan", ""),
        ("1", "Did not want to engage", "Unwilling to engage, or the team could not engage them", ""),
        ("2", "Already case managed elsewhere", "By a structured treatment provider, another CJIT or offender management", ""),
        ("99", "Transferred – not in custody", "Referred on for structured treatment before a care plan was agreed", "transferred"),
        ("13", "Transferred – in custody", "Sentenced or remanded before a care plan was agreed", "transferred in_custody"),
        ("14", "Transferred to another CJIT area", "Moved to another CJIT area before a care plan was agreed", "transferred"),
        ("74", "Transferred – recommissioning transfer", "Moved to another CJIT because this service was decommissioned", "transferred"),
    ],
    "CJDISRSN_CASELOAD": [
        ("10", "Care plan objectives completed – drug free", "", "completed"),
        ("15", "Care plan objectives completed – alcohol free", "", "completed"),
        ("4", "Care plan objectives completed – occasional user", "", "completed"),
        ("99", "Transferred – not in custody", "Referred to a non-prison provider for further treatment", "transferred"),
        ("13", "Transferred – in custody", "Sentenced or remanded with continuation of treatment arranged", "transferred in_custody"),
        ("14", "Transferred to another CJIT area", "Moved with continuation of treatment arranged", "transferred"),
        ("74", "Transferred – recommissioning transfer", "", "transferred"),
        ("7", "Transferred to offender management", "No longer case managed by the CJIT", "transferred"),
        ("8", "Incomplete – dropped out", "Contact lost; use the date of last face-to-face contact (2 months without contact)", "incomplete"),
        ("12", "Incomplete – treatment withdrawn by provider", "", "incomplete"),
        ("11", "Incomplete – retained in custody", "In custody without confirmed continuation of care", "incomplete in_custody"),
        ("9", "Incomplete – client died", "", "incomplete died"),
    ],
    "DISRSN": [
        ("80", "Treatment completed – drug free", "", "completed"),
        ("81", "Treatment completed – alcohol free", "", "completed"),
        ("82", "Treatment completed – occasional user (not opiates or crack)", "", "completed"),
        ("83", "Transferred – not in custody", "Referred to a community provider with two-way communication", "transferred transferred_not_in_custody"),
        ("84", "Transferred – in custody", "Continuation of treatment arranged in another secure setting", "transferred transferred_in_custody"),
        ("74", "Transferred – recommissioning transfer", "", "transferred"),
        ("71", "Incomplete – onward referral offered and refused", "", "incomplete referral_refused"),
        ("85", "Incomplete – dropped out", "", "incomplete"),
        ("86", "Incomplete – treatment withdrawn by provider", "", "incomplete"),
        ("88", "Incomplete – treatment commencement declined by the client", "", "incomplete"),
        ("98", "Incomplete – client deported", "", "incomplete deported"),
        ("99", "Incomplete – client released from court", "", "incomplete released_from_court"),
        ("89", "Incomplete – client died", "", "incomplete died"),
    ],
    "EXITRSN": [
        ("T", "Transferred", "Transferred to another secure setting", "transferred"),
        ("R", "Released", "No longer in a secure setting", "released"),
        ("A", "Absconded", "Left the secure setting without permission", "absconded"),
        ("D", "Died", "Died while in the secure setting", "died"),
    ],
    "INJSTAT": [
        ("C", "Currently injecting", "", "current"),
        ("P", "Previously injected", "Has injected, but not currently (prisons: not in the 28 days before custody)", "previous"),
        ("N", "Never injected", "", "never"),
        ("Z", "Client declined to answer", "", "declined"),
    ],
    # National standards (NHS Data Dictionary); NDTMS use not confirmed.
    "ETHNIC": [
        ("A", "White – British", "", ""), ("B", "White – Irish", "", ""),
        ("C", "White – any other White background", "", ""),
        ("D", "Mixed – White and Black Caribbean", "", ""), ("E", "Mixed – White and Black African", "", ""),
        ("F", "Mixed – White and Asian", "", ""), ("G", "Mixed – any other mixed background", "", ""),
        ("H", "Asian or Asian British – Indian", "", ""), ("J", "Asian or Asian British – Pakistani", "", ""),
        ("K", "Asian or Asian British – Bangladeshi", "", ""), ("L", "Asian or Asian British – any other Asian background", "", ""),
        ("M", "Black or Black British – Caribbean", "", ""), ("N", "Black or Black British – African", "", ""),
        ("P", "Black or Black British – any other Black background", "", ""),
        ("R", "Other ethnic group – Chinese", "", ""), ("S", "Other ethnic group – any other ethnic group", "", ""),
        ("Z", "Not stated", "Client asked and declined to answer", "not_stated"),
        ("99", "Not known", "Client does not know", "not_known"),
    ],
    "RELIGION": [
        ("A", "Baha'i", "", ""), ("B", "Buddhist", "", ""), ("C", "Christian", "", ""), ("D", "Hindu", "", ""),
        ("E", "Jain", "", ""), ("F", "Jewish", "", ""), ("G", "Muslim", "", ""), ("H", "Pagan", "", ""),
        ("I", "Sikh", "", ""), ("J", "Zoroastrian", "", ""), ("K", "Other", "", ""), ("L", "None", "", ""),
        ("M", "Declines to disclose", "", "declined"), ("N", "Religion unknown", "", "not_known"),
    ],
    "SEXUALO": [
        ("1", "Heterosexual or straight", "", ""), ("2", "Gay or lesbian", "", ""), ("3", "Bisexual", "", ""),
        ("4", "Other sexual orientation", "", ""), ("U", "Client does not know or is not sure", "", ""),
        ("Z", "Not stated", "Client asked and declined to answer", "not_stated"), ("9", "Not known", "Not recorded", "not_known"),
    ],
    "SEX": [
        ("1", "Male", "", "male"), ("2", "Female", "", "female"),
        ("9", "Indeterminate", "Unable to be classified as male or female", ""),
        ("X", "Not known", "Not recorded", "not_known"),
    ],
    # Provisional: NDTMS codes not public; our own codes, replaceable.
    "CJRFLS": [
        ("1", "Voluntary – following a cell sweep", "", "voluntary"),
        ("2", "Voluntary – following release from prison", "", "voluntary prison_release"),
        ("3", "Voluntary – other (including self-referral)", "", "voluntary"),
        ("4", "Voluntary – liaison and diversion", "", "voluntary"),
        ("5", "Required assessment following a positive test", "", "required_assessment"),
        ("6", "Restriction on bail", "", ""),
        ("7", "Conditional caution", "", ""),
        ("8", "Assessment for a pre-sentence report (NPS)", "", ""),
        ("9", "Required by offender manager (e.g. DRR/ATR, licence)", "", "offender_manager"),
        ("10", "Requested by offender manager (post-statutory supervision)", "", "offender_manager"),
        ("11", "Referral by treatment provider (post-treatment support)", "", ""),
        ("12", "Other", "", ""),
    ],
    "OFFENCE": [
        ("1", "Shoplifting", "", ""), ("2", "Theft (other than shoplifting)", "", ""),
        ("3", "Theft from or of a vehicle", "", ""), ("4", "Burglary (dwelling)", "", ""),
        ("5", "Burglary (non-dwelling)", "", ""), ("6", "Robbery", "", ""),
        ("7", "Fraud or handling stolen goods", "", ""), ("8", "Begging", "", ""),
        ("9", "Possession of a controlled drug", "", ""), ("10", "Supply or intent to supply a controlled drug", "", ""),
        ("11", "Violence against the person", "", ""), ("12", "Criminal damage", "", ""),
        ("13", "Public order", "", ""), ("14", "Drink or drug driving", "", ""),
        ("15", "Breach of order or licence", "", ""), ("98", "Other offence", "", ""),
        ("99", "No offence (e.g. voluntary contact)", "", ""),
    ],
    "DRUG": [
        ("1101", "Heroin", "Code unverified", "opioid"), ("1105", "Methadone (illicit)", "", "opioid"),
        ("1106", "Buprenorphine (illicit)", "", "opioid"), ("1000", "Other opioids", "", "opioid"),
        ("2100", "Barbiturates", "", ""), ("2200", "Benzodiazepines", "", ""),
        ("3100", "Amphetamines (excluding ecstasy)", "", ""), ("3200", "Cocaine (excluding crack)", "", ""),
        ("3201", "Crack cocaine", "", "crack"), ("3406", "Ecstasy", "", ""),
        ("3500", "Synthetic cannabinoids (e.g. spice)", "", ""), ("3600", "Other new psychoactive substances", "", ""),
        ("4000", "Hallucinogens", "", ""), ("5000", "Cannabis", "", ""), ("6000", "Solvents", "", ""),
        ("7000", "Alcohol", "", "alcohol"), ("8200", "Major tranquillisers", "", ""),
        ("8300", "Anti-depressants", "", ""), ("8400", "Ketamine", "", ""), ("8500", "Gabapentinoids", "", ""),
        ("8799", "Other drugs", "", ""), ("9005", "Prescription drugs (misused)", "", ""),
        ("9996", "No second substance", "Use in problem substance 2 only", "none_second"),
        ("9997", "No third substance", "Use in problem substance 3 only", "none_third"),
    ],
    "ROUTE": [
        ("1", "Injecting", "", "inject"), ("2", "Sniffing", "", ""), ("3", "Smoking", "", ""),
        ("4", "Oral", "", ""), ("5", "Other", "", ""), ("Z", "Client declined to answer", "", "declined"),
    ],
    "NALOXISS": [
        ("1", "Yes – injectable naloxone", "", "yes"), ("2", "Yes – nasal naloxone", "", "yes"),
        ("3", "Yes – injectable and nasal naloxone", "", "yes"),
        ("4", "No – client already in possession of adequate naloxone", "", "no"),
        ("5", "No – offered and refused", "", "no"), ("6", "No – not offered", "", "no"),
        ("7", "No – not applicable (no opioid use)", "", "no"),
    ],
    "NALOXAD": [
        ("Y", "Yes", "", "yes"), ("N", "No", "", "no"), ("U", "Unknown", "", "not_known"),
        ("Z", "Client declined to answer", "", "declined"),
    ],
    "TSLPE": [
        ("1", "Currently in paid employment (before custody)", "", ""), ("2", "Less than 1 year", "", ""),
        ("3", "1 to 2 years", "", ""), ("4", "2 to 3 years", "", ""), ("5", "3 to 5 years", "", ""),
        ("6", "5 to 10 years", "", ""), ("7", "More than 10 years", "", ""),
        ("8", "Never been in paid employment", "", ""), ("Z", "Client declined to answer", "", "declined"),
    ],
    "DOMVIC": [
        ("Y", "Yes", "", "yes"), ("N", "No", "", "no"), ("Z", "Client declined to answer", "", "declined"),
        ("X", "Not appropriate to ask", "Not alone, language barrier, or staff not confident to ask", "not_asked"),
    ],
    "DOMPER": [
        ("Y", "Yes", "", "yes"), ("N", "No", "", "no"), ("Z", "Client declined to answer", "", "declined"),
        ("X", "Not appropriate to ask", "Not alone, language barrier, or staff not confident to ask", "not_asked"),
    ],
    "SEXWORK": [
        ("Y", "Yes", "", "yes"), ("N", "No", "", "no"), ("Z", "Client declined to answer", "", "declined"),
        ("X", "Not appropriate to ask", "", "not_asked"),
    ],
    "DUALDIAG": [
        ("Y", "Yes", "", "yes"), ("N", "No", "", "no"), ("Z", "Client declined to answer", "", "declined"),
    ],
    "MHTINT": [
        ("Y", "Yes", "", "yes"), ("N", "No", "", "no"), ("Z", "Client declined to answer", "", "declined"),
    ],
    "HEPBSTAT": [
        ("A", "Offered and accepted, not yet vaccinated", "", ""), ("B", "Offered and refused", "", ""),
        ("C", "Immunised already", "", ""), ("D", "Not offered", "", ""), ("E", "Acquired immunity", "", ""),
        ("F", "Vaccination course started", "", ""), ("G", "Vaccination course completed", "", ""),
    ],
    "HEPCSTAT": [
        ("A", "Offered and accepted, not yet tested", "", ""), ("B", "Offered and refused", "", ""),
        ("C", "Offered and tested", "", "tested"), ("D", "Not offered", "", ""),
    ],
    "HIVSTAT": [
        ("P", "Positive", "", "tested"), ("N", "Negative", "", "tested"),
        ("U", "Unknown (never tested)", "", "not_known"), ("Z", "Client declined to answer", "", "declined"),
    ],
    "RECONNECT": [
        ("Y", "Yes", "", "yes"), ("N", "No", "", "no"), ("R", "Offered and refused", "", "no"),
    ],
    "RTOAGNCY": [
        ("1", "Referred to a structured treatment provider", "", "structured referred"),
        ("2", "Referred to a structured treatment provider and recovery support", "", "structured recovery_support referred"),
        ("3", "Referred to recovery support services only", "", "recovery_support referred"),
        ("4", "No onward referral", "", "none"),
    ],
    "YESNO": [("Y", "Yes", "", "yes"), ("N", "No", "", "no")],
    "YESNO_DECLINED": [
        ("Y", "Yes", "", "yes"), ("N", "No", "", "no"), ("Z", "Client declined to answer", "", "declined"),
    ],
    "MODAL": [
        ("1", "Benzodiazepines detoxification", "", "pharmacological"),
        ("2", "Lofexidine", "", "pharmacological"),
        ("3", "Naltrexone", "", "pharmacological"),
        ("4", "Opioid re-induction", "", "pharmacological ost"),
        ("5", "Opioid reduction – methadone", "", "pharmacological ost"),
        ("6", "Opioid reduction – buprenorphine", "", "pharmacological ost"),
        ("7", "Opioid reduction – buprenorphine depot injection", "e.g. Buvidal", "pharmacological ost"),
        ("8", "Opioid maintenance – methadone", "", "pharmacological ost"),
        ("9", "Opioid maintenance – buprenorphine", "", "pharmacological ost"),
        ("10", "Opioid maintenance – buprenorphine depot injection", "e.g. Buvidal", "pharmacological ost"),
        ("11", "Alcohol – prescribing", "", "pharmacological"),
        ("12", "Psychosocial intervention – mental disorder", "", "psychosocial"),
        ("13", "Other structured psychosocial intervention", "", "psychosocial"),
        ("14", "Structured day programme", "", "psychosocial"),
        ("15", "Other structured intervention", "", "psychosocial"),
        ("16", "Alcohol – brief intervention", "Not reported on its own, without other structured treatment", "psychosocial"),
        ("17", "Facilitated access to mutual aid", "Not reported on its own, without other structured treatment", "psychosocial"),
        ("18", "Drug recovery wing (DRW)", "", "wing"),
        ("19", "Incentivised substance free living (ISFL)", "", "wing"),
    ],
}


def main() -> None:
    OUT.mkdir(parents=True, exist_ok=True)
    for name, rows in LISTS.items():
        with (OUT / f"{name}.csv").open("w", newline="", encoding="utf-8") as fh:
            writer = csv.writer(fh, lineterminator="\n")
            writer.writerow(["code", "label", "definition", "valid_from", "valid_to", "tags"])
            for code, label, definition, tags in rows:
                writer.writerow([code, label, definition, "", "", tags])


if __name__ == "__main__":
    main()
