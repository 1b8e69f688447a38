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
from mch_service.sqlperiods import Period, period_bucket
from mch_service.timeutil import to_utc

# Refused access (no or a revoked key, not allowed): not the sender's data being rejected.
ACCESS_REFUSALS = (401, 403)
# A sender's reads and its own data-quality view: a refused one (an unknown id, a bad search
# parameter) is no record rejected.
FHIR_READS = ("fhir.read", "fhir.vread", "fhir.search", "fhir.history", "fhir.data-quality")


def sender_rejections(
    session: Session,
    institution_id: str,
    start: datetime | None,
    end: datetime | None,
    after_id: int,
    limit: int,
) -> tuple[int, list[AuditEvent]]:
    """One sender's refused FHIR requests (not access refusals) in [start, end): how many,
    and the first ``limit`` after ``after_id``, oldest first."""
    conditions = _sender_rejected(institution_id)
    if start is not None:
        conditions.append(AuditEvent.occurred_at >= start)
    if end is not None:
        conditions.append(AuditEvent.occurred_at < end)
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*conditions)) or 0
    return int(total), oldest_after(session, conditions, after_id, limit)


def _sender_rejected(institution_id: str) -> list[ColumnElement[bool]]:
    return [
        AuditEvent.actor_kind == "institution",
        AuditEvent.actor_id == institution_id,
        AuditEvent.action.startswith("fhir."),
        AuditEvent.outcome == "rejected",
        AuditEvent.status_code.not_in(ACCESS_REFUSALS) | AuditEvent.status_code.is_(None),
        AuditEvent.action.not_in(FHIR_READS),
    ]


def sender_rejections_by_period(
    session: Session, institution_id: str, periods: Sequence[Period]
) -> dict[str, int]:
    """How many of ``sender_rejections`` fall in each period (by label; none: absent)."""
    label, span = period_bucket(AuditEvent.occurred_at, periods)
    stmt = (
        select(label, func.count()).where(*_sender_rejected(institution_id), *span).group_by(label)
    )
    return {str(k): int(n) for k, n in session.execute(stmt) if k is not None}


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
            .where(
                AuditEvent.actor_kind == "institution",
                AuditEvent.action.startswith("fhir."),
                # an access refusal or a read is not a record accepted or rejected (issue 15)
                AuditEvent.status_code.not_in(ACCESS_REFUSALS) | AuditEvent.status_code.is_(None),
                AuditEvent.action.not_in(FHIR_READS),
            )
            .group_by(AuditEvent.actor_id, AuditEvent.outcome)
        )
    ]


def feed_activity(session: Session, since: datetime) -> list[tuple[str, datetime, int, int]]:
    """(sender, last FHIR write, accepted, refused) of each institution that wrote since
    ``since``: writes only (reads are no feed), refused as the sender's data-quality view
    counts them (not access refusals); the ``occurred_at`` index bounds the read. ``since`` in
    any zone: compared in UTC (SQLite compares the stored UTC text, not the instant)."""
    since = to_utc(since)
    refused = case(
        (
            (AuditEvent.outcome == "rejected")
            & (AuditEvent.status_code.not_in(ACCESS_REFUSALS) | AuditEvent.status_code.is_(None)),
            1,
        ),
        else_=0,
    )
    accepted = case((AuditEvent.outcome == "success", 1), else_=0)
    return [
        (str(inst), last, int(ok or 0), int(bad or 0))
        for inst, last, ok, bad in session.execute(
            select(
                AuditEvent.actor_id,
                func.max(AuditEvent.occurred_at),
                func.sum(accepted),
                func.sum(refused),
            )
            .where(
                AuditEvent.occurred_at >= since,
                AuditEvent.actor_kind == "institution",
                AuditEvent.action.startswith("fhir."),
                AuditEvent.action.not_in(FHIR_READS),
            )
            .group_by(AuditEvent.actor_id)
        )
    ]
