"""Interoperability: real FHIR client libraries against the live server, as a hospital's
integration would use them (issue 15): fhirpy's sync client (create, conditional update,
transaction, search paged to the end) and SMART's fhirclient (read, search)."""

from __future__ import annotations

import uuid

import pytest
from fhirclient import client as smart_client
from fhirclient.models.patient import Patient as SmartPatient
from fhirpy import SyncFHIRClient

from mch_service.app import Services
from tests.conftest import SenderKey, _LiveServer

MRN = "urn:oid:1.2.156.1.mrn"


def _patient(mrn: str, family: str = "王") -> dict[str, object]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": MRN, "value": mrn}],
        "name": [{"family": family, "given": ["芳"]}],
        "gender": "female",
        "birthDate": "1992-04-05",
    }


@pytest.fixture
def fhir_base(live_server: _LiveServer, services: Services) -> str:
    live_server.point_at(services)
    return f"{live_server.url}/fhir"


@pytest.fixture
def fhirpy(fhir_base: str, sender: SenderKey) -> SyncFHIRClient:
    return SyncFHIRClient(fhir_base, authorization=f"Bearer {sender.api_key}")


def test_fhirpy_create_conditional_update_and_read(fhirpy: SyncFHIRClient) -> None:
    created = fhirpy.resource("Patient", **_patient("FP-1"))
    created.save()
    assert created.id
    assert created["meta"]["versionId"] == "1"

    changed = fhirpy.resource("Patient", **_patient("FP-1", family="李"))
    updated, was_created = (
        fhirpy.resources("Patient").search(identifier=f"{MRN}|FP-1").update(changed)
    )
    assert not was_created
    assert updated.id == created.id
    assert updated["meta"]["versionId"] == "2"
    assert fhirpy.reference("Patient", created.id).to_resource()["name"][0]["family"] == "李"


def test_fhirpy_transaction(fhirpy: SyncFHIRClient) -> None:
    woman = f"urn:uuid:{uuid.uuid4()}"
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": woman,
                "resource": _patient("FP-T"),
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "8480-6"}]},
                    "subject": {"reference": woman},
                    "effectiveDateTime": "2025-03-01T09:00:00+08:00",
                    "valueQuantity": {
                        "value": 121,
                        "unit": "mmHg",
                        "system": "http://unitsofmeasure.org",
                        "code": "mm[Hg]",
                    },
                },
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    answer = fhirpy.execute("", method="post", data=bundle)
    assert answer["type"] == "transaction-response"
    assert [e["response"]["status"][:3] for e in answer["entry"]] == ["201", "201"]
    patient_id = answer["entry"][0]["response"]["location"].split("/")[1]
    observations = fhirpy.resources("Observation").search(subject=f"Patient/{patient_id}")
    assert len(observations.fetch_all()) == 1


def test_fhirpy_search_pages_to_the_end(fhirpy: SyncFHIRClient) -> None:
    for i in range(7):
        fhirpy.resource("Patient", **_patient(f"FP-P{i}")).save()
    # fetch_all follows every 'next' link; it refuses one outside the base it was given.
    found = fhirpy.resources("Patient").limit(3).fetch_all()
    assert sorted(p["identifier"][0]["value"] for p in found) == [f"FP-P{i}" for i in range(7)]
    first = fhirpy.resources("Patient").limit(3).fetch_raw()
    assert first["total"] == 7
    assert fhirpy.resources("Patient").count() == 7  # fhirpy sends _totalMethod=count


def test_fhirclient_read_and_search(
    fhir_base: str, fhirpy: SyncFHIRClient, sender: SenderKey
) -> None:
    ids = []
    for i in range(4):
        p = fhirpy.resource("Patient", **_patient(f"SC-{i}"))
        p.save()
        ids.append(p.id)
    smart = smart_client.FHIRClient(settings={"app_id": "mch-test", "api_base": fhir_base})
    smart.server.session.headers["Authorization"] = f"Bearer {sender.api_key}"
    read = SmartPatient.read(ids[0], smart.server)
    assert read.identifier[0].value == "SC-0"
    assert read.birthDate.isostring == "1992-04-05"
    search = SmartPatient.where(struct={"_count": "3"})
    found = list(search.perform_resources_iter(smart.server))
    assert sorted(p.id for p in found) == sorted(ids)
    one = SmartPatient.where(struct={"identifier": f"{MRN}|SC-2"}).perform_resources_iter(
        smart.server
    )
    assert [p.id for p in one] == [ids[2]]
