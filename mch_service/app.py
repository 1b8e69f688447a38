"""The application: wiring of settings, services, middleware and routes, and the error handlers
(the responses themselves are rendered by ``mch_service.http_errors``)."""

from __future__ import annotations

import gc
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy.exc import DBAPIError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from mch_service import __version__, measure_api
from mch_service.audit.service import Actor, AuditRecord, record
from mch_service.auth import audit_endpoints
from mch_service.auth import endpoints as auth_endpoints
from mch_service.auth.dependencies import current_staff
from mch_service.bulk_export import endpoints as export_endpoints
from mch_service.cases import endpoints as case_endpoints
from mch_service.config import Settings, get_settings
from mch_service.death_reports import endpoints as death_endpoints
from mch_service.deps import get_services
from mch_service.domain import code_tables_api
from mch_service.domain import endpoints as domain_endpoints
from mch_service.errors import Issue, MchError
from mch_service.fhir_api import endpoints as fhir_endpoints
from mch_service.fhir_api.capability import capability_statement
from mch_service.fhir_api.outcomes import operation_outcome
from mch_service.http_errors import render
from mch_service.indicators import endpoints as indicator_endpoints
from mch_service.input_guards import BodyLimit, RefuseNul
from mch_service.institutions import endpoints as institution_endpoints
from mch_service.middleware import AccessLog, SecurityHeaders
from mch_service.ops import endpoints as ops_endpoints
from mch_service.process_metrics import MetricsMiddleware
from mch_service.quality import endpoints as quality_endpoints
from mch_service.scheduling import endpoints as job_endpoints
from mch_service.services import Services, build_services
from mch_service.web import admin_pages as web_admin_pages
from mch_service.web import case_pages as web_case_pages
from mch_service.web import monitor_pages as web_monitor_pages
from mch_service.web import pages as web_pages
from mch_service.web import quality_pages as web_quality_pages
from mch_service.web import review_pages as web_review_pages
from mch_service.wiring import ServerWorkers

log = logging.getLogger("mch_service")


def _audit_denial(request: Request, exc: MchError) -> None:
    """A refused staff request (wrong or expired token, a role that may not, a record outside
    the reviewer's jurisdiction) is audited: who, what path, which status. The path names
    records by id only; the message is not stored."""
    principal = getattr(request.state, "principal", None)
    actor = (
        Actor("user", principal.username, principal.client_ip)
        if principal is not None
        else Actor("anonymous", None, request.client.host if request.client else None)
    )
    with get_services(request).db.transaction() as session:
        record(
            session,
            actor,
            [
                AuditRecord(
                    "access.denied",
                    "denied",
                    None,
                    None,
                    exc.status_code,
                    f"{request.method} {request.url.path}"[:300],
                )
            ],
        )


def _tune_gc() -> None:
    """Once the application is loaded: move everything alive now (modules, models, code tables)
    out of the collector's sight, and collect the young generation less often. A request
    validating a Bundle allocates tens of thousands of short-lived objects; with the default
    threshold (700) the collector runs every few resources and its older generations walk the
    whole loaded application each time."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 20, 20)


class _Application(FastAPI):
    """FastAPI with the access log and the security headers outside everything, Starlette's
    error middleware included (see mch_service.middleware)."""

    def build_middleware_stack(self) -> Any:
        return AccessLog(SecurityHeaders(super().build_middleware_stack()))


def create_app(
    settings: Settings | None = None,
    services: Services | None = None,
    background: ServerWorkers | None = None,
) -> FastAPI:
    """The application. ``background`` gives the loops the server runs while it serves (the
    assembly loop, the embedded scheduler): the composition root (``jobs/main.py``) passes
    them; without it the server runs none."""
    settings = settings or get_settings()
    services = services or build_services(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        _tune_gc()
        interrupted = app.state.services.imports.mark_interrupted()
        if interrupted:
            log.warning("%d import job(s) were cut off by a restart; send them again", interrupted)
        leftovers = app.state.services.imports.clean_spool()
        if leftovers:
            log.warning("removed %d import spool file(s) left by a stopped process", leftovers)
        # bulk exports cut off by a restart fail ('ask again'); expired exports' files go
        swept = await run_in_threadpool(app.state.services.exports.sweep)
        if swept:
            log.info("removed %d bulk export folder(s) (expired, cancelled or cut off)", swept)
        if await run_in_threadpool(app.state.services.db.autovacuum_off):
            log.warning(
                "PostgreSQL runs with autovacuum off: the tables' statistics go stale and the "
                "FHIR write path slows as the database grows; turn autovacuum on or ANALYZE "
                "after large loads (README, Operations)"
            )
        workers = list(background(app.state.services)) if background is not None else []
        for worker in workers:
            worker.start()
        yield
        for worker in reversed(workers):
            worker.stop()
        app.state.services.imports.shutdown()
        app.state.services.exports.shutdown()

    # FastAPI's Swagger and ReDoc pages load scripts from a CDN: off (pages must work offline).
    # The schema is served at /openapi.json by the route below (staff only in production).
    app = _Application(
        title="mch-service",
        version=__version__,
        lifespan=lifespan,
        description="Maternal and child health information service",
        docs_url=None,
        redoc_url=None,
        openapi_url=None,
    )
    app.state.settings = settings
    app.state.services = services
    app.state.capability = capability_statement(settings)

    # outermost last: metrics see everything; the body limit bounds what RefuseNul reads
    app.add_middleware(RefuseNul)
    app.add_middleware(BodyLimit)
    app.add_middleware(MetricsMiddleware)

    @app.exception_handler(MchError)
    async def _mch_error(request: Request, exc: MchError) -> Response:
        if exc.status_code in (401, 403, 404) and request.url.path.startswith("/api/"):
            await run_in_threadpool(_audit_denial, request, exc)
        return render(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _request_error(request: Request, exc: RequestValidationError) -> Response:
        issues = [
            Issue(str(e.get("msg")), ".".join(str(p) for p in e.get("loc", ())), "value")
            for e in exc.errors()
        ]
        return render(request, MchError("The request is not valid", 400, issues))

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> Response:
        code = {404: "not-found", 405: "not-supported"}.get(exc.status_code, "processing")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # HTTP requires Allow on a 405; Starlette's names only the first route that matched
            # the path (e.g. PUT alone for /fhir/Patient/1): name every route's methods.
            allowed = {
                method
                for method in ("GET", "HEAD", "POST", "PUT", "DELETE", "PATCH")
                if any(
                    route.matches({**request.scope, "method": method})[0] == Match.FULL
                    for route in request.app.router.routes
                )
            }
            if allowed:
                headers["Allow"] = ", ".join(sorted(allowed))
        return render(request, MchError(str(exc.detail), exc.status_code, [], code, headers))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # Log the type, route and request id only: messages may quote request content
        # (personal data); the traceback (no locals) outside production only.
        route = request.scope.get("route")
        log.error(
            "unexpected error",
            exc_info=request.app.state.settings.env != "production",
            extra={
                "fields": {
                    "error": type(exc).__name__,
                    "route": getattr(route, "path", None),
                    "request_id": getattr(request.state, "request_id", None),
                }
            },
        )
        body = operation_outcome(
            [Issue("Internal error; it has been logged", None, "exception", "fatal")]
        )
        return fhir_endpoints.fhir_response(body, 500)

    @app.exception_handler(DBAPIError)
    async def _database_lost(request: Request, exc: DBAPIError) -> Response:
        # The connection to the database was cut (a restart, a network fault) where the
        # request could not be tried again on a new one: sending it again is safe (a record
        # sent twice is stored once) and works once the database answers.
        if not exc.connection_invalidated:
            return await _unexpected(request, exc)
        log.warning("the database connection was lost during a request")
        lost = MchError(
            "The database connection was lost; send the request again",
            503,
            code="transient",
            headers={"Retry-After": "5"},
        )
        return render(request, lost)

    # before the FHIR interface's routes: /fhir/{rtype}/{fhir_id} would take Patient/$export
    app.include_router(export_endpoints.router)
    # /fhir/Measure/{id} (the indicator definitions) before the FHIR API's generic read
    app.include_router(measure_api.router)
    app.include_router(fhir_endpoints.router)
    app.include_router(export_endpoints.admin)
    app.include_router(auth_endpoints.router)
    app.include_router(audit_endpoints.router)
    app.include_router(institution_endpoints.router)
    app.include_router(institution_endpoints.streets_router)
    app.include_router(domain_endpoints.router)
    app.include_router(code_tables_api.router)
    app.include_router(indicator_endpoints.router)
    app.include_router(job_endpoints.router)
    app.include_router(quality_endpoints.router)
    app.include_router(case_endpoints.router)
    app.include_router(death_endpoints.router)
    app.include_router(web_pages.router)
    app.include_router(web_admin_pages.router)
    app.include_router(web_case_pages.router)
    app.include_router(web_monitor_pages.router)
    app.include_router(web_quality_pages.router)
    app.include_router(web_review_pages.router)
    app.mount(
        "/static",
        StaticFiles(directory=str(Path(web_pages.__file__).parent / "static")),
        name="static",
    )
    app.include_router(ops_endpoints.router)  # /healthz, /readyz, /metrics

    @app.get("/openapi.json", include_in_schema=False)
    async def openapi_schema(request: Request) -> Response:
        # In production the API's map is for signed-in staff only (session or bearer token).
        if request.app.state.settings.env == "production":
            await current_staff(request)
        return JSONResponse(request.app.openapi())

    return app
