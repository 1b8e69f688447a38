"""Who a record is about: the resident ID number (GB 11643) and the woman key."""

from __future__ import annotations

from datetime import date

_WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
_CHECK = "10X98765432"


def resident_id_valid(value: str) -> bool:
    """GB 11643-1999: 17 digits (region, birth date, sequence) and an ISO 7064 MOD 11-2 check
    character. A number that fails is kept and flagged, never used to link institutions."""
    if len(value) != 18 or not value[:17].isdigit():
        return False
    try:
        date(int(value[6:10]), int(value[10:12]), int(value[12:14]))
    except ValueError:
        return False
    total = sum(int(d) * w for d, w in zip(value[:17], _WEIGHTS, strict=True))
    return _CHECK[total % 11] == value[17].upper()


def woman_key(resident_id_hash: str | None, patient_pk: int) -> str:
    """One woman across institutions when her resident ID is valid; else one institution's
    record of her (keyed by the store's key of its Patient: ids are scoped per sender, so two
    senders' Patient/123 are two women), which a later valid ID does not merge silently."""
    if resident_id_hash:
        return "rid:" + resident_id_hash[:40]
    return f"rec:{patient_pk}"
