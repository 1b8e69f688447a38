"""The composition root (jobs/main.py): the services get the job runner, a server runs the
workers its settings ask for, started in order and stopped in reverse."""

from __future__ import annotations

import asyncio
import dataclasses

from jobs import tasks
from jobs.assembly import AssemblyLoop
from jobs.main import server_workers
from jobs.scheduler import Scheduler
from mch_service.app import create_app
from mch_service.scheduling.service import NoJobRunner
from mch_service.services import Services, build_services


def test_the_services_run_the_jobs_of_the_registry(services: Services) -> None:
    assert services.jobs.names() == list(tasks.JOBS)
    bare = build_services(services.settings, services.db)
    assert isinstance(bare.jobs, NoJobRunner)  # built without the root: no job is known
    assert bare.jobs.names() == []


def test_a_server_runs_the_workers_its_settings_ask_for(services: Services) -> None:
    def workers(**settings: object) -> list[type]:
        changed = services.settings.model_copy(update=settings)
        return [type(w) for w in server_workers(dataclasses.replace(services, settings=changed))]

    assert workers(domain_assembly="queued", scheduler_in_server=True) == [AssemblyLoop, Scheduler]
    assert workers(domain_assembly="queued", scheduler_in_server=False) == [AssemblyLoop]
    assert workers(domain_assembly="inline", scheduler_in_server=False) == []


class _Recorder:
    def __init__(self, name: str, events: list[str]) -> None:
        self.name, self.events = name, events

    def start(self) -> None:
        self.events.append(f"start {self.name}")

    def stop(self) -> None:
        self.events.append(f"stop {self.name}")


def test_the_lifespan_starts_the_workers_in_order_and_stops_them_in_reverse(
    services: Services,
) -> None:
    events: list[str] = []
    app = create_app(
        services.settings,
        services,
        background=lambda _: [_Recorder("assembly", events), _Recorder("scheduler", events)],
    )

    async def serve_a_while() -> None:
        async with app.router.lifespan_context(app):
            assert events == ["start assembly", "start scheduler"]

    asyncio.run(serve_a_while())
    assert events[2:] == ["stop scheduler", "stop assembly"]
