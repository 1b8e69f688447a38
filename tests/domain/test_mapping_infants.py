"""The newborn's times and vaccinations in, rows out: the patient-birthTime extension, an
Immunization's occurrence, a treatment's and a delivery Procedure's instant (UTC), and the
``time_unknown`` flag for a date alone (docs/indicator-rules.md, "Infants of infected
mothers")."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from mch_service.domain import models as m
from mch_service.domain.extract import Extractor
from tests.domain.test_mapping_golden import extractor, only, run

__all__ = ["extractor"]  # the fixture, shared with the golden tests

BIRTH_TIME = "http://hl7.org/fhir/StructureDefinition/patient-birthTime"
CVX = "http://hl7.org/fhir/sid/cvx"


def _immunization(when: str, status: str = "completed", code: str = "08") -> dict[str, Any]:
    return {
        "resourceType": "Immunization",
        "id": "imm-1",
        "status": status,
        "vaccineCode": {"coding": [{"system": CVX, "code": code}]},
        "patient": {"reference": "Patient/baby"},
        "occurrenceDateTime": when,
    }


def test_birth_time_extension_is_the_birth_instant(extractor: Extractor) -> None:
    baby = {
        "resourceType": "Patient",
        "id": "baby",
        "birthDate": "2025-03-10",
        "_birthDate": {
            "extension": [{"url": BIRTH_TIME, "valueDateTime": "2025-03-10T08:05:00+08:00"}]
        },
    }
    row = only(run(extractor, baby), m.PatientRecord)
    assert row["birth_time"] == datetime(2025, 3, 10, 0, 5, tzinfo=UTC)
    del baby["_birthDate"]
    assert only(run(extractor, baby), m.PatientRecord)["birth_time"] is None


def test_an_immunization_is_a_vaccine_row_with_its_instant(extractor: Extractor) -> None:
    # no offset: read in Shanghai (UTC+8)
    out = run(extractor, _immunization("2025-03-10T20:00:00"))
    row = only(out, m.Treatment)
    assert (row["concept"], row["subject"]) == ("hepb_vaccine", "hosp-a/Patient/baby")
    assert row["treated_date"].isoformat() == "2025-03-10"
    assert row["administered_at"] == datetime(2025, 3, 10, 12, 0, tzinfo=UTC)
    # read, and the sender told that FHIR wants the offset
    assert [(i["rule"], i["element"]) for i in out.issues] == [
        ("time_without_offset", "Immunization.occurrenceDateTime")
    ]
    # CVX 45 and ATC J07BC01 are the same vaccine
    assert only(run(extractor, _immunization("2025-03-10T20:00:00Z", code="45")), m.Treatment)
    atc = _immunization("2025-03-10T20:00:00Z")
    atc["vaccineCode"] = {"coding": [{"system": "http://www.whocc.no/atc", "code": "J07BC01"}]}
    assert only(run(extractor, atc), m.Treatment)["concept"] == "hepb_vaccine"


def test_a_vaccination_with_a_day_only_is_kept_and_flagged(extractor: Extractor) -> None:
    out = run(extractor, _immunization("2025-03-10"))
    assert only(out, m.Treatment)["administered_at"] is None
    assert [i["rule"] for i in out.issues] == ["time_unknown"]


def test_a_vaccination_not_done_or_in_error_is_not_read(extractor: Extractor) -> None:
    for status in ("not-done", "entered-in-error"):
        assert run(extractor, _immunization("2025-03-10T20:00:00Z", status)).rows == {}


def test_hbig_and_delivery_instants(extractor: Extractor) -> None:
    hbig = {
        "resourceType": "MedicationAdministration",
        "id": "hbig-1",
        "status": "completed",
        "medicationCodeableConcept": {
            "coding": [{"system": "http://www.whocc.no/atc", "code": "J06BB04"}]
        },
        "subject": {"reference": "Patient/baby"},
        "effectiveDateTime": "2025-03-10T19:00:00+08:00",
    }
    out = run(extractor, hbig)
    assert only(out, m.Treatment)["administered_at"] == datetime(2025, 3, 10, 11, tzinfo=UTC)
    assert out.issues == []
    hbig["effectiveDateTime"] = "2025-03-10"
    out = run(extractor, hbig)
    assert only(out, m.Treatment)["administered_at"] is None
    assert [i["rule"] for i in out.issues] == ["time_unknown"]
    delivery = {
        "resourceType": "Procedure",
        "id": "d-1",
        "status": "completed",
        "code": {"coding": [{"system": "http://snomed.info/sct", "code": "11466000"}]},
        "subject": {"reference": "Patient/mother"},
        "performedDateTime": "2025-03-10T08:00:00+08:00",
    }
    assert only(run(extractor, delivery), m.DeliveryRecord)["event_at"] == datetime(
        2025, 3, 10, 0, tzinfo=UTC
    )
    delivery["performedDateTime"] = "2025-03-10"
    assert only(run(extractor, delivery), m.DeliveryRecord)["event_at"] is None
