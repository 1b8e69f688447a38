"""Writing and reading audit events. Writes go in the caller's transaction, so an audited change
and its audit row commit together; rejections are recorded in a transaction of their own (the
rejected work rolled back, its audit row must not).

Layering: audit is the lowest of the staff packages. Every package records here; audit imports
none of them (not auth either: who may read the log is decided above it, in
``auth/audit_endpoints.py``, which passes the reader in as an ``Actor``)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from mch_service.audit import repository
from mch_service.audit.models import AuditEvent
from mch_service.audit.schemas import AuditEventRead, AuditPage
from mch_service.process_metrics import count_audit
from mch_service.request_context import REQUEST_ID
from mch_service.sqlperiods import Period
from mch_service.timeutil import to_utc, utcnow


@dataclass(frozen=True)
class Actor:
    kind: str  # institution | user | system | anonymous
    id: str | None
    client_ip: str | None = None


@dataclass(frozen=True)
class AuditRecord:
    action: str
    outcome: str
    target_type: str | None = None
    target_id: str | None = None
    status_code: int | None = None
    detail: str | None = None


def record(session: Session, actor: Actor, records: Iterable[AuditRecord]) -> None:
    now = utcnow()
    request_id = REQUEST_ID.get()
    rows = [
        {
            "occurred_at": now,
            "actor_kind": actor.kind,
            "actor_id": actor.id,
            "client_ip": actor.client_ip,
            "action": r.action,
            "outcome": r.outcome,
            "target_type": r.target_type,
            "target_id": r.target_id,
            "status_code": r.status_code,
            "detail": r.detail[:2000] if r.detail else None,
            "request_id": request_id,
        }
        for r in records
    ]
    repository.insert_events(session, rows)
    count_audit(session, actor.kind, actor.id, rows)  # Prometheus counters, after commit


@dataclass(frozen=True)
class AuditQuery:
    actor: str | None = None
    action: str | None = None  # exact, or a prefix ending in "." (e.g. "auth.")
    outcome: str | None = None
    target_type: str | None = None
    target_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    request_id: str | None = None


def _conditions(q: AuditQuery) -> list[ColumnElement[bool]]:
    conds: list[ColumnElement[bool]] = []
    if q.actor:
        conds.append(AuditEvent.actor_id == q.actor)
    if q.action:
        conds.append(
            AuditEvent.action.startswith(q.action)
            if q.action.endswith(".")
            else AuditEvent.action == q.action
        )
    if q.outcome:
        conds.append(AuditEvent.outcome == q.outcome)
    if q.target_type:
        conds.append(AuditEvent.target_type == q.target_type)
    if q.target_id:
        conds.append(AuditEvent.target_id == q.target_id)
    if q.request_id:
        conds.append(AuditEvent.request_id == q.request_id)
    # compared as instants in UTC: SQLite compares the stored UTC text, so +08:00 would not do
    if q.since:
        conds.append(AuditEvent.occurred_at >= to_utc(q.since))
    if q.until:
        conds.append(AuditEvent.occurred_at < to_utc(q.until))
    return conds


COLUMNS = (
    "id",
    "occurred_at",
    "actor_kind",
    "actor_id",
    "client_ip",
    "action",
    "target_type",
    "target_id",
    "outcome",
    "status_code",
    "detail",
    "request_id",
)


def search(
    session: Session, q: AuditQuery, limit: int = 100, before_id: int | None = None
) -> list[AuditEventRead]:
    """Newest first; page with ``before_id`` (the last id of the previous page)."""
    return [
        AuditEventRead.model_validate(_row(e))
        for e in repository.newest(session, _conditions(q), limit, before_id)
    ]


def read_page(
    session: Session, reader: Actor, q: AuditQuery, limit: int, before_id: int | None
) -> AuditPage:
    """One page of the search for a staff member; the reading is itself audited."""
    record(session, reader, [AuditRecord("audit.search", "success")])
    events = search(session, q, limit, before_id)
    return AuditPage(events=events, next_before_id=events[-1].id if len(events) == limit else None)


def note_export(session: Session, reader: Actor) -> None:
    record(session, reader, [AuditRecord("audit.export", "success")])


def iter_all(session: Session, q: AuditQuery, chunk: int = 1000) -> Iterator[dict[str, Any]]:
    """Every matching event, oldest first, fetched in chunks (for exports)."""
    after = 0
    conditions = _conditions(q)
    while True:
        rows = repository.oldest_after(session, conditions, after, chunk)
        if not rows:
            return
        for e in rows:
            yield _row(e)
        after = rows[-1].id


def _row(e: AuditEvent) -> dict[str, Any]:
    return {
        c: (to_utc(getattr(e, c)).isoformat() if c == "occurred_at" else getattr(e, c))
        for c in COLUMNS
    }


def fhir_write_outcomes(session: Session) -> list[tuple[str, str, int]]:
    """(sender, outcome, how many) of the FHIR writes the audit log holds (for data quality)."""
    return repository.fhir_write_outcomes(session)


def feed_activity(session: Session, since: datetime) -> list[tuple[str, datetime, int, int]]:
    """(sender, last FHIR write, accepted, refused) of the senders that wrote since ``since``
    (the administrator's home page: which feeds are alive, which are refused)."""
    return repository.feed_activity(session, since)


def sender_rejections_by_period(
    session: Session, institution_id: str, periods: Sequence[Period]
) -> dict[str, int]:
    """How many of one sender's refused requests (as ``sender_rejections``) fall in each
    period, by label (a period with none is absent)."""
    return repository.sender_rejections_by_period(session, institution_id, periods)


def sender_rejections(
    session: Session,
    institution_id: str,
    start: datetime | None,
    end: datetime | None,
    after_id: int,
    limit: int,
) -> tuple[int, list[dict[str, Any]]]:
    """One sender's refused FHIR requests (access refusals left out): the count, and a page of
    rows (id, at, action, resource, status, detail) oldest first after ``after_id``."""
    total, rows = repository.sender_rejections(session, institution_id, start, end, after_id, limit)
    return total, [
        {
            "id": r.id,
            "at": to_utc(r.occurred_at).isoformat(),
            "action": r.action,
            "resource_type": r.target_type,
            "resource_id": r.target_id,
            "status": r.status_code,
            "detail": r.detail,
            "request_id": r.request_id,
        }
        for r in rows
    ]
