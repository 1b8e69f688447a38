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
    """A database with no tables at all: a new SQLite file, or a new PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'empty.db'}"
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
