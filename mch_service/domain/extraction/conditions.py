"""Condition -> the delivery outcome (ICD-10 Z37.x: live births and stillbirths) and the
diagnoses the indicators and the case register read."""

from __future__ import annotations

from typing import TYPE_CHECKING

from mch_service.domain.extraction.rows import (
    Extracted,
    Source,
    ViewRow,
    add_unmapped,
    fact_base,
    local_ref,
)
from mch_service.domain.models import DeliveryRecord, Diagnosis

if TYPE_CHECKING:
    from mch_service.domain.extract import Extractor

BIRTH_OUTCOME = "birth_outcome"
# ICD-10 Z37.x: (live, stillborn); None where the newborn records must say.
Z37 = {
    "Z37.0": (1, 0),
    "Z37.1": (0, 1),
    "Z37.2": (2, 0),
    "Z37.3": (1, 1),
    "Z37.4": (0, 2),
    "Z37.5": (None, 0),
    "Z37.6": (None, None),
    "Z37.7": (0, None),
    "Z37.9": (None, None),
}
# Each is a diagnosis row under its concept, with the sender's code.
DIAGNOSES = (
    "hiv_diagnosis",
    "syphilis_diagnosis",
    "congenital_syphilis",
    "hbv_diagnosis",
    "thalassaemia_diagnosis",
    "pregnancy_loss",
    "pregnancy_complication",
    "accidental_cause",
    "care_complication",
    "self_harm",
    "severe_maternal_morbidity",
)
CONCEPTS_READ = frozenset(DIAGNOSES) | {BIRTH_OUTCOME}


def extract_condition(extractor: Extractor, src: Source, row: ViewRow, out: Extracted) -> None:
    concepts = extractor.codes.concepts_of(row["codes"])
    day = extractor.day(row.get("onset")) or extractor.day(row.get("recorded"))
    base = fact_base(src, row.get("subject"))
    if not concepts:
        add_unmapped(src, out, "code", row["codes"])
        return
    if BIRTH_OUTCOME in concepts:
        code = next(
            (
                str(c.get("code"))
                for c in row["codes"]
                if isinstance(c, dict) and str(c.get("code", "")).startswith("Z37")
            ),
            "",
        )
        live, still = Z37.get(code[:5], (None, None))
        out.add(
            DeliveryRecord,
            {
                **base,
                "kind": "outcome",
                "event_date": day,
                "mode": None,
                "encounter_ref": local_ref(src.institution_id, row.get("encounter")),
                "outcome_code": code[:16],
                "live": live,
                "still": still,
            },
        )
    for concept, code_row in concepts.items():
        if concept not in DIAGNOSES:
            continue
        # the sender's own code in the matched system (a prefix row matches many)
        diagnosed = next(
            (
                c.get("code")
                for c in row["codes"]
                if isinstance(c, dict) and c.get("system") == code_row.system
            ),
            code_row.code,
        )
        out.add(
            Diagnosis,
            {**base, "concept": concept, "code": str(diagnosed)[:32], "diagnosed_date": day},
        )
