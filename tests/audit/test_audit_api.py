"""Administrators search and export the audit log; reading it is itself audited."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from zoneinfo import ZoneInfo

import httpx

from mch_service.app import Services
from mch_service.audit import service as audit_service
from mch_service.timeutil import utcnow
from tests.auth.test_accounts import add_user, bearer, token_for
from tests.conftest import SenderKey


def test_search_filter_page_and_export(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    add_user(services, "admin1", "admin")
    admin = bearer(token_for(http, "admin1"))
    http.post("/api/v1/token", json={"username": "admin1", "password": "wrong"})
    for i in range(3):
        http.put(
            f"/fhir/Patient/p{i}",
            json={"resourceType": "Patient", "id": f"p{i}"},
            headers=sender.headers,
        )
    denied = http.get("/api/v1/audit?action=auth.sign_in&outcome=denied", headers=admin).json()
    assert [(e["action"], e["outcome"], e["target_id"]) for e in denied["events"]] == [
        ("auth.sign_in", "denied", "admin1")
    ]
    creates = http.get("/api/v1/audit?action=fhir.&limit=2", headers=admin).json()
    assert [e["target_id"] for e in creates["events"]] == ["p2", "p1"]  # newest first
    rest = http.get(
        f"/api/v1/audit?action=fhir.&limit=2&before_id={creates['next_before_id']}", headers=admin
    ).json()
    assert [e["target_id"] for e in rest["events"]] == ["p0"]
    by_sender = http.get(f"/api/v1/audit?actor={sender.institution_id}", headers=admin).json()
    assert len(by_sender["events"]) == 3
    # a time with the district's offset is the same instant as in UTC (SQLite compared text)
    local = (utcnow() - timedelta(hours=1)).astimezone(ZoneInfo("Asia/Shanghai")).isoformat()
    recent = http.get(
        "/api/v1/audit", params={"actor": sender.institution_id, "since": local}, headers=admin
    ).json()
    assert len(recent["events"]) == 3
    later = http.get(
        "/api/v1/audit", params={"actor": sender.institution_id, "until": local}, headers=admin
    ).json()
    assert later["events"] == []

    export = http.get("/api/v1/audit.csv?action=fhir.", headers=admin)
    assert export.status_code == 200
    assert export.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(export.content.decode("utf-8-sig"))))
    assert [r["target_id"] for r in rows] == ["p0", "p1", "p2"]  # oldest first
    assert all(r["actor_id"] == sender.institution_id for r in rows)

    seen = http.get("/api/v1/audit?action=audit.", headers=admin).json()["events"]
    assert {e["action"] for e in seen} >= {"audit.search", "audit.export"}
    assert all(e["actor_id"] == "admin1" for e in seen)


def test_the_request_id_finds_a_request_in_the_audit(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    """The X-Request-ID a response carries (and the access log's request_id) is on every audit
    row the request wrote: one id finds the request in the log and in the audit."""
    add_user(services, "auditor", "admin")
    admin = bearer(token_for(http, "auditor"))
    bundle = {
        "resourceType": "Bundle",
        "type": "batch",
        "entry": [
            {
                "resource": {"resourceType": "Patient", "id": f"rq{i}", "gender": "female"},
                "request": {"method": "PUT", "url": f"Patient/rq{i}"},
            }
            for i in range(2)
        ],
    }
    sent = http.post(
        "/fhir", json=bundle, headers={**sender.headers, "X-Request-ID": "trace-0001-abcdef"}
    )
    assert sent.status_code == 200
    assert sent.headers["x-request-id"] == "trace-0001-abcdef"
    other = http.get("/fhir/Patient/rq0", headers=sender.headers)
    mine = http.get("/api/v1/audit", params={"request_id": "trace-0001-abcdef"}, headers=admin)
    assert mine.status_code == 200
    rows = mine.json()["events"] if isinstance(mine.json(), dict) else mine.json()
    assert sorted((r["action"], r["target_id"]) for r in rows) == [
        ("fhir.create", "rq0"),
        ("fhir.create", "rq1"),
    ]
    assert {r["request_id"] for r in rows} == {"trace-0001-abcdef"}
    theirs = http.get(
        "/api/v1/audit", params={"request_id": other.headers["x-request-id"]}, headers=admin
    ).json()
    theirs = theirs["events"] if isinstance(theirs, dict) else theirs
    assert [(r["action"], r["target_id"]) for r in theirs] == [("fhir.read", "rq0")]
    exported = http.get(
        "/api/v1/audit.csv", params={"request_id": "trace-0001-abcdef"}, headers=admin
    )
    table = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert {r["request_id"] for r in table} == {"trace-0001-abcdef"}
    assert len(table) == 2


def test_feed_activity_since_a_local_midnight_counts_in_utc(
    services: Services, http: httpx.Client, sender: SenderKey
) -> None:
    """The administrators' home counts today's writes from the district's midnight. Handed a
    time in +08:00, the count must compare instants: on SQLite the stored UTC text compared
    with the +08:00 text missed every write between 00:00 and 08:00 local (CI saw 0 for 1)."""
    r = http.post("/fhir/Patient", json={"resourceType": "Patient"}, headers=sender.headers)
    assert r.status_code == 201
    an_hour_ago = (utcnow() - timedelta(hours=1)).astimezone(ZoneInfo("Asia/Shanghai"))
    with services.db.reading() as session:
        rows = audit_service.feed_activity(session, an_hour_ago)
    assert [(inst, ok, bad) for inst, _, ok, bad in rows] == [(sender.institution_id, 1, 0)]
