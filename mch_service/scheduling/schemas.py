"""What the job routes answer: a run, and the jobs with their schedules and latest runs."""

from __future__ import annotations

from pydantic import BaseModel

from mch_service.scheduling.models import JobRun
from mch_service.timeutil import to_utc


class JobRunRead(BaseModel):
    """One run of a job; times in ISO 8601 (UTC)."""

    id: int
    job: str
    trigger: str  # scheduled | manual
    as_of: str | None
    started_at: str
    finished_at: str | None
    status: str  # running | succeeded | failed
    rows_touched: int
    detail: str | None
    error: str | None
    host: str | None

    @classmethod
    def of(cls, run: JobRun) -> JobRunRead:
        return cls(
            id=run.id,
            job=run.job,
            trigger=run.trigger,
            as_of=run.as_of.isoformat() if run.as_of else None,
            started_at=to_utc(run.started_at).isoformat(),
            finished_at=to_utc(run.finished_at).isoformat() if run.finished_at else None,
            status=run.status,
            rows_touched=run.rows_touched,
            detail=run.detail,
            error=run.error,
            host=run.host,
        )


class JobsOverview(BaseModel):
    """The jobs, their cron schedules, who holds the scheduler lease, the latest runs."""

    jobs: list[str]
    schedules: dict[str, str]
    scheduler: str | None
    runs: list[JobRunRead]
