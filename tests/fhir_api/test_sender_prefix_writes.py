"""Conditional references in every form, conditional create, update and delete, transactions and
batches, and the data-quality view, for senders whose ids are prefixes of one another (hosp,
hosp-a, hosp-ab), each holding a Patient with the same MRN. Each resolves, matches, changes and
counts exactly its own: a sender check that compared ids by prefix or substring would make
hosp's conditions match two or three women (or another sender's), and one without the sender
would link hosp-ab's records to hosp's woman."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from mch_service.app import Services
from tests.conftest import SenderKey, make_sender
from tests.domain.fixtures import obs

SENDERS = ("hosp", "hosp-a", "hosp-ab")
MRN = {"system": "urn:mrn", "value": "7"}


@pytest.fixture
def senders(http: httpx.Client, services: Services) -> dict[str, tuple[SenderKey, str]]:
    """Each sender with the id of its own Patient (MRN urn:mrn|7 at every one)."""
    out = {}
    for name in SENDERS:
        key = make_sender(services, name)
        r = http.post(
            "/fhir/Patient",
            json={"resourceType": "Patient", "identifier": [MRN], "gender": "female"},
            headers=key.headers,
        )
        assert r.status_code == 201, r.text
        out[name] = (key, str(r.json()["id"]))
    return out


def _hb(subject: str) -> dict[str, Any]:
    return obs(subject, "718-7", "2025-03-01", valueQuantity={"value": 120, "unit": "g/L"})


def _subject_written(http: httpx.Client, key: SenderKey, location: str) -> str:
    """The stored subject of the Observation at ``location`` ('Observation/id/_history/n')."""
    obs_id = location.split("/")[1]
    r = http.get(f"/fhir/Observation/{obs_id}", headers=key.headers)
    assert r.status_code == 200, r.text
    return str(r.json()["subject"]["reference"])


def _own_forms(mine: str) -> list[str]:
    return [
        f"Patient?_id={mine}",
        "Patient?identifier=urn:mrn|7",
        "Patient?identifier=7",
        f"Patient?_id={mine}&identifier=urn:mrn|7",
    ]


@pytest.mark.parametrize("bundle_type", ["transaction", "batch"])
def test_conditional_references_in_bundles_resolve_to_the_senders_own_woman(
    http: httpx.Client, senders: dict[str, tuple[SenderKey, str]], bundle_type: str
) -> None:
    for name, (key, mine) in senders.items():
        for ref in _own_forms(mine):
            body = {
                "resourceType": "Bundle",
                "type": bundle_type,
                "entry": [
                    {
                        "fullUrl": "urn:uuid:0b6c3a52-4a8b-4d55-9c1e-1f3c2a7d9e01",
                        "resource": _hb(ref),
                        "request": {"method": "POST", "url": "Observation"},
                    }
                ],
            }
            r = http.post("/fhir", json=body, headers=key.headers)
            assert r.status_code == 200, (name, ref, r.text)
            [answer] = r.json()["entry"]
            assert answer["response"]["status"].startswith("201"), (name, ref, answer)
            written = _subject_written(http, key, answer["response"]["location"])
            assert written == f"Patient/{mine}", (name, ref)
        for other, (_, theirs) in senders.items():
            if other == name:
                continue
            body = {
                "resourceType": "Bundle",
                "type": bundle_type,
                "entry": [
                    {
                        "fullUrl": "urn:uuid:0b6c3a52-4a8b-4d55-9c1e-1f3c2a7d9e02",
                        "resource": _hb(f"Patient?_id={theirs}"),
                        "request": {"method": "POST", "url": "Observation"},
                    }
                ],
            }
            r = http.post("/fhir", json=body, headers=key.headers)
            if bundle_type == "transaction":
                assert r.status_code == 400, (name, other, r.text)
                [issue] = r.json()["issue"]
            else:  # a batch answers per entry
                assert r.status_code == 200, r.text
                [answer] = r.json()["entry"]
                assert answer["response"]["status"].startswith("400"), (name, other, answer)
                [issue] = answer["response"]["outcome"]["issue"]
            assert issue["code"] == "not-found", (name, other, issue)
    # nothing of another sender's woman was linked: each sender's Observations name its own
    for name, (key, mine) in senders.items():
        found = http.get("/fhir/Observation?_count=100", headers=key.headers).json()
        subjects = {e["resource"]["subject"]["reference"] for e in found.get("entry", [])}
        assert subjects == {f"Patient/{mine}"}, name
        assert found["total"] == len(_own_forms(mine)), name


def test_conditional_references_in_a_single_write_resolve_to_the_senders_own_woman(
    http: httpx.Client, senders: dict[str, tuple[SenderKey, str]]
) -> None:
    for name, (key, mine) in senders.items():
        for ref in _own_forms(mine):
            r = http.post("/fhir/Observation", json=_hb(ref), headers=key.headers)
            assert r.status_code == 201, (name, ref, r.text)
            assert r.json()["subject"]["reference"] == f"Patient/{mine}", (name, ref)
        for other, (_, theirs) in senders.items():
            if other != name:
                r = http.post(
                    "/fhir/Observation", json=_hb(f"Patient?_id={theirs}"), headers=key.headers
                )
                assert r.status_code == 400, (name, other, r.text)
                assert r.json()["issue"][0]["code"] == "not-found"


def test_conditional_create_update_and_delete_touch_only_the_senders_own(
    http: httpx.Client, senders: dict[str, tuple[SenderKey, str]]
) -> None:
    patient = {"resourceType": "Patient", "identifier": [MRN], "gender": "female"}
    for name, (key, mine) in senders.items():
        # conditional create in a transaction: the sender's own woman exists (one match)
        body = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "fullUrl": "urn:uuid:0b6c3a52-4a8b-4d55-9c1e-1f3c2a7d9e03",
                    "resource": patient,
                    "request": {
                        "method": "POST",
                        "url": "Patient",
                        "ifNoneExist": "identifier=urn:mrn|7",
                    },
                }
            ],
        }
        r = http.post("/fhir", json=body, headers=key.headers)
        assert r.status_code == 200, (name, r.text)
        [answer] = r.json()["entry"]
        assert answer["response"]["status"].startswith("200"), (name, answer)
        assert answer["response"]["location"].startswith(f"Patient/{mine}/"), (name, answer)
        # the If-None-Exist header on a single create
        r = http.post(
            "/fhir/Patient",
            json=patient,
            headers={**key.headers, "If-None-Exist": "identifier=urn:mrn|7"},
        )
        assert r.status_code == 200, (name, r.text)
        assert r.json()["id"] == mine
    # conditional update by the middle sender: its own woman gets version 2, no other changes
    key_a, mine_a = senders["hosp-a"]
    r = http.put(
        "/fhir/Patient?identifier=urn:mrn|7",
        json={**patient, "gender": "other"},
        headers=key_a.headers,
    )
    assert r.status_code == 200, r.text
    assert r.json()["id"] == mine_a
    for name, (key, mine) in senders.items():
        current = http.get(f"/fhir/Patient/{mine}", headers=key.headers).json()
        assert current["meta"]["versionId"] == ("2" if name == "hosp-a" else "1"), name
        assert current["gender"] == ("other" if name == "hosp-a" else "female"), name
    # conditional delete by the shortest id: only its own woman is gone
    key_h, mine_h = senders["hosp"]
    assert http.delete("/fhir/Patient?identifier=urn:mrn|7", headers=key_h.headers).status_code in (
        200,
        204,
    )
    for name, (key, mine) in senders.items():
        status = http.get(f"/fhir/Patient/{mine}", headers=key.headers).status_code
        assert status == (410 if name == "hosp" else 200), name


def test_the_data_quality_view_counts_only_the_senders_own(
    http: httpx.Client, senders: dict[str, tuple[SenderKey, str]]
) -> None:
    # refused writes: 1 by hosp, 2 by hosp-a, 3 by hosp-ab (an Observation without status)
    refused = {"hosp": 1, "hosp-a": 2, "hosp-ab": 3}
    for name, (key, mine) in senders.items():
        bad = _hb(f"Patient/{mine}")
        del bad["status"]
        for _ in range(refused[name]):
            assert http.post("/fhir/Observation", json=bad, headers=key.headers).status_code == 400
    for name, (key, _) in senders.items():
        r = http.get("/fhir/$data-quality", headers=key.headers)
        assert r.status_code == 200, r.text
        rejections = r.json()["rejections"]
        assert len(rejections["items"]) == refused[name], (name, rejections)


def test_an_id_and_an_identifier_she_does_not_carry_match_nobody(
    http: httpx.Client, senders: dict[str, tuple[SenderKey, str]]
) -> None:
    """Both conditions of ``Patient?_id=X&identifier=...`` must hold, with or without a system
    (the value-only form was once dropped when ``_id`` came with it, linking to X anyway)."""
    key, mine = senders["hosp-a"]
    for ref in (f"Patient?_id={mine}&identifier=Z9", f"Patient?_id={mine}&identifier=urn:mrn|Z9"):
        r = http.post("/fhir/Observation", json=_hb(ref), headers=key.headers)
        assert r.status_code == 400, (ref, r.text)
        assert r.json()["issue"][0]["code"] == "not-found", ref
    # her own identifier, without its system, with her id: her
    r = http.post(
        "/fhir/Observation", json=_hb(f"Patient?_id={mine}&identifier=7"), headers=key.headers
    )
    assert r.status_code == 201, r.text
    assert r.json()["subject"]["reference"] == f"Patient/{mine}"
