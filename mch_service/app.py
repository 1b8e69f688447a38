"""The application: wiring of settings, database and services, and error rendering."""

from __future__ import annotations

import gc
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match

from jobs import endpoints as job_endpoints
from mch_service import __version__
from mch_service.audit.service import Actor, AuditRecord, record
from mch_service.auth import audit_endpoints
from mch_service.auth import endpoints as auth_endpoints
from mch_service.auth.dependencies import current_staff
from mch_service.cases import endpoints as case_endpoints
from mch_service.config import Settings, get_settings
from mch_service.domain import code_tables_api
from mch_service.domain import endpoints as domain_endpoints
from mch_service.errors import Issue, MchError, TooLarge, TooManyRequests
from mch_service.fhir_api import endpoints as fhir_endpoints
from mch_service.fhir_api.capability import capability_statement
from mch_service.fhir_api.outcomes import operation_outcome, outcome_for_error
from mch_service.indicators import endpoints as indicator_endpoints
from mch_service.institutions import endpoints as institution_endpoints
from mch_service.middleware import AccessLog, SecurityHeaders
from mch_service.ops import endpoints as ops_endpoints
from mch_service.ops.metrics import MetricsMiddleware
from mch_service.services import Services, build_services
from mch_service.web import pages as web_pages

log = logging.getLogger("mch_service")


def _is_fhir(request: Request) -> bool:
    return request.url.path.startswith("/fhir")


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
    with request.app.state.services.db.transaction() as session:
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


def _render(request: Request, exc: MchError) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    if isinstance(exc, TooManyRequests):
        headers = {"Retry-After": str(exc.retry_after)}
    if exc.headers:
        headers = {**(headers or {}), **exc.headers}
    if _is_fhir(request):
        return fhir_endpoints.fhir_response(outcome_for_error(exc), exc.status_code, headers)
    return JSONResponse(
        {
            "error": {
                "code": exc.code,
                "message": exc.message,
                "issues": [i.__dict__ for i in exc.issues],
            }
        },
        exc.status_code,
        headers=headers,
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


class _BodyTooLarge(TooLarge):
    """Raised from ``receive`` once a body passes its route's limit; stops the reading."""


def body_limit(settings: Settings, method: str, path: str) -> int:
    """The most bytes a request body may have, by route class: FHIR writes as
    MCH_MAX_BODY_BYTES, the NDJSON $import as MCH_MAX_IMPORT_BYTES, a code-table upload as its
    own cap, everything else (sign-in, staff API, pages) MCH_MAX_STAFF_BODY_BYTES."""
    if path.startswith("/fhir"):
        if method == "POST" and path.rstrip("/") == "/fhir/$import":
            return settings.max_import_bytes
        return settings.max_body_bytes
    if path.startswith("/api/v1/code-tables/"):
        return max(code_tables_api.MAX_BYTES, settings.max_staff_body_bytes)
    return settings.max_staff_body_bytes


class BodyLimit:
    """Every request body is counted as it arrives and refused with 413 once it passes its
    route's limit (a declared Content-Length above the limit is refused before any reading):
    no route can be made to hold more than its limit in memory or on disk. A plain ASGI
    middleware like AccessLog; Starlette's own body limit answers in plain text, ours in the
    route's error shape (OperationOutcome under /fhir, the staff API's JSON elsewhere)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        # Read per request: the settings are the application's (tests swap them).
        limit = body_limit(scope["app"].state.settings, scope["method"], scope["path"])
        declared = next((v for k, v in scope["headers"] if k == b"content-length"), None)
        if declared is not None and declared.isdigit() and int(declared) > limit:
            await self._refuse(scope, send, f"The body is {int(declared)} bytes", limit)
            return
        size = 0
        exceeded = started = False

        async def counted() -> Any:
            nonlocal size, exceeded
            message = await receive()
            if message["type"] == "http.request":
                size += len(message.get("body", b""))
                if size > limit:
                    exceeded = True
                    raise _BodyTooLarge(f"The body is over the limit of {limit} bytes")
            return message

        async def guarded(message: Any) -> None:
            nonlocal started
            if exceeded and not started:
                return  # the route's own answer to the cut-off body; ours goes instead
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, guarded)
        except _BodyTooLarge:
            if started:
                raise
        if exceeded and not started:
            await self._refuse(scope, send, "The body is over the limit", limit)

    @staticmethod
    async def _refuse(scope: Any, send: Any, what: str, limit: int) -> None:
        request = Request(scope)
        where = "/fhir/metadata" if _is_fhir(request) else "the README"
        exc = TooLarge(f"{what}; the limit for this route is {limit} bytes (see {where})")

        async def no_body() -> Any:
            return {"type": "http.disconnect"}

        await _render(request, exc)(scope, no_body, send)


class RefuseNul:
    """Outside the FHIR routes: a control character in the URL, or a NUL in the body, of a
    staff-API call or page is a 400 before routing. A NUL names nothing here and PostgreSQL
    refuses it in any text (a 500 on a user's display name, a case note, a query); a URL's
    other control characters are no part of any name or code either. The FHIR routes check
    ids, search parameters and every string of a resource themselves, naming the element in
    the OperationOutcome. Bodies here are small (the largest, a code table, is 5 MB)."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or scope["path"].startswith("/fhir"):
            await self.app(scope, receive, send)
            return
        query = unquote_to_bytes(scope.get("query_string") or b"")
        if _URL_CONTROL.search(scope["path"]) or _URL_CONTROL_BYTES.search(query):
            await _refusal("The URL contains a control character")(scope, receive, send)
            return
        if scope["method"] not in ("POST", "PUT", "PATCH", "DELETE"):
            await self.app(scope, receive, send)
            return
        chunks, first = [], None
        while True:
            message = await receive()
            if message["type"] != "http.request":
                first = message  # the client went away: let the app see it
                break
            chunks.append(message.get("body", b""))
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        ctype = dict(scope.get("headers") or ()).get(b"content-type", b"").lower()
        form = ctype.startswith(b"application/x-www-form-urlencoded")
        if b"\x00" in body or (
            (b"%00" in body if form else b"\\u0000" in body) and _BODY_NUL.search(body)
        ):
            await _refusal("The body contains a NUL character")(scope, receive, send)
            return
        replayed = False

        async def replay() -> Any:
            nonlocal replayed
            if not replayed:
                replayed = True
                return first or {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _refusal(message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": "invalid", "message": message, "issues": []}}, 400)


_URL_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_URL_CONTROL_BYTES = re.compile(rb"[\x00-\x1f\x7f]")
# %00 in a form; in JSON the escape \u0000, unless its backslash is itself escaped ("\\u0000")
_BODY_NUL = re.compile(rb"%00|(?<!\\)(?:\\\\)*\\u0000")


def create_app(settings: Settings | None = None, services: Services | None = None) -> FastAPI:
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
        scheduler = None
        assembly = None
        if settings.domain_assembly == "queued":
            from jobs.assembly import AssemblyLoop

            assembly = AssemblyLoop(app.state.services)
            assembly.start()
        if settings.scheduler_in_server:
            # Embedded mode: the server schedules too (one process at a time, by lease).
            from jobs.scheduler import Scheduler

            scheduler = Scheduler(app.state.services, settings.job_schedules)
            scheduler.start()
        yield
        if scheduler is not None:
            scheduler.stop()
        if assembly is not None:
            assembly.stop()
        app.state.services.imports.shutdown()

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
        return _render(request, exc)

    @app.exception_handler(RequestValidationError)
    async def _request_error(request: Request, exc: RequestValidationError) -> Response:
        issues = [
            Issue(str(e.get("msg")), ".".join(str(p) for p in e.get("loc", ())), "value")
            for e in exc.errors()
        ]
        return _render(request, MchError("The request is not valid", 400, issues))

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
        return _render(request, MchError(str(exc.detail), exc.status_code, [], code, headers))

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

    app.include_router(fhir_endpoints.router)
    app.include_router(auth_endpoints.router)
    app.include_router(audit_endpoints.router)
    app.include_router(institution_endpoints.router)
    app.include_router(domain_endpoints.router)
    app.include_router(code_tables_api.router)
    app.include_router(indicator_endpoints.router)
    app.include_router(job_endpoints.router)
    app.include_router(case_endpoints.router)
    app.include_router(web_pages.router)
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
