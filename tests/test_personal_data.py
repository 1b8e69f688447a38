"""Personal data at rest: a copy of the database holds no name, ID number, phone or address in
clear, while search by identifier keeps working. Production refuses a default secret. Logs and
the audit log hold no personal data. Keys rotate."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
from pydantic import ValidationError

from mch_service.app import Services, build_services
from mch_service.config import DEV_SECRET_KEY, Settings
from mch_service.database import Database
from mch_service.logs import JsonFormatter
from mch_service.store.rotation import rotate_keys
from tests.conftest import TEST_SECRET, SenderKey

RESIDENT = "urn:oid:2.16.156.10011.1.3"
SECRETS = ["110101199003074578", "测试张三丰", "13912345678", "幸福路88号院", "Zhangsanfeng"]


def _patient() -> dict[str, object]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": RESIDENT, "value": SECRETS[0]}],
        "name": [{"text": SECRETS[1], "family": SECRETS[4]}],
        "telecom": [{"system": "phone", "value": SECRETS[2]}],
        "address": [{"line": [SECRETS[3]], "city": "杭州市"}],
        "gender": "female",
    }


def _database_copy(services: Services, tmp_path: Path) -> bytes:
    url = services.settings.database_url
    if url.startswith("sqlite"):
        path = Path(url.split("///", 1)[1])
        return b"".join(p.read_bytes() for p in (path, Path(f"{path}-wal")) if p.exists())
    pg_dump = shutil.which("pg_dump")
    assert pg_dump, "pg_dump is needed to check a PostgreSQL dump"
    parts = urlsplit(url)
    schema = parts.query.split("search_path%3D")[1]
    out = subprocess.run(
        [
            pg_dump,
            "-h",
            parts.hostname or "127.0.0.1",
            "-p",
            str(parts.port or 5432),
            "-U",
            parts.username or "postgres",
            "-n",
            schema,
            parts.path.lstrip("/"),
        ],
        capture_output=True,
        check=True,
        timeout=120,
    )
    return out.stdout


def test_a_database_copy_holds_no_personal_data(
    http: httpx.Client, services: Services, sender: SenderKey, tmp_path: Path
) -> None:
    created = http.post("/fhir/Patient", json=_patient(), headers=sender.headers)
    assert created.status_code == 201
    # a rejected copy (bad birth date) must not leave the data in the audit log either
    bad = {**_patient(), "birthDate": "1990-02-31"}
    assert http.post("/fhir/Patient", json=bad, headers=sender.headers).status_code == 400
    dump = _database_copy(services, tmp_path)
    assert len(dump) > 1000
    for secret in SECRETS:
        assert secret.encode() not in dump, secret
    # ... and search by the resident ID still finds her
    found = http.get(f"/fhir/Patient?identifier={RESIDENT}|{SECRETS[0]}", headers=sender.headers)
    assert found.json()["total"] == 1
    assert found.json()["entry"][0]["resource"]["name"][0]["text"] == SECRETS[1]


def test_logs_hold_no_personal_data(
    http: httpx.Client, sender: SenderKey, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    http.post("/fhir/Patient", json=_patient(), headers=sender.headers)
    http.get(f"/fhir/Patient?identifier={RESIDENT}|{SECRETS[0]}", headers=sender.headers)
    http.post("/fhir/Patient", json={**_patient(), "birthDate": "x"}, headers=sender.headers)
    # the server's records as the log handler writes them (the test's own HTTP client logs
    # its URLs; that is not the server)
    lines = [
        JsonFormatter().format(r)
        for r in caplog.records
        if not r.name.startswith(("httpx", "httpcore"))
    ]
    server_log = "\n".join(lines)
    access = [json.loads(x) for x in lines if '"mch_service.access"' in x]
    # the access log is there...
    assert ("GET", "/fhir/{rtype}", 200, ["identifier"]) in [
        (a["method"], a["route"], a["status"], a["query_params"]) for a in access
    ]
    for secret in SECRETS:
        assert secret not in server_log  # ...without the query string


def test_production_refuses_a_default_or_short_secret() -> None:
    with pytest.raises(ValidationError, match="MCH_SECRET_KEY"):
        Settings(env="production", secret_key=DEV_SECRET_KEY)
    with pytest.raises(ValidationError, match="MCH_SECRET_KEY"):
        Settings(env="production", secret_key="short")
    assert Settings(env="production", secret_key="x" * 40).env == "production"


def test_production_server_does_not_start_with_the_default_secret(tmp_path: Path) -> None:
    import os
    import sys

    env = {**os.environ, "MCH_ENV": "production", "MCH_DATABASE_URL": f"sqlite:///{tmp_path}/p.db"}
    env.pop("MCH_SECRET_KEY", None)
    r = subprocess.run(
        [sys.executable, "-m", "mch_service", "serve", "--port", "1"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert r.returncode != 0
    assert "MCH_SECRET_KEY" in r.stderr


def test_key_rotation_keeps_everything_readable_and_searchable(
    http: httpx.Client, services: Services, sender: SenderKey, live_server: object
) -> None:
    created = http.post("/fhir/Patient", json=_patient(), headers=sender.headers).json()
    http.put(
        f"/fhir/Patient/{created['id']}",
        json={**created, "gender": "other"},
        headers=sender.headers,
    )
    new_secret = "a-brand-new-root-secret-for-rotation-0123456789"
    rotated_settings = services.settings.model_copy(
        update={"secret_key": new_secret, "previous_secret_keys": [TEST_SECRET]}
    )
    rotated = build_services(rotated_settings, Database(rotated_settings.database_url))
    try:
        counts = rotate_keys(rotated.db, rotated.store)
        assert counts["versions"] == 2
        assert counts["identifiers"] == 1
        assert rotate_keys(rotated.db, rotated.store)["versions"] == 0  # idempotent
        # the old secret is no longer needed
        only_new = rotated_settings.model_copy(update={"previous_secret_keys": []})
        fresh = build_services(only_new, Database(only_new.database_url))
        live_server.point_at(fresh)  # type: ignore[attr-defined]
        h = sender.headers
        assert http.get(f"/fhir/Patient/{created['id']}/_history/1", headers=h).status_code == 200
        found = http.get(f"/fhir/Patient?identifier={RESIDENT}|{SECRETS[0]}", headers=h).json()
        assert found["total"] == 1
        again = http.post("/fhir/Patient", json={**_patient(), "gender": "other"}, headers=h)
        assert again.status_code == 200  # still the same record by its identifier
        fresh.db.dispose()
    finally:
        rotated.db.dispose()
