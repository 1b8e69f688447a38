"""The application: wiring of settings, database and services, and error rendering."""

from __future__ import annotations

import gc
import logging
import re
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import unquote_to_bytes
from zoneinfo import ZoneInfo

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException

from fhir_mappings import load_code_tables, load_views
from jobs import endpoints as job_endpoints
from mch_service import __version__
from mch_service.audit import endpoints as audit_endpoints
from mch_service.audit.service import Actor, AuditRecord, record
from mch_service.auth import endpoints as auth_endpoints
from mch_service.auth.service import StaffAccounts
from mch_service.cases import endpoints as case_endpoints
from mch_service.cases.service import CaseService
from mch_service.config import Settings, get_settings
from mch_service.crypto import Crypto
from mch_service.database import Database
from mch_service.domain import code_tables_api
from mch_service.domain import endpoints as domain_endpoints
from mch_service.domain.extract import Extractor
from mch_service.domain.service import DomainService
from mch_service.errors import Issue, MchError
from mch_service.fhir_api import endpoints as fhir_endpoints
from mch_service.fhir_api.capability import capability_statement
from mch_service.fhir_api.import_jobs import ImportJobs
from mch_service.fhir_api.interactions import Interactions
from mch_service.fhir_api.outcomes import operation_outcome, outcome_for_error
from mch_service.fhir_api.service import FhirService
from mch_service.indicators import endpoints as indicator_endpoints
from mch_service.indicators.service import IndicatorService, indicator_settings
from mch_service.institutions import endpoints as institution_endpoints
from mch_service.store.service import ResourceStore
from mch_service.web import pages as web_pages

log = logging.getLogger("mch_service")


@dataclass
class Services:
    settings: Settings
    db: Database
    crypto: Crypto
    store: ResourceStore
    fhir: FhirService
    imports: ImportJobs
    accounts: StaffAccounts
    domain: DomainService
    indicators: IndicatorService
    cases: CaseService


def build_services(settings: Settings, db: Database | None = None) -> Services:
    db = db or Database(settings.database_url)
    crypto = Crypto(settings.secret_key, settings.previous_secret_keys)
    zone = ZoneInfo(settings.timezone)
    store = ResourceStore(crypto, zone)
    interactions = Interactions(
        store,
        zone,
        settings.default_page_size,
        settings.max_page_size,
        base=settings.canonical_base,
        reject_example_urls=settings.fhir_reject_example_urls,
        reject_active_content=settings.fhir_reject_active_content,
    )
    domain = DomainService(
        Extractor(
            views=load_views(settings.canonical_base),
            codes=load_code_tables(settings.code_tables_dir, settings.canonical_base),
            zone=zone,
            canonical=settings.canonical_base,
            resident_id_systems=frozenset(settings.resident_id_systems),
            keyed_hash=crypto.keyed_hash,
            seal=crypto.seal,
        ),
        queued=settings.domain_assembly == "queued",
    )
    domain.watch_code_tables(settings.code_tables_dir, settings.canonical_base)
    fhir = FhirService(db, interactions, settings.max_bundle_entries, domain)
    imports = ImportJobs(db, fhir, Path(settings.import_spool_dir))
    accounts = StaffAccounts(settings)
    indicators = IndicatorService(db, indicator_settings(settings))
    cases = CaseService(settings, crypto)
    domain.listeners.append(lambda session, women: cases.refresh(session, women))
    return Services(settings, db, crypto, store, fhir, imports, accounts, domain, indicators, cases)


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


class AccessLog:
    """Our access log: method, path without the query string (queries carry identifiers, i.e.
    personal data), status and time; uvicorn's own access log is off. A plain ASGI middleware
    (Starlette's BaseHTTPMiddleware would add a task and a stream copy to every request)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.log = logging.getLogger("mch_service.access")

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def send_status(message: Any) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            if self.log.isEnabledFor(logging.INFO):
                self.log.info(
                    "%s %s %d %.1fms",
                    scope["method"],
                    scope["path"],
                    status,
                    (time.perf_counter() - start) * 1000,
                )


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
    # The schema stays at /openapi.json.
    app = FastAPI(
        title="mch-service",
        version=__version__,
        lifespan=lifespan,
        description="Maternal and child health information service",
        docs_url=None,
        redoc_url=None,
    )
    app.state.settings = settings
    app.state.services = services
    app.state.capability = capability_statement(settings)

    app.add_middleware(AccessLog)
    app.add_middleware(RefuseNul)

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
        return _render(request, MchError(str(exc.detail), exc.status_code, [], code))

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> Response:
        # Log the type and place only: messages may quote request content (personal data).
        log.error(
            "unexpected %s at %s %s",
            type(exc).__name__,
            request.method,
            request.url.path,
            exc_info=settings.env != "production",
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

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok", "version": __version__}

    return app
