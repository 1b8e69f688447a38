"""The same record sent at the same moment is stored once: uniqueness lives in the database."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator

import httpx
import pytest
from sqlalchemy import func, select

from mch_service.app import Services
from mch_service.store.models import FhirResource, FhirResourceVersion
from tests.conftest import SenderKey

MRN = "urn:oid:1.2.156.1.mrn"
PARALLEL = 8


def _race(fn: Callable[[int], httpx.Response]) -> list[httpx.Response]:
    """Run fn(i) in PARALLEL threads released at the same instant."""
    barrier = threading.Barrier(PARALLEL)
    results: list[httpx.Response | None] = [None] * PARALLEL

    def run(i: int) -> None:
        barrier.wait()
        results[i] = fn(i)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(PARALLEL)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert all(r is not None for r in results)
    return results  # type: ignore[return-value]


def _count(services: Services, rtype: str) -> int:
    with services.db.reading() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(FhirResource)
                .where(FhirResource.resource_type == rtype)
            )
            or 0
        )


@pytest.fixture
def clients(http: httpx.Client) -> Iterator[list[httpx.Client]]:
    out = [httpx.Client(base_url=str(http.base_url), timeout=60) for _ in range(PARALLEL)]
    yield out
    for c in out:
        c.close()


def test_parallel_conditional_creates_make_one_resource(
    clients: list[httpx.Client], services: Services, sender: SenderKey
) -> None:
    body = {"resourceType": "Patient", "identifier": [{"system": MRN, "value": "RACE-1"}]}
    headers = {**sender.headers, "If-None-Exist": f"identifier={MRN}|RACE-1"}
    responses = _race(lambda i: clients[i].post("/fhir/Patient", json=body, headers=headers))
    assert sorted(r.status_code for r in responses) == [200] * (PARALLEL - 1) + [201]
    assert len({r.json()["id"] for r in responses}) == 1
    assert _count(services, "Patient") == 1


def test_parallel_conditional_updates_make_one_resource(
    clients: list[httpx.Client], services: Services, sender: SenderKey
) -> None:
    def put(i: int) -> httpx.Response:
        body = {
            "resourceType": "Patient",
            "identifier": [{"system": MRN, "value": "RACE-2"}],
            "gender": "female",
            "birthDate": f"1990-01-0{i + 1}",
        }
        return clients[i].put(
            f"/fhir/Patient?identifier={MRN}|RACE-2", json=body, headers=sender.headers
        )

    responses = _race(put)
    assert all(r.status_code in (200, 201) for r in responses), [r.text for r in responses]
    assert [r.status_code for r in responses].count(201) == 1
    assert len({r.json()["id"] for r in responses}) == 1
    assert _count(services, "Patient") == 1
    # every acknowledged update is a version: none silently replaced another
    with services.db.reading() as session:
        versions = session.scalar(select(func.count()).select_from(FhirResourceVersion)) or 0
    assert versions == PARALLEL


def test_parallel_identical_plain_creates_make_one_resource(
    clients: list[httpx.Client], services: Services, sender: SenderKey
) -> None:
    obs = {
        "resourceType": "Observation",
        "status": "final",
        "code": {"text": "Hb"},
        "effectiveDateTime": "2025-05-05",
        "valueQuantity": {"value": 101, "unit": "g/L"},
    }
    responses = _race(
        lambda i: clients[i].post("/fhir/Observation", json=obs, headers=sender.headers)
    )
    assert sorted(r.status_code for r in responses) == [200] * (PARALLEL - 1) + [201]
    assert _count(services, "Observation") == 1


def test_parallel_transactions_with_the_same_patient(
    clients: list[httpx.Client], services: Services, sender: SenderKey
) -> None:
    def send(i: int) -> httpx.Response:
        bundle = {
            "resourceType": "Bundle",
            "type": "transaction",
            "entry": [
                {
                    "fullUrl": "urn:uuid:00000000-0000-4000-8000-000000000001",
                    "request": {"method": "POST", "url": "Patient"},
                    "resource": {
                        "resourceType": "Patient",
                        "identifier": [{"system": MRN, "value": "RACE-3"}],
                    },
                },
                {
                    "request": {"method": "POST", "url": "Observation"},
                    "resource": {
                        "resourceType": "Observation",
                        "status": "final",
                        "code": {"text": f"visit {i}"},
                        "subject": {"reference": "urn:uuid:00000000-0000-4000-8000-000000000001"},
                    },
                },
            ],
        }
        return clients[i].post("/fhir", json=bundle, headers=sender.headers)

    responses = _race(send)
    assert all(r.status_code == 200 for r in responses), [r.text for r in responses]
    assert _count(services, "Patient") == 1
    assert _count(services, "Observation") == PARALLEL


def test_a_retried_transaction_resolves_its_references_again(
    services: Services, sender: SenderKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """When a unique key stops the first attempt (another request won a race), the retry
    assigns new ids; the references between the Bundle's entries must follow them, not keep
    the ids of the attempt that was rolled back."""
    from sqlalchemy.exc import IntegrityError

    from mch_service.audit.service import Actor
    from mch_service.fhir_api.bundle_responses import Prefer

    store = services.store
    real_apply = store.apply
    calls = {"n": 0}

    def apply_losing_the_first_race(*args, **kwargs):  # type: ignore[no-untyped-def]
        calls["n"] += 1
        if calls["n"] == 1:
            real_apply(*args, **kwargs)  # writes, then the unique key "fires"
            raise IntegrityError("INSERT", None, Exception("duplicate key (simulated race)"))
        return real_apply(*args, **kwargs)

    monkeypatch.setattr(store, "apply", apply_losing_the_first_race)
    bundle = {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "fullUrl": "urn:uuid:6f1f6d1e-0000-4000-8000-000000000001",
                "resource": {
                    "resourceType": "Patient",
                    "identifier": [{"system": MRN, "value": "RETRY-1"}],
                },
                "request": {"method": "POST", "url": "Patient"},
            },
            {
                "resource": {
                    "resourceType": "Observation",
                    "status": "final",
                    "code": {"text": "weight"},
                    "subject": {"reference": "urn:uuid:6f1f6d1e-0000-4000-8000-000000000001"},
                },
                "request": {"method": "POST", "url": "Observation"},
            },
        ],
    }
    out = services.fhir.bundle(
        Actor("institution", sender.institution_id, None), bundle, Prefer("representation")
    )
    assert calls["n"] == 2
    patient_id = out["entry"][0]["resource"]["id"]
    assert out["entry"][1]["resource"]["subject"]["reference"] == f"Patient/{patient_id}"
    stored = services.fhir.read(
        Actor("institution", sender.institution_id, None),
        "Observation",
        out["entry"][1]["resource"]["id"],
    ).resource
    assert stored["subject"]["reference"] == f"Patient/{patient_id}"  # type: ignore[index]
    assert _count(services, "Patient") == 1
