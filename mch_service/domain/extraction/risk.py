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
# The colours' Chinese names, which senders put in Coding.code by mistake.
COLOUR_NAMES = {
    "绿色": "green",
    "黄色": "yellow",
    "橙色": "orange",
    "红色": "red",
    "紫色": "purple",
    "绿": "green",
    "黄": "yellow",
    "橙": "orange",
    "红": "red",
    "紫": "purple",
}
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
        _unknown_colour(extractor, src, codings, out)
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


def _unknown_colour(extractor: Extractor, src: Source, codings: list[Any], out: Extracted) -> None:
    """A grading whose colour no table reads is not recorded: say which code and what to
    send (a Chinese colour name, 橙色, is a display, not a code)."""
    sent = [c for c in codings if isinstance(c, dict)]
    codes = ", ".join(repr(str(c.get("code"))) for c in sent[:5]) or "none"
    hints = [
        f"{c.get('code')} is {COLOUR_NAMES[str(c.get('code'))]!r}"
        for c in sent
        if str(c.get("code")) in COLOUR_NAMES
    ]
    add_issue(
        src,
        out,
        "risk_colour_unknown",
        "RiskAssessment.prediction.qualitativeRisk"
        if src.resource_type == "RiskAssessment"
        else "Observation.valueCodeableConcept",
        f"Risk colour code(s) {codes} are in no risk_colour row, so the grading is not "
        f"recorded; send one of green, yellow, orange, red, purple in "
        f"{extractor.canonical}/CodeSystem/pregnancy-risk-colour"
        + (f" ({'; '.join(hints)})" if hints else ""),
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
