"""Test fixtures: every database-touching test runs on SQLite and on PostgreSQL.

PostgreSQL comes from ``MCH_TEST_DATABASE_URL`` (CI sets it). Without it the PostgreSQL
variants are skipped; with it, an unreachable server is an error, never a skip. Each pytest
worker gets its own PostgreSQL schema, migrated once; tables are emptied between tests. SQLite
tests get a copy of a migrated template file.

API tests talk real HTTP to a uvicorn server running in a thread; the server's app is pointed
at the current test's database. Services and application come from the composition root
(``jobs.main``), as in production.
"""

from __future__ import annotations

import os
import shutil
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import argon2.profiles
import httpx
import pytest
import uvicorn
from sqlalchemy import create_engine, text

from jobs.main import build_services, create_app
from mch_service.auth import passwords
from mch_service.config import Settings
from mch_service.database import Base, Database
from mch_service.institutions.service import add_institution
from mch_service.migrate import upgrade
from mch_service.services import Services
from tests import shared_data

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("MCH_TEST_DATABASE_URL")
TEST_SECRET = "test-secret-key-for-the-suite-only-0123456789abcdef"


def pytest_configure(config: pytest.Config) -> None:
    # Argon2id at the library's cheapest parameters: staff users are created and sign in
    # thousands of times over the suite, and the recommended profile (64 MiB, 3 passes, 4
    # lanes) took a third of the browser tests' time. The hashing code is the same; the
    # recommended profile is checked by test_accounts.py and used by every subprocess.
    passwords.use_parameters(argon2.profiles.CHEAPEST)
    config.addinivalue_line(
        "markers", "needs_shared_data: reads ../shared/data (skips without it; fails under CI)"
    )


def pytest_runtest_setup(item: pytest.Item) -> None:
    if item.get_closest_marker("needs_shared_data") is not None:
        shared_data.require()


def _worker() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _pg_url_with_schema(url: str, schema: str) -> str:
    sep = "&" if "?" in url else "?"
    return f"{url}{sep}options=-csearch_path%3D{schema}"


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("template") / "template.db"
    upgrade(f"sqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_schema_url() -> Iterator[str]:
    assert PG_URL is not None
    # the pid too: two test runs at once (a developer and CI) must not share a schema
    schema = f"mch_test_{_worker()}_{os.getpid()}"
    admin = create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))
    try:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
            conn.execute(text(f"CREATE SCHEMA {schema}"))
    except Exception as exc:  # noqa: BLE001
        pytest.fail(f"PostgreSQL at MCH_TEST_DATABASE_URL is unreachable: {exc}")
    url = _pg_url_with_schema(PG_URL, schema)
    upgrade(url)
    yield url
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    if request.param == "sqlite":
        path = tmp_path / "mch.db"
        shutil.copy(request.getfixturevalue("sqlite_template"), path)
        yield f"sqlite:///{path}"
        return
    if PG_URL is None:
        pytest.skip("MCH_TEST_DATABASE_URL is not set (CI sets it)")
    url = request.getfixturevalue("pg_schema_url")
    yield url
    engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    tables = ", ".join(t.name for t in Base.metadata.sorted_tables)
    with engine.begin() as conn:
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    engine.dispose()


@pytest.fixture
def settings(database_url: str) -> Settings:
    return Settings(
        database_url=database_url,
        env="test",
        secret_key=TEST_SECRET,
        max_bundle_entries=50,
        max_body_bytes=5_000_000,
    )


@pytest.fixture
def services(settings: Settings) -> Iterator[Services]:
    svc = build_services(settings, Database(settings.database_url))
    yield svc
    svc.db.dispose()


class _LiveServer:
    """One uvicorn server per worker; each test points its app at the test's services."""

    def __init__(self) -> None:
        self.app = create_app(
            Settings(env="test", secret_key=TEST_SECRET, database_url="sqlite://"), services=None
        )
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        self.port = sock.getsockname()[1]
        sock.close()
        config = uvicorn.Config(
            self.app,
            host="127.0.0.1",
            port=self.port,
            log_level="warning",
            lifespan="off",
            access_log=False,
        )
        self.server = uvicorn.Server(config)
        self.thread = threading.Thread(target=self.server.run, daemon=True)
        self.thread.start()
        deadline = time.monotonic() + 10
        while not self.server.started:
            if time.monotonic() > deadline:
                raise RuntimeError("test server did not start")
            time.sleep(0.01)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def point_at(self, services: Services) -> None:
        from mch_service.fhir_api.capability import capability_statement

        self.app.state.services = services
        self.app.state.settings = services.settings
        self.app.state.capability = capability_statement(services.settings)

    def stop(self) -> None:
        self.server.should_exit = True
        self.thread.join(5)


@pytest.fixture(scope="session")
def live_server() -> Iterator[_LiveServer]:
    server = _LiveServer()
    yield server
    server.stop()


@pytest.fixture
def http(live_server: _LiveServer, services: Services) -> Iterator[httpx.Client]:
    live_server.point_at(services)
    with httpx.Client(base_url=live_server.url, timeout=30) as client:
        yield client


@dataclass
class SenderKey:
    institution_id: str
    api_key: str

    @property
    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.api_key}", "Content-Type": "application/fhir+json"}


def make_sender(services: Services, institution_id: str) -> SenderKey:
    with services.db.transaction() as session:
        issued = add_institution(session, institution_id, f"Institution {institution_id}")
    return SenderKey(institution_id, issued.api_key)


@pytest.fixture
def sender(services: Services) -> SenderKey:
    return make_sender(services, "hospital-a")


@pytest.fixture
def other_sender(services: Services) -> SenderKey:
    return make_sender(services, "hospital-b")
