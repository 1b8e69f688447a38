"""MedicationAdministration, MedicationStatement, MedicationRequest -> treatment rows.

A row keeps the regimen's period (docs/indicator-rules.md, "Treated"): a
MedicationStatement's or MedicationAdministration's effectivePeriod, a MedicationRequest's
dispense validity period or dosage bounds period; an open end means continuing. A dateTime
gives a one-day period. ``treated_date`` places the record in a pregnancy: the day it was
asserted (MedicationStatement.dateAsserted) or ordered (MedicationRequest.authoredOn), else
the start. A drug whose code-table row says ``needs_indication`` (ceftriaxone, erythromycin)
is a syphilis treatment only with a reasonCode meaning syphilis; without one no row is
written.
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

from mch_service.domain.extraction.concept_groups import TREATMENTS
from mch_service.domain.extraction.rows import (
    Extracted,
    Source,
    ViewRow,
    add_issue,
    add_unmapped,
    fact_base,
)
from mch_service.domain.models import Treatment

if TYPE_CHECKING:
    from mch_service.domain.extract import Extractor

SYPHILIS_TREATMENT = "syphilis_treatment"
NEEDS_INDICATION = "needs_indication"
SYPHILIS_INDICATION = "syphilis_diagnosis"  # the reasonCode concept that makes it count
CONCEPTS_READ = frozenset(TREATMENTS) | {SYPHILIS_INDICATION}


def _days(extractor: Extractor, values: object) -> list[date]:
    items = values if isinstance(values, list) else [values]
    return [d for v in items if (d := extractor.day(v)) is not None]


def _period(extractor: Extractor, row: ViewRow, day: date) -> tuple[date, date | None]:
    """(start, end) of the regimen; end None = open (continuing)."""
    starts = _days(extractor, row.get("period_start"))
    ends = _days(extractor, row.get("period_end"))
    periods = row.get("period_count")
    n_periods = len(periods) if isinstance(periods, list) else (1 if starts or ends else 0)
    if not starts and not ends:
        return day, day  # a dateTime: that one day
    start = min(starts) if starts else day
    if len(ends) < max(n_periods, 1):
        return start, None  # a period without an end: continuing
    return start, max(max(ends), start)


def extract_medication(extractor: Extractor, src: Source, row: ViewRow, out: Extracted) -> None:
    concepts = extractor.codes.concepts_of(row["codes"])
    treatments = [c for c in concepts if c in TREATMENTS]
    if not treatments:
        add_unmapped(src, out, "medication", row["codes"])
        return
    asserted = extractor.day(row.get("asserted"))
    when = extractor.day(row.get("when"))
    first_start = min(_days(extractor, row.get("period_start")), default=None)
    day = asserted or when or first_start
    if day is None:
        add_issue(
            src,
            out,
            "missing_date",
            f"{src.resource_type}.effective",
            "No date: the treatment cannot be placed in a pregnancy",
        )
        return
    at = extractor.instant(row.get("when"))
    if at is None and "hbig" in treatments:
        add_issue(
            src,
            out,
            "time_unknown",
            f"{src.resource_type}.effective",
            "No time of day: the newborn's HBIG cannot be counted as given within 12 hours of "
            "birth",
        )
    start, end = _period(extractor, row, when or first_start or day)
    reasons = extractor.codes.concepts_of(row.get("reason_codes") or [])
    for concept in treatments:
        code_row = concepts[concept]
        if (
            concept == SYPHILIS_TREATMENT
            and code_row.value == NEEDS_INDICATION
            and SYPHILIS_INDICATION not in reasons
        ):
            continue  # ceftriaxone for something else: not a syphilis treatment
        out.add(
            Treatment,
            {
                **fact_base(src, row.get("subject")),
                "concept": concept,
                "treated_date": day,
                "code": code_row.code,
                "start_date": start,
                "end_date": end,
                "drug_class": code_row.value or None,
                "administered_at": at,
            },
        )
