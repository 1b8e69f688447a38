"""What other packages read of the store through ``store.service``: current versions, the
senders' references, first receipt, counts per sender, the newest sealed version."""

from __future__ import annotations

import httpx

from mch_service.app import Services
from mch_service.store.service import (
    current_versions,
    first_received,
    live_counts_by_institution,
    live_dated_resources,
    newest_sealed_version,
    references_of,
)
from tests.conftest import SenderKey


def _observation(patient_id: str, value: float) -> dict[str, object]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
        "subject": {"reference": f"Patient/{patient_id}"},
        "effectiveDateTime": "2025-03-01T10:00:00+08:00",
        "valueQuantity": {"value": value, "unit": "g/L"},
    }


def test_store_reads(services: Services, http: httpx.Client, sender: SenderKey) -> None:
    patient = http.post(
        "/fhir/Patient",
        json={"resourceType": "Patient", "gender": "female"},
        headers=sender.headers,
    ).json()
    obs = http.post(
        "/fhir/Observation", json=_observation(patient["id"], 110), headers=sender.headers
    ).json()
    updated = http.put(
        f"/fhir/Observation/{obs['id']}",
        json={**_observation(patient["id"], 112), "id": obs["id"]},
        headers=sender.headers,
    )
    assert updated.status_code == 200
    with services.db.reading() as session:
        current = current_versions(session, services.store, ["Patient", "Observation"])
        assert [(v.resource_type, v.version_id) for v in current] == [
            ("Patient", 1),
            ("Observation", 2),
        ]
        assert current[1].content["valueQuantity"]["value"] == 112
        assert current_versions(session, services.store, ["Observation"], current[1].pk) == []
        pks = [v.pk for v in current]
        assert references_of(session, pks) == {
            current[0].pk: f"Patient/{patient['id']}",
            current[1].pk: f"Observation/{obs['id']}",
        }
        received = first_received(session, pks)
        assert set(received) == set(pks)
        assert received[current[1].pk] <= current[1].last_updated
        institution = current[0].institution_id
        assert live_counts_by_institution(session) == {institution: 2}
        assert [row[0] for row in live_dated_resources(session)] == [institution]
        newest = newest_sealed_version(session)
        assert newest is not None
        assert newest[:3] == ("Observation", obs["id"], 2)
        assert services.store.unseal(*newest)
