"""Routes for operators: liveness, readiness, Prometheus metrics."""

from __future__ import annotations

import secrets

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from mch_service import __version__
from mch_service.auth.dependencies import current_staff
from mch_service.auth.permissions import Role
from mch_service.errors import Forbidden
from mch_service.ops import metrics
from mch_service.ops.health import readiness

router = APIRouter(include_in_schema=False)


@router.get("/healthz")
async def healthz() -> dict[str, str]:
    """The process runs and answers; nothing else is checked (a liveness probe)."""
    return {"status": "ok", "version": __version__}


@router.get("/readyz")
async def readyz(request: Request) -> Response:
    """200 when every check passes, else 503 with the failing checks' reasons."""
    checks = await run_in_threadpool(readiness, request.app.state.services)
    ready = all(c.ok for c in checks)
    return JSONResponse(
        {
            "status": "ready" if ready else "not ready",
            "version": __version__,
            "checks": {c.name: {"ok": c.ok, "detail": c.detail} for c in checks},
        },
        200 if ready else 503,
    )


@router.get("/metrics")
async def metrics_endpoint(request: Request) -> Response:
    """Prometheus text. Needs ``Authorization: Bearer`` with MCH_METRICS_TOKEN (what a scraper
    is given: it does not expire) or an administrator's token."""
    services = request.app.state.services
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
