"""Street/town codes (镇街): the unit of attribution, jurisdictions, filters and exports.

A street code reaches the service from senders (the address-street extension on
Patient.address) and from staff (jurisdictions, list filters). It is checked where it enters:
the shape of a code always (letters and digits, '.', '_', '-', at most 32, starting with a
letter or digit: a code is never text a spreadsheet would run, nor free text), and, when the
site lists its streets (``MCH_STREETS``), membership in that list. A sender's code that fails
is kept out of the street attribution and flagged for data quality (the record itself is valid
FHIR and is stored); a staff member's is refused.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

STREET_CODE = re.compile(r"[0-9A-Za-z][0-9A-Za-z._-]{0,31}")
# Area names of the indicator views that are not streets: the whole district (by residence),
# the non-residents (非户籍/流动) and the women with no usable address.
RESERVED_AREAS: frozenset[str] = frozenset({"district", "non_resident", "address_unknown"})


def street_problem(code: str, known: Iterable[str] = ()) -> str | None:
    """Why ``code`` is not a usable street code (None if it is). The message does not quote
    the code: it may be anything a sender wrote."""
    if not STREET_CODE.fullmatch(code):
        return (
            "A street code is 1-32 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit"
        )
    if code in RESERVED_AREAS:
        return "district, non_resident and address_unknown are area names, not street codes"
    listed = frozenset(known)
    if listed and code not in listed:
        return "The street code is not one of this district's streets (MCH_STREETS)"
    return None


# --- residence: is a woman's current address (现住址) in the district? --------------------

RESIDENT = "resident"
NON_RESIDENT = "non_resident"
UNKNOWN = "unknown"
RESIDENCES: tuple[str, ...] = (RESIDENT, NON_RESIDENT, UNKNOWN)


def residence_of(
    address: object,
    street_code: object,
    district_code: str,
    district_name: str,
    known_streets: Iterable[str] = (),
) -> str:
    """``resident``, ``non_resident`` or ``unknown`` for one Patient address
    (docs/indicator-rules.md, "Attribution").

    Resident: the address-street code is one of the district's streets (``MCH_STREETS``), or
    starts with the district's GB/T 2260 code (``MCH_DISTRICT_CODE``: a township code is the
    county code and three digits), or the address's ``district`` is the district's name or
    code. Non-resident: a usable address elsewhere (a ``district``, ``city`` or ``state``
    text, or a well-formed street code, that is not ours). Unknown: no address, or only free
    text lines.
    """
    if not isinstance(address, dict):
        return UNKNOWN
    code = street_code.strip() if isinstance(street_code, str) else ""
    if not STREET_CODE.fullmatch(code):
        code = ""  # not a code (street_unknown): says nothing about where she lives
    listed = frozenset(known_streets)
    if code and (code in listed or code.startswith(district_code)):
        return RESIDENT
    district = address.get("district")
    district_text = district.strip() if isinstance(district, str) else ""
    if district_text and (
        district_text in (district_code, district_name) or district_text.endswith(district_name)
    ):
        return RESIDENT
    elsewhere = [
        v.strip() for v in (address.get("city"), address.get("state")) if isinstance(v, str)
    ]
    if code or district_text or any(elsewhere):
        return NON_RESIDENT
    return UNKNOWN
