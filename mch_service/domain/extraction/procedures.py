"""Procedure -> the delivery (with its mode), a screening test done, a treatment given."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import TYPE_CHECKING, Any

from fhir_mappings.code_tables import CodeRow
from mch_service.domain.extraction.concept_groups import SCREENING_TESTS, TREATMENTS
from mch_service.domain.extraction.rows import (
    Extracted,
    Source,
    ViewRow,
    add_issue,
    add_unmapped,
    fact_base,
    local_ref,
)
from mch_service.domain.models import DeliveryRecord, LabResult, Treatment

if TYPE_CHECKING:
    from mch_service.domain.extract import Extractor

# Delivery concept -> mode, in precedence order (a caesarean also coded as a delivery is a
# caesarean); "delivery" alone says a delivery happened, not how.
DELIVERY_MODES: dict[str, str | None] = {
    "delivery_caesarean": "caesarean",
    "delivery_instrumental": "instrumental",
    "delivery_vaginal": "vaginal",
    "delivery": None,
}


@dataclass(frozen=True)
class Performed:
    """One dated Procedure being read."""

    src: Source
    out: Extracted
    base: dict[str, Any]
    day: date
    at: datetime | None = None  # the performed instant, when it has a time of day


ProcedureHandler = Callable[[Performed, str, CodeRow], None]


def extract_procedure(extractor: Extractor, src: Source, row: ViewRow, out: Extracted) -> None:
    concepts = extractor.codes.concepts_of(row["codes"])
    day = extractor.day(row.get("performed"))
    base = fact_base(src, row.get("subject"))
    if not concepts:
        add_unmapped(src, out, "code", row["codes"])
        return
    if day is None:
        add_issue(
            src,
            out,
            "missing_date",
            "Procedure.performed",
            "No performed date: the procedure cannot be placed in a pregnancy",
        )
        return
    mode = next((c for c in DELIVERY_MODES if c in concepts), None)
    if mode is not None:
        out.add(
            DeliveryRecord,
            {
                **base,
                "kind": "procedure",
                "event_date": day,
                "mode": DELIVERY_MODES[mode],
                "encounter_ref": local_ref(src.institution_id, row.get("encounter")),
                "outcome_code": None,
                "live": None,
                "still": None,
                "event_at": extractor.instant(row.get("performed")),
            },
        )
    performed = Performed(src, out, base, day, extractor.instant(row.get("performed")))
    for concept, code_row in concepts.items():
        handler = HANDLERS.get(concept)
        if handler is not None:
            handler(performed, concept, code_row)


def _test_done(performed: Performed, concept: str, code_row: CodeRow) -> None:
    """A screening test done (its result, if any, comes as an Observation)."""
    performed.out.add(
        LabResult,
        {
            **performed.base,
            "concept": concept,
            "test_date": performed.day,
            "result": None,
            "value": None,
            "unit": None,
            "source": "procedure",
            "method": code_row.value or None,
        },
    )


def _treatment(performed: Performed, concept: str, code_row: CodeRow) -> None:
    if code_row.value == "needs_indication":
        return  # a Procedure's reason is not read: only a medication record can say syphilis
    performed.out.add(
        Treatment,
        {
            **performed.base,
            "concept": concept,
            "treated_date": performed.day,
            "code": code_row.code,
            "administered_at": performed.at,
            "start_date": performed.day,
            "end_date": performed.day,
            "drug_class": code_row.value or None,
        },
    )


HANDLERS: dict[str, ProcedureHandler] = {
    **dict.fromkeys(SCREENING_TESTS, _test_done),
    **dict.fromkeys(TREATMENTS, _treatment),
}
CONCEPTS_READ = frozenset(HANDLERS) | frozenset(DELIVERY_MODES)
