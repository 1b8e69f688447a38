"""Search: identifier, patient/subject, date, _lastUpdated, _id and paging."""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

from tests.conftest import SenderKey

MRN = "urn:oid:1.2.156.1.mrn"


def _obs(patient: str, day: str, code: str = "718-7") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "status": "final",
        "code": {"coding": [{"system": "http://loinc.org", "code": code}]},
        "subject": {"reference": f"Patient/{patient}"},
        "effectiveDateTime": day,
        "valueQuantity": {"value": 110, "unit": "g/L"},
    }


def _ids(bundle: dict[str, Any]) -> list[str]:
    return [e["resource"]["id"] for e in bundle.get("entry", [])]


def _follow(http: httpx.Client, url: str, headers: dict[str, str]) -> list[str]:
    """Every id over all pages, following the next links."""
    ids: list[str] = []
    while url:
        page = http.get(url, headers=headers).json()
        ids += _ids(page)
        nxt = [link["url"] for link in page["link"] if link["relation"] == "next"]
        url = (
            "/fhir" + urlsplit(nxt[0]).path.split("/fhir", 1)[1] + "?" + urlsplit(nxt[0]).query
            if nxt
            else ""
        )
    return ids


@pytest.fixture
def data(http: httpx.Client, sender: SenderKey) -> dict[str, Any]:
    for pid in ("p1", "p2"):
        http.put(
            f"/fhir/Patient/{pid}",
            json={
                "resourceType": "Patient",
                "id": pid,
                "identifier": [{"system": MRN, "value": f"MRN-{pid}"}],
            },
            headers=sender.headers,
        )
    days = [
        "2025-01-15",
        "2025-02-10",
        "2025-02-28T23:30:00+08:00",
        "2025-03-01T00:30:00+08:00",
        "2025-03-20",
    ]
    made = {}
    for i, day in enumerate(days):
        r = http.post(
            "/fhir/Observation",
            json=_obs("p1" if i % 2 == 0 else "p2", day),
            headers=sender.headers,
        )
        made[day] = r.json()["id"]
    return made


def test_identifier_search_with_and_without_system(
    http: httpx.Client, sender: SenderKey, data: dict[str, Any]
) -> None:
    h = sender.headers
    assert _ids(http.get(f"/fhir/Patient?identifier={MRN}|MRN-p1", headers=h).json()) == ["p1"]
    assert _ids(http.get("/fhir/Patient?identifier=MRN-p2", headers=h).json()) == ["p2"]
    assert _ids(http.get("/fhir/Patient?identifier=other|MRN-p2", headers=h).json()) == []
    both = http.get("/fhir/Patient?identifier=MRN-p1,MRN-p2", headers=h).json()
    assert sorted(_ids(both)) == ["p1", "p2"]


def test_patient_and_subject_search(
    http: httpx.Client, sender: SenderKey, data: dict[str, Any]
) -> None:
    h = sender.headers
    p1 = http.get("/fhir/Observation?patient=p1", headers=h).json()
    assert p1["total"] == 3
    p2 = http.get("/fhir/Observation?subject=Patient/p2", headers=h).json()
    assert p2["total"] == 2


def test_date_search_uses_the_district_day(
    http: httpx.Client, sender: SenderKey, data: dict[str, Any]
) -> None:
    h = sender.headers
    feb = http.get("/fhir/Observation?date=2025-02", headers=h).json()
    # 23:30 on 28 Feb in Shanghai is February; 00:30 on 1 March is March, whatever UTC says
    assert sorted(_ids(feb)) == sorted([data["2025-02-10"], data["2025-02-28T23:30:00+08:00"]])
    after = http.get("/fhir/Observation?date=ge2025-03-01", headers=h).json()
    assert sorted(_ids(after)) == sorted([data["2025-03-01T00:30:00+08:00"], data["2025-03-20"]])
    before = http.get("/fhir/Observation?date=lt2025-02-01", headers=h).json()
    assert _ids(before) == [data["2025-01-15"]]
    combined = http.get(
        "/fhir/Observation?date=ge2025-02-01&date=lt2025-03-01&patient=p1", headers=h
    ).json()
    assert _ids(combined) == [data["2025-02-28T23:30:00+08:00"]]


def test_last_updated_and_id(http: httpx.Client, sender: SenderKey, data: dict[str, Any]) -> None:
    h = sender.headers
    assert http.get("/fhir/Observation?_lastUpdated=ge2000-01-01", headers=h).json()["total"] == 5
    assert http.get("/fhir/Observation?_lastUpdated=lt2000-01-01", headers=h).json()["total"] == 0
    assert _ids(http.get("/fhir/Patient?_id=p2", headers=h).json()) == ["p2"]


def test_paging_returns_every_match_once(
    http: httpx.Client, sender: SenderKey, data: dict[str, Any]
) -> None:
    first = http.get("/fhir/Observation?_count=2", headers=sender.headers).json()
    assert first["total"] == 5
    assert len(first["entry"]) == 2
    ids = _follow(http, "/fhir/Observation?_count=2", sender.headers)
    assert sorted(ids) == sorted(data.values())


def test_unsupported_parameters_are_refused(http: httpx.Client, sender: SenderKey) -> None:
    r = http.get("/fhir/Patient?name=peter", headers=sender.headers)
    assert r.status_code == 400
    assert "not supported" in r.json()["issue"][0]["diagnostics"]
    bad_date = http.get("/fhir/Observation?date=yesterday", headers=sender.headers)
    assert bad_date.status_code == 400
    assert http.get("/fhir/Patient?date=2025", headers=sender.headers).status_code == 400


def test_deleted_records_leave_search(
    http: httpx.Client, sender: SenderKey, data: dict[str, Any]
) -> None:
    http.delete("/fhir/Patient/p1", headers=sender.headers)
    assert _ids(http.get("/fhir/Patient", headers=sender.headers).json()) == ["p2"]
