"""The SQL of the operators' probes: a ping and the schema's revision. (What they read of
other packages, the assembly queue, the indicators' freshness and the newest sealed version,
comes from those packages' services.)"""

from __future__ import annotations

from alembic.runtime.migration import MigrationContext
from sqlalchemy import text
from sqlalchemy.orm import Session


def schema_heads(session: Session) -> frozenset[str]:
    """The revisions the database is at (a failure here means it is unreachable)."""
    conn = session.connection()
    conn.execute(text("SELECT 1"))
    return frozenset(MigrationContext.configure(conn).get_current_heads())
