"""NDJSON backfill through the CLI and through HTTP ($import)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson

from mch_service.app import Services
from tests.conftest import TEST_SECRET, SenderKey

MRN = "urn:oid:1.2.156.1.mrn"


def _ndjson(tmp_path: Path) -> Path:
    lines: list[bytes] = []
    for i in range(1, 6):
        lines.append(
            orjson.dumps(
                {
                    "resourceType": "Patient",
                    "id": f"p{i}",
                    "identifier": [{"system": MRN, "value": f"M{i}"}],
                }
            )
        )
    lines.append(b"")  # blank lines are skipped, not rejected
    lines.append(b'{"resourceType": "Patient", "id": "broken",')  # line 7: not JSON
    lines.append(orjson.dumps({"resourceType": "Patient", "birthDate": "1990-02-30"}))  # 8
    lines.append(
        orjson.dumps(
            {
                "resourceType": "Observation",
                "id": "o1",
                "status": "final",
                "code": {"text": "Hb"},
                "subject": {"reference": "Patient/p1"},
            }
        )
    )
    # line 10: a later version of p1 in the same file
    lines.append(
        orjson.dumps(
            {
                "resourceType": "Patient",
                "id": "p1",
                "gender": "female",
                "identifier": [{"system": MRN, "value": "M1"}],
            }
        )
    )
    lines.append(
        orjson.dumps({"resourceType": "Observation", "status": "final", "code": {"text": "no id"}})
    )
    path = tmp_path / "history.ndjson"
    path.write_bytes(b"\n".join(lines) + b"\n")
    return path


def _cli(services: Services, *args: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "MCH_DATABASE_URL": services.settings.database_url,
        "MCH_SECRET_KEY": TEST_SECRET,
        "MCH_ENV": "test",
    }
    return subprocess.run(
        [sys.executable, "-m", "mch_service", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_cli_import_reports_and_is_repeatable(
    services: Services, sender: SenderKey, http: httpx.Client, tmp_path: Path
) -> None:
    path = _ndjson(tmp_path)
    first = _cli(services, "import", str(path), "--institution", sender.institution_id, "--json")
    assert first.returncode == 2, first.stderr  # 2: finished, with rejected lines
    report = json.loads(first.stdout)
    assert (report["lines"], report["created"], report["updated"], report["rejected"]) == (
        10,
        7,
        1,
        2,
    )
    assert [e["line"] for e in report["errors"]] == [7, 8]
    assert "not valid JSON" in report["errors"][0]["reason"]
    assert "Patient.birthDate" in report["errors"][1]["reason"]
    p1 = http.get("/fhir/Patient/p1", headers=sender.headers).json()
    assert p1["gender"] == "female"
    assert p1["meta"]["versionId"] == "2"

    again = json.loads(
        _cli(services, "import", str(path), "--institution", sender.institution_id, "--json").stdout
    )
    assert (again["created"], again["updated"], again["unchanged"], again["rejected"]) == (
        0,
        0,
        8,
        2,
    )
    assert http.get("/fhir/Patient/p1", headers=sender.headers).json()["meta"]["versionId"] == ("2")


def test_cli_import_needs_a_known_institution(services: Services, tmp_path: Path) -> None:
    r = _cli(services, "import", str(_ndjson(tmp_path)), "--institution", "nobody")
    assert r.returncode == 1
    assert "no institution 'nobody'" in r.stderr


def _wait(http: httpx.Client, url: str, headers: dict[str, str]) -> dict[str, Any]:
    deadline = time.monotonic() + 60
    while True:
        r = http.get(url, headers=headers)
        if r.status_code == 200:
            return r.json()  # type: ignore[no-any-return]
        assert r.status_code == 202, r.text
        assert time.monotonic() < deadline
        time.sleep(0.05)


def test_http_import_runs_in_the_background_with_a_report(
    http: httpx.Client, sender: SenderKey, other_sender: SenderKey, tmp_path: Path
) -> None:
    body = _ndjson(tmp_path).read_bytes()
    headers = {**sender.headers, "Content-Type": "application/fhir+ndjson"}
    r = http.post("/fhir/$import", content=body, headers=headers)
    assert r.status_code == 202, r.text
    status_url = r.headers["content-location"]
    path = "/fhir" + status_url.split("/fhir", 1)[1]
    done = _wait(http, path, sender.headers)
    assert done["status"] == "done"
    assert done["report"]["accepted"] == 8
    assert done["report"]["rejected"] == 2
    assert [e["line"] for e in done["report"]["errors"]] == [7, 8]
    assert http.get("/fhir/Patient", headers=sender.headers).json()["total"] == 5
    # another sender cannot see the job
    assert http.get(path, headers=other_sender.headers).status_code == 404


def test_http_import_refuses_other_content(http: httpx.Client, sender: SenderKey) -> None:
    r = http.post("/fhir/$import", content=b"{}", headers=sender.headers)
    assert r.status_code == 415
