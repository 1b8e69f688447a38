"""What the operators' JSON probes answer."""

from __future__ import annotations

from pydantic import BaseModel


class Liveness(BaseModel):
    status: str  # "ok"
    version: str


class CheckRead(BaseModel):
    ok: bool
    detail: str


class Readiness(BaseModel):
    status: str  # "ready" | "not ready"
    version: str
    checks: dict[str, CheckRead]  # database, migrations, code_tables, assembly_queue, scheduler
