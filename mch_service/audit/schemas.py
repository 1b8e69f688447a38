"""What the audit log's search returns (GET /api/v1/audit)."""

from __future__ import annotations

from pydantic import BaseModel


class AuditEventRead(BaseModel):
    id: int
    occurred_at: str  # ISO 8601, as stored
    actor_kind: str  # institution | user | system | anonymous
    actor_id: str | None
    client_ip: str | None
    action: str
    target_type: str | None
    target_id: str | None
    outcome: str  # success | rejected | denied | error
    status_code: int | None
    detail: str | None
    request_id: str | None  # the X-Request-ID of the response that wrote it


class AuditPage(BaseModel):
    events: list[AuditEventRead]  # newest first
    next_before_id: int | None  # pass as before_id for the next page; None on the last
