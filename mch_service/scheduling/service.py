"""Job runs and the scheduler lease: recording a run, reading runs, taking and releasing the
lease. ``JobRunner`` is the port through which the HTTP route and the command line run a job
without knowing the job bodies (the composition root, ``jobs/main.py``, fills it)."""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Protocol

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from mch_service.database import Database
from mch_service.errors import NotFound
from mch_service.scheduling import repository
from mch_service.scheduling.models import JobRun
from mch_service.scheduling.schemas import JobRunRead, JobsOverview
from mch_service.timeutil import to_utc, utcnow

HOST = f"{socket.gethostname()}:{os.getpid()}"  # this process, in runs and in the lease
LEASE_NAME = "scheduler"
LEASE_SECONDS = 60


class JobRunner(Protocol):
    """Runs a job by name and records the run."""

    def names(self) -> list[str]: ...

    def run(self, name: str, as_of: date | None, trigger: str) -> JobRunRead: ...


class NoJobRunner:
    """The runner of services built without the composition root: knows no job."""

    def names(self) -> list[str]:
        return []

    def run(self, name: str, as_of: date | None, trigger: str) -> JobRunRead:
        raise NotFound(f"No job {name!r}")


# -- runs ------------------------------------------------------------------------------------


def start_run(db: Database, job: str, trigger: str, as_of: date | None) -> int:
    with db.transaction() as session:
        return repository.add_run(session, job, trigger, as_of, utcnow(), HOST)


def fail_run(db: Database, run_id: int, exc: Exception) -> None:
    # first line only: later lines of a database error quote the SQL and values
    error = f"{type(exc).__name__}: {(str(exc).splitlines() or [''])[0][:300]}"
    with db.transaction() as session:
        repository.mark_failed(session, run_id, utcnow(), error)


def finish_run(db: Database, run_id: int, rows_touched: int, detail: str) -> None:
    with db.transaction() as session:
        repository.mark_succeeded(session, run_id, utcnow(), rows_touched, detail[:2000])


def read_run(db: Database, run_id: int) -> JobRun:
    with db.reading() as session:
        run = repository.get_run(session, run_id)
    assert run is not None
    return run


def recent_runs(session: Session, job: str | None = None, limit: int = 50) -> list[JobRunRead]:
    return [JobRunRead.of(run) for run in repository.recent_runs(session, job, limit)]


@dataclass(frozen=True)
class RunFigures:
    """What the metrics read of the runs and the lease at a scrape."""

    counts: list[tuple[str, str, int]]  # job, status, runs
    last_successes: list[tuple[str, datetime | None]]  # job, finished
    latest: list[tuple[str, str, datetime, datetime | None]]  # job, status, start, end
    lease_expires_at: datetime | None


def run_figures(session: Session) -> RunFigures:
    return RunFigures(
        repository.run_counts(session),
        repository.last_successes(session),
        repository.latest_finished(session),
        repository.lease_expiry(session, LEASE_NAME),
    )


# -- the lease -------------------------------------------------------------------------------


def try_lease(db: Database, holder: str = HOST, seconds: int = LEASE_SECONDS) -> bool:
    """Take or renew the lease; True when this process holds it."""
    now = utcnow()
    with db.transaction() as session:
        row = repository.lease_for_update(session, LEASE_NAME)
        if row is None:
            try:
                repository.add_lease(session, LEASE_NAME, holder, now + timedelta(seconds=seconds))
            except IntegrityError:
                return False
            return True
        if row.holder != holder and to_utc(row.expires_at) > now:
            return False
        row.holder = holder
        row.expires_at = now + timedelta(seconds=seconds)
        return True


def release_lease(db: Database, holder: str = HOST) -> None:
    with db.transaction() as session:
        repository.expire_lease(session, LEASE_NAME, holder, utcnow())


def lease_holder(db: Database) -> str | None:
    with db.reading() as session:
        row = repository.get_lease(session, LEASE_NAME)
        return row.holder if row and to_utc(row.expires_at) > utcnow() else None


def overview(
    db: Database, runner: JobRunner, schedules: dict[str, str], job: str | None, limit: int
) -> JobsOverview:
    with db.reading() as session:
        runs = recent_runs(session, job, limit)
    return JobsOverview(
        jobs=runner.names(), schedules=schedules, scheduler=lease_holder(db), runs=runs
    )
