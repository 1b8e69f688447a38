"""Job runs over HTTP (list, run now), and the data-quality figures."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from mch_service.auth.dependencies import CurrentStaff
from mch_service.auth.permissions import Permission
from mch_service.deps import ServicesDep, in_reading
from mch_service.errors import NotFound
from mch_service.quality.service import report
from mch_service.scheduling import service
from mch_service.scheduling.schemas import DataQualityRead, JobRunRead, JobsOverview

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


# The figures belong with ``mch_service.quality``; the route moves there with its package.
@router.get("/data-quality", response_model=list[DataQualityRead])
async def data_quality(services: ServicesDep, principal: CurrentStaff) -> list[DataQualityRead]:
    principal.require(Permission.READ_INDICATORS)
    rows = await in_reading(services, report)
    return [DataQualityRead.model_validate(row) for row in rows]
