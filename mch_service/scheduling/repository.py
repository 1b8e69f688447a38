"""The SQL of job runs and of the scheduler lease."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from mch_service.scheduling.models import JobRun, SchedulerLease


def add_run(
    session: Session, job: str, trigger: str, as_of: date | None, started_at: datetime, host: str
) -> int:
    run = JobRun(
        job=job,
        trigger=trigger,
        as_of=as_of,
        started_at=started_at,
        status="running",
        rows_touched=0,
        host=host,
    )
    session.add(run)
    session.flush()
    return run.id


def mark_failed(session: Session, run_id: int, finished_at: datetime, error: str) -> None:
    session.execute(
        update(JobRun)
        .where(JobRun.id == run_id)
        .values(status="failed", finished_at=finished_at, error=error)
    )


def mark_succeeded(
    session: Session, run_id: int, finished_at: datetime, rows_touched: int, detail: str
) -> None:
    session.execute(
        update(JobRun)
        .where(JobRun.id == run_id)
        .values(
            status="succeeded", finished_at=finished_at, rows_touched=rows_touched, detail=detail
        )
    )


def get_run(session: Session, run_id: int) -> JobRun | None:
    return session.scalar(select(JobRun).where(JobRun.id == run_id))


def recent_runs(session: Session, job: str | None, limit: int) -> Sequence[JobRun]:
    stmt = select(JobRun).order_by(JobRun.id.desc()).limit(limit)
    if job:
        stmt = stmt.where(JobRun.job == job)
    return session.scalars(stmt).all()


def run_counts(session: Session) -> list[tuple[str, str, int]]:
    """(job, status, runs) for every job and status."""
    rows = session.execute(
        select(JobRun.job, JobRun.status, func.count()).group_by(JobRun.job, JobRun.status)
    )
    return [(job, status, n) for job, status, n in rows]


def last_successes(session: Session) -> list[tuple[str, datetime | None]]:
    """(job, when its latest successful run finished)."""
    rows = session.execute(
        select(JobRun.job, func.max(JobRun.finished_at))
        .where(JobRun.status == "succeeded")
        .group_by(JobRun.job)
    )
    return [(job, finished) for job, finished in rows]


def latest_finished(session: Session) -> list[tuple[str, str, datetime, datetime | None]]:
    """(job, status, started, finished) of each job's latest finished run."""
    latest_ids = (
        select(func.max(JobRun.id))
        .where(JobRun.finished_at.is_not(None))
        .group_by(JobRun.job)
        .scalar_subquery()
    )
    rows = session.execute(
        select(JobRun.job, JobRun.status, JobRun.started_at, JobRun.finished_at).where(
            JobRun.id.in_(latest_ids)
        )
    )
    return [(job, status, started, finished) for job, status, started, finished in rows]


def lease_for_update(session: Session, name: str) -> SchedulerLease | None:
    return session.get(SchedulerLease, name, with_for_update=True)


def add_lease(session: Session, name: str, holder: str, expires_at: datetime) -> None:
    session.add(SchedulerLease(name=name, holder=holder, expires_at=expires_at))
    session.flush()


def expire_lease(session: Session, name: str, holder: str, now: datetime) -> None:
    session.execute(
        update(SchedulerLease)
        .where(SchedulerLease.name == name, SchedulerLease.holder == holder)
        .values(expires_at=now)
    )


def get_lease(session: Session, name: str) -> SchedulerLease | None:
    return session.scalar(select(SchedulerLease).where(SchedulerLease.name == name))


def lease_expiry(session: Session, name: str) -> datetime | None:
    return session.scalar(select(SchedulerLease.expires_at).where(SchedulerLease.name == name))
