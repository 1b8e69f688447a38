"""FHIR read, search and history for senders whose ids are prefixes of one another (hosp,
hosp-a, hosp-ab): each sees exactly its own records, by every route. A check that compared ids
by prefix or substring (LIKE 'hosp%') would let hosp see the other two."""

from __future__ import annotations

from typing import Any

import httpx

from mch_service.app import Services
from tests.conftest import SenderKey, make_sender

SENDERS = ("hosp", "hosp-a", "hosp-ab")
HIDDEN = (404,)  # another sender's record: not there for this sender, as an id nobody used


def _post(http: httpx.Client, sender: SenderKey, body: dict[str, Any]) -> str:
    r = http.post(f"/fhir/{body['resourceType']}", json=body, headers=sender.headers)
    assert r.status_code == 201, r.text
    return str(r.json()["id"])


def test_senders_with_prefix_ids_see_only_their_own(http: httpx.Client, services: Services) -> None:
    senders = {s: make_sender(services, s) for s in SENDERS}
    patients, observations = {}, {}
    for name, sender in senders.items():
        patients[name] = _post(
            http,
            sender,
            {
                "resourceType": "Patient",
                # the same identifier at every sender: each is its own record
                "identifier": [{"system": "urn:mrn", "value": "7"}],
                "gender": "female",
            },
        )
        observations[name] = _post(
            http,
            sender,
            {
                "resourceType": "Observation",
                "status": "final",
                "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
                "subject": {"reference": f"Patient/{patients[name]}"},
                "effectiveDateTime": "2025-03-01",
                "valueQuantity": {"value": 120, "unit": "g/L"},
            },
        )
    for name, sender in senders.items():
        h = sender.headers

        def ids(query: str, headers: dict[str, str] = h) -> set[str]:
            r = http.get(f"/fhir/{query}", headers=headers)
            assert r.status_code == 200, (query, r.text)
            return {e["resource"]["id"] for e in r.json().get("entry", [])}

        mine, my_obs = patients[name], observations[name]
        assert ids("Patient") == {mine}, name
        assert ids("Patient?identifier=urn:mrn|7") == {mine}, name
        assert ids("Observation") == {my_obs}, name
        assert http.get(f"/fhir/Patient/{mine}", headers=h).status_code == 200
        assert http.get(f"/fhir/Patient/{mine}/_history/1", headers=h).status_code == 200
        for other in SENDERS:
            if other == name:
                continue
            theirs, their_obs = patients[other], observations[other]
            for path in (
                f"Patient/{theirs}",
                f"Patient/{theirs}/_history",
                f"Patient/{theirs}/_history/1",
                f"Observation/{their_obs}",
            ):
                r = http.get(f"/fhir/{path}", headers=h)
                assert r.status_code in HIDDEN, (name, path, r.status_code)
                assert r.json()["resourceType"] == "OperationOutcome", (name, path)
            assert ids(f"Patient?_id={theirs}") == set(), (name, other)
            assert ids(f"Observation?subject=Patient/{theirs}") == set(), (name, other)
            assert ids(f"Observation?patient={theirs}") == set(), (name, other)
            assert ids(f"Observation?_id={their_obs}") == set(), (name, other)
