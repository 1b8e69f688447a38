"""The connection pool pings a connection only after it sat idle (not at every checkout, a
round trip of every request), and replaces one the server cut meanwhile."""

from __future__ import annotations

import pytest
from sqlalchemy import create_engine, event, text
from sqlalchemy.exc import OperationalError

from mch_service.database import Database


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
