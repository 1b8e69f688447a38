"""Institutions: API keys, revocation, and a sender seeing only its own records."""

from __future__ import annotations

import time

import httpx
import pytest
from sqlalchemy import select, update

from mch_service.app import Services
from mch_service.audit.models import AuditEvent
from mch_service.institutions import service as institutions
from mch_service.institutions.models import InstitutionApiKey
from mch_service.institutions.service import revoke_keys, rotate_key
from mch_service.timeutil import utcnow
from tests.conftest import SenderKey


def _patient(pid: str) -> dict[str, str]:
    return {"resourceType": "Patient", "id": pid}


def test_missing_or_wrong_key_is_401(http: httpx.Client, sender: SenderKey) -> None:
    assert http.get("/fhir/Patient").status_code == 401
    r = http.get("/fhir/Patient", headers={"Authorization": "Bearer nope"})
    assert r.status_code == 401
    assert r.json()["resourceType"] == "OperationOutcome"
    assert r.headers["www-authenticate"] == "Bearer"


def test_metadata_is_public_and_truthful(http: httpx.Client, services: Services) -> None:
    cap = http.get("/fhir/metadata").json()
    assert cap["resourceType"] == "CapabilityStatement"
    assert cap["fhirVersion"] == "4.0.1"
    obs = next(r for r in cap["rest"][0]["resource"] if r["type"] == "Observation")
    assert {p["name"] for p in obs["searchParam"]} == {
        "_id",
        "identifier",
        "patient",
        "subject",
        "date",
        "_lastUpdated",
    }
    patient = next(r for r in cap["rest"][0]["resource"] if r["type"] == "Patient")
    assert "date" not in {p["name"] for p in patient["searchParam"]}
    limits = {e["url"].rsplit("/", 1)[1]: e["valueInteger"] for e in cap["extension"]}
    s = services.settings
    assert limits == {
        "max-bundle-entries": 50,
        "max-body-bytes": 5_000_000,
        "max-resource-bytes": s.max_resource_bytes,
        "max-batch-gets": s.max_batch_gets,
        "max-batch-response-bytes": s.max_batch_response_bytes,
    }


def test_revoked_and_rotated_keys(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    with services.db.transaction() as session:
        new = rotate_key(session, sender.institution_id)
    new_headers = {**sender.headers, "Authorization": f"Bearer {new.api_key}"}
    assert http.get("/fhir/Patient", headers=sender.headers).status_code == 200
    assert http.get("/fhir/Patient", headers=new_headers).status_code == 200
    with services.db.transaction() as session:
        revoke_keys(session, sender.institution_id, key_id=new.key_id - 1)
    assert http.get("/fhir/Patient", headers=sender.headers).status_code == 401
    assert http.get("/fhir/Patient", headers=new_headers).status_code == 200


def test_a_key_checked_while_its_revocation_commits_is_still_refused_after(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    # $validate checks the key and writes nothing (a read would write its audit row, and wait
    # on SQLite for this open write transaction)
    with services.db.transaction() as session:
        revoke_keys(session, sender.institution_id)
        # another request checks the key before the revocation is committed: still valid
        valid = http.post(
            "/fhir/Patient/$validate", json={"resourceType": "Patient"}, headers=sender.headers
        )
        assert valid.status_code == 200
    # the commit makes this process forget what that request remembered
    assert http.get("/fhir/Patient", headers=sender.headers).status_code == 401


def _revoke_as_another_process(services: Services, institution_id: str) -> None:
    """What `mch-service institutions revoke-keys` in another process does to the database,
    without this process hearing of it."""
    with services.db.transaction() as session:
        session.execute(
            update(InstitutionApiKey)
            .where(InstitutionApiKey.institution_id == institution_id)
            .values(revoked_at=utcnow())
        )


def test_a_key_revoked_elsewhere_is_refused_within_the_cache_window(
    http: httpx.Client, services: Services, sender: SenderKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Trusted for MCH_API_KEY_CACHE_SECONDS after it was checked, then asked again. The
    cache's clock is the test's, so however slow the machine, the edge is where it is set."""
    now = [float(int(time.monotonic()))]  # whole and quarter seconds: exact in binary
    monkeypatch.setattr(institutions, "clock", lambda: now[0])
    institutions.forget_checked_keys()
    window = services.settings.api_key_cache_seconds = 5.0  # the default
    assert http.get("/fhir/Patient", headers=sender.headers).status_code == 200
    _revoke_as_another_process(services, sender.institution_id)
    # this process checked the key a moment ago and trusts it for the window...
    now[0] += window - 0.25
    assert http.get("/fhir/Patient", headers=sender.headers).status_code == 200
    # ...and asks the database again once it is over
    now[0] += 0.25
    assert http.get("/fhir/Patient", headers=sender.headers).status_code == 401


def test_without_the_cache_every_request_checks_the_key(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    services.settings.api_key_cache_seconds = 0
    assert http.get("/fhir/Patient", headers=sender.headers).status_code == 200
    _revoke_as_another_process(services, sender.institution_id)
    assert http.get("/fhir/Patient", headers=sender.headers).status_code == 401


def test_a_sender_sees_and_changes_only_its_own(
    http: httpx.Client, sender: SenderKey, other_sender: SenderKey
) -> None:
    http.put("/fhir/Patient/mine", json=_patient("mine"), headers=sender.headers)
    # another sender's record is not found, exactly as an id nobody used
    for path in ("/fhir/Patient/{}", "/fhir/Patient/{}/_history", "/fhir/Patient/{}/_history/1"):
        theirs = http.get(path.format("mine"), headers=other_sender.headers)
        nobodys = http.get(path.format("nobody"), headers=other_sender.headers)
        assert theirs.status_code == nobodys.status_code == 404, path
        assert theirs.text.replace("mine", "X") == nobodys.text.replace("nobody", "X"), path
    assert http.delete("/fhir/Patient/mine", headers=other_sender.headers).status_code == 404
    assert http.get("/fhir/Patient", headers=other_sender.headers).json()["total"] == 0
    assert http.get("/fhir/Patient?_id=mine", headers=other_sender.headers).json()["total"] == 0
    # untouched
    assert http.get("/fhir/Patient/mine", headers=sender.headers).json()["meta"]["versionId"] == (
        "1"
    )


def test_same_identifier_at_two_senders_is_two_records(
    http: httpx.Client, sender: SenderKey, other_sender: SenderKey
) -> None:
    body = {"resourceType": "Patient", "identifier": [{"system": "urn:mrn", "value": "7"}]}
    a = http.post("/fhir/Patient", json=body, headers=sender.headers)
    b = http.post("/fhir/Patient", json=body, headers=other_sender.headers)
    assert (a.status_code, b.status_code) == (201, 201)
    assert a.json()["id"] != b.json()["id"]


def test_writes_and_rejections_are_audited(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    http.put("/fhir/Patient/a1", json=_patient("a1"), headers=sender.headers)
    http.post(
        "/fhir/Patient",
        json={"resourceType": "Patient", "birthDate": "nope"},
        headers=sender.headers,
    )
    http.delete("/fhir/Patient/a1", headers=sender.headers)
    with services.db.reading() as session:
        events = session.execute(
            select(
                AuditEvent.action, AuditEvent.outcome, AuditEvent.target_id, AuditEvent.actor_id
            ).order_by(AuditEvent.id)
        ).all()
    assert [(e.action, e.outcome) for e in events] == [
        ("fhir.create", "success"),
        ("fhir.create", "rejected"),
        ("fhir.delete", "success"),
    ]
    assert {e.actor_id for e in events} == {sender.institution_id}
    assert events[0].target_id == "a1"


def _read_events(services: Services) -> list[tuple[str | None, ...]]:
    with services.db.reading() as session:
        rows = session.execute(
            select(
                AuditEvent.actor_id,
                AuditEvent.action,
                AuditEvent.outcome,
                AuditEvent.target_type,
                AuditEvent.target_id,
                AuditEvent.detail,
            )
            .where(
                AuditEvent.action.in_(["fhir.read", "fhir.vread", "fhir.search", "fhir.history"])
            )
            .order_by(AuditEvent.id)
        ).all()
    return [tuple(r) for r in rows]


def test_sender_reads_searches_and_history_are_audited(
    http: httpx.Client, services: Services, sender: SenderKey, other_sender: SenderKey
) -> None:
    """Who read which resource, as for staff reads: a read, a version read, a history, a
    search (one row per resource it returned), a search in a batch, and a
    refused read. The query (identifier values: personal data) is never in the audit."""
    rid = "110101199001011234"
    patient = {
        "resourceType": "Patient",
        "id": "m1",
        "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": rid}],
        "name": [{"text": "王秀英"}],
    }
    assert http.put("/fhir/Patient/m1", json=patient, headers=sender.headers).status_code == 201
    obs = {
        "resourceType": "Observation",
        "id": "o1",
        "status": "final",
        "code": {"text": "x"},
        "subject": {"reference": "Patient/m1"},
    }
    assert http.put("/fhir/Observation/o1", json=obs, headers=sender.headers).status_code == 201
    obs2 = {**obs, "id": "o2"}
    assert http.put("/fhir/Observation/o2", json=obs2, headers=sender.headers).status_code == 201
    assert _read_events(services) == []

    a = sender.institution_id
    assert http.get("/fhir/Patient/m1", headers=sender.headers).status_code == 200
    assert http.get("/fhir/Patient/m1/_history/1", headers=sender.headers).status_code == 200
    assert http.get("/fhir/Patient/m1/_history", headers=sender.headers).status_code == 200
    found = http.get(
        "/fhir/Observation?patient=Patient/m1&_count=5",
        headers=sender.headers,
    )
    assert found.json()["total"] == 2
    assert (
        http.get(
            f"/fhir/Patient?identifier=urn:oid:2.16.156.10011.1.3|{rid}x", headers=sender.headers
        ).json()["total"]
        == 0
    )
    batch = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {
                "request": {
                    "method": "GET",
                    "url": f"Patient?identifier=urn:oid:2.16.156.10011.1.3|{rid}",
                }
            }
        ],
    }
    assert http.post("/fhir", json=batch, headers=sender.headers).status_code == 200
    # ids are the sender's own: another sender's m1 is not found, as an id nobody used
    assert http.get("/fhir/Patient/m1", headers=other_sender.headers).status_code == 404
    assert http.get("/fhir/Patient/nobody", headers=sender.headers).status_code == 404

    events = _read_events(services)
    assert events == [
        (a, "fhir.read", "success", "Patient", "m1", None),
        (a, "fhir.vread", "success", "Patient", "m1", "version 1"),
        (a, "fhir.history", "success", "Patient", "m1", "1 versions"),
        *sorted((a, "fhir.search", "success", "Observation", f"o{i}", None) for i in (1, 2)),
        (a, "fhir.search", "success", "Patient", None, "0 resources"),
        (a, "fhir.search", "success", "Patient", "m1", None),
        (other_sender.institution_id, "fhir.read", "rejected", "Patient", "m1", "- [not-found]"),
        (a, "fhir.read", "rejected", "Patient", "nobody", "- [not-found]"),
    ]
    assert not any(rid in str(e) or "王" in str(e) for e in events)
