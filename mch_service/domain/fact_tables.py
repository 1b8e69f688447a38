"""The fact tables stage 1 writes, declared once: name -> ORM class, the column that dates a
fact, which facts say a woman is pregnant, and what the pregnancy record's timeline shows of
each. A new fact table is added here (docs/add-a-mapping.md)."""

from __future__ import annotations

from mch_service.domain.models import (
    CareEpisode,
    DatingObservation,
    DeliveryRecord,
    Diagnosis,
    EncounterRecord,
    LabResult,
    NewbornObservation,
    PostpartumVisit,
    PrenatalVisit,
    RiskAssessmentFact,
    Treatment,
)

FACT_TABLES: dict[str, type] = {
    "prenatal_visit": PrenatalVisit,
    "postpartum_visit": PostpartumVisit,
    "lab_result": LabResult,
    "risk_assessment": RiskAssessmentFact,
    "treatment": Treatment,
    "diagnosis": Diagnosis,
    "dating_observation": DatingObservation,
    "care_episode": CareEpisode,
    "delivery_record": DeliveryRecord,
    "encounter_record": EncounterRecord,
    "newborn_observation": NewbornObservation,
}

SEEDS_PREGNANCY = frozenset(
    {
        "prenatal_visit",
        "postpartum_visit",
        "lab_result",
        "risk_assessment",
        "dating_observation",
        "care_episode",
        "delivery_record",
    }
)

FACT_DATE = {
    "prenatal_visit": "visit_date",
    "postpartum_visit": "visit_date",
    "lab_result": "test_date",
    "risk_assessment": "assessed_date",
    "treatment": "treated_date",
    "diagnosis": "diagnosed_date",
    "dating_observation": "observed_date",
    "care_episode": "start_date",
    "delivery_record": "event_date",
    "encounter_record": "start_date",
    "newborn_observation": "observed_date",
}

# What the pregnancy record's timeline shows of each fact, besides its date and source.
TIMELINE_FIELDS = {
    "prenatal_visit": ("initial",),
    "postpartum_visit": ("kind",),
    "lab_result": ("concept", "result", "value", "unit", "source", "method"),
    "risk_assessment": ("colour", "purple"),
    "treatment": ("concept", "code", "start_date", "end_date"),
    "diagnosis": ("concept", "code"),
    "dating_observation": ("kind", "value_date", "ga_days", "gravida"),
    "care_episode": ("start_date", "end_date"),
    "delivery_record": ("kind", "mode", "outcome_code", "live", "still"),
    "newborn_observation": ("kind", "value", "subject"),
}
