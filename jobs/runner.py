"""Running a job and recording the run (start, end, status, rows touched, error)."""

from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select, update

from jobs.models import JobRun
from mch_service.timeutil import utcnow

log = logging.getLogger("mch_service.jobs")
HOST = f"{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class JobResult:
    rows_touched: int
    detail: str = ""


JobBody = Callable[[Any, date | None], JobResult]


def _registry() -> dict[str, JobBody]:
    from jobs import tasks

    return tasks.JOBS


def job_names() -> list[str]:
    return list(_registry())


def run_job(services: Any, name: str, as_of: date | None = None, trigger: str = "manual") -> JobRun:
    body = _registry().get(name)
    if body is None:
        raise KeyError(f"no job {name!r} (jobs: {', '.join(job_names())})")
    with services.db.transaction() as session:
        run = JobRun(
            job=name,
            trigger=trigger,
            as_of=as_of,
            started_at=utcnow(),
            status="running",
            rows_touched=0,
            host=HOST,
        )
        session.add(run)
        session.flush()
        run_id = run.id
    try:
        result = body(services, as_of)
    except Exception as exc:  # noqa: BLE001 - recorded on the run, never lost
        log.error("job %s failed: %s", name, type(exc).__name__)
        with services.db.transaction() as session:
            session.execute(
                update(JobRun)
                .where(JobRun.id == run_id)
                .values(
                    status="failed",
                    finished_at=utcnow(),
                    # first line only: later lines of a database error quote the SQL and values
                    error=f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:300]}",
                )
            )
    else:
        with services.db.transaction() as session:
            session.execute(
                update(JobRun)
                .where(JobRun.id == run_id)
                .values(
                    status="succeeded",
                    finished_at=utcnow(),
                    rows_touched=result.rows_touched,
                    detail=result.detail[:2000],
                )
            )
    with services.db.reading() as session:
        done = session.scalar(select(JobRun).where(JobRun.id == run_id))
        assert done is not None
        return done


def recent_runs(session: Any, job: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    stmt = select(JobRun).order_by(JobRun.id.desc()).limit(limit)
    if job:
        stmt = stmt.where(JobRun.job == job)
    return [
        {
            "id": r.id,
            "job": r.job,
            "trigger": r.trigger,
            "as_of": r.as_of.isoformat() if r.as_of else None,
            "started_at": r.started_at.isoformat(),
            "finished_at": r.finished_at.isoformat() if r.finished_at else None,
            "status": r.status,
            "rows_touched": r.rows_touched,
            "detail": r.detail,
            "error": r.error,
            "host": r.host,
        }
        for r in session.scalars(stmt)
    ]
