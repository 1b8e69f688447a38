"""Create, read, update, delete, history, versions and preconditions through HTTP."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from tests.conftest import SenderKey

RESIDENT_ID = "urn:oid:2.16.156.10011.1.3"


def patient(mrn: str = "MRN-1", family: str = "王", **extra: Any) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:oid:1.2.156.1.mrn", "value": mrn}],
        "name": [{"family": family, "given": ["芳"]}],
        "gender": "female",
        "birthDate": "1992-04-05",
        **extra,
    }


def test_create_returns_201_location_etag_and_stored_content(
    http: httpx.Client, sender: SenderKey
) -> None:
    r = http.post("/fhir/Patient", json=patient(), headers=sender.headers)
    assert r.status_code == 201, r.text
    body = r.json()
    assert r.headers["etag"] == 'W/"1"'
    assert r.headers["location"].endswith(f"/fhir/Patient/{body['id']}/_history/1")
    assert r.headers["content-type"].startswith("application/fhir+json")
    assert body["meta"]["versionId"] == "1"
    read = http.get(f"/fhir/Patient/{body['id']}", headers=sender.headers)
    assert read.status_code == 200
    assert read.json()["name"] == [{"family": "王", "given": ["芳"]}]


def test_update_makes_a_new_version_and_history_keeps_both(
    http: httpx.Client, sender: SenderKey
) -> None:
    created = http.put("/fhir/Patient/p1", json={**patient(), "id": "p1"}, headers=sender.headers)
    assert created.status_code == 201
    changed = http.put(
        "/fhir/Patient/p1", json={**patient(family="李"), "id": "p1"}, headers=sender.headers
    )
    assert changed.status_code == 200
    assert changed.headers["etag"] == 'W/"2"'
    hist = http.get("/fhir/Patient/p1/_history", headers=sender.headers).json()
    assert hist["type"] == "history"
    assert [e["resource"]["meta"]["versionId"] for e in hist["entry"]] == ["2", "1"]
    v1 = http.get("/fhir/Patient/p1/_history/1", headers=sender.headers)
    assert v1.json()["name"][0]["family"] == "王"


def test_put_with_equal_content_makes_no_new_version(http: httpx.Client, sender: SenderKey) -> None:
    body = {**patient(), "id": "same"}
    http.put("/fhir/Patient/same", json=body, headers=sender.headers)
    again = http.put("/fhir/Patient/same", json=copy.deepcopy(body), headers=sender.headers)
    assert again.status_code == 200
    assert again.headers["etag"] == 'W/"1"'
    # server-set meta from a read-back does not count as a change either
    read = http.get("/fhir/Patient/same", headers=sender.headers).json()
    third = http.put("/fhir/Patient/same", json=read, headers=sender.headers)
    assert third.headers["etag"] == 'W/"1"'
    hist = http.get("/fhir/Patient/same/_history", headers=sender.headers).json()
    assert hist["total"] == 1


def test_if_match_stale_version_is_412_and_changes_nothing(
    http: httpx.Client, sender: SenderKey
) -> None:
    http.put("/fhir/Patient/m", json={**patient(), "id": "m"}, headers=sender.headers)
    http.put("/fhir/Patient/m", json={**patient(family="李"), "id": "m"}, headers=sender.headers)
    stale = http.put(
        "/fhir/Patient/m",
        json={**patient(family="张"), "id": "m"},
        headers={**sender.headers, "If-Match": 'W/"1"'},
    )
    assert stale.status_code == 412
    assert stale.json()["resourceType"] == "OperationOutcome"
    assert http.get("/fhir/Patient/m", headers=sender.headers).json()["name"][0]["family"] == "李"
    ok = http.put(
        "/fhir/Patient/m",
        json={**patient(family="张"), "id": "m"},
        headers={**sender.headers, "If-Match": 'W/"2"'},
    )
    assert ok.status_code == 200
    assert ok.headers["etag"] == 'W/"3"'


def test_delete_keeps_history_and_read_says_gone(http: httpx.Client, sender: SenderKey) -> None:
    http.put("/fhir/Patient/d", json={**patient(), "id": "d"}, headers=sender.headers)
    r = http.delete("/fhir/Patient/d", headers=sender.headers)
    assert r.status_code == 204
    assert http.get("/fhir/Patient/d", headers=sender.headers).status_code == 410
    hist = http.get("/fhir/Patient/d/_history", headers=sender.headers).json()
    assert [e["request"]["method"] for e in hist["entry"]] == ["DELETE", "POST"]  # created, deleted
    assert http.get("/fhir/Patient/d/_history/1", headers=sender.headers).status_code == 200
    # deleting again is not an error (a retry must succeed), and no new version is made
    assert http.delete("/fhir/Patient/d", headers=sender.headers).status_code == 204
    assert http.get("/fhir/Patient/d/_history", headers=sender.headers).json()["total"] == 2
    # the identifier is free again: a new create makes a new record
    again = http.post("/fhir/Patient", json=patient(), headers=sender.headers)
    assert again.status_code == 201
    assert again.json()["id"] != "d"


def test_prefer_minimal_and_operation_outcome(http: httpx.Client, sender: SenderKey) -> None:
    minimal = http.post(
        "/fhir/Patient",
        json=patient("P-min"),
        headers={**sender.headers, "Prefer": "return=minimal"},
    )
    assert minimal.status_code == 201
    assert minimal.content == b""
    assert "location" in minimal.headers
    oo = http.post(
        "/fhir/Patient",
        json=patient("P-oo"),
        headers={**sender.headers, "Prefer": "return=OperationOutcome"},
    )
    assert oo.status_code == 201
    assert oo.json()["resourceType"] == "OperationOutcome"


def test_conditional_create_returns_existing(http: httpx.Client, sender: SenderKey) -> None:
    headers = {**sender.headers, "If-None-Exist": "identifier=urn:oid:1.2.156.1.mrn|C-1"}
    first = http.post("/fhir/Patient", json=patient("C-1"), headers=headers)
    second = http.post("/fhir/Patient", json=patient("C-1", family="other"), headers=headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert second.json()["name"][0]["family"] == "王"  # If-None-Exist never overwrites


def test_create_with_known_identifier_is_the_same_record(
    http: httpx.Client, sender: SenderKey
) -> None:
    first = http.post("/fhir/Patient", json=patient("B-1"), headers=sender.headers)
    same = http.post("/fhir/Patient", json=patient("B-1"), headers=sender.headers)
    corrected = http.post("/fhir/Patient", json=patient("B-1", family="赵"), headers=sender.headers)
    assert (first.status_code, same.status_code, corrected.status_code) == (201, 200, 200)
    assert first.json()["id"] == same.json()["id"] == corrected.json()["id"]
    assert corrected.headers["etag"] == 'W/"2"'
    found = http.get("/fhir/Patient?identifier=urn:oid:1.2.156.1.mrn|B-1", headers=sender.headers)
    assert found.json()["total"] == 1


def test_same_content_without_identifier_is_one_record(
    http: httpx.Client, sender: SenderKey
) -> None:
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "718-7"}]},
        "valueQuantity": {"value": 118, "unit": "g/L"},
        "effectiveDateTime": "2025-03-01",
    }
    a = http.post("/fhir/Observation", json=obs, headers=sender.headers)
    b = http.post("/fhir/Observation", json=obs, headers=sender.headers)
    assert (a.status_code, b.status_code) == (201, 200)
    assert a.json()["id"] == b.json()["id"]
    different = http.post(
        "/fhir/Observation", json={**obs, "effectiveDateTime": "2025-03-02"}, headers=sender.headers
    )
    assert different.status_code == 201
    assert different.json()["id"] != a.json()["id"]


def test_conditional_update_creates_then_updates(http: httpx.Client, sender: SenderKey) -> None:
    url = "/fhir/Patient?identifier=urn:oid:1.2.156.1.mrn|U-1"
    first = http.put(url, json=patient("U-1"), headers=sender.headers)
    second = http.put(url, json=patient("U-1", family="钱"), headers=sender.headers)
    assert (first.status_code, second.status_code) == (201, 200)
    assert first.json()["id"] == second.json()["id"]
    assert second.headers["etag"] == 'W/"2"'


def test_put_id_mismatch_and_type_mismatch_are_400(http: httpx.Client, sender: SenderKey) -> None:
    r = http.put("/fhir/Patient/a", json={**patient(), "id": "b"}, headers=sender.headers)
    assert r.status_code == 400
    assert r.json()["issue"][-1]["expression"] == ["Patient.id"]
    r = http.post("/fhir/Observation", json=patient(), headers=sender.headers)
    assert r.status_code == 400
    assert r.json()["issue"][-1]["expression"] == ["resourceType"]


def test_identifier_of_another_record_is_a_conflict(http: httpx.Client, sender: SenderKey) -> None:
    http.put("/fhir/Patient/x1", json={**patient("X"), "id": "x1"}, headers=sender.headers)
    r = http.put("/fhir/Patient/x2", json={**patient("X"), "id": "x2"}, headers=sender.headers)
    assert r.status_code == 409
    assert any(i.get("expression") == ["Patient.identifier"] for i in r.json()["issue"])
    assert http.get("/fhir/Patient/x2", headers=sender.headers).status_code == 404


def test_unknown_type_and_unknown_id(http: httpx.Client, sender: SenderKey) -> None:
    assert http.get("/fhir/Patient/nope", headers=sender.headers).status_code == 404
    r = http.post("/fhir/Woman", json={"resourceType": "Woman"}, headers=sender.headers)
    assert r.status_code == 400
    assert r.json()["resourceType"] == "OperationOutcome"


@pytest.mark.parametrize(
    ("content_type", "status"),
    [
        ("application/fhir+xml", 415),
        ("application/xml", 415),
        ("text/plain", 415),
        ("application/json", 201),
        ("application/fhir+json; charset=utf-8", 201),
    ],
)
def test_content_types(
    http: httpx.Client, sender: SenderKey, content_type: str, status: int
) -> None:
    import orjson

    body = (
        b"<Patient xmlns='http://hl7.org/fhir'/>"
        if "xml" in content_type
        else orjson.dumps(patient())
    )
    r = http.post(
        "/fhir/Patient", content=body, headers={**sender.headers, "Content-Type": content_type}
    )
    assert r.status_code == status
    if status >= 400:
        assert r.json()["resourceType"] == "OperationOutcome"


def test_xml_accept_is_406(http: httpx.Client, sender: SenderKey) -> None:
    r = http.get("/fhir/Patient", headers={**sender.headers, "Accept": "application/fhir+xml"})
    assert r.status_code == 406


def test_body_over_limit_is_413(http: httpx.Client, sender: SenderKey) -> None:
    big = patient(
        text={
            "status": "generated",
            "div": '<div xmlns="http://www.w3.org/1999/xhtml">' + "x" * 5_100_000 + "</div>",
        }
    )
    r = http.post("/fhir/Patient", json=big, headers=sender.headers)
    assert r.status_code == 413
    assert r.json()["resourceType"] == "OperationOutcome"


def test_validate_operation_stores_nothing(http: httpx.Client, sender: SenderKey) -> None:
    ok = http.post("/fhir/Patient/$validate", json=patient(), headers=sender.headers)
    assert ok.status_code == 200
    bad = http.post(
        "/fhir/Patient/$validate",
        json={**patient(), "birthDate": "1992-13-45"},
        headers=sender.headers,
    )
    assert bad.status_code == 400
    assert any(i.get("expression") == ["Patient.birthDate"] for i in bad.json()["issue"])
    assert http.get("/fhir/Patient", headers=sender.headers).json()["total"] == 0


def test_invalid_json_is_400_operation_outcome(http: httpx.Client, sender: SenderKey) -> None:
    r = http.post("/fhir/Patient", content=b'{"resourceType": "Patient",', headers=sender.headers)
    assert r.status_code == 400
    assert "line 1" in r.json()["issue"][0]["diagnostics"]


def test_local_times_without_offset_are_accepted_and_read_as_beijing_time(
    http: httpx.Client, sender: SenderKey
) -> None:
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "Hb"},
        "effectiveDateTime": "2025-03-31T23:30:00",
    }
    r = http.post("/fhir/Observation", json=obs, headers=sender.headers)
    assert r.status_code == 201, r.text
    assert r.json()["effectiveDateTime"] == "2025-03-31T23:30:00"  # kept as sent
    # 23:30 in Shanghai on 31 March is still March (15:30 UTC)
    march = http.get("/fhir/Observation?date=2025-03-31", headers=sender.headers).json()
    assert march["total"] == 1
    bad = http.post(
        "/fhir/Observation",
        json={**obs, "effectiveDateTime": "2025-03-31T25:30:00"},
        headers=sender.headers,
    )
    assert bad.status_code == 400


def test_required_bindings_are_checked(http: httpx.Client, sender: SenderKey) -> None:
    r = http.post("/fhir/Patient", json=patient(gender="woman"), headers=sender.headers)
    assert r.status_code == 400
    assert r.json()["issue"][0]["expression"] == ["Patient.gender"]
    obs = {"resourceType": "Observation", "status": "done", "code": {"text": "Hb"}}
    r = http.post("/fhir/Observation", json=obs, headers=sender.headers)
    assert r.status_code == 400
    assert r.json()["issue"][0]["expression"] == ["Observation.status"]


def test_control_characters_in_text_are_400_and_store_nothing(
    http: httpx.Client, sender: SenderKey
) -> None:
    """R4 strings may not hold characters below U+0020 other than tab, CR and LF (PostgreSQL's
    text columns refuse NUL outright: this was a 500 on a code that reached the domain)."""
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": "718\u00007"}]},
        "valueQuantity": {"value": 120, "unit": "g/L\u0008"},
    }
    r = http.post("/fhir/Observation", json=obs, headers=sender.headers)
    assert r.status_code == 400
    assert {tuple(i["expression"]) for i in r.json()["issue"]} == {
        ("Observation.code.coding[0].code",),
        ("Observation.valueQuantity.unit",),
    }
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {"resource": patient(), "request": {"method": "POST", "url": "Patient"}},
            {"resource": obs, "request": {"method": "POST", "url": "Observation"}},
        ],
    }
    r = http.post("/fhir", json=bundle, headers=sender.headers)
    assert r.status_code == 400
    assert ["Bundle.entry[1].resource.code.coding[0].code"] in [
        i["expression"] for i in r.json()["issue"]
    ]
    assert http.get("/fhir/Patient", headers=sender.headers).json()["total"] == 0
    # tab, carriage return and line feed are allowed
    fine = {**obs, "code": {"text": "line\none\ttab\r"}, "valueQuantity": {"value": 1}}
    assert http.post("/fhir/Observation", json=fine, headers=sender.headers).status_code == 201
