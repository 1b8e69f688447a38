"""SIGTERM during a stream of Bundles, to a real `mch-service serve` process on SQLite and on
PostgreSQL (two workers): requests in flight finish and are answered, the process stops, every
Bundle answered 2xx is stored whole and no Bundle is stored in part."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
from sqlalchemy import select

from mch_service.database import Database
from mch_service.institutions.service import add_institution
from mch_service.migrate import upgrade
from mch_service.store.models import FhirResource
from tests.conftest import TEST_SECRET
from tests.ops.test_deployment import _free_port

ENTRIES = 60  # large enough that a Bundle is in flight most of the time


def _bundle(thread: int, n: int) -> dict[str, object]:
    return {
        "resourceType": "Bundle",
        "type": "transaction",
        "entry": [
            {
                "request": {"method": "PUT", "url": f"Patient/t{thread}b{n}-{j}"},
                "resource": {
                    "resourceType": "Patient",
                    "id": f"t{thread}b{n}-{j}",
                    "identifier": [{"system": "urn:mrn:sig", "value": f"t{thread}b{n}-{j}"}],
                    "gender": "female",
                },
            }
            for j in range(ENTRIES)
        ],
    }


class Stream(threading.Thread):
    """Sends Bundles one after another until the server stops answering."""

    def __init__(self, base: str, key: str, number: int) -> None:
        super().__init__(daemon=True)
        self.base, self.key, self.number = base, key, number
        # bundle -> (status or None for no answer, when the answer came)
        self.results: dict[str, tuple[int | None, float]] = {}

    def run(self) -> None:
        headers = {"Authorization": f"Bearer {self.key}", "Content-Type": "application/fhir+json"}
        with httpx.Client(base_url=self.base, timeout=120) as client:
            for n in range(10_000):
                name = f"t{self.number}b{n}"
                try:
                    r = client.post("/fhir", json=_bundle(self.number, n), headers=headers)
                    self.results[name] = (r.status_code, time.monotonic())
                except httpx.TransportError:
                    self.results[name] = (None, time.monotonic())
                    if n and self.results.get(f"t{self.number}b{n - 1}", (None,))[0] is None:
                        return  # twice no answer: the server is gone
                    time.sleep(0.05)


def test_sigterm_mid_stream_loses_no_acknowledged_bundle(
    empty_database_url: str, tmp_path: Path
) -> None:
    url = empty_database_url
    upgrade(url)
    db = Database(url)
    with db.transaction() as session:
        key = add_institution(session, "hosp-sig", "Sig").api_key
    db.dispose()

    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MCH_", "PROMETHEUS_"))}
    env.update(
        {
            "MCH_DATABASE_URL": url,
            "MCH_SECRET_KEY": TEST_SECRET,
            "MCH_ENV": "test",
            "MCH_MAX_BUNDLE_ENTRIES": str(ENTRIES),
            "MCH_IMPORT_SPOOL_DIR": str(tmp_path / "spool"),
        }
    )
    workers = "1" if url.startswith("sqlite") else "2"
    log = tmp_path / "serve.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "mch_service",
                "serve",
                "--port",
                str(port),
                "--workers",
                workers,
            ],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            cwd=tmp_path,
        )
    try:
        deadline = time.monotonic() + 120
        while True:
            assert proc.poll() is None, log.read_text()
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert time.monotonic() < deadline, "the server did not start"
            time.sleep(0.2)

        streams = [Stream(base, key, i) for i in range(3)]
        for s in streams:
            s.start()
        # let some Bundles through, then stop the server while others are in flight
        deadline = time.monotonic() + 120
        while sum(1 for s in streams for st, _ in s.results.values() if st == 200) < 3:
            assert time.monotonic() < deadline, log.read_text()
            time.sleep(0.05)
        signalled = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        # uvicorn ends a single process by re-raising the signal once shut down (-15), a
        # supervisor of several workers with 0: both are a clean stop for systemd and Docker
        assert proc.wait(90) in (0, -signal.SIGTERM), log.read_text()[-3000:]
        assert "Application shutdown complete" in log.read_text()
        for s in streams:
            s.join(60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()

    results = {name: r for s in streams for name, r in s.results.items()}
    acknowledged = {name for name, (status, _) in results.items() if status == 200}
    refused = {name for name, (status, _) in results.items() if status not in (200, None)}
    assert refused == set(), {n: results[n] for n in refused}
    # requests in flight at the signal were finished and answered, not cut off
    assert any(at > signalled for name, (_, at) in results.items() if name in acknowledged)

    db = Database(url)
    try:
        with db.reading() as session:
            ids = session.scalars(
                select(FhirResource.fhir_id).where(FhirResource.institution_id == "hosp-sig")
            ).all()
    finally:
        db.dispose()
    stored = Counter(i.rsplit("-", 1)[0] for i in ids)
    assert acknowledged
    assert {b: stored.get(b, 0) for b in acknowledged} == dict.fromkeys(acknowledged, ENTRIES)
    assert {b: n for b, n in stored.items() if n != ENTRIES} == {}  # none stored in part
    assert set(stored) <= set(results)
