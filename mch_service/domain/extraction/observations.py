"""Observation -> dating, lab result, newborn and risk rows, by concept.

``HANDLERS`` is the concept -> handler table: each concept an Observation's code can mean has
one function that writes its row (or flags an impossible value and writes none). A concept
not in the table is recognised but not an Observation fact (a delivery code, say).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import TYPE_CHECKING, Any

from fhir_mappings.code_tables import CodeRow
from mch_service.domain.extraction.concept_groups import SCREENING_TESTS
from mch_service.domain.extraction.risk import add_colour
from mch_service.domain.extraction.rows import (
    Extracted,
    Source,
    ViewRow,
    add_issue,
    add_unmapped,
    fact_base,
    local_ref,
)
from mch_service.domain.models import DatingObservation, LabResult, NewbornObservation

if TYPE_CHECKING:
    from mch_service.domain.extract import Extractor

# Plausibility (docs/domain.md): beyond these, a value is an error, not a patient.
GA_MAX_DAYS = 45 * 7
HB_RANGE_G_PER_L = (20.0, 250.0)
EPDS_RANGE = (0.0, 30.0)  # ten items scored 0-3
BIRTH_WEIGHT_RANGE_G = (200.0, 7000.0)
# The code table concept that reads a coded result (value column: positive, negative, ...).
RESULT_VALUE = "result_value"


@dataclass(frozen=True)
class Observed:
    """One dated Observation being read."""

    extractor: Extractor
    src: Source
    row: ViewRow
    out: Extracted
    base: dict[str, Any]
    day: date

    def issue(self, rule: str, message: str) -> None:
        add_issue(self.src, self.out, rule, "Observation.valueQuantity", message)


ObservationHandler = Callable[[Observed, str, CodeRow], None]


def extract_observation(extractor: Extractor, src: Source, row: ViewRow, out: Extracted) -> None:
    concepts = extractor.codes.concepts_of(row["codes"])
    day = extractor.day(row.get("effective")) or extractor.day(row.get("issued"))
    base = fact_base(src, row.get("subject"))
    if not concepts:
        add_unmapped(src, out, "code", row["codes"])
        return
    if day is None:
        add_issue(
            src,
            out,
            "missing_date",
            "Observation.effective",
            "No effective date: the result cannot be placed in a pregnancy",
        )
        return
    observed = Observed(extractor, src, row, out, base, day)
    for concept, code_row in concepts.items():
        handler = HANDLERS.get(concept)
        if handler is not None:
            handler(observed, concept, code_row)


# -- dating ---------------------------------------------------------------------------------


def _dating(observed: Observed, kind: str, **values: Any) -> None:
    observed.out.add(
        DatingObservation,
        {
            **observed.base,
            "kind": kind,
            "observed_date": observed.day,
            "value_date": None,
            "ga_days": None,
            "gravida": None,
            **values,
        },
    )


def _dating_date(observed: Observed, concept: str, code_row: CodeRow) -> None:
    """LMP or EDD: the date is the value."""
    value_day = observed.extractor.day(observed.row.get("value_datetime"))
    if value_day is not None:
        _dating(observed, concept, value_date=value_day)


def _gestational_age(observed: Observed, concept: str, code_row: CodeRow) -> None:
    ga = _ga_days(observed.row, code_row.unit)
    if ga is None:
        return
    if not 0 <= ga <= GA_MAX_DAYS:
        observed.issue(
            "gestational_age_out_of_range",
            f"Gestational age of {ga // 7}+{ga % 7} weeks is impossible; "
            "the record is kept out of the indicators",
        )
        return
    _dating(observed, concept, ga_days=ga)


def _gravida(observed: Observed, concept: str, code_row: CodeRow) -> None:
    value = observed.row.get("value_integer") or observed.row.get("value_quantity")
    _dating(observed, concept, gravida=int(value) if value else None)


# -- laboratory -----------------------------------------------------------------------------


def _lab(
    observed: Observed,
    concept: str,
    result: str | None,
    value: float | None,
    unit: str | None,
    method: str | None = None,
) -> None:
    observed.out.add(
        LabResult,
        {
            **observed.base,
            "concept": concept,
            "test_date": observed.day,
            "result": result,
            "value": value,
            "unit": unit,
            "source": "observation",
            "method": method,
        },
    )


def _screening_result(observed: Observed, concept: str, code_row: CodeRow) -> None:
    # the code table's value column qualifies the test: confirmatory, treponemal, ...
    result = _result(observed.extractor, observed.row)
    if result is None:
        _unknown_result(observed, concept)
    _lab(observed, concept, result, None, None, code_row.value or None)


_CODED_RESULT = (
    "valueCodeableConcept with a coded result (SNOMED CT 10828004 positive / 260385009 "
    "negative, or your laboratory's result code mapped by a result_value row of your code "
    "table)"
)


def _unknown_result(observed: Observed, concept: str) -> None:
    """A test whose result the service cannot read is stored with result unknown: say why,
    never silently (issue 15). Unrecognised result codes go to the unmapped-codes report."""
    row, src, out = observed.row, observed.src, observed.out
    value_codes = [c for c in row.get("value_codes") or [] if isinstance(c, dict)]
    interpretation = [c for c in row.get("interpretation") or [] if isinstance(c, dict)]
    coded = value_codes or interpretation
    if coded:
        element = "value" if value_codes else "interpretation"
        add_unmapped(src, out, element, coded)
        codes = ", ".join(f"{c.get('system') or '(no system)'}|{c.get('code')}" for c in coded[:5])
        add_issue(
            src,
            out,
            "result_unmapped",
            "Observation.valueCodeableConcept" if value_codes else "Observation.interpretation",
            f"The {concept} result code(s) {codes} are in no result_value row, so the result "
            "is stored as unknown; add a result_value row for each (value positive, negative "
            "or indeterminate) to your code table, or send SNOMED CT 10828004 positive / "
            "260385009 negative",
        )
    elif row.get("value_string") is not None:
        text = str(row["value_string"])
        add_issue(
            src,
            out,
            "result_as_text",
            "Observation.valueString",
            f"The {concept} result is text ({text[:20]!r}): text is not read, so the result "
            f"is stored as unknown; send {_CODED_RESULT}",
        )
    elif row.get("value_quantity") is not None or row.get("value_integer") is not None:
        add_issue(
            src,
            out,
            "result_not_coded",
            "Observation.value",
            f"The {concept} result is a number without a coded reading, so it is stored as "
            f"unknown; send {_CODED_RESULT}, or an interpretation (POS / NEG)",
        )
    else:
        add_issue(
            src,
            out,
            "result_missing",
            "Observation.value",
            f"The {concept} test has no result, so it counts as done with the result unknown; "
            f"when the result is known, update the record with {_CODED_RESULT}",
        )


def _haemoglobin(observed: Observed, concept: str, code_row: CodeRow) -> None:
    hb = _haemoglobin_g_per_l(observed.row, code_row.unit)
    if hb is not None and not HB_RANGE_G_PER_L[0] <= hb <= HB_RANGE_G_PER_L[1]:
        observed.issue(
            "haemoglobin_out_of_range",
            f"Haemoglobin of {hb:g} g/L is impossible; the record is kept out of the indicators",
        )
        return
    _lab(observed, concept, None, hb, "g/L")


def _epds(observed: Observed, concept: str, code_row: CodeRow) -> None:
    """An EPDS total score (LOINC 99046-5; senders also use the form code 71354-5): the score
    is the value; a value outside 0-30 is an error, and a resource without one is no score."""
    row = observed.row
    score = row.get("value_quantity")
    if score is None and row.get("value_integer") is not None:
        score = float(row["value_integer"])
    if score is None:
        return
    if not EPDS_RANGE[0] <= float(score) <= EPDS_RANGE[1]:
        observed.issue(
            "epds_out_of_range",
            f"An EPDS score of {float(score):g} is impossible (0-30); the record is kept out of "
            "the indicators",
        )
        return
    _lab(observed, concept, None, float(score), None)


# -- newborn --------------------------------------------------------------------------------


def _newborn(observed: Observed, kind: str, measured: float | None) -> None:
    row = observed.row
    if measured is None and row.get("value_integer") is not None:
        measured = float(row["value_integer"])
    observed.out.add(
        NewbornObservation,
        {
            **observed.base,
            "kind": kind,
            "value": measured,
            "encounter_ref": local_ref(observed.src.institution_id, row.get("encounter")),
            "observed_date": observed.day,
        },
    )


def _birth_weight(observed: Observed, concept: str, code_row: CodeRow) -> None:
    measured: float | None = observed.row.get("value_quantity")
    if measured is not None:
        unit = _unit(observed.row, code_row.unit)
        measured = measured * 1000 if unit == "kg" else measured
        if not BIRTH_WEIGHT_RANGE_G[0] <= measured <= BIRTH_WEIGHT_RANGE_G[1]:
            observed.issue(
                "birth_weight_out_of_range",
                f"A birth weight of {measured:g} g is impossible; the record "
                "is kept out of the indicators",
            )
            return
    _newborn(observed, concept, measured)


def _apgar(observed: Observed, concept: str, code_row: CodeRow) -> None:
    """An Apgar score with its minute (the code table's value: 1, 5, 10): kind 'apgar_1',
    'apgar_5', 'apgar_10'; 'apgar' when the code does not say."""
    kind = f"apgar_{code_row.value}" if code_row.value else concept
    _newborn(observed, kind, observed.row.get("value_quantity"))


# -- risk -----------------------------------------------------------------------------------


def _risk_colour(observed: Observed, concept: str, code_row: CodeRow) -> None:
    add_colour(
        observed.extractor,
        observed.src,
        observed.base,
        observed.day,
        observed.row["value_codes"],
        None,
        observed.out,
    )


HANDLERS: dict[str, ObservationHandler] = {
    "lmp": _dating_date,
    "edd": _dating_date,
    "gestational_age": _gestational_age,
    "gravida": _gravida,
    **dict.fromkeys(SCREENING_TESTS, _screening_result),
    "haemoglobin": _haemoglobin,
    "epds": _epds,
    "birth_weight": _birth_weight,
    "apgar": _apgar,
    "risk_colour": _risk_colour,
}
# Besides the handlers' concepts, a result's coded value is read through RESULT_VALUE.
CONCEPTS_READ = frozenset(HANDLERS) | {RESULT_VALUE}


# -- values and units -----------------------------------------------------------------------


def _unit(row: ViewRow, default: str) -> str:
    units = [u for u in row.get("value_unit") or [] if isinstance(u, str)]
    return units[0] if units else default


def _ga_days(row: ViewRow, default_unit: str) -> int | None:
    value = row.get("value_quantity")
    if value is None:
        return None
    unit = _unit(row, default_unit or "wk").lower()
    if unit in ("d", "day", "days", "天"):
        return int(round(value))
    return int(round(value * 7))  # weeks, with a decimal part for days


def _haemoglobin_g_per_l(row: ViewRow, default_unit: str) -> float | None:
    value = row.get("value_quantity")
    if value is None:
        return None
    unit = _unit(row, default_unit or "g/L").lower()
    return float(value) * 10 if unit in ("g/dl", "g/100ml") else float(value)


def _result(extractor: Extractor, row: ViewRow) -> str | None:
    for codings in (row.get("value_codes") or [], row.get("interpretation") or []):
        for coding in codings:
            if isinstance(coding, dict):
                for code_row in extractor.codes.lookup(coding.get("system"), coding.get("code")):
                    if code_row.concept == RESULT_VALUE:
                        return code_row.value
    return None
