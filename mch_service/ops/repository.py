"""The SQL the operators' probes and gauges read: a ping, the schema's revision, the assembly
queue, the indicators' freshness. (The last two read other packages' tables: they move to
``domain`` and ``indicators`` services once those offer them.)"""

from __future__ import annotations

from datetime import datetime

from alembic.runtime.migration import MigrationContext
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from mch_service.domain.models import AssemblyQueue
from mch_service.indicators.results import IndicatorResult


def schema_heads(session: Session) -> frozenset[str]:
    """The revisions the database is at (a failure here means it is unreachable)."""
    conn = session.connection()
    conn.execute(text("SELECT 1"))
    return frozenset(MigrationContext.configure(conn).get_current_heads())


def assembly_queue(session: Session) -> tuple[int, datetime | None]:
    """How many women wait to be assembled, and since when the oldest waits."""
    depth, oldest = session.execute(select(func.count(), func.min(AssemblyQueue.enqueued_at))).one()
    return depth or 0, oldest


def indicators_computed(session: Session) -> list[tuple[str, datetime | None]]:
    """(indicator, when its results were last computed)."""
    rows = session.execute(
        select(IndicatorResult.indicator_id, func.max(IndicatorResult.computed_at)).group_by(
            IndicatorResult.indicator_id
        )
    )
    return [(indicator, computed) for indicator, computed in rows]
