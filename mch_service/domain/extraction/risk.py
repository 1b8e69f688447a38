"""RiskAssessment (and risk-colour Observations) -> risk_assessment rows: the five-colour
grading, most severe colour kept, purple (infectious disease) flagged beside it."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING, Any

from mch_service.domain.extraction.rows import (
    Extracted,
    Source,
    ViewRow,
    add_issue,
    add_unmapped,
    fact_base,
)
from mch_service.domain.models import RiskAssessmentFact

if TYPE_CHECKING:
    from mch_service.domain.extract import Extractor

SEVERITY = {"green": 0, "yellow": 1, "orange": 2, "red": 3}
# The code table concept that gives a coding its colour (value column).
RISK_COLOUR = "risk_colour"
CONCEPTS_READ = frozenset({RISK_COLOUR})


def add_colour(
    extractor: Extractor,
    src: Source,
    base: dict[str, Any],
    day: date,
    codings: list[Any],
    basis: str | None,
    out: Extracted,
) -> None:
    colours = {
        r.value
        for c in codings
        if isinstance(c, dict)
        for r in extractor.codes.lookup(c.get("system"), c.get("code"))
        if r.concept == RISK_COLOUR
    }
    if not colours:
        add_unmapped(src, out, "colour", codings)
        return
    severity = max((c for c in colours if c in SEVERITY), key=SEVERITY.__getitem__, default=None)
    out.add(
        RiskAssessmentFact,
        {
            **base,
            "assessed_date": day,
            "colour": severity,
            "purple": "purple" in colours,
            "basis": basis,
        },
    )


def extract_risk_assessment(
    extractor: Extractor, src: Source, row: ViewRow, out: Extracted
) -> None:
    day = extractor.day(row.get("occurrence"))
    if day is None:
        add_issue(
            src,
            out,
            "missing_date",
            "RiskAssessment.occurrence",
            "No occurrence date: the grading cannot be placed in a pregnancy",
        )
        return
    add_colour(
        extractor,
        src,
        fact_base(src, row.get("subject")),
        day,
        row["colours"],
        " ".join(row.get("basis") or []) or None,
        out,
    )
