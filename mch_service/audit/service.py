"""Writing audit events. Writes go in the caller's transaction, so an audited change and its
audit row commit together; rejections are recorded in a transaction of their own (the
rejected work rolled back, its audit row must not)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import insert
from sqlalchemy.orm import Session

from mch_service.audit.models import AuditEvent
from mch_service.timeutil import utcnow


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
        }
        for r in records
    ]
    if rows:
        session.execute(insert(AuditEvent), rows)
