"""Links, fullUrls and Location headers use the base the client reached (or MCH_PUBLIC_BASE),
not the canonical base: clients such as fhirpy only follow links under the base they know."""

from __future__ import annotations

import httpx

from mch_service.app import Services
from tests.conftest import SenderKey


def _patient(mrn: str) -> dict[str, object]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:oid:1.2.156.1.mrn", "value": mrn}],
        "gender": "female",
    }


def test_search_links_and_full_urls_use_the_request_base(
    http: httpx.Client, sender: SenderKey
) -> None:
    base = f"{http.base_url}".rstrip("/") + "/fhir"
    for i in range(3):
        assert http.post("/fhir/Patient", json=_patient(f"M{i}"), headers=sender.headers).is_success
    page = http.get("/fhir/Patient?_count=2", headers=sender.headers).json()
    links = {link["relation"]: link["url"] for link in page["link"]}
    assert links["self"].startswith(f"{base}/Patient?")
    assert links["next"].startswith(f"{base}/Patient?")
    assert all(e["fullUrl"].startswith(f"{base}/Patient/") for e in page["entry"])
    # The next link works as it is given, to the last page.
    seen = [e["fullUrl"] for e in page["entry"]]
    last = http.get(links["next"], headers=sender.headers).json()
    seen += [e["fullUrl"] for e in last["entry"]]
    assert len(set(seen)) == 3
    assert not any(link["relation"] == "next" for link in last["link"])


def test_history_and_batch_search_use_the_request_base(
    http: httpx.Client, sender: SenderKey
) -> None:
    base = f"{http.base_url}".rstrip("/") + "/fhir"
    r = http.put("/fhir/Patient/p1", json={**_patient("H1"), "id": "p1"}, headers=sender.headers)
    assert r.headers["location"].startswith(f"{base}/Patient/p1")
    hist = http.get("/fhir/Patient/p1/_history", headers=sender.headers).json()
    assert hist["entry"][0]["fullUrl"] == f"{base}/Patient/p1"
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [{"request": {"method": "GET", "url": "Patient?_count=1"}}],
    }
    out = http.post("/fhir", json=batch, headers=sender.headers).json()
    inner = out["entry"][0]["resource"]
    assert inner["entry"][0]["fullUrl"] == f"{base}/Patient/p1"
    assert inner["link"][0]["url"].startswith(f"{base}/Patient?")


def test_public_base_setting_wins_over_the_request(
    http: httpx.Client, sender: SenderKey, services: Services
) -> None:
    settings = services.settings  # the live server reads this very object
    settings.public_base = "https://mch.example.org/gateway/fhir/"
    try:
        created = http.post("/fhir/Patient", json=_patient("P1"), headers=sender.headers)
        assert created.headers["location"].startswith(
            "https://mch.example.org/gateway/fhir/Patient/"
        )
        page = http.get("/fhir/Patient", headers=sender.headers).json()
        assert page["link"][0]["url"].startswith("https://mch.example.org/gateway/fhir/Patient?")
        assert page["entry"][0]["fullUrl"].startswith(
            "https://mch.example.org/gateway/fhir/Patient/"
        )
    finally:
        settings.public_base = ""
