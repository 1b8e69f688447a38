"""Errors that say what to fix (issue 15): the value and the expected form for a bad date, the
current version for a 412 (diagnostics and ETag), the record holding an identifier for a 409,
Allow for a 405, full status lines in batch entries."""

from __future__ import annotations

from typing import Any

import httpx

from tests.conftest import SenderKey

MRN = "urn:oid:1.2.156.1.mrn"


def _patient(mrn: str, **extra: object) -> dict[str, object]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": MRN, "value": mrn}],
        "gender": "female",
        **extra,
    }


def _issue(r: httpx.Response) -> dict[str, Any]:
    issues = r.json()["issue"]
    assert len(issues) == 1, issues
    return issues[0]  # type: ignore[no-any-return]


def test_bad_dates_echo_the_value_and_the_expected_form(
    http: httpx.Client, sender: SenderKey
) -> None:
    r = http.post(
        "/fhir/Patient", json=_patient("D1", birthDate="05/04/1992"), headers=sender.headers
    )
    assert r.status_code == 400
    issue = _issue(r)
    assert issue["expression"] == ["Patient.birthDate"]
    assert '"05/04/1992"' in issue["diagnostics"]
    assert "YYYY-MM-DD" in issue["diagnostics"]

    obs = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "BP"},
        "effectiveDateTime": "2025-03-01 09:00",
    }
    r = http.post("/fhir/Observation", json=obs, headers=sender.headers)
    assert r.status_code == 400
    issue = _issue(r)
    assert issue["expression"] == ["Observation.effectiveDateTime"]
    assert '"2025-03-01 09:00"' in issue["diagnostics"]
    assert "YYYY-MM-DDThh:mm:ss+08:00" in issue["diagnostics"]

    r = http.post(
        "/fhir/Observation",
        json={**obs, "effectiveDateTime": "2025-03-01", "issued": "2025-03-01"},
        headers=sender.headers,
    )
    issue = _issue(r)
    assert issue["expression"] == ["Observation.issued"]
    assert "instant" in issue["diagnostics"]
    assert "YYYY-MM-DDThh:mm:ss+08:00" in issue["diagnostics"]


def test_a_number_for_birth_date_gets_a_clear_message(
    http: httpx.Client, sender: SenderKey
) -> None:
    r = http.post("/fhir/Patient", json=_patient("D2", birthDate=19920405), headers=sender.headers)
    assert r.status_code == 400
    issue = _issue(r)
    assert issue["expression"] == ["Patient.birthDate"]
    diagnostics = str(issue["diagnostics"])
    assert "JSON string" in diagnostics
    assert "19920405" in diagnostics
    assert "zero time" not in diagnostics  # fhir_core's message, about datetimes


def test_412_gives_the_current_version(http: httpx.Client, sender: SenderKey) -> None:
    assert http.put("/fhir/Patient/v", json={**_patient("V1"), "id": "v"}, headers=sender.headers)
    changed = {**_patient("V1", gender="unknown"), "id": "v"}
    assert http.put("/fhir/Patient/v", json=changed, headers=sender.headers).status_code == 200
    r = http.put(
        "/fhir/Patient/v",
        json={**changed, "gender": "female"},
        headers={**sender.headers, "If-Match": 'W/"1"'},
    )
    assert r.status_code == 412
    assert r.headers["etag"] == 'W/"2"'
    issue = _issue(r)
    assert 'W/"2"' in str(issue["diagnostics"])
    assert "Patient/v" in str(issue["diagnostics"])


def test_409_for_a_used_identifier_names_the_record(http: httpx.Client, sender: SenderKey) -> None:
    first = http.put("/fhir/Patient/a", json={**_patient("DUP"), "id": "a"}, headers=sender.headers)
    assert first.status_code == 201
    r = http.put("/fhir/Patient/b", json={**_patient("DUP"), "id": "b"}, headers=sender.headers)
    assert r.status_code == 409
    issue = _issue(r)
    assert issue["expression"] == ["Patient.identifier"]
    assert "Patient/a" in str(issue["diagnostics"])
    assert http.get("/fhir/Patient/b", headers=sender.headers).status_code == 404


def test_405_carries_allow(http: httpx.Client, sender: SenderKey) -> None:
    r = http.patch("/fhir/Patient/x", json={}, headers=sender.headers)
    assert r.status_code == 405
    allowed = {m.strip() for m in r.headers["allow"].split(",")}
    assert {"GET", "PUT", "DELETE"} <= allowed
    assert r.json()["resourceType"] == "OperationOutcome"


def test_failed_batch_entries_carry_a_status_line(http: httpx.Client, sender: SenderKey) -> None:
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {"resource": _patient("B1"), "request": {"method": "POST", "url": "Patient"}},
            {
                "resource": _patient("B2", birthDate="1992/04/05"),
                "request": {"method": "POST", "url": "Patient"},
            },
            {"request": {"method": "GET", "url": "Patient/nobody"}},
        ],
    }
    r = http.post("/fhir", json=batch, headers=sender.headers)
    assert r.status_code == 200
    statuses = [e["response"]["status"] for e in r.json()["entry"]]
    assert statuses == ["201 Created", "400 Bad Request", "404 Not Found"]
