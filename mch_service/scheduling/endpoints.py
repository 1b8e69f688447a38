"""Job runs over HTTP (list, run now)."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from mch_service.auth.dependencies import CurrentStaff
from mch_service.auth.permissions import Permission
from mch_service.deps import ServicesDep
from mch_service.errors import NotFound
from mch_service.scheduling import service
from mch_service.scheduling.schemas import JobRunRead, JobsOverview

router = APIRouter(prefix="/api/v1", tags=["jobs"])


@router.get("/jobs", response_model=JobsOverview)
async def jobs(
    services: ServicesDep,
    principal: CurrentStaff,
    job: str | None = None,
    # bounded here: a negative LIMIT is a database error on PostgreSQL (found by fuzzing)
    limit: int = Query(50, ge=1, le=500),
) -> JobsOverview:
    principal.require(Permission.RUN_JOBS)
    return await run_in_threadpool(
        service.overview, services.db, services.jobs, services.settings.job_schedules, job, limit
    )


@router.post("/jobs/{name}/run", response_model=JobRunRead)
async def run(
    name: str, services: ServicesDep, principal: CurrentStaff, as_of: date | None = None
) -> JobRunRead:
    principal.require(Permission.RUN_JOBS)
    if name not in services.jobs.names():
        raise NotFound(f"No job {name!r}")
    return await run_in_threadpool(services.jobs.run, name, as_of, "manual")
