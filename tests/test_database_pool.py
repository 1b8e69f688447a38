"""The connection pool pings a connection only after it sat idle (not at every checkout, a
round trip of every request), and replaces one the server cut meanwhile."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import OperationalError

from mch_service.config import Settings
from mch_service.database import Database
from mch_service.services import build_services
from tests.conftest import _LiveServer, make_sender


def _backend_pid(db: Database) -> int:
    with db.reading() as session:
        return int(session.execute(text("SELECT pg_backend_pid()")).scalar_one())


def _cut(url: str, pid: int) -> None:
    """Terminate one backend from another connection (a server restart, a firewall's cut)."""
    admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        assert conn.execute(text("SELECT pg_terminate_backend(:p)"), {"p": pid}).scalar_one()
    admin.dispose()


def _postgres(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("SQLite has no server connection that can be cut")


def test_an_idle_connection_cut_by_the_server_is_replaced(database_url: str) -> None:
    _postgres(database_url)
    db = Database(database_url, ping_after_idle=0.0)  # every checkout counts as idle
    try:
        first = _backend_pid(db)
        _cut(database_url, first)
        second = _backend_pid(db)  # pinged, found dead, connected again: no error
        assert second != first
    finally:
        db.dispose()


def test_a_connection_in_steady_use_is_not_pinged(database_url: str) -> None:
    """The same cut, within the idle threshold: nothing checks the connection before use,
    so the request meets the dead connection (and the pool replaces it for the next)."""
    _postgres(database_url)
    db = Database(database_url, ping_after_idle=3600.0)
    statements: list[str] = []
    try:
        first = _backend_pid(db)

        @event.listens_for(db.engine, "before_cursor_execute")
        def _seen(_c: object, _cur: object, statement: str, *_a: object) -> None:
            statements.append(statement)

        assert _backend_pid(db) == first
        assert statements == ["SELECT pg_backend_pid()"]  # no ping before it
        _cut(database_url, first)
        with pytest.raises(OperationalError):
            _backend_pid(db)
        assert _backend_pid(db) != first
    finally:
        db.dispose()


def test_a_request_meeting_a_cut_connection_is_retried_or_answered_503(
    settings: Settings, live_server: _LiveServer
) -> None:
    """One pooled connection, cut by the server between requests: a write is planned again
    on a new connection and stored (201); a read that meets the cut is answered 503 with
    Retry-After, never 500; the next read works."""
    _postgres(settings.database_url)
    db = Database(settings.database_url, pool_size=1, max_overflow=0, ping_after_idle=3600.0)
    services = build_services(settings, db)
    live_server.point_at(services)
    sender = make_sender(services, "hosp-cut")
    try:
        with httpx.Client(base_url=live_server.url, timeout=30) as client:

            def patient(mrn: str) -> dict[str, Any]:
                return {
                    "resourceType": "Patient",
                    "identifier": [{"system": "urn:mrn", "value": mrn}],
                }

            first = client.post("/fhir/Patient", json=patient("1"), headers=sender.headers)
            assert first.status_code == 201, first.text  # the key is now checked and cached
            _cut(settings.database_url, _backend_pid(db))
            second = client.post("/fhir/Patient", json=patient("2"), headers=sender.headers)
            assert second.status_code == 201, second.text
            location = second.headers["location"].split("/fhir/")[1]
            _cut(settings.database_url, _backend_pid(db))
            lost = client.get(f"/fhir/{location}", headers=sender.headers)
            assert lost.status_code == 503, lost.text
            assert lost.headers["retry-after"] == "5"
            assert lost.json()["resourceType"] == "OperationOutcome"
            again = client.get(f"/fhir/{location}", headers=sender.headers)
            assert again.status_code == 200, again.text
        with db.reading() as session:
            count = session.execute(text("SELECT count(*) FROM fhir_resource")).scalar_one()
        assert count == 2  # each Patient once
    finally:
        db.dispose()
