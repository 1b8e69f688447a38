"""What a sender does about each data-quality rule: the ``what_to_do`` of the sender's view
(``GET /fhir/$data-quality``). The warning's own message says which element and which value;
this says, in one line, what fixes it. Rules not listed get ``GENERIC``."""

from __future__ import annotations

GENERIC = "Correct the record and send it again (an update of the same id)."

ADVICE: dict[str, str] = {
    # results and codes
    "result_as_text": "Send the result as valueCodeableConcept (SNOMED CT 10828004 positive / "
    "260385009 negative, or your LIS result code with a result_value row in your code table).",
    "result_unmapped": "Add a result_value row (value positive, negative or indeterminate) for "
    "each result code of your LIS to your code table; then ask the district to rebuild.",
    "result_not_coded": "Send a coded result (valueCodeableConcept) or an interpretation "
    "(POS / NEG) beside the number.",
    "result_missing": "Update the record with the result once it is known.",
    "code_system_typo": "Correct Coding.system to the URI the code tables use (named in the "
    "message).",
    "code_system_missing": "Send Coding.system with every code.",
    "risk_colour_unknown": "Send the colour as one of green, yellow, orange, red, purple in the "
    "pregnancy-risk-colour CodeSystem (a Chinese name belongs in display).",
    "codings_capped": "Send at most the codings that matter (the first ones are read).",
    "unmapped_codes_capped": "Map your local codes (code tables), or send fewer unknown codes.",
    # links
    "subject_missing": "Send subject (or patient) as a reference to the woman's Patient.",
    "subject_not_linked": "Refer to the woman as Patient/<id> of your own records.",
    "reference_unresolved": "Send the Patient (or other record) it names, or correct the "
    "reference.",
    # dates and times
    "time_without_offset": "Send times with their offset, e.g. 2025-03-10T08:05:00+08:00.",
    "missing_date": "Send the clinical date (effective, occurrence, performed).",
    "time_unknown": "Send the time of day with the date (birth, HBIG, vaccination).",
    "dating_conflict": "Check the gestational age or dates recorded; the earliest reliable "
    "dating (first-trimester ultrasound or LMP) is kept.",
    # implausible values
    "gestational_age_out_of_range": "Correct the gestational age (weeks or days, 0-45 weeks).",
    "haemoglobin_out_of_range": "Correct the value or its unit (g/L or g/dL).",
    "birth_weight_out_of_range": "Correct the value or its unit (g or kg).",
    "epds_out_of_range": "Send the EPDS total score (0-30).",
    # the woman
    "resident_id_check_digit": "Correct the resident ID number (身份证号): its last character "
    "fails the GB 11643 check.",
    "street_unknown": "Send a street code of the district's list (address-street extension).",
    "address_unknown": "Send her current address (现住址) with district and street code.",
    "delivery_before_booking": "Correct the booking date, or the pregnancy it belongs to.",
    "delivery_without_outcome": "Send the birth outcome (Condition Z37.x) with the delivery.",
}


def what_to_do(rule: str | None) -> str:
    return ADVICE.get(rule or "", GENERIC)
