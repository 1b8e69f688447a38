"""Services whose bulk exports are written under the test's own folder, an export client and
an administrator, and a helper that runs an export to its end over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from mch_service.app import Services, build_services
from mch_service.config import Settings
from mch_service.database import Database
from tests.auth.test_accounts import add_user, bearer, token_for

KICK_OFF = {"Accept": "application/fhir+json", "Prefer": "respond-async"}


@pytest.fixture
def export_settings(settings: Settings, tmp_path: Path) -> dict[str, Any]:
    """Changes to the suite's settings for this test (a test may add to them first)."""
    return {"export_dir": str(tmp_path / "exports")}


@pytest.fixture
def services(settings: Settings, export_settings: dict[str, Any]) -> Iterator[Services]:
    changed = settings.model_copy(update=export_settings)
    svc = build_services(changed, Database(changed.database_url))
    yield svc
    svc.exports.shutdown()
    svc.db.dispose()


@pytest.fixture
def admin(services: Services, http: httpx.Client) -> dict[str, str]:
    add_user(services, "export-admin", "admin")
    return bearer(token_for(http, "export-admin"))


@pytest.fixture
def platform(http: httpx.Client, admin: dict[str, str]) -> dict[str, str]:
    """The province platform: an export client the administrator registered."""
    r = http.post(
        "/api/v1/export-clients", json={"id": "province", "name": "省妇幼平台"}, headers=admin
    )
    assert r.status_code == 201, r.text
    return bearer(r.json()["api_key"])


def kick_off(
    http: httpx.Client, headers: dict[str, str], url: str = "/fhir/$export"
) -> httpx.Response:
    return http.get(url, headers={**headers, **KICK_OFF})


def wait(http: httpx.Client, headers: dict[str, str], status_url: str) -> httpx.Response:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        r = http.get(status_url, headers=headers)
        if r.status_code != 202:
            return r
        assert "X-Progress" in r.headers
        assert r.headers["Retry-After"].isdigit()
        time.sleep(0.05)
    raise AssertionError("the export did not finish in 60 s")


def export(
    http: httpx.Client, headers: dict[str, str], url: str = "/fhir/$export"
) -> dict[str, Any]:
    """Kick off, wait, and return the manifest (asserting the protocol on the way)."""
    r = kick_off(http, headers, url)
    assert r.status_code == 202, r.text
    done = wait(http, headers, r.headers["Content-Location"])
    assert done.status_code == 200, done.text
    assert done.headers["content-type"].startswith("application/json")
    return dict(done.json())


def read_output(
    http: httpx.Client, headers: dict[str, str], manifest: dict[str, Any]
) -> dict[str, list[dict[str, Any]]]:
    """Resource type -> the resources of every file of that type."""
    import json

    out: dict[str, list[dict[str, Any]]] = {}
    for item in manifest["output"]:
        r = http.get(item["url"], headers=headers)
        assert r.status_code == 200, r.text
        assert r.headers["content-type"] == "application/fhir+ndjson"
        lines = [json.loads(x) for x in r.text.splitlines() if x]
        assert len(lines) == item["count"]
        assert all(x["resourceType"] == item["type"] for x in lines)
        out.setdefault(item["type"], []).extend(lines)
    return out
