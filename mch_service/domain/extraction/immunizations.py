"""Immunization -> treatment rows (a vaccine given: the newborn's hepatitis B vaccine).

Only ``status = completed`` is read (the view's filter); the dose's instant is
``occurrenceDateTime``. A vaccination is kept as a ``treatment`` row with its concept, so that
it sits beside the newborn's HBIG in the pregnancy record and the indicator reads.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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

VACCINES = ("hepb_vaccine",)
CONCEPTS_READ = frozenset(VACCINES)


def extract_immunization(extractor: Extractor, src: Source, row: ViewRow, out: Extracted) -> None:
    concepts = extractor.codes.concepts_of(row["codes"])
    vaccines = [c for c in concepts if c in CONCEPTS_READ]
    if not vaccines:
        add_unmapped(src, out, "vaccineCode", row["codes"])
        return
    day = extractor.day(row.get("when"))
    if day is None:
        add_issue(
            src,
            out,
            "missing_date",
            "Immunization.occurrence",
            "No occurrenceDateTime: the vaccination cannot be dated",
        )
        return
    at = extractor.instant(row.get("when"))
    if at is None:
        add_issue(
            src,
            out,
            "time_unknown",
            "Immunization.occurrence",
            "No time of day: the dose cannot be counted as given within 24 hours of birth",
        )
    for concept in vaccines:
        out.add(
            Treatment,
            {
                **fact_base(src, row.get("subject")),
                "concept": concept,
                "treated_date": day,
                "code": concepts[concept].code,
                "administered_at": at,
            },
        )
