"""One scheduler at a time, also when two processes start; runs are recorded."""

from __future__ import annotations

import time
from datetime import timedelta

from sqlalchemy import select, update

from jobs.models import JobRun, SchedulerLease
from jobs.runner import run_job
from jobs.scheduler import Scheduler, lease_holder, release_lease, try_lease
from mch_service.app import Services
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


def test_runs_are_recorded_with_errors(services: Services) -> None:
    ok = run_job(services, "data_quality")
    assert ok.status == "succeeded"
    assert ok.finished_at is not None
    with services.db.reading() as session:
        runs = session.scalars(select(JobRun)).all()
    assert [(r.job, r.status, r.trigger) for r in runs] == [("data_quality", "succeeded", "manual")]
