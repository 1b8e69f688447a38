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


def street_problem(code: str, known: Iterable[str] = ()) -> str | None:
    """Why ``code`` is not a usable street code (None if it is). The message does not quote
    the code: it may be anything a sender wrote."""
    if not STREET_CODE.fullmatch(code):
        return (
            "A street code is 1-32 letters, digits, '.', '_' or '-', starting with a letter "
            "or digit"
        )
    listed = frozenset(known)
    if listed and code not in listed:
        return "The street code is not one of this district's streets (MCH_STREETS)"
    return None
