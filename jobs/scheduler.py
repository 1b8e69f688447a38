"""APScheduler, one at a time.

The scheduler keeps its jobs in the database (SQLAlchemyJobStore, table ``apscheduler_jobs``),
so schedules survive restarts. Only the process holding the ``scheduler_lease`` row
(``mch_service.scheduling``) runs it: ``serve`` in the embedded mode, ``worker`` in
production. A process that cannot get the lease keeps trying and takes over when the holder's
lease runs out (it renews every LEASE_RENEW seconds).
"""

from __future__ import annotations

import logging
import threading

from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from jobs.runner import run_job
from mch_service.scheduling.service import HOST, release_lease, try_lease
from mch_service.services import Services

log = logging.getLogger("mch_service.jobs")
LEASE_RENEW = 15

_services: Services | None = None  # the running process's services, for the scheduled entry


def scheduled(name: str) -> None:
    """What APScheduler calls (an importable function, so the job store can persist it)."""
    if _services is None:
        return
    run_job(_services, name, None, trigger="scheduled")


class Scheduler:
    """Runs the APScheduler while holding the lease; waits for it otherwise."""

    def __init__(self, services: Services, schedules: dict[str, str], holder: str = HOST) -> None:
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
