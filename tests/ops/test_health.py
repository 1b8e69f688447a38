"""/healthz and /readyz: each readiness check fails for its own reason, with a 503 that says
what to do, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import dataclasses
import logging
from datetime import timedelta

import httpx
import pytest
from sqlalchemy import text

from fhir_mappings.code_tables import CodeTables
from mch_service.app import Services, create_app
from mch_service.database import Database
from mch_service.domain.models import AssemblyQueue
from mch_service.ops.health import migration_heads
from mch_service.scheduling.service import release_lease, try_lease
from mch_service.timeutil import utcnow


def _ready(http: httpx.Client) -> tuple[int, dict[str, dict[str, object]]]:
    r = http.get("/readyz")
    return r.status_code, r.json()["checks"]


def test_healthz_answers_without_the_database(services: Services, http: httpx.Client) -> None:
    services.db = Database("postgresql://nobody@127.0.0.1:1/none")
    r = http.get("/healthz")
    assert r.status_code == 200
    assert r.json()["status"] == "ok"


def test_ready_when_every_check_passes(services: Services, http: httpx.Client) -> None:
    assert try_lease(services.db, "worker-1")
    status, checks = _ready(http)
    assert status == 200, checks
    assert all(c["ok"] for c in checks.values())
    assert set(checks) == {"database", "migrations", "code_tables", "assembly_queue", "scheduler"}
    assert "worker-1" in str(checks["scheduler"]["detail"])


def test_no_scheduler_lease_is_not_ready(services: Services, http: httpx.Client) -> None:
    status, checks = _ready(http)
    assert status == 503
    assert checks["scheduler"]["ok"] is False
    assert "mch-service worker" in str(checks["scheduler"]["detail"])
    # an expired lease is nobody's
    assert try_lease(services.db, "worker-1")
    release_lease(services.db, "worker-1")
    assert _ready(http)[0] == 503


def test_no_schedule_needs_no_lease(services: Services, http: httpx.Client) -> None:
    services.settings = services.settings.model_copy(update={"job_schedules": {}})
    assert _ready(http)[0] == 200


def test_migrations_behind_answer_503_with_the_reason(
    services: Services, http: httpx.Client
) -> None:
    assert try_lease(services.db, "worker-1")
    (head,) = migration_heads()
    with services.db.transaction() as session:
        session.execute(text("UPDATE alembic_version SET version_num = '0005'"))
    try:
        r = http.get("/readyz")
        assert r.status_code == 503
        detail = r.json()["checks"]["migrations"]["detail"]
        assert "0005" in detail
        assert head in detail
        assert "db upgrade" in detail
        assert r.json()["status"] == "not ready"
    finally:
        with services.db.transaction() as session:
            session.execute(text("UPDATE alembic_version SET version_num = :h"), {"h": head})
    assert http.get("/readyz").status_code == 200


def test_unreachable_database_is_not_ready(services: Services, http: httpx.Client) -> None:
    services.db = Database("postgresql://nobody:secret-pw@127.0.0.1:1/none")
    r = http.get("/readyz")
    assert r.status_code == 503
    assert r.json()["checks"]["database"]["ok"] is False
    assert "secret-pw" not in r.text


def test_stuck_assembly_queue_is_not_ready(services: Services, http: httpx.Client) -> None:
    assert try_lease(services.db, "worker-1")
    with services.db.transaction() as session:
        session.add(AssemblyQueue(woman_key="w1", enqueued_at=utcnow() - timedelta(seconds=30)))
    status, checks = _ready(http)
    assert status == 200
    assert "1 waiting" in str(checks["assembly_queue"]["detail"])
    with services.db.transaction() as session:
        session.add(AssemblyQueue(woman_key="w2", enqueued_at=utcnow() - timedelta(hours=1)))
    status, checks = _ready(http)
    assert status == 503
    assert "stuck: 2 women" in str(checks["assembly_queue"]["detail"])


def test_no_code_tables_is_not_ready(services: Services, http: httpx.Client) -> None:
    assert try_lease(services.db, "worker-1")
    services.domain.extractor = dataclasses.replace(services.domain.extractor, codes=CodeTables())
    status, checks = _ready(http)
    assert status == 503
    assert checks["code_tables"] == {"ok": False, "detail": "no code table is loaded"}


def test_readiness_does_not_queue_behind_a_writer(services: Services) -> None:
    """A probe only reads: with a write transaction open (SQLite's lock held) it answers at
    once instead of waiting out the busy timeout behind it."""
    import time

    from mch_service.ops.health import readiness

    assert try_lease(services.db, "worker-1")
    with services.db.transaction() as session:
        session.execute(text("UPDATE institution SET name = name"))  # takes the write lock
        start = time.monotonic()
        checks = readiness(services)
        elapsed = time.monotonic() - start
    assert [c.name for c in checks if not c.ok] == []
    assert elapsed < 10


def test_start_up_warns_when_postgresql_runs_without_autovacuum(
    services: Services, caplog: pytest.LogCaptureFixture
) -> None:
    """The store's look-ups are planned from the tables' statistics: a server whose
    PostgreSQL keeps none current says so at start-up (this machine's cluster runs with
    autovacuum off; a production one should not)."""
    expected = False
    if services.db.dialect == "postgresql":
        with services.db.engine.connect() as conn:
            expected = conn.exec_driver_sql("SHOW autovacuum").scalar_one() == "off"
    assert services.db.autovacuum_off() is expected
    app = create_app(services.settings, services)

    async def start_and_stop() -> None:
        async with app.router.lifespan_context(app):
            pass

    with caplog.at_level(logging.WARNING, logger="mch_service"):
        asyncio.run(start_and_stop())
    warned = [r for r in caplog.records if "autovacuum off" in r.getMessage()]
    assert len(warned) == int(expected)
