"""One scheduler at a time, also when two processes start; runs are recorded."""

from __future__ import annotations

import time
from datetime import date, timedelta

import pytest
from sqlalchemy import select, update

from jobs import tasks
from jobs.runner import JobResult, run_job
from jobs.scheduler import Scheduler
from mch_service.app import Services
from mch_service.config import Settings
from mch_service.scheduling.models import JobRun, SchedulerLease
from mch_service.scheduling.service import lease_holder, release_lease, try_lease
from mch_service.timeutil import utcnow


def test_the_lease_admits_one_holder_until_it_lapses(services: Services) -> None:
    db = services.db
    assert try_lease(db, "worker-1")
    assert not try_lease(db, "worker-2")  # the first holds it
    assert try_lease(db, "worker-1")  # renewing is fine
    assert lease_holder(db) == "worker-1"
    with db.transaction() as session:  # worker-1 dies: its lease runs out
        session.execute(update(SchedulerLease).values(expires_at=utcnow() - timedelta(seconds=1)))
    assert try_lease(db, "worker-2")
    assert not try_lease(db, "worker-1")
    release_lease(db, "worker-2")
    assert lease_holder(db) is None


def test_two_schedulers_one_runs(services: Services) -> None:
    a = Scheduler(services, {"data_quality": "0 3 * * *"}, holder="process-a")
    b = Scheduler(services, {"data_quality": "0 3 * * *"}, holder="process-b")
    try:
        a.start()
        b.start()
        deadline = time.monotonic() + 10
        while not (a.running or b.running) and time.monotonic() < deadline:
            time.sleep(0.05)
        time.sleep(0.5)  # both loops have asked by now
        assert [a.running, b.running].count(True) == 1
        assert lease_holder(services.db) == ("process-a" if a.running else "process-b")
    finally:
        a.stop()
        b.stop()


def test_runs_are_recorded_with_errors(services: Services, monkeypatch: pytest.MonkeyPatch) -> None:
    ok = run_job(services, "data_quality")
    assert ok.status == "succeeded"
    assert ok.finished_at is not None
    assert ok.error is None

    def broken(services: Services, as_of: date | None) -> JobResult:
        # a database error's later lines quote the SQL and its values: never recorded
        raise RuntimeError("the disk is full\nINSERT INTO woman VALUES ('王芳')")

    monkeypatch.setitem(tasks.JOBS, "broken", broken)
    failed = run_job(services, "broken", as_of=date(2025, 3, 8), trigger="schedule")
    assert failed.status == "failed"
    assert failed.finished_at is not None
    assert failed.error == "RuntimeError: the disk is full"
    assert failed.rows_touched == 0
    with services.db.reading() as session:
        runs = session.scalars(select(JobRun).order_by(JobRun.id)).all()
    assert [(r.job, r.status, r.trigger, r.as_of, r.error) for r in runs] == [
        ("data_quality", "succeeded", "manual", None, None),
        ("broken", "failed", "schedule", date(2025, 3, 8), "RuntimeError: the disk is full"),
    ]
    # a later run of the same job is recorded afresh, the failure kept
    monkeypatch.setitem(tasks.JOBS, "broken", lambda services, as_of: JobResult(4, "fixed"))
    again = run_job(services, "broken")
    assert (again.status, again.rows_touched, again.detail) == ("succeeded", 4, "fixed")
    with services.db.reading() as session:
        statuses = session.scalars(select(JobRun.status).order_by(JobRun.id)).all()
    assert statuses == ["succeeded", "failed", "succeeded"]


def test_the_default_schedules_move_the_work_lists_every_day(services: Services) -> None:
    """The daily work-list job moves every list to the new day together; it was documented as
    scheduled by default but was not."""
    defaults = Settings().job_schedules
    scheduler = Scheduler(services, defaults, holder="process-d")
    try:
        scheduler.start()
        deadline = time.monotonic() + 10
        while scheduler.scheduler is None and time.monotonic() < deadline:
            time.sleep(0.05)
        assert scheduler.scheduler is not None
        jobs = {job.id: str(job.trigger) for job in scheduler.scheduler.get_jobs()}
    finally:
        scheduler.stop()
    assert set(jobs) == {"indicators", "data_quality", "work_lists"}
    assert jobs["work_lists"].startswith("cron[")
    assert "hour='0'" in jobs["work_lists"]
