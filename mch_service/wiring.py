"""The ports through which the composition root (``jobs/main.py``) hands this package what it
must not import: the background workers a process runs (the assembly loop, the scheduler),
how a process builds its services and application, and the uvicorn target of ``serve``.

``mch_service`` never imports ``jobs``: the application and the command line receive a
``Wiring`` instead (docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol

from fastapi import FastAPI

from mch_service.config import Settings

if TYPE_CHECKING:
    from mch_service.services import Services


class BackgroundWorker(Protocol):
    """A loop a process runs beside its work (started in order, stopped in reverse)."""

    def start(self) -> None: ...

    def stop(self) -> None: ...


# The workers of a server process, given its services (the lifespan starts and stops them).
ServerWorkers = Callable[["Services"], Sequence[BackgroundWorker]]


@dataclass(frozen=True)
class Wiring:
    """What the command line needs from the composition root."""

    build_services: Callable[[Settings], Services]
    create_app: Callable[[Settings], FastAPI]
    # the workers of a process; ``schedule``: the scheduler too (always in ``worker``)
    background: Callable[[Services, bool], Sequence[BackgroundWorker]]
    asgi_target: str  # "module:attribute" that uvicorn's worker processes import
