"""Typed FastAPI dependencies of the HTTP layer, and the one way a route runs database work.

A route asks for what it needs in its signature::

    @router.get("/cases/{case_id}", response_model=CaseRead)
    async def read_case(case_id: str, services: ServicesDep, principal: CurrentStaff) -> CaseRead:
        return await in_transaction(services, services.cases.read, principal, case_id)

``in_transaction`` runs a service call in a worker thread inside one write transaction (the
opener commits, as everywhere); ``in_reading`` does the same in a read-only transaction. Both
pass the session first, then the arguments given, and are typed: mypy follows a route to its
service and checks what comes back.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated, Concatenate, ParamSpec, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session
from starlette.concurrency import run_in_threadpool

if TYPE_CHECKING:
    # The type only: a route depends on the services it is given, not on how they are built
    # (services.py imports every package; at run time the HTTP layer does not).
    from mch_service.services import Services

P = ParamSpec("P")
T = TypeVar("T")


def get_services(request: Request) -> Services:
    """The services of this application (built once at start-up, see ``services.py``)."""
    services: Services = request.app.state.services
    return services


ServicesDep = Annotated["Services", Depends(get_services)]


async def in_transaction(
    services: Services,
    fn: Callable[Concatenate[Session, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """``fn(session, *args, **kwargs)`` in one write transaction, off the event loop."""

    def _run() -> T:
        with services.db.transaction() as session:
            return fn(session, *args, **kwargs)

    return await run_in_threadpool(_run)


async def in_reading(
    services: Services,
    fn: Callable[Concatenate[Session, P], T],
    *args: P.args,
    **kwargs: P.kwargs,
) -> T:
    """``fn(session, *args, **kwargs)`` in one read-only transaction, off the event loop."""

    def _run() -> T:
        with services.db.reading() as session:
            return fn(session, *args, **kwargs)

    return await run_in_threadpool(_run)
