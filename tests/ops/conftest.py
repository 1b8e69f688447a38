"""Empty databases of each kind (the shared fixtures hand out migrated ones)."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from tests.conftest import PG_URL, _pg_url_with_schema


def _admin_engine():  # type: ignore[no-untyped-def]
    assert PG_URL is not None
    return create_engine(PG_URL.replace("postgresql://", "postgresql+psycopg://", 1))


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """An empty database of its own for a test that runs the service's commands as processes:
    a new SQLite file, or a new PostgreSQL schema (search_path in the URL, as the suite's
    others). Not a new PostgreSQL database: CREATE/DROP DATABASE wait for a checkpoint, minutes
    on a busy server; backups and restores of a whole database take the same code path without
    the --schema option."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'own.db'}"
        return
    if PG_URL is None:
        pytest.skip("MCH_TEST_DATABASE_URL is not set (CI sets it)")
    schema = f"mch_ops_{os.getpid()}_{uuid.uuid4().hex[:8]}"
    admin = _admin_engine()
    with admin.begin() as conn:
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    try:
        yield _pg_url_with_schema(PG_URL, schema)
    finally:
        with admin.begin() as conn:
            conn.execute(text(f"DROP SCHEMA IF EXISTS {schema} CASCADE"))
        admin.dispose()


def recreate(url: str) -> None:
    """Wipe a database as a lost server would leave it: a SQLite file deleted, a PostgreSQL
    schema dropped with everything in it (and made again, empty)."""
    if url.startswith("sqlite"):
        path = Path(url.removeprefix("sqlite:///"))
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        return
    schema = url.rsplit("search_path%3D", 1)[1]
    admin = _admin_engine()
    with admin.begin() as conn:
        conn.execute(text(f"DROP SCHEMA {schema} CASCADE"))
        conn.execute(text(f"CREATE SCHEMA {schema}"))
    admin.dispose()
