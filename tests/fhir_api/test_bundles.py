"""Transaction and batch Bundles: atomicity, reference resolution, per-entry results."""

from __future__ import annotations

import uuid
from typing import Any

import httpx

from tests.conftest import SenderKey

MRN = "urn:oid:1.2.156.1.mrn"


def _uuid() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


def pregnancy_bundle(mrn: str = "T-1", hb: float = 118) -> dict[str, Any]:
    p, enc = _uuid(), _uuid()
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": p,
                "request": {"method": "POST", "url": "Patient"},
                "resource": {
                    "resourceType": "Patient",
                    "gender": "female",
                    "identifier": [{"system": MRN, "value": mrn}],
                },
            },
            {
                "fullUrl": enc,
                "request": {"method": "POST", "url": "Encounter"},
                "resource": {
                    "resourceType": "Encounter",
                    "status": "finished",
                    "class": {
                        "system": "http://terminology.hl7.org/CodeSystem/v3-ActCode",
                        "code": "AMB",
                    },
                    "identifier": [{"system": "urn:visit", "value": f"{mrn}-v1"}],
                    "type": [
                        {"coding": [{"system": "http://snomed.info/sct", "code": "424441002"}]}
                    ],
                    "subject": {"reference": p},
                    "period": {"start": "2025-03-01T09:00:00+08:00"},
                },
            },
            {
                "fullUrl": _uuid(),
                "request": {"method": "POST", "url": "Observation"},
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
                    "subject": {"reference": p},
                    "encounter": {"reference": enc},
                    "effectiveDateTime": "2025-03-01",
                    "valueQuantity": {"value": hb, "unit": "g/L"},
                },
            },
        ],
    }


def _locations(response: dict[str, Any]) -> list[str]:
    return [e["response"]["location"].split("/_history")[0] for e in response["entry"]]


def test_transaction_resolves_urn_uuid_references(http: httpx.Client, sender: SenderKey) -> None:
    r = http.post("/fhir", json=pregnancy_bundle(), headers=sender.headers)
    assert r.status_code == 200, r.text
    patient_ref, encounter_ref, obs_ref = _locations(r.json())
    obs = http.get(f"/fhir/{obs_ref}", headers=sender.headers).json()
    assert obs["subject"]["reference"] == patient_ref
    assert obs["encounter"]["reference"] == encounter_ref


def test_transaction_is_all_or_nothing(http: httpx.Client, sender: SenderKey) -> None:
    bundle = pregnancy_bundle()
    bundle["entry"][2]["resource"]["valueQuantity"]["value"] = "not a number"
    r = http.post("/fhir", json=bundle, headers=sender.headers)
    assert r.status_code == 400
    exprs = [e for i in r.json()["issue"] for e in i.get("expression", [])]
    assert any(e.startswith("Bundle.entry[2].resource.valueQuantity.value") for e in exprs), exprs
    for rtype in ("Patient", "Encounter", "Observation"):
        assert http.get(f"/fhir/{rtype}", headers=sender.headers).json()["total"] == 0


def test_transaction_failing_in_the_database_phase_writes_nothing(
    http: httpx.Client, sender: SenderKey, other_sender: SenderKey
) -> None:
    # the last entry deletes a record only another institution has (ids are scoped per
    # sender: not found for this one), and the first two entries (valid creates) must not
    # survive
    owned = http.put(
        "/fhir/Patient/theirs",
        json={"resourceType": "Patient", "id": "theirs"},
        headers=other_sender.headers,
    )
    assert owned.status_code == 201
    bundle = pregnancy_bundle("T-9")
    bundle["entry"].append({"request": {"method": "DELETE", "url": "Patient/theirs"}})
    r = http.post("/fhir", json=bundle, headers=sender.headers)
    assert r.status_code == 404
    assert http.get("/fhir/Patient", headers=sender.headers).json()["total"] == 0
    assert http.get("/fhir/Patient/theirs", headers=other_sender.headers).status_code == 200


def test_resending_a_transaction_creates_nothing_new(http: httpx.Client, sender: SenderKey) -> None:
    first = http.post("/fhir", json=pregnancy_bundle("R-1"), headers=sender.headers).json()
    second = http.post("/fhir", json=pregnancy_bundle("R-1"), headers=sender.headers).json()
    assert _locations(first) == _locations(second)
    assert [e["response"]["status"] for e in second["entry"]] == ["200 OK"] * 3
    assert http.get("/fhir/Observation", headers=sender.headers).json()["total"] == 1


def test_conditional_references_resolve_to_stored_and_bundled_records(
    http: httpx.Client, sender: SenderKey
) -> None:
    stored = http.post(
        "/fhir/Patient",
        json={"resourceType": "Patient", "identifier": [{"system": MRN, "value": "CR-1"}]},
        headers=sender.headers,
    ).json()
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "request": {"method": "POST", "url": "Observation"},
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "Hb"},
                    "subject": {"reference": f"Patient?identifier={MRN}|CR-1"},
                },
            },
            {
                "request": {"method": "PUT", "url": f"Patient?identifier={MRN}|CR-2"},
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": MRN, "value": "CR-2"}],
                },
            },
            {
                "request": {"method": "POST", "url": "Observation"},
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "GA"},
                    "subject": {"reference": f"Patient?identifier={MRN}|CR-2"},
                },
            },
        ],
    }
    r = http.post("/fhir", json=bundle, headers=sender.headers)
    assert r.status_code == 200, r.text
    obs1, new_patient, obs2 = _locations(r.json())
    assert http.get(f"/fhir/{obs1}", headers=sender.headers).json()["subject"]["reference"] == (
        f"Patient/{stored['id']}"
    )
    assert http.get(f"/fhir/{obs2}", headers=sender.headers).json()["subject"]["reference"] == (
        new_patient
    )


def test_many_conditional_references_in_one_bundle_each_find_their_own_record(
    http: httpx.Client, sender: SenderKey, other_sender: SenderKey
) -> None:
    """The stored records of a Bundle's conditional references are looked up together: each
    reference still gets its own record, a deleted record or another sender's is no match,
    and an identifier on two records is refused, named at its first use."""

    def patient(mrn: str, headers: dict[str, str]) -> str:
        r = http.post(
            "/fhir/Patient",
            json={"resourceType": "Patient", "identifier": [{"system": MRN, "value": mrn}]},
            headers=headers,
        )
        assert r.status_code == 201, r.text
        return str(r.json()["id"])

    a, b = patient("MC-A", sender.headers), patient("MC-B", sender.headers)
    gone = patient("MC-D", sender.headers)
    assert http.delete(f"/fhir/Patient/{gone}", headers=sender.headers).status_code == 204
    patient("MC-O", other_sender.headers)
    for value in ("V-1", "V-2"):  # not a business key: two records may carry it
        r = http.post(
            "/fhir/Observation",
            json={
                "resourceType": "Observation",
                "identifier": [{"system": "urn:visit", "value": "V-9"}],
                "status": "final",
                "code": {"text": value},
            },
            headers=sender.headers,
        )
        assert r.status_code == 201

    def obs(subject: str, focus: str | None = None) -> dict[str, Any]:
        resource: dict[str, Any] = {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "Hb"},
            "subject": {"reference": subject},
        }
        if focus is not None:
            resource["focus"] = [{"reference": focus}]
        return {"request": {"method": "POST", "url": "Observation"}, "resource": resource}

    def send(*entries: dict[str, Any]) -> httpx.Response:
        body = {"resourceType": "Bundle", "type": "transaction", "entry": list(entries)}
        return http.post("/fhir", json=body, headers=sender.headers)

    r = send(
        obs(f"Patient?identifier={MRN}|MC-B"),
        obs(f"Patient?identifier={MRN}|MC-A"),
        obs(f"Patient?identifier={MRN}|MC-B"),
    )
    assert r.status_code == 200, r.text
    subjects = [
        http.get(f"/fhir/{loc}", headers=sender.headers).json()["subject"]["reference"]
        for loc in _locations(r.json())
    ]
    assert subjects == [f"Patient/{b}", f"Patient/{a}", f"Patient/{b}"]
    for ref, count in ((f"{MRN}|MC-D", 0), (f"{MRN}|MC-O", 0)):
        r = send(obs(f"Patient?identifier={MRN}|MC-A"), obs(f"Patient?identifier={ref}"))
        assert r.status_code == 400, r.text
        issue = r.json()["issue"][0]
        assert issue["expression"] == ["Bundle.entry[1].resource.subject.reference"]
        assert f"matches {count} records" in issue["diagnostics"]
    r = send(
        obs(f"Patient?identifier={MRN}|MC-A", "Observation?identifier=urn:visit|V-9"),
        obs(f"Patient?identifier={MRN}|MC-B"),
    )
    assert r.status_code == 400, r.text
    issue = r.json()["issue"][0]
    assert issue["expression"] == ["Bundle.entry[0].resource.focus[0].reference"]
    assert "matches 2 records" in issue["diagnostics"]
    # two V-9 records, and the first Bundle's: its first and third entries are the same
    # content, so one record (an entry of the request the third resolves to)
    assert http.get("/fhir/Observation", headers=sender.headers).json()["total"] == 4


def test_conditional_reference_without_a_match_fails_the_transaction(
    http: httpx.Client, sender: SenderKey
) -> None:
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "request": {"method": "POST", "url": "Observation"},
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "Hb"},
                    "subject": {"reference": f"Patient?identifier={MRN}|nobody"},
                },
            }
        ],
    }
    r = http.post("/fhir", json=bundle, headers=sender.headers)
    assert r.status_code == 400
    issue = r.json()["issue"][0]
    assert issue["expression"] == ["Bundle.entry[0].resource.subject.reference"]
    assert "matches 0 records" in issue["diagnostics"]


def test_unresolvable_urn_uuid_is_rejected(http: httpx.Client, sender: SenderKey) -> None:
    bundle = pregnancy_bundle()
    bundle["entry"][2]["resource"]["subject"]["reference"] = _uuid()
    r = http.post("/fhir", json=bundle, headers=sender.headers)
    assert r.status_code == 400
    exprs = [e for i in r.json()["issue"] for e in i.get("expression", [])]
    assert any(e.startswith("Bundle.entry[2].resource.subject") for e in exprs), exprs


def test_batch_gives_each_entry_its_own_result(http: httpx.Client, sender: SenderKey) -> None:
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {
                "request": {"method": "POST", "url": "Patient"},
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": MRN, "value": "B1"}],
                },
            },
            {
                "request": {"method": "POST", "url": "Patient"},
                "resource": {"resourceType": "Patient", "birthDate": "1990-02-31"},
            },
            {"request": {"method": "GET", "url": "Patient/does-not-exist"}},
            {"request": {"method": "GET", "url": f"Patient?identifier={MRN}|B1"}},
        ],
    }
    r = http.post("/fhir", json=batch, headers=sender.headers)
    assert r.status_code == 200
    entries = r.json()["entry"]
    assert r.json()["type"] == "batch-response"
    assert [e["response"]["status"].split()[0] for e in entries] == ["201", "400", "404", "200"]
    bad = entries[1]["response"]["outcome"]
    assert bad["issue"][0]["expression"] == ["Bundle.entry[1].resource.birthDate"]
    assert entries[3]["resource"]["total"] == 1


def test_bundle_over_the_entry_limit_is_413(http: httpx.Client, sender: SenderKey) -> None:
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "GET", "url": "Patient/x"}} for _ in range(51)],
    }
    r = http.post("/fhir", json=batch, headers=sender.headers)
    assert r.status_code == 413
    assert r.json()["resourceType"] == "OperationOutcome"


def test_other_bundle_types_at_the_base_are_refused_but_storable(
    http: httpx.Client, sender: SenderKey
) -> None:
    collection = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": "http://example.org/Patient/1", "resource": {"resourceType": "Patient"}}
        ],
    }
    r = http.post("/fhir", json=collection, headers=sender.headers)
    assert r.status_code == 400
    assert r.json()["issue"][0]["expression"] == ["Bundle.type"]
    assert http.post("/fhir/Bundle", json=collection, headers=sender.headers).status_code == 201


def test_one_transaction_may_not_write_a_record_twice(
    http: httpx.Client, sender: SenderKey
) -> None:
    pat = {"resourceType": "Patient", "identifier": [{"system": MRN, "value": "D-1"}]}
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"request": {"method": "PUT", "url": "Patient/dup"}, "resource": {**pat, "id": "dup"}},
            {
                "request": {"method": "PUT", "url": "Patient/dup"},
                "resource": {**pat, "id": "dup", "gender": "female"},
            },
        ],
    }
    r = http.post("/fhir", json=bundle, headers=sender.headers)
    assert r.status_code == 400
    assert r.json()["issue"][0]["expression"] == ["Bundle.entry[1].request"]


def test_a_bundle_resource_in_a_transaction_is_stored_exactly_as_sent(
    http: httpx.Client, sender: SenderKey
) -> None:
    """The transaction resolves references between its own entries, but a Bundle resource it
    carries (a document, a collection) keeps its inner references as they were sent, even one
    that happens to equal a fullUrl of the transaction."""
    shared = "urn:uuid:0d6c9f1e-8e7a-4a51-9f55-3f1d0c2b7a10"
    collection = {
        "resourceType": "Bundle",
        "type": "collection",
        "entry": [
            {"fullUrl": shared, "resource": {"resourceType": "Patient", "gender": "female"}},
            {
                "fullUrl": "urn:uuid:7b0e0b8e-2f4b-4d1f-8d7e-2a9c4b1e6f21",
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "weight"},
                    "subject": {"reference": shared},
                },
            },
        ],
    }
    transaction = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": shared,
                "resource": {"resourceType": "Patient", "gender": "female"},
                "request": {"method": "POST", "url": "Patient"},
            },
            {"resource": collection, "request": {"method": "POST", "url": "Bundle"}},
        ],
    }
    r = http.post("/fhir", json=transaction, headers=sender.headers)
    assert r.status_code == 200, r.text
    location = r.json()["entry"][1]["response"]["location"]
    stored = http.get(f"/fhir/{location.split('/_history')[0]}", headers=sender.headers).json()
    assert stored["entry"][1]["resource"]["subject"]["reference"] == shared
