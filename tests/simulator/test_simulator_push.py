"""Pushing a simulated district: the protocol (against a scripted transport) and the real thing
(against a live server on SQLite, and PostgreSQL when configured); and the CLI command."""

from __future__ import annotations

import json
import threading
from collections import Counter
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import httpx
import orjson
import pytest
import typer
from typer.testing import CliRunner

from mch_service.app import Services, build_services
from mch_service.config import Settings
from mch_service.database import Database
from mch_service.simulator import SimulationParams, push, simulate
from mch_service.simulator.cli import simulate_command
from mch_service.simulator.district import INSTITUTIONS
from tests.conftest import TEST_SECRET, make_sender

SMALL = SimulationParams(
    pregnancies=6,
    seed=4,
    start=date(2024, 7, 1),
    end=date(2025, 6, 30),
    deletion_share=1.0,
    invalid_share=1.0,
    correction_share=0.2,
    duplicate_share=0.2,
    late_share=0.2,
    utc_time_share=0.3,
    bundle_max_entries=50,  # the test server's limit
)


@pytest.fixture(scope="module")
def small(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("small")
    simulate(SMALL, out)
    return out


# --- protocol ------------------------------------------------------------------------------


class _Script:
    """A fake service: answers $import with a job to poll, fails the first Bundle of each
    institution with 503 (a retry must follow), and answers batches as rejected."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.seen: Counter[tuple[str, str, str]] = Counter()
        self.polls: Counter[str] = Counter()
        self.keys: set[str] = set()

    def __call__(self, request: httpx.Request) -> httpx.Response:
        key = request.headers["authorization"].removeprefix("Bearer ")
        with self.lock:
            self.keys.add(key)
            self.seen[(key, request.method, request.url.path)] += 1
            calls = self.seen[(key, request.method, request.url.path)]
        path = request.url.path
        if request.method == "POST" and path == "/fhir/$import":
            assert request.headers["content-type"] == "application/fhir+ndjson"
            lines = len(request.read().splitlines())
            return httpx.Response(
                202,
                json={"id": key},
                headers={"Content-Location": f"http://svc/fhir/$import/{key}?n={lines}"},
            )
        if request.method == "GET" and path.startswith("/fhir/$import/"):
            lines = int(request.url.params["n"])
            with self.lock:
                self.polls[key] += 1
                if self.polls[key] == 1:
                    return httpx.Response(202, json={"status": "running", "lines_done": 1})
            report = {"lines": lines, "accepted": lines, "rejected": 0, "errors": []}
            return httpx.Response(
                200, json={"status": "done", "lines_done": lines, "report": report}
            )
        assert request.method == "POST"
        assert path == "/fhir"
        if calls == 1:
            return httpx.Response(503, json={"resourceType": "OperationOutcome", "issue": []})
        bundle = json.loads(request.read())
        ok = bundle["type"] == "transaction"
        status = "201 Created" if ok else "400 Bad Request"
        entries = [{"response": {"status": status}} for _ in bundle["entry"]]
        return httpx.Response(200, json={"resourceType": "Bundle", "entry": entries})


def test_push_protocol_retries_and_reports(small: Path) -> None:
    script = _Script()
    keys = {i.id: f"key-{i.id}" for i in INSTITUTIONS}
    progressed: list[int] = []
    report = push(
        small,
        "http://svc",
        keys,
        3,
        progressed.append,
        transport=httpx.MockTransport(script),
        backoff=0.0,
        poll_interval=0.0,
    )
    manifest = orjson.loads((small / "manifest.json").read_bytes())
    active = [i for i in manifest["institutions"] if i["history"] or i["bundles"]]
    assert script.keys == {keys[i["id"]] for i in active}  # each with its own key
    assert report.ok, report.unexpected
    assert report.expected_rejections == report.rejected > 0
    assert report.sent == report.accepted + report.rejected == sum(progressed)
    with_bundles = [i for i in active if i["bundles"]]
    assert sum(r.retries for r in report.institutions) == len(with_bundles)  # one 503 each


def test_push_needs_a_key_for_every_sending_institution(small: Path) -> None:
    with pytest.raises(ValueError, match="no API key for"):
        push(small, "http://svc", {"hosp-a": "k"}, 1)


def test_push_reports_unexpected_rejections(small: Path) -> None:
    def refuse(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/fhir/$import":
            return httpx.Response(
                415,
                json={
                    "resourceType": "OperationOutcome",
                    "issue": [{"severity": "error", "code": "not-supported", "diagnostics": "no"}],
                },
            )
        return httpx.Response(
            400,
            json={
                "resourceType": "OperationOutcome",
                "issue": [
                    {
                        "severity": "error",
                        "code": "invalid",
                        "diagnostics": "bad",
                        "expression": ["Bundle.entry[0]"],
                    }
                ],
            },
        )

    keys = {i.id: "k" for i in INSTITUTIONS}
    report = push(small, "http://svc/fhir", keys, 2, transport=httpx.MockTransport(refuse))
    assert not report.ok
    assert report.accepted == 0
    assert report.rejected == report.sent
    assert any("HTTP 400" in p and "Bundle.entry[0]: bad" in p for p in report.unexpected)


# --- a real server -------------------------------------------------------------------------


@pytest.fixture
def push_services(database_url: str, tmp_path: Path) -> Iterator[Services]:
    settings = Settings(
        database_url=database_url,
        env="test",
        secret_key=TEST_SECRET,
        max_bundle_entries=50,
        import_spool_dir=str(tmp_path / "spool"),
    )
    services = build_services(settings, Database(settings.database_url))
    yield services
    services.imports.shutdown()
    services.db.dispose()


def test_push_to_a_live_server(small: Path, live_server: object, push_services: Services) -> None:
    live_server.point_at(push_services)  # type: ignore[attr-defined]
    keys = {i.id: make_sender(push_services, i.id).api_key for i in INSTITUTIONS}
    report = push(small, live_server.url, keys, 4, poll_interval=0.05)  # type: ignore[attr-defined]
    assert report.unexpected == []
    assert report.ok
    assert report.rejected == report.expected_rejections > 0
    summary = orjson.loads((small / "manifest.json").read_bytes())
    history = sum(i["history_lines"] for i in summary["institutions"])
    assert report.sent > history > 0


# --- the command ---------------------------------------------------------------------------


def _app() -> typer.Typer:
    app = typer.Typer()
    app.command("simulate")(simulate_command)

    @app.callback()
    def main() -> None:
        """mch-service (test wiring)."""

    return app


def test_cli_writes_a_district(tmp_path: Path) -> None:
    params = tmp_path / "p.json"
    params.write_text(json.dumps({"late_share": 0.0, "history_share": 0.5}))
    result = CliRunner().invoke(
        _app(),
        [
            "simulate",
            "--pregnancies",
            "15",
            "--seed",
            "9",
            "--start",
            "2024-01-01",
            "--end",
            "2024-12-31",
            "--out",
            str(tmp_path / "out"),
            "--as-of",
            "2024-06-30",
            "--as-of",
            "2024-12-31",
            "--params",
            str(params),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "15 pregnancies" in result.output
    assert "pregnancies/s" in result.output
    truth = orjson.loads((tmp_path / "out" / "truth.json").read_bytes())
    assert [w["as_of"] for w in truth["work_lists"]] == ["2024-06-30", "2024-12-31"]
    # A run's params.json reproduces it, byte for byte.
    again = CliRunner().invoke(
        _app(),
        [
            "simulate",
            "--out",
            str(tmp_path / "again"),
            "--params",
            str(tmp_path / "out" / "params.json"),
        ],
    )
    assert again.exit_code == 0, again.output
    for name in ("truth.json", "manifest.json", "hosp-a/bundles/000001.json"):
        assert (tmp_path / "again" / name).read_bytes() == (tmp_path / "out" / name).read_bytes()
    assert truth["params"]["late_share"] == 0.0
    assert truth["params"]["pregnancies"] == 15


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--start", "2024-02-30"], "is not a date"),
        (["--push", "http://x"], "--push needs --keys"),
        (["--pregnancies", "-1"], "must not be negative"),
    ],
)
def test_cli_refuses_bad_options(tmp_path: Path, args: list[str], message: str) -> None:
    result = CliRunner().invoke(_app(), ["simulate", "--out", str(tmp_path), *args])
    assert result.exit_code == 2
    assert message in result.output
