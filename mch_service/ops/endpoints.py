"""Routes for operators: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from mch_service import __version__
from mch_service.auth.dependencies import current_staff
from mch_service.auth.permissions import Role
from mch_service.deps import ServicesDep
from mch_service.errors import Forbidden
from mch_service.ops import metrics
from mch_service.ops.health import readiness
from mch_service.ops.schemas import CheckRead, Liveness, Readiness

router = APIRouter(include_in_schema=False)


@router.get("/healthz", response_model=Liveness)
async def healthz() -> Liveness:
    """The process runs and answers; nothing else is checked (a liveness probe)."""
    return Liveness(status="ok", version=__version__)


@router.get("/readyz", response_model=Readiness)
async def readyz(services: ServicesDep, response: Response) -> Readiness:
    """200 when every check passes, else 503 with the failing checks' reasons."""
    checks = await run_in_threadpool(readiness, services)
    ready = all(c.ok for c in checks)
    response.status_code = 200 if ready else 503
    return Readiness(
        status="ready" if ready else "not ready",
        version=__version__,
        checks={c.name: CheckRead(ok=c.ok, detail=c.detail) for c in checks},
    )


@router.get("/metrics")
async def metrics_endpoint(request: Request, services: ServicesDep) -> Response:
    """Prometheus text. Needs ``Authorization: Bearer`` with MCH_METRICS_TOKEN (what a scraper
    is given: it does not expire) or an administrator's token."""
    expected = services.settings.metrics_token
    scheme, _, sent = request.headers.get("authorization", "").partition(" ")
    if not (
        expected
        and scheme.lower() == "bearer"
        and secrets.compare_digest(sent.strip().encode(), expected.encode())
    ):
        principal = await current_staff(request)
        if principal.role != Role.ADMIN:
            raise Forbidden("Metrics are for administrators and the metrics scraper")
    body = await run_in_threadpool(metrics.render, services)
    return Response(body, media_type=metrics.CONTENT_TYPE)
