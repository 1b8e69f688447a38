"""Key rotation and content keys: a create keyed on a reference as sent must not stop the
rotation once its stored (resolved) body keys the same as another record's."""

from __future__ import annotations

import secrets

import httpx

from mch_service.app import Services, build_services
from mch_service.audit.service import Actor
from mch_service.database import Database
from mch_service.ops.key_rotation import rotate_keys
from tests.conftest import TEST_SECRET, SenderKey


def _assessment(subject: str) -> dict[str, object]:
    return {
        "resourceType": "RiskAssessment",
        "status": "final",
        "subject": {"reference": subject},
        "occurrenceDateTime": "2025-03-01T10:00:00+08:00",
    }


def test_rotation_finishes_when_two_records_come_to_key_the_same(
    services: Services, http: httpx.Client, sender: SenderKey
) -> None:
    patient = http.post(
        "/fhir/Patient",
        json={"resourceType": "Patient", "gender": "female"},
        headers=sender.headers,
    )
    pid = patient.json()["id"]
    first = http.post(
        "/fhir/RiskAssessment", json=_assessment(f"Patient/{pid}"), headers=sender.headers
    )
    assert first.status_code == 201
    # the same content, its subject as a conditional reference: keyed as sent, stored resolved
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:8f1c4a52-0c1d-4f7e-9d7a-3b2f6b0e1a11",
                "resource": _assessment(f"Patient?_id={pid}"),
                "request": {"method": "POST", "url": "RiskAssessment"},
            }
        ],
    }
    second = http.post("/fhir", json=bundle, headers=sender.headers)
    assert second.status_code == 200, second.text
    ids = {first.json()["id"], second.json()["entry"][0]["response"]["location"].split("/")[1]}
    assert len(ids) == 2

    new_secret = secrets.token_urlsafe(48)
    settings = services.settings.model_copy(
        update={"secret_key": new_secret, "previous_secret_keys": [TEST_SECRET]}
    )
    rotated = build_services(settings, Database(settings.database_url))
    try:
        rotate_keys(rotated.db, rotated.store, rotated.domain)
        rotate_keys(rotated.db, rotated.store, rotated.domain)  # again: still finishes
    finally:
        rotated.db.dispose()
    only_new = services.settings.model_copy(
        update={"secret_key": new_secret, "previous_secret_keys": []}
    )
    after = build_services(only_new, Database(only_new.database_url))
    try:
        actor = Actor("institution", sender.institution_id)
        for fhir_id in ids:
            read = after.fhir.read(actor, "RiskAssessment", fhir_id)
            assert read.resource is not None
            assert read.resource["subject"]["reference"] == f"Patient/{pid}"
    finally:
        after.db.dispose()
