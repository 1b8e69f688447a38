"""The composition root: the one place where the application, its background workers (the
assembly loop, the scheduler) and the job runner come together, and the ``mch-service``
command starts. ``mch_service`` never imports ``jobs``; it receives what it needs from here
(``Services.jobs``, ``create_app(background=...)``, the command line's ``Wiring``).

Entry points: the console script ``mch-service`` (and ``python -m mch_service``) run
:func:`main`; uvicorn's worker processes import ``jobs.asgi:app``.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from mch_service import cli
from mch_service.config import Settings, get_settings
from mch_service.wiring import BackgroundWorker, Wiring

if TYPE_CHECKING:
    from fastapi import FastAPI

    from mch_service.database import Database
    from mch_service.services import Services

# The application, the services and the loops are imported where they are built, not here: the
# command line (and the supervisor process of `serve --workers N`) starts without them, as
# light as a command that never builds them needs.


def build_services(settings: Settings, db: Database | None = None) -> Services:
    """The services of a running instance, with the runner of the jobs in ``jobs.tasks``."""
    from jobs.runner import TaskRunner
    from mch_service.services import build_services as build_mch_services

    services = build_mch_services(settings, db)
    services.jobs = TaskRunner(services)
    return services


def background_workers(services: Services, schedule: bool) -> Sequence[BackgroundWorker]:
    """The loops of a process: the assembly loop when women are queued
    (MCH_DOMAIN_ASSEMBLY=queued), and the scheduler when ``schedule`` (one process at a time
    runs it, by lease)."""
    from jobs.assembly import AssemblyLoop
    from jobs.scheduler import Scheduler

    workers: list[BackgroundWorker] = []
    if services.settings.domain_assembly == "queued":
        workers.append(AssemblyLoop(services))
    if schedule:
        workers.append(Scheduler(services, services.settings.job_schedules))
    return workers


def server_workers(services: Services) -> Sequence[BackgroundWorker]:
    # Embedded mode (MCH_SCHEDULER_IN_SERVER): the server schedules too.
    return background_workers(services, services.settings.scheduler_in_server)


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
    """The application as it runs in production: these services, these workers."""
    from mch_service import app as application

    settings = settings or get_settings()
    return application.create_app(
        settings, services or build_services(settings), background=server_workers
    )


WIRING = Wiring(
    build_services=build_services,
    create_app=create_app,
    background=background_workers,
    asgi_target="jobs.asgi:app",
)


def main() -> None:
    cli.main(WIRING)
