"""NDJSON backfill through the CLI and through HTTP ($import)."""

from __future__ import annotations

import json
import os
import random
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest

from mch_service.app import Services
from mch_service.audit.service import Actor
from mch_service.fhir_api import bulk
from mch_service.fhir_api.entries import Entry
from tests.conftest import TEST_SECRET, SenderKey

MRN = "urn:oid:1.2.156.1.mrn"
GENDERS = ["female", "male", "other", "unknown"]


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


def _cli(
    services: Services, *args: str, env_extra: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        **(env_extra or {}),
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


def test_cli_import_refuses_a_line_over_the_resource_limit_and_goes_on(
    services: Services, sender: SenderKey, http: httpx.Client, tmp_path: Path
) -> None:
    small = {"resourceType": "Patient", "id": "small", "gender": "female"}
    big = {**small, "id": "big", "name": [{"text": "x" * 5000}]}
    path = tmp_path / "capped.ndjson"
    path.write_bytes(orjson.dumps(big) + b"\n" + orjson.dumps(small) + b"\n")
    r = _cli(
        services,
        "import",
        str(path),
        "--institution",
        sender.institution_id,
        "--json",
        env_extra={"MCH_MAX_RESOURCE_BYTES": "2000"},
    )
    assert r.returncode == 2, r.stderr
    report = json.loads(r.stdout)
    assert (report["lines"], report["created"], report["rejected"]) == (2, 1, 1)
    assert report["errors"][0]["line"] == 1
    assert "2000" in report["errors"][0]["reason"]
    assert http.get("/fhir/Patient/big", headers=sender.headers).status_code == 404
    assert http.get("/fhir/Patient/small", headers=sender.headers).status_code == 200


def test_cli_import_needs_a_known_institution(services: Services, tmp_path: Path) -> None:
    r = _cli(services, "import", str(_ndjson(tmp_path)), "--institution", "nobody")
    assert r.returncode == 1
    assert "no institution 'nobody'" in r.stderr


def wait_for_import(http: httpx.Client, url: str, headers: dict[str, str]) -> dict[str, Any]:
    """Poll an import job's status URL until its report (200); 202 meanwhile."""
    deadline = time.monotonic() + 120
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
    done = wait_for_import(http, path, sender.headers)
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


RESIDENT = "urn:oid:2.16.156.10011.1.3"
RESIDENT_ID = "110101199003074578"


def test_import_report_does_not_quote_personal_data(
    http: httpx.Client, sender: SenderKey, services: Services
) -> None:
    """Rejected lines are reported by line and reason; the reason must not carry the resident
    ID, name or phone the line held (the report is stored and shown again later)."""
    lines = [
        # a conditional reference by resident ID that matches no one: the message quotes it
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "Hb"},
            "subject": {"reference": f"Patient?identifier={RESIDENT}|{RESIDENT_ID}"},
        },
        # a bad element next to personal data
        {
            "resourceType": "Patient",
            "identifier": [{"system": RESIDENT, "value": RESIDENT_ID}],
            "name": [{"text": "测试王小红"}],
            "telecom": [{"system": "phone", "value": "13912345678"}],
            "gender": "woman",
        },
        # a reference whose malformed text is the personal value itself
        {
            "resourceType": "Observation",
            "status": "final",
            "code": {"text": "Hb"},
            "subject": {"reference": f"Patient/{RESIDENT_ID} x"},
        },
    ]
    body = b"\n".join(orjson.dumps(x) for x in lines) + b"\n"
    headers = {**sender.headers, "Content-Type": "application/fhir+ndjson"}
    r = http.post("/fhir/$import", content=body, headers=headers)
    assert r.status_code == 202, r.text
    path = "/fhir" + r.headers["content-location"].split("/fhir", 1)[1]
    done = wait_for_import(http, path, sender.headers)
    assert done["report"]["rejected"] == 3, done
    stored = json.dumps(done, ensure_ascii=False)
    for secret in (RESIDENT_ID, "测试王小红", "13912345678"):
        assert secret not in stored, (secret, stored)
    # still useful: where and what
    assert all(e["reason"] for e in done["report"]["errors"])
    assert "Patient.gender" in stored
    assert "Type?identifier=system|value" in stored  # the advice is not mistaken for data
    from sqlalchemy import select

    from mch_service.fhir_api.models import ImportJob

    with services.db.reading() as session:
        for report in session.scalars(select(ImportJob.report)):
            assert RESIDENT_ID not in (report or "")


def test_spool_files_are_private_and_cleaned_at_start_up(
    settings: Any, tmp_path: Path, sender: SenderKey, live_server: Any
) -> None:
    import asyncio
    import stat

    from mch_service.app import build_services, create_app
    from mch_service.database import Database

    spool = tmp_path / "spool"
    site = settings.model_copy(
        update={"import_spool_dir": str(spool), "scheduler_in_server": False}
    )
    services = build_services(site, Database(site.database_url))
    try:
        path = services.imports.spool_path()
        assert stat.S_IMODE(path.stat().st_mode) == 0o600
        assert stat.S_IMODE(spool.stat().st_mode) == 0o700
        # a spool file left by a process that died mid-import, and someone else's file
        path.write_bytes(b'{"resourceType": "Patient"}\n')
        other = spool / "keep-me.txt"
        other.write_text("not ours")
        app = create_app(site, services)

        async def start_and_stop() -> None:
            async with app.router.lifespan_context(app):
                pass

        asyncio.run(start_and_stop())
        assert not path.exists()
        assert other.exists()
        # an import through HTTP leaves no spool file behind
        live_server.point_at(services)
        with httpx.Client(base_url=live_server.url, timeout=30) as http:
            headers = {**sender.headers, "Content-Type": "application/fhir+ndjson"}
            body = orjson.dumps({"resourceType": "Patient", "gender": "female"}) + b"\n"
            r = http.post("/fhir/$import", content=body, headers=headers)
            assert r.status_code == 202
            status = "/fhir" + r.headers["content-location"].split("/fhir", 1)[1]
            assert wait_for_import(http, status, sender.headers)["status"] == "done"
        assert sorted(p.name for p in spool.iterdir()) == ["keep-me.txt"]
    finally:
        services.db.dispose()


def _birth_day(entry: Entry) -> str:
    assert entry.resource is not None
    return str(entry.resource["birthDate"][-1])


def _record_writes(services: Services, monkeypatch: pytest.MonkeyPatch) -> list[list[str]]:
    """Each transaction the import writes, as its records' ids and birth days ("a1")."""
    writes: list[list[str]] = []
    real = services.fhir.write_entries

    def recording(actor: Actor, entries: list[Entry], action: str) -> list[Any]:
        writes.append([f"{e.url.split('/')[1]}{_birth_day(e)}" for e in entries])
        return real(actor, entries, action)

    monkeypatch.setattr(services.fhir, "write_entries", recording)
    return writes


def test_later_versions_wait_for_the_next_chunk_in_their_order(
    services: Services, sender: SenderKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A history file lists a record's versions one after another: a later version waits for
    the next transaction (never two versions of a record in one) while other records go on
    filling the current one, and each record's versions are written in the file's order."""
    monkeypatch.setattr(bulk, "CHUNK", 3)
    writes = _record_writes(services, monkeypatch)

    def version(pid: str, v: int) -> bytes:
        body = {
            "resourceType": "Patient",
            "id": pid,
            "identifier": [{"system": MRN, "value": f"M-{pid}"}],
            "birthDate": f"1990-01-0{v}",
        }
        return orjson.dumps(body)

    rows = [("a", 1), ("a", 2), ("b", 1), ("a", 3), ("b", 2), ("c", 1), None, ("c", 2)]
    rows += [("c", 3), ("b", 3)]
    lines = [
        ("h.ndjson", n, b'{"resourceType": "Patient",' if row is None else version(*row))
        for n, row in enumerate(rows, start=1)
    ]
    actor = Actor("institution", sender.institution_id, None)
    report = bulk.run_import(services.fhir, actor, lines)
    # Chunk 1 takes a1, b1, c1 (a2, a3, b2 wait); chunk 2 the waiting a2, b2 and then c2;
    # chunk 3 a3 (still waiting), c3, b3.
    assert writes == [["a1", "b1", "c1"], ["a2", "b2", "c2"], ["a3", "c3", "b3"]]
    assert (report.created, report.updated, report.unchanged) == (3, 6, 0)
    assert [(r.source, r.line) for r in report.rejected] == [("h.ndjson", 7)]
    for pid in "abc":
        stored = services.fhir.read(actor, "Patient", pid).resource
        assert stored is not None
        assert (stored["birthDate"], stored["meta"]["versionId"]) == ("1990-01-03", "3")


def test_rejections_are_reported_in_the_files_order(
    services: Services, sender: SenderKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A waiting version that is refused is reported at its own line, among the lines of its
    file in order, though it was written after lines that came later."""
    monkeypatch.setattr(bulk, "CHUNK", 3)

    def patient(pid: str, mrn: str) -> bytes:
        body = {"resourceType": "Patient", "id": pid, "identifier": [{"system": MRN, "value": mrn}]}
        return orjson.dumps(body)

    lines = [
        ("one.ndjson", 1, patient("a", "A")),
        ("one.ndjson", 2, patient("b", "B")),
        ("one.ndjson", 3, patient("a", "B")),  # waits; then refused: B is b's record key
        ("two.ndjson", 1, b"{"),
        ("one.ndjson", 4, b"not json"),
        ("one.ndjson", 5, patient("c", "C")),
    ]
    actor = Actor("institution", sender.institution_id, None)
    report = bulk.run_import(services.fhir, actor, lines)
    assert (report.created, report.updated) == (3, 0)
    assert [(r.source, r.line) for r in report.rejected] == [
        ("one.ndjson", 3),
        ("one.ndjson", 4),
        ("two.ndjson", 1),
    ]


def test_the_waiting_versions_are_bounded(
    services: Services, sender: SenderKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Many versions of one record in a row are not all held in memory: past WAITING waiting
    versions the chunk is written early, and the versions still come in their order."""
    monkeypatch.setattr(bulk, "CHUNK", 3)
    monkeypatch.setattr(bulk, "WAITING", 2)
    writes = _record_writes(services, monkeypatch)
    rows = [("a", 1), ("a", 2), ("a", 3), ("a", 4), ("b", 1)]
    lines = [
        (
            "h.ndjson",
            n,
            orjson.dumps({"resourceType": "Patient", "id": pid, "birthDate": f"1990-01-0{v}"}),
        )
        for n, (pid, v) in enumerate(rows, start=1)
    ]
    report = bulk.run_import(
        services.fhir, Actor("institution", sender.institution_id, None), lines
    )
    assert writes == [["a1"], ["a2"], ["a3", "b1"], ["a4"]]
    assert (report.created, report.updated, report.rejected) == (2, 3, [])


def _stored(services: Services, institution: str) -> dict[str, Any]:
    """The sender's patients as they stand: per id its version and identifiers, and the
    identifier sets of the records created without an id."""
    actor = Actor("institution", institution, None)
    found = services.fhir.search(actor, "Patient?_count=500")
    by_id: dict[str, Any] = {}
    created: list[list[str]] = []
    for e in found.get("entry", []):
        r = e["resource"]
        idents = sorted(i["value"] for i in r.get("identifier", []))
        if r["id"].startswith("p"):
            by_id[r["id"]] = (r["meta"]["versionId"], idents, r.get("gender"))
        else:
            created.append(idents)
    return {"ids": by_id, "created": sorted(created)}


@pytest.mark.parametrize("seed", range(12))
def test_chunked_import_ends_as_writing_the_lines_one_by_one(
    services: Services,
    sender: SenderKey,
    other_sender: SenderKey,
    monkeypatch: pytest.MonkeyPatch,
    seed: int,
) -> None:
    """Random histories in which records take, drop and pass on business identifiers, with
    creates (no id) among them: imported in chunks of 3 the store ends exactly as when every
    line is its own transaction, and the same lines are refused."""
    rnd = random.Random(seed)
    lines = []
    for n in range(1, 25):
        body: dict[str, Any] = {"resourceType": "Patient", "gender": rnd.choice(GENDERS)}
        if rnd.random() < 0.8:
            body["id"] = rnd.choice(["p1", "p2", "p3", "p4"])
        body["identifier"] = [
            {"system": MRN, "value": v}
            for v in sorted(rnd.sample(["X", "Y", "Z"], rnd.randint(0, 2)))
        ]
        lines.append(("h.ndjson", n, orjson.dumps(body)))
    reports = []
    for key, chunk in ((sender, 1), (other_sender, 3)):
        monkeypatch.setattr(bulk, "CHUNK", chunk)
        actor = Actor("institution", key.institution_id, None)
        reports.append(bulk.run_import(services.fhir, actor, lines))
    one, chunked = reports
    assert [r.line for r in chunked.rejected] == [r.line for r in one.rejected]
    assert (chunked.created, chunked.updated, chunked.unchanged) == (
        one.created,
        one.updated,
        one.unchanged,
    )
    assert _stored(services, other_sender.institution_id) == _stored(
        services, sender.institution_id
    )


def test_an_identifier_passed_on_between_records_waits_for_the_version_that_drops_it(
    services: Services, sender: SenderKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    """p1 holds MRN X, its next version drops it, then p2 takes it. p1's second version waits
    for the next chunk; p2 must wait behind it (in the first chunk beside p1's first version
    it would meet X still held, and be refused)."""
    monkeypatch.setattr(bulk, "CHUNK", 3)
    x = [{"system": MRN, "value": "X"}]
    rows = [
        {"resourceType": "Patient", "id": "p1", "identifier": x},
        {"resourceType": "Patient", "id": "p1", "gender": "female"},
        {"resourceType": "Patient", "id": "p2", "identifier": x},
    ]
    lines = [("h.ndjson", n, orjson.dumps(r)) for n, r in enumerate(rows, start=1)]
    report = bulk.run_import(
        services.fhir, Actor("institution", sender.institution_id, None), lines
    )
    assert report.rejected == []
    assert _stored(services, sender.institution_id)["ids"] == {
        "p1": ("2", [], "female"),
        "p2": ("1", ["X"], None),
    }
