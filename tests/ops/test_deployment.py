"""The docker-compose deployment, without a Docker engine (none runs on these machines): the
file is parsed and checked, and the very commands its containers run (`db upgrade`, `serve`
with several workers, `worker`) run here as processes against PostgreSQL."""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from mch_service.config import Settings
from mch_service.database import MAX_OVERFLOW, POOL_SIZE
from tests.conftest import TEST_SECRET

ROOT = Path(__file__).resolve().parents[2]
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES = COMPOSE["services"]
ENV_EXAMPLE = ROOT / ".env.example"


def _env_example() -> dict[str, str]:
    out = {}
    for line in ENV_EXAMPLE.read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            out[key.strip()] = value.strip()
    return out


def _interpolate(value: str, env: dict[str, str]) -> str:
    """Compose's ${VAR}, ${VAR:-default} and ${VAR:?error}."""

    def one(m: re.Match[str]) -> str:
        name, op, arg = m.group(1), m.group(2), m.group(3)
        if env.get(name):
            return env[name]
        if op == ":-":
            return arg or ""
        if op == ":?":
            raise AssertionError(f"{name} is required: {arg}")
        return ""

    return re.sub(r"\$\{(\w+)(?:(:-|:\?)([^}]*))?\}", one, value)


def _setting_names() -> set[str]:
    return {f"MCH_{name.upper()}" for name in Settings.model_fields}


def _bytes(size: str) -> int:
    """PostgreSQL's and Compose's sizes: '2GB', '512MB', '1gb'."""
    m = re.fullmatch(r"(\d+)\s*([kmg])b", size.strip().lower())
    assert m, size
    return int(m.group(1)) << {"k": 10, "m": 20, "g": 30}[m.group(2)]


def test_services_order_and_health_checks() -> None:
    assert set(SERVICES) == {"db", "migrate", "api", "worker"}
    db = SERVICES["db"]
    assert "pg_isready" in " ".join(db["healthcheck"]["test"])
    assert any(v.startswith("pgdata:") for v in db["volumes"])
    assert "pgdata" in COMPOSE["volumes"]
    # PostgreSQL's settings: sizes it understands, room for parallel queries' shared memory
    settings = dict(_interpolate(str(a), {}).split("=", 1) for a in db["command"] if "=" in str(a))
    assert db["command"][0] == "postgres"
    assert _bytes(settings["shared_buffers"]) >= 128 << 20
    assert _bytes(settings["max_wal_size"]) >= 1 << 30
    assert _bytes(db["shm_size"]) >= 256 << 20
    # every process's pool fits: the API's workers, the worker, and a few for psql and backups
    api = SERVICES["api"]["command"]
    processes = int(_interpolate(api[api.index("--workers") + 1], {})) + 1
    assert int(settings["max_connections"]) >= (POOL_SIZE + MAX_OVERFLOW) * processes + 10
    # migrations run once, before the API and the worker start
    assert SERVICES["migrate"]["command"] == ["mch-service", "db", "upgrade"]
    assert SERVICES["migrate"]["restart"] == "no"
    assert SERVICES["migrate"]["depends_on"]["db"]["condition"] == "service_healthy"
    for name in ("api", "worker"):
        deps = SERVICES[name]["depends_on"]
        assert deps["migrate"]["condition"] == "service_completed_successfully"
        assert SERVICES[name]["env_file"] == ".env"
    api = SERVICES["api"]["command"]
    assert api[:2] == ["mch-service", "serve"]
    assert "--no-upgrade" in api  # the migrate service did it, once
    assert int(_interpolate(api[api.index("--workers") + 1], {})) > 1
    assert "/healthz" in " ".join(SERVICES["api"]["healthcheck"]["test"])
    assert SERVICES["api"]["environment"]["MCH_SCHEDULER_IN_SERVER"] == "false"
    assert SERVICES["worker"]["command"] == ["mch-service", "worker"]
    # a docker stop leaves requests in flight the time the service gives them
    grace = int(SERVICES["api"]["stop_grace_period"].removesuffix("s"))
    assert grace > Settings().shutdown_timeout_seconds
    for volume in COMPOSE["volumes"]:
        assert any(
            str(v).startswith(f"{volume}:") for s in SERVICES.values() for v in s.get("volumes", [])
        ), volume


def test_every_mch_variable_is_a_real_setting() -> None:
    names = _setting_names()
    used = {
        k for s in SERVICES.values() for k in (s.get("environment") or {}) if k.startswith("MCH_")
    }
    used |= {k for k in _env_example() if k.startswith("MCH_")}
    assert used, "the compose file and .env.example configure the service"
    assert sorted(used - names) == []


def test_env_example_defines_what_compose_needs() -> None:
    text = (ROOT / "docker-compose.yml").read_text()
    needed = set(re.findall(r"\$\{(\w+)", text))
    assert sorted(needed - set(_env_example())) == []
    # the two secrets are there, empty: a copy that is not filled in does not start
    assert _env_example()["POSTGRES_PASSWORD"] == ""
    assert _env_example()["MCH_SECRET_KEY"] == ""


# -- the containers' commands, as processes ------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _command(service: str, env: dict[str, str], port: int) -> list[str]:
    args = [_interpolate(str(a), env) for a in SERVICES[service]["command"]]
    if "--host" in args:
        args[args.index("--host") + 1] = "127.0.0.1"
    if "--port" in args:
        args[args.index("--port") + 1] = str(port)
    assert args[0] == "mch-service"
    return [sys.executable, "-m", "mch_service", *args[1:]]


def _environment(service: str, database_url: str, tmp_path: Path) -> dict[str, str]:
    compose_env = {"API_WORKERS": "2", "POSTGRES_PASSWORD": "unused"}
    env = {k: v for k, v in os.environ.items() if not k.startswith(("MCH_", "PROMETHEUS_"))}
    for key, value in (SERVICES[service].get("environment") or {}).items():
        env[key] = _interpolate(str(value), compose_env)
    env.update(
        {
            # what .env would hold, and paths of this machine instead of the volumes
            "MCH_DATABASE_URL": database_url,
            "MCH_SECRET_KEY": TEST_SECRET,
            "MCH_ENV": "production",
            "MCH_METRICS_TOKEN": "scraper-secret",
            "MCH_DOMAIN_ASSEMBLY": "queued",
            "MCH_ASSEMBLY_INTERVAL_SECONDS": "0.5",
            "MCH_CODE_TABLES_DIR": str(tmp_path / "site-code-tables"),
            "MCH_IMPORT_SPOOL_DIR": str(tmp_path / "import-spool"),
            "MCH_EXPORT_DIR": str(tmp_path / "bulk-export"),
        }
    )
    return env


def _wait_ready(
    base: str, deadline: float, procs: list[tuple[subprocess.Popen[bytes], Path]]
) -> httpx.Response:
    last: Any = None
    while time.monotonic() < deadline:
        for proc, log in procs:
            if proc.poll() is not None:
                raise AssertionError(f"{proc.args!r} exited:\n{log.read_text()[-3000:]}")
        try:
            last = httpx.get(f"{base}/readyz", timeout=5)
            if last.status_code == 200:
                return last
        except httpx.TransportError:
            pass
        time.sleep(0.5)
    raise AssertionError(f"not ready: {last.text if last is not None else 'no answer'}")


@pytest.fixture
def pg_database_url(empty_database_url: str) -> str:
    if not empty_database_url.startswith("postgresql"):
        pytest.skip("the compose deployment runs PostgreSQL")
    return empty_database_url


def _stop(proc: subprocess.Popen[bytes], log: Path) -> None:
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(60)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
            raise AssertionError(
                f"{proc.args!r} did not stop on SIGTERM:\n{log.read_text()}"
            ) from None


def test_the_containers_commands_run_against_postgresql(
    pg_database_url: str, tmp_path: Path
) -> None:
    for volume in ("site-code-tables", "import-spool", "bulk-export"):  # the named volumes
        (tmp_path / volume).mkdir()
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    migrate = subprocess.run(
        _command("migrate", {}, port),
        env=_environment("migrate", pg_database_url, tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert migrate.returncode == 0, migrate.stderr
    assert "database at revision" in migrate.stdout

    procs: list[tuple[subprocess.Popen[bytes], Path]] = []
    try:
        for service in ("api", "worker"):
            log = tmp_path / f"{service}.log"
            env = _environment(service, pg_database_url, tmp_path)
            cmd = _command(service, {"API_WORKERS": "2"}, port)
            if service == "api":
                assert cmd[cmd.index("--workers") + 1] == "2"
            with log.open("wb") as out:
                procs.append(
                    (
                        subprocess.Popen(
                            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, cwd=tmp_path
                        ),
                        log,
                    )
                )
        ready = _wait_ready(base, time.monotonic() + 180, procs)
        checks = ready.json()["checks"]
        assert checks["migrations"]["ok"]
        assert checks["scheduler"]["ok"]  # the worker process holds the lease

        # a sender registered from the command line pushes a record
        inst_env = _environment("worker", pg_database_url, tmp_path)
        added = subprocess.run(
            [
                sys.executable,
                "-m",
                "mch_service",
                "institutions",
                "add",
                "--id",
                "h1",
                "--name",
                "H1",
                "--json",
            ],
            env=inst_env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        assert added.returncode == 0, added.stderr
        import json

        key = json.loads(added.stdout)["api_key"]
        r = httpx.post(
            f"{base}/fhir/Patient",
            json={
                "resourceType": "Patient",
                "identifier": [{"system": "urn:mrn:h1", "value": "1"}],
            },
            headers={"Authorization": f"Bearer {key}", "Content-Type": "application/fhir+json"},
            timeout=30,
        )
        assert r.status_code == 201, r.text

        # the province platform, registered from the command line, pulls a bulk export: the
        # job is a row any worker answers for, the files are on the shared volume
        platform = subprocess.run(
            [sys.executable, "-m", "mch_service", "export-clients", "add", "--id", "province"]
            + ["--name", "Province", "--json"],
            env=inst_env,
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
        )
        assert platform.returncode == 0, platform.stderr
        pull = {"Authorization": f"Bearer {json.loads(platform.stdout)['api_key']}"}
        kicked = httpx.get(
            f"{base}/fhir/$export",
            headers={**pull, "Accept": "application/fhir+json", "Prefer": "respond-async"},
            timeout=30,
        )
        assert kicked.status_code == 202, kicked.text
        deadline = time.monotonic() + 60
        while (
            status := httpx.get(kicked.headers["Content-Location"], headers=pull)
        ).status_code == 202:
            assert time.monotonic() < deadline
            time.sleep(0.1)
        assert status.status_code == 200, status.text
        (patients,) = status.json()["output"]
        assert (patients["type"], patients["count"]) == ("Patient", 1)
        for _ in range(4):  # whichever worker answers
            got = httpx.get(patients["url"], headers=pull, timeout=30)
            assert got.status_code == 200
            assert json.loads(got.text)["identifier"][0]["value"] == "1"
        assert (
            httpx.get(patients["url"], headers={"Authorization": f"Bearer {key}"}).status_code
            == 403
        )

        # metrics, summed over both workers (multiprocess mode, set up by serve)
        for _ in range(20):
            assert httpx.get(f"{base}/healthz", timeout=10).status_code == 200
        assert httpx.get(f"{base}/metrics", timeout=10).status_code == 401
        m = httpx.get(
            f"{base}/metrics", headers={"Authorization": "Bearer scraper-secret"}, timeout=10
        )
        assert m.status_code == 200
        text = m.text
        assert 'mch_http_requests_total{method="GET",route="/healthz",status="200"} 20.0' in text
        assert (
            'mch_fhir_resources_ingested_total{action="create",sender="h1",type="Patient"} 1.0'
            in text
        )
        assert "mch_scheduler_lease_held 1.0" in text
    finally:
        for proc, log in procs:
            _stop(proc, log)
    for proc, log in procs:
        assert proc.returncode == 0, log.read_text()[-3000:]
