"""The FHIR Bulk Data export over HTTP (Bulk Data Access IG v2.0.0): kick-off, status, files,
cancel; who may export; _type, _since, _outputFormat; bounds, expiry and the audit. Every
count here is of records the test itself stored."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from mch_service.app import Services
from mch_service.audit.models import AuditEvent
from mch_service.bulk_export.models import ExportJob
from mch_service.timeutil import utcnow
from tests.auth.test_accounts import add_user, bearer, token_for
from tests.bulk_export.conftest import KICK_OFF, export, kick_off, read_output, wait
from tests.conftest import SenderKey

RID = "110101199003074578"
SENDER_TAG = "http://mch-service.local/fhir/CodeSystem/sender"


def _patient(pid: str, rid: str = RID) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "id": pid,
        "identifier": [{"system": "urn:oid:2.16.156.10011.1.3", "value": rid}],
        "name": [{"text": "王秀英"}],
        "gender": "female",
    }


def _obs(oid: str, pid: str, text: str = "x") -> dict[str, Any]:
    return {
        "resourceType": "Observation",
        "id": oid,
        "status": "final",
        "code": {"text": text},
        "subject": {"reference": f"Patient/{pid}"},
    }


def _put(http: httpx.Client, sender: SenderKey, resource: dict[str, Any]) -> None:
    url = f"/fhir/{resource['resourceType']}/{resource['id']}"
    r = http.put(url, json=resource, headers=sender.headers)
    assert r.status_code in (200, 201), r.text


@pytest.fixture
def stored(http: httpx.Client, sender: SenderKey, other_sender: SenderKey) -> None:
    """Two hospitals: hospital-a has Patient/m1 with o1, o2 and o3 (o3 deleted) and an
    Organization; hospital-b has its own Patient/m1 (same id, another woman) with o1."""
    _put(http, sender, _patient("m1"))
    for oid in ("o1", "o2", "o3"):
        _put(http, sender, _obs(oid, "m1"))
    assert http.delete("/fhir/Observation/o3", headers=sender.headers).status_code == 204
    _put(http, sender, {"resourceType": "Organization", "id": "org1", "name": "南沙区妇幼"})
    _put(http, other_sender, _patient("m1", "110101199105051234"))
    _put(http, other_sender, _obs("o1", "m1"))


def _ids(resources: list[dict[str, Any]]) -> list[tuple[str, str]]:
    """(sender from the tag, id) of each resource, sorted."""
    out = []
    for r in resources:
        senders = [t["code"] for t in r["meta"]["tag"] if t["system"] == SENDER_TAG]
        assert len(senders) == 1
        out.append((senders[0], r["id"]))
    return sorted(out)


def _audit(services: Services, action: str) -> list[AuditEvent]:
    with services.db.reading() as session:
        return list(
            session.scalars(
                select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
            )
        )


@pytest.mark.usefixtures("stored")
def test_system_export_by_the_platform(
    http: httpx.Client, services: Services, platform: dict[str, str]
) -> None:
    r = kick_off(http, platform)
    assert r.status_code == 202, r.text
    status_url = r.headers["Content-Location"]
    assert status_url.startswith(str(http.base_url) + "/fhir/$export-status/")
    done = wait(http, platform, status_url)
    assert done.status_code == 200, done.text
    manifest = done.json()
    assert manifest["request"] == str(http.base_url) + "/fhir/$export"
    assert manifest["requiresAccessToken"] is True
    assert manifest["error"] == []
    assert manifest["transactionTime"].endswith("Z")
    assert "Expires" in done.headers
    assert sorted((o["type"], o["count"]) for o in manifest["output"]) == [
        ("Observation", 3),
        ("Organization", 1),
        ("Patient", 2),
    ]
    out = read_output(http, platform, manifest)
    # current versions, deleted o3 left out; both senders' m1 and o1, told apart by the tag
    assert _ids(out["Observation"]) == [
        ("hospital-a", "o1"),
        ("hospital-a", "o2"),
        ("hospital-b", "o1"),
    ]
    assert _ids(out["Patient"]) == [("hospital-a", "m1"), ("hospital-b", "m1")]
    # as stored: the resident ID and name in clear (the district's data for the province)
    a = next(p for p in out["Patient"] if p["identifier"][0]["value"] == RID)
    assert a["name"] == [{"text": "王秀英"}]
    assert a["meta"]["versionId"] == "1"
    # audited: the request, its end (counts per type), each file fetched
    job_id = status_url.rsplit("/", 1)[1]
    (asked,) = _audit(services, "fhir.export")
    assert (asked.actor_kind, asked.actor_id, asked.target_id) == (
        "export_client",
        "province",
        job_id,
    )
    assert "system export" in (asked.detail or "")
    (ended,) = _audit(services, "fhir.export.done")
    assert ended.detail == "6 resources: Observation 3, Organization 1, Patient 2"
    assert len(_audit(services, "fhir.export.download")) == 3
    # the files are the service user's only
    folder = Path(services.settings.export_dir) / job_id
    assert folder.stat().st_mode & 0o777 == 0o700
    assert {p.stat().st_mode & 0o777 for p in folder.iterdir()} == {0o600}


@pytest.mark.usefixtures("stored")
def test_patient_export_is_the_patient_compartment(
    http: httpx.Client, platform: dict[str, str]
) -> None:
    manifest = export(http, platform, "/fhir/Patient/$export")
    assert manifest["request"].endswith("/fhir/Patient/$export")
    assert sorted(o["type"] for o in manifest["output"]) == ["Observation", "Patient"]
    r = kick_off(http, platform, "/fhir/Patient/$export?_type=Organization")
    assert r.status_code == 400
    assert r.json()["issue"][0]["expression"] == ["_type"]


@pytest.mark.usefixtures("stored")
def test_type_and_since(http: httpx.Client, sender: SenderKey, platform: dict[str, str]) -> None:
    only = export(http, platform, "/fhir/$export?_type=Patient,Organization")
    assert sorted(o["type"] for o in only["output"]) == ["Organization", "Patient"]
    # after the first export: o2 changes, o1 is deleted, a new o4 arrives
    _put(http, sender, _obs("o2", "m1", "changed"))
    assert http.delete("/fhir/Observation/o1", headers=sender.headers).status_code == 204
    _put(http, sender, _obs("o4", "m1"))
    since = only["transactionTime"]
    later = export(http, platform, f"/fhir/$export?_since={since}")
    out = read_output(http, platform, later)
    assert list(out) == ["Observation"]
    assert _ids(out["Observation"]) == [("hospital-a", "o2"), ("hospital-a", "o4")]
    assert next(o for o in out["Observation"] if o["id"] == "o2")["code"]["text"] == "changed"
    # nothing changed since the last one: an empty export
    empty = export(http, platform, f"/fhir/$export?_since={later['transactionTime']}")
    assert empty["output"] == []


@pytest.mark.parametrize(
    ("query", "expression"),
    [
        ("_outputFormat=text/csv", "_outputFormat"),
        ("_type=Patient,NotAType", "_type"),
        ("_since=2025-01-01", "_since"),
        ("_since=2025-01-01T00:00:00", "_since"),
        ("_typeFilter=Patient%3Factive%3Dtrue", "_typeFilter"),
        ("patient=Patient/m1", "patient"),
    ],
)
def test_refused_parameters_name_themselves(
    http: httpx.Client, platform: dict[str, str], query: str, expression: str
) -> None:
    r = kick_off(http, platform, f"/fhir/$export?{query}")
    assert r.status_code == 400, r.text
    body = r.json()
    assert body["resourceType"] == "OperationOutcome"
    assert body["issue"][0]["expression"] == [expression]


@pytest.mark.usefixtures("stored")
@pytest.mark.parametrize("fmt", ["application/fhir+ndjson", "application/ndjson", "ndjson"])
def test_each_name_of_ndjson_as_output_format_gives_ndjson_files(
    http: httpx.Client, platform: dict[str, str], fmt: str
) -> None:
    """The three names the IG allows for NDJSON are accepted and each gives the same export:
    NDJSON files (read_output checks the content type and one resource per line) with the
    stored records (text/csv is refused: test_refused_parameters_name_themselves)."""
    r = http.get("/fhir/$export", params={"_outputFormat": fmt}, headers={**platform, **KICK_OFF})
    assert r.status_code == 202, r.text
    done = wait(http, platform, r.headers["Content-Location"])
    assert done.status_code == 200, done.text
    out = read_output(http, platform, done.json())
    assert {t: len(rs) for t, rs in out.items()} == {
        "Observation": 3,
        "Organization": 1,
        "Patient": 2,
    }


def test_kick_off_headers(http: httpx.Client, platform: dict[str, str]) -> None:
    no_prefer = http.get("/fhir/$export", headers={**platform, "Accept": "application/fhir+json"})
    assert no_prefer.status_code == 400
    assert no_prefer.json()["resourceType"] == "OperationOutcome"
    no_accept = http.get(
        "/fhir/$export", headers={**platform, "Prefer": "respond-async", "Accept": "text/html"}
    )
    assert no_accept.status_code == 406


def test_who_may_export(
    http: httpx.Client, services: Services, sender: SenderKey, admin: dict[str, str]
) -> None:
    # a hospital's key: 403, and the refusal is audited
    r = kick_off(http, {"Authorization": sender.headers["Authorization"]})
    assert r.status_code == 403
    assert r.json()["resourceType"] == "OperationOutcome"
    assert [e.outcome for e in _audit(services, "fhir.export")] == ["denied"]
    # no key, a wrong key: 401
    assert kick_off(http, {}).status_code == 401
    assert kick_off(http, bearer("mchx_not-a-key")).status_code == 401
    # a NUL in the path of a refused request is audited escaped (PostgreSQL refuses NUL)
    assert http.delete("/fhir/$export-status/a%00b", headers=bearer("x")).status_code == 401
    # staff: administrators only
    for role in ("monitor", "reviewer"):
        add_user(services, f"x-{role}", role)
        assert kick_off(http, bearer(token_for(http, f"x-{role}"))).status_code == 403
    manifest = export(http, admin)
    assert manifest["output"] == []
    (asked,) = [e for e in _audit(services, "fhir.export") if e.outcome == "accepted"]
    assert (asked.actor_kind, asked.actor_id) == ("user", "export-admin")


def test_an_export_client_may_do_nothing_else(http: httpx.Client, platform: dict[str, str]) -> None:
    assert http.get("/fhir/Patient", headers=platform).status_code == 401
    assert http.post("/fhir/Patient", json=_patient("m9"), headers=platform).status_code == 401
    assert http.get("/api/v1/me", headers=platform).status_code == 401
    assert http.get("/api/v1/indicators", headers=platform).status_code == 401


@pytest.mark.usefixtures("stored")
def test_files_are_for_the_exporter_that_asked(
    http: httpx.Client, platform: dict[str, str], admin: dict[str, str]
) -> None:
    r = kick_off(http, platform)
    status_url = r.headers["Content-Location"]
    manifest = wait(http, platform, status_url).json()
    url = manifest["output"][0]["url"]
    assert http.get(url, headers=admin).status_code == 404
    assert http.get(status_url, headers=admin).status_code == 404
    assert http.delete(status_url, headers=admin).status_code == 404
    assert http.get(url).status_code == 401
    # a name not in the manifest, a path trick
    job = status_url.rsplit("/", 1)[1]
    for name in ("Patient-9.ndjson", "..%2F..%2Fetc%2Fpasswd", "x"):
        assert http.get(f"/fhir/$export-file/{job}/{name}", headers=platform).status_code == 404
    assert http.get("/fhir/$export-status/not-a-job", headers=platform).status_code == 404


def test_key_rotation_and_disabling(
    http: httpx.Client, admin: dict[str, str], platform: dict[str, str]
) -> None:
    listed = http.get("/api/v1/export-clients", headers=admin).json()
    assert [(c["id"], c["active"]) for c in listed] == [("province", True)]
    rotated = http.post("/api/v1/export-clients/province/rotate-key", headers=admin)
    assert rotated.status_code == 201
    new = bearer(rotated.json()["api_key"])
    assert kick_off(http, platform).status_code == 401  # the old key stopped at once
    assert kick_off(http, new).status_code == 202
    assert http.post("/api/v1/export-clients/province/disable", headers=admin).status_code == 200
    assert kick_off(http, new).status_code == 401
    assert http.post("/api/v1/export-clients/province/enable", headers=admin).status_code == 200
    dup = http.post(
        "/api/v1/export-clients", json={"id": "province", "name": "again"}, headers=admin
    )
    assert dup.status_code == 409


@pytest.mark.usefixtures("stored")
def test_cancel_removes_the_files(
    http: httpx.Client, services: Services, platform: dict[str, str]
) -> None:
    r = kick_off(http, platform)
    status_url = r.headers["Content-Location"]
    manifest = wait(http, platform, status_url).json()
    job = status_url.rsplit("/", 1)[1]
    folder = Path(services.settings.export_dir) / job
    assert folder.is_dir()
    cancelled = http.delete(status_url, headers=platform)
    assert cancelled.status_code == 202
    assert not folder.exists()
    assert http.get(status_url, headers=platform).status_code == 404
    assert http.get(manifest["output"][0]["url"], headers=platform).status_code == 404
    assert http.delete(status_url, headers=platform).status_code == 404
    assert len(_audit(services, "fhir.export.cancel")) == 1


@pytest.mark.usefixtures("stored")
def test_expired_exports_are_removed(
    http: httpx.Client, services: Services, platform: dict[str, str]
) -> None:
    r = kick_off(http, platform)
    status_url = r.headers["Content-Location"]
    manifest = wait(http, platform, status_url).json()
    job = status_url.rsplit("/", 1)[1]
    with services.db.transaction() as session:
        session.execute(
            update(ExportJob)
            .where(ExportJob.id == job)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    # a folder no job owns (left by a crash) goes too
    stray = Path(services.settings.export_dir) / "00000000-0000-4000-8000-000000000000"
    stray.mkdir()
    assert services.exports.sweep() == 2
    assert not (Path(services.settings.export_dir) / job).exists()
    assert not stray.exists()
    assert http.get(status_url, headers=platform).status_code == 404
    assert http.get(manifest["output"][0]["url"], headers=platform).status_code == 404


def test_a_dead_process_job_fails_and_can_be_asked_again(
    http: httpx.Client, services: Services, platform: dict[str, str]
) -> None:
    r = kick_off(http, platform)
    status_url = r.headers["Content-Location"]
    wait(http, platform, status_url)
    job = status_url.rsplit("/", 1)[1]
    # as a job left 'running' by a process that died ten minutes ago
    with services.db.transaction() as session:
        session.execute(
            update(ExportJob)
            .where(ExportJob.id == job)
            .values(status="running", heartbeat_at=utcnow() - timedelta(minutes=10))
        )
    failed = http.get(status_url, headers=platform)
    assert failed.status_code == 500
    assert "interrupted" in failed.json()["issue"][0]["diagnostics"]


class TestBounds:
    @pytest.fixture
    def export_settings(self, tmp_path: Path) -> dict[str, Any]:
        return {
            "export_dir": str(tmp_path / "exports"),
            "export_max_file_bytes": 1024,
            "export_max_active_jobs": 1,
        }

    def test_files_are_split_at_the_limit(
        self, http: httpx.Client, sender: SenderKey, platform: dict[str, str]
    ) -> None:
        _put(http, sender, _patient("m1"))
        for n in range(12):
            _put(http, sender, _obs(f"o{n}", "m1", "x" * 150))
        manifest = export(http, platform, "/fhir/$export?_type=Observation")
        files = [(o["type"], o["url"].rsplit("/", 1)[1], o["count"]) for o in manifest["output"]]
        assert len(files) > 1
        assert sum(n for _t, _f, n in files) == 12
        assert [f for _t, f, _n in files] == [
            f"Observation-{i}.ndjson" for i in range(1, 1 + len(files))
        ]
        sizes = []
        for o in manifest["output"]:
            body = http.get(o["url"], headers=platform).content
            sizes.append(len(body))
        assert max(sizes) <= 1024
        assert len(read_output(http, platform, manifest)["Observation"]) == 12

    def test_too_many_at_once(
        self, http: httpx.Client, services: Services, platform: dict[str, str]
    ) -> None:
        with services.db.transaction() as session:
            now = utcnow()
            session.add(
                ExportJob(
                    id="00000000-0000-4000-8000-000000000001",
                    owner_kind="export_client",
                    owner_id="province",
                    level="system",
                    types="Patient",
                    request_url="x",
                    status="running",
                    transaction_time=now,
                    created_at=now,
                    heartbeat_at=now,
                    resources_done=0,
                )
            )
        r = kick_off(http, platform)
        assert r.status_code == 429
        assert r.headers["Retry-After"].isdigit()


class TestJobLimit:
    @pytest.fixture
    def export_settings(self, tmp_path: Path) -> dict[str, Any]:
        return {"export_dir": str(tmp_path / "exports"), "export_max_job_bytes": 1024}

    def test_an_export_over_the_limit_fails_and_leaves_nothing(
        self, http: httpx.Client, services: Services, sender: SenderKey, platform: dict[str, str]
    ) -> None:
        _put(http, sender, _patient("m1"))
        for n in range(12):
            _put(http, sender, _obs(f"o{n}", "m1", "x" * 150))
        r = kick_off(http, platform)
        failed = wait(http, platform, r.headers["Content-Location"])
        assert failed.status_code == 500
        assert "MCH_EXPORT_MAX_JOB_BYTES" in failed.json()["issue"][0]["diagnostics"]
        job = r.headers["Content-Location"].rsplit("/", 1)[1]
        assert not (Path(services.settings.export_dir) / job).exists()


def test_the_capability_statement_lists_the_operation(http: httpx.Client) -> None:
    rest = http.get("/fhir/metadata").json()["rest"][0]
    assert [o["name"] for o in rest["operation"]] == ["export", "data-quality"]
    patient = next(r for r in rest["resource"] if r["type"] == "Patient")
    assert "export" in [o["name"] for o in patient["operation"]]
    assert json.dumps(rest).count("bulkdata/OperationDefinition/") == 2
