"""APScheduler, one at a time.

The scheduler keeps its jobs in the database (SQLAlchemyJobStore, table ``apscheduler_jobs``),
so schedules survive restarts. Only the process holding the ``scheduler_lease`` row runs it:
``serve`` in the embedded mode, ``worker`` in production. A process that cannot get the lease
keeps trying and takes over when the holder's lease runs out (it renews every
LEASE_RENEW seconds).
"""

from __future__ import annotations

import logging
import threading
from datetime import timedelta
from typing import Any

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger
from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError

from jobs.models import SchedulerLease
from jobs.runner import HOST, run_job
from mch_service.timeutil import to_utc, utcnow

log = logging.getLogger("mch_service.jobs")
LEASE_SECONDS = 60
LEASE_RENEW = 15
LEASE_NAME = "scheduler"

_services: Any = None  # the running process's services, for the scheduled entry point


def scheduled(name: str) -> None:
    """What APScheduler calls (an importable function, so the job store can persist it)."""
    if _services is None:
        return
    run_job(_services, name, None, trigger="scheduled")


def try_lease(db: Any, holder: str = HOST, seconds: int = LEASE_SECONDS) -> bool:
    """Take or renew the lease; True when this process holds it."""
    now = utcnow()
    with db.transaction() as session:
        row = session.get(SchedulerLease, LEASE_NAME, with_for_update=True)
        if row is None:
            session.add(
                SchedulerLease(
                    name=LEASE_NAME, holder=holder, expires_at=now + timedelta(seconds=seconds)
                )
            )
            try:
                session.flush()
            except IntegrityError:
                return False
            return True
        if row.holder != holder and to_utc(row.expires_at) > now:
            return False
        row.holder = holder
        row.expires_at = now + timedelta(seconds=seconds)
        return True


def release_lease(db: Any, holder: str = HOST) -> None:
    with db.transaction() as session:
        session.execute(
            update(SchedulerLease)
            .where(SchedulerLease.name == LEASE_NAME, SchedulerLease.holder == holder)
            .values(expires_at=utcnow())
        )


def lease_holder(db: Any) -> str | None:
    with db.reading() as session:
        row = session.scalar(select(SchedulerLease).where(SchedulerLease.name == LEASE_NAME))
        return row.holder if row and to_utc(row.expires_at) > utcnow() else None


class Scheduler:
    """Runs the APScheduler while holding the lease; waits for it otherwise."""

    def __init__(self, services: Any, schedules: dict[str, str], holder: str = HOST) -> None:
        self.services = services
        self.schedules = schedules
        self.holder = holder  # this process, in the lease
        self.scheduler: BackgroundScheduler | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="mch-scheduler", daemon=True)

    def start(self) -> None:
        global _services
        _services = self.services
        self._thread.start()

    def _start_scheduler(self) -> None:
        store = SQLAlchemyJobStore(engine=self.services.db.engine)
        scheduler = BackgroundScheduler(
            jobstores={"default": store},
            timezone=self.services.settings.timezone,
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": 300},
        )
        scheduler.start(paused=True)
        wanted = set()
        for name, cron in self.schedules.items():
            if not cron:
                continue
            wanted.add(name)
            scheduler.add_job(
                scheduled,
                CronTrigger.from_crontab(cron, timezone=self.services.settings.timezone),
                args=[name],
                id=name,
                name=name,
                replace_existing=True,
            )
        for job in scheduler.get_jobs():
            if job.id not in wanted:
                job.remove()
        scheduler.resume()
        self.scheduler = scheduler
        log.info("scheduler started on %s: %s", self.holder, ", ".join(sorted(wanted)) or "no jobs")

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                holding = try_lease(self.services.db, self.holder)
            except Exception as exc:  # noqa: BLE001 - the database may be away a moment
                log.warning("scheduler lease check failed: %s", type(exc).__name__)
                holding = False
            if holding and self.scheduler is None:
                self._start_scheduler()
            elif not holding and self.scheduler is not None:
                log.warning("scheduler lease lost; stopping the scheduler on %s", self.holder)
                self.scheduler.shutdown(wait=False)
                self.scheduler = None
            self._stop.wait(LEASE_RENEW)

    @property
    def running(self) -> bool:
        return self.scheduler is not None

    def stop(self) -> None:
        self._stop.set()
        if self.scheduler is not None:
            self.scheduler.shutdown(wait=True)
            self.scheduler = None
            release_lease(self.services.db, self.holder)
