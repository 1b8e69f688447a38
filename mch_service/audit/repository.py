"""The queries of the audit log (``audit_event``): append rows, read them by filter."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, case, func, select
from sqlalchemy.orm import Session

from mch_service import sqlbulk
from mch_service.audit.models import AuditEvent
from mch_service.database import table_of


def insert_events(session: Session, rows: list[dict[str, Any]]) -> None:
    sqlbulk.insert_rows(session, table_of(AuditEvent), rows)


def newest(
    session: Session, conditions: Sequence[ColumnElement[bool]], limit: int, before_id: int | None
) -> list[AuditEvent]:
    """Newest first, at most ``limit``, older than ``before_id`` when given."""
    stmt = select(AuditEvent).where(*conditions).order_by(AuditEvent.id.desc()).limit(limit)
    if before_id is not None:
        stmt = stmt.where(AuditEvent.id < before_id)
    return list(session.scalars(stmt))


def oldest_after(
    session: Session, conditions: Sequence[ColumnElement[bool]], after_id: int, limit: int
) -> list[AuditEvent]:
    """Oldest first, at most ``limit``, newer than ``after_id``."""
    return list(
        session.scalars(
            select(AuditEvent)
            .where(*conditions, AuditEvent.id > after_id)
            .order_by(AuditEvent.id)
            .limit(limit)
        )
    )


def fhir_write_outcomes(session: Session) -> list[tuple[str, str, int]]:
    """(sender, outcome, how many) of the FHIR writes the audit log holds."""
    return [
        (str(inst), outcome, n)
        for inst, outcome, n in session.execute(
            select(AuditEvent.actor_id, AuditEvent.outcome, func.count())
            .where(AuditEvent.actor_kind == "institution", AuditEvent.action.startswith("fhir."))
            .group_by(AuditEvent.actor_id, AuditEvent.outcome)
        )
    ]


def feed_activity(session: Session, since: datetime) -> list[tuple[str, datetime, int, int]]:
    """(sender, last FHIR write, accepted, refused) of each institution that wrote since
    ``since`` (the ``occurred_at`` index bounds the read)."""
    refused = case((AuditEvent.outcome == "success", 0), else_=1)
    return [
        (str(inst), last, int(n) - int(bad or 0), int(bad or 0))
        for inst, last, n, bad in session.execute(
            select(
                AuditEvent.actor_id,
                func.max(AuditEvent.occurred_at),
                func.count(),
                func.sum(refused),
            )
            .where(
                AuditEvent.occurred_at >= since,
                AuditEvent.actor_kind == "institution",
                AuditEvent.action.startswith("fhir."),
            )
            .group_by(AuditEvent.actor_id)
        )
    ]
