"""MedicationAdministration, MedicationStatement, MedicationRequest -> treatment rows."""

from __future__ import annotations

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

CONCEPTS_READ = frozenset(TREATMENTS)


def extract_medication(extractor: Extractor, src: Source, row: ViewRow, out: Extracted) -> None:
    concepts = extractor.codes.concepts_of(row["codes"])
    treatments = [c for c in concepts if c in CONCEPTS_READ]
    if not treatments:
        add_unmapped(src, out, "medication", row["codes"])
        return
    day = extractor.day(row.get("when"))
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
    for concept in treatments:
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
