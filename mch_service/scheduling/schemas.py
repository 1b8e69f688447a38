"""What the job routes answer: a run, the jobs with their schedules and latest runs, and the
data-quality figures."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict

from mch_service.scheduling.models import JobRun


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
            started_at=run.started_at.isoformat(),
            finished_at=run.finished_at.isoformat() if run.finished_at else None,
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


class DataQualityRead(BaseModel):
    """One institution's data-quality figures: one key per metric (e.g. ``"gestation_missing":
    0.02``) besides the two named here."""

    model_config = ConfigDict(extra="allow")

    institution: str
    computed_at: str
