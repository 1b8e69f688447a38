"""Job runs and data-quality figures over HTTP."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Query, Request
from starlette.concurrency import run_in_threadpool

from jobs.runner import job_names, recent_runs, run_job
from jobs.scheduler import lease_holder
from mch_service.auth.dependencies import CurrentStaff
from mch_service.auth.permissions import Permission
from mch_service.errors import NotFound
from mch_service.quality.service import report

router = APIRouter(prefix="/api/v1", tags=["jobs"])


@router.get("/jobs")
async def jobs(
    request: Request,
    principal: CurrentStaff,
    job: str | None = None,
    # bounded here: a negative LIMIT is a database error on PostgreSQL (found by fuzzing)
    limit: int = Query(50, ge=1, le=500),
) -> dict[str, Any]:
    principal.require(Permission.RUN_JOBS)
    services = request.app.state.services

    def _read() -> dict[str, Any]:
        with services.db.reading() as session:
            runs = recent_runs(session, job, limit)
        return {
            "jobs": job_names(),
            "schedules": services.settings.job_schedules,
            "scheduler": lease_holder(services.db),
            "runs": runs,
        }

    return await run_in_threadpool(_read)


@router.post("/jobs/{name}/run")
async def run(
    name: str, request: Request, principal: CurrentStaff, as_of: date | None = None
) -> dict[str, Any]:
    principal.require(Permission.RUN_JOBS)
    if name not in job_names():
        raise NotFound(f"No job {name!r}")
    services = request.app.state.services
    await run_in_threadpool(run_job, services, name, as_of, "manual")
    with services.db.reading() as session:
        return recent_runs(session, name, 1)[0]


@router.get("/data-quality")
async def data_quality(request: Request, principal: CurrentStaff) -> list[dict[str, Any]]:
    principal.require(Permission.READ_INDICATORS)
    db = request.app.state.services.db

    def _read() -> list[dict[str, Any]]:
        with db.reading() as session:
            return report(session)

    return await run_in_threadpool(_read)
