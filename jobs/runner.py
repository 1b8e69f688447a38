"""Running a job and recording the run (start, end, status, rows touched, error)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date

from mch_service.scheduling import service as job_runs
from mch_service.scheduling.models import JobRun
from mch_service.scheduling.schemas import JobRunRead
from mch_service.services import Services

log = logging.getLogger("mch_service.jobs")


@dataclass(frozen=True)
class JobResult:
    rows_touched: int
    detail: str = ""


JobBody = Callable[[Services, date | None], JobResult]


def _registry() -> dict[str, JobBody]:
    from jobs import tasks

    return tasks.JOBS


def job_names() -> list[str]:
    return list(_registry())


def run_job(
    services: Services, name: str, as_of: date | None = None, trigger: str = "manual"
) -> JobRun:
    body = _registry().get(name)
    if body is None:
        raise KeyError(f"no job {name!r} (jobs: {', '.join(job_names())})")
    run_id = job_runs.start_run(services.db, name, trigger, as_of)
    try:
        result = body(services, as_of)
    except Exception as exc:  # noqa: BLE001 - recorded on the run, never lost
        log.error("job %s failed: %s", name, type(exc).__name__)
        job_runs.fail_run(services.db, run_id, exc)
    else:
        job_runs.finish_run(services.db, run_id, result.rows_touched, result.detail)
    return job_runs.read_run(services.db, run_id)


class TaskRunner:
    """The ``JobRunner`` of a running instance: the jobs of ``jobs.tasks``, run on its
    services (see ``jobs.main``)."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def names(self) -> list[str]:
        return job_names()

    def run(self, name: str, as_of: date | None, trigger: str) -> JobRunRead:
        return JobRunRead.of(run_job(self.services, name, as_of, trigger))
