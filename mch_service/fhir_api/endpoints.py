"""HTTP routes of the FHIR interface at /fhir. Thin: read the request, authenticate, call
one FhirService method, render the FHIR response."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from mch_service.audit.service import Actor
from mch_service.config import Settings
from mch_service.deps import ServicesDep, in_reading
from mch_service.errors import (
    InvalidResource,
    Issue,
    NotAcceptable,
    TooLarge,
    Unauthorized,
    UnsupportedMediaType,
)
from mch_service.fhir_api.bundle_responses import Prefer
from mch_service.fhir_api.entries import EntryResult
from mch_service.fhir_api.outcomes import information, operation_outcome, warning_header
from mch_service.fhir_api.reads import public_base
from mch_service.fhir_api.resource_types import R4_RESOURCE_TYPES
from mch_service.fhir_api.schemas import (
    FHIR_REFUSAL_RESPONSE,
    FHIR_RESOURCE_RESPONSE,
    ImportAccepted,
    ImportJobStatus,
    SenderDataQuality,
)
from mch_service.fhir_api.service import FhirService
from mch_service.fhir_api.validation import parse_json
from mch_service.institutions.service import authenticate, cached_sender
from mch_service.quality.service import SENDER_KINDS

FHIR_JSON = "application/fhir+json"
_JSON_TYPES = ("application/fhir+json", "application/json", "application/json+fhir", "text/json")
_XML_TYPES = ("application/fhir+xml", "application/xml", "text/xml", "application/xml+fhir")


def _settings(request: Request) -> Settings:
    settings: Settings = request.app.state.settings
    return settings


def _base(request: Request) -> str:
    """The FHIR base as clients reach it: MCH_PUBLIC_BASE when set (behind a proxy that
    rewrites the path or host), else this request's scheme, host and port (uvicorn honours
    X-Forwarded-Proto/-For only from --forwarded-allow-ips)."""
    configured = _settings(request).public_base
    return (configured or str(request.base_url).rstrip("/") + "/fhir").rstrip("/")


async def _set_public_base(request: Request) -> None:
    # async: it runs in the request's own task, so the value reaches the route and, through
    # run_in_threadpool's copied context, the service code that builds links and fullUrls.
    public_base.set(_base(request))


class FhirJsonResponse(JSONResponse):
    """How the OpenAPI document names the media type of the JSON answers rendered by
    ``fhir_response`` (FHIR's, also for the $import job's JSON). The routes return their own
    responses: this class only names the media type and the JSON shape in the document."""

    media_type = FHIR_JSON


router = APIRouter(
    prefix="/fhir",
    tags=["FHIR R4"],
    dependencies=[Depends(_set_public_base)],
    default_response_class=FhirJsonResponse,
    responses=FHIR_REFUSAL_RESPONSE,
)


def fhir_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        orjson.dumps(body) if body is not None else b"",
        status_code=status,
        media_type=FHIR_JSON + "; charset=utf-8" if body is not None else None,
        headers=headers,
    )


def check_accept(request: Request) -> None:
    fmt = request.query_params.get("_format", "")
    if "xml" in fmt:
        raise NotAcceptable(
            "This server speaks FHIR JSON only; XML is not supported "
            "(use _format=json or leave it out)"
        )
    accept = request.headers.get("accept", "")
    if accept and "xml" in accept and not any(t in accept for t in (*_JSON_TYPES, "*/*")):
        raise NotAcceptable(
            "This server answers in FHIR JSON only (application/fhir+json); XML is not supported"
        )


async def read_body(request: Request, one_resource: bool = False) -> Any:
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype in _XML_TYPES or ctype.endswith("+xml"):
        raise UnsupportedMediaType(
            "FHIR XML is not supported: send JSON with Content-Type application/fhir+json"
        )
    if ctype and ctype not in _JSON_TYPES:
        raise UnsupportedMediaType(
            f"Content-Type {ctype!r} is not supported: send FHIR JSON "
            "(application/fhir+json or application/json)"
        )
    settings = _settings(request)
    limit = settings.max_body_bytes
    if one_resource:  # the body is one resource: MCH_MAX_RESOURCE_BYTES applies
        limit = min(limit, settings.max_resource_bytes)
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise TooLarge(f"The body is {declared} bytes; the limit is {limit} (see /fhir/metadata)")
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge(f"The body is over the limit of {limit} bytes (see /fhir/metadata)")
        chunks.append(chunk)
    return parse_json(b"".join(chunks))


async def sender(request: Request, services: ServicesDep) -> Actor:
    header = request.headers.get("authorization", "")
    scheme, _, key = header.partition(" ")
    if scheme.lower() != "bearer" or not key.strip():
        raise Unauthorized("Send the institution's API key as 'Authorization: Bearer <key>'")
    client = request.client.host if request.client else None
    known = cached_sender(key.strip(), _settings(request).api_key_cache_seconds)
    if known is None:
        known = await in_reading(services, authenticate, key.strip())
    actor = Actor("institution", known.institution_id, client)
    request.state.actor = actor  # the access log names the sender
    return actor


SenderDep = Annotated[Actor, Depends(sender)]


def _check_type(rtype: str) -> None:
    if rtype not in R4_RESOURCE_TYPES:
        raise InvalidResource(
            [Issue(f"{rtype!r} is not a FHIR R4 resource type", None, "not-supported")]
        )


def _write_response(
    request: Request, fhir: FhirService, actor: Actor, result: EntryResult, prefer: Prefer
) -> Response:
    headers: dict[str, str] = {}
    if result.version_id is not None:
        headers["ETag"] = f'W/"{result.version_id}"'
        headers["Location"] = f"{_base(request)}/{result.location}"
    if result.last_updated is not None:
        headers["Last-Modified"] = result.last_updated.strftime("%a, %d %b %Y %H:%M:%S GMT")
    if result.warnings:
        # Accepted, but flagged for data quality (e.g. an impossible value, kept out of the
        # indicators): say so in a header, and in full with Prefer: return=OperationOutcome.
        headers["Warning"] = warning_header(result.warnings)
    if result.status == 204 or prefer.return_ == "minimal":
        return Response(status_code=result.status, headers=headers)
    if prefer.return_ == "OperationOutcome":
        outcome = (
            operation_outcome(result.warnings)
            if result.warnings
            else information(f"{result.action}: {result.location}")
        )
        return fhir_response(outcome, result.status, headers)
    body = result.resource
    if body is None and result.resource_type and result.fhir_id:
        # unchanged or matched by If-None-Exist: return the stored current version
        body = fhir.read(actor, result.resource_type, result.fhir_id).resource
    return fhir_response(body, result.status, headers)


@router.get("/metadata", responses=FHIR_RESOURCE_RESPONSE)
async def capability_statement(request: Request) -> Response:
    return fhir_response(request.app.state.capability)


@router.post("", responses=FHIR_RESOURCE_RESPONSE)
@router.post("/", responses=FHIR_RESOURCE_RESPONSE)
async def bundle(request: Request, actor: SenderDep, services: ServicesDep) -> Response:
    check_accept(request)
    body = await read_body(request)
    prefer = Prefer.parse(request.headers.get("prefer"))
    result = await run_in_threadpool(services.fhir.bundle, actor, body, prefer)
    return fhir_response(result)


_NDJSON_TYPES = ("application/fhir+ndjson", "application/x-ndjson", "application/ndjson")


@router.post(
    "/$import",
    status_code=202,
    response_model=ImportAccepted,
    response_class=FhirJsonResponse,
)
async def bulk_import(request: Request, actor: SenderDep, services: ServicesDep) -> Response:
    """NDJSON backfill: 202 with a status URL (Content-Location) to poll for the report."""
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype not in _NDJSON_TYPES:
        raise UnsupportedMediaType(
            "Send NDJSON (one resource per line) with Content-Type application/fhir+ndjson"
        )
    jobs = services.imports
    limit = _settings(request).max_import_bytes
    path = jobs.spool_path()
    size = lines = 0
    last = b"\n"
    try:
        with path.open("wb") as out:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise TooLarge(f"The NDJSON body is over {limit} bytes; split it")
                lines += chunk.count(b"\n")
                last = chunk[-1:] or last
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    lines += 0 if last == b"\n" else 1
    job_id = await run_in_threadpool(jobs.submit, actor, path, lines)
    url = f"{_base(request)}/$import/{job_id}"
    accepted = ImportAccepted(id=job_id, status="queued", lines_total=lines, status_url=url)
    return fhir_response(accepted.model_dump(), 202, {"Content-Location": url})


@router.get(
    "/$import/{job_id}",
    response_model=ImportJobStatus,
    response_class=FhirJsonResponse,
    responses={202: {"model": ImportJobStatus, "description": "The import is queued or running"}},
)
async def bulk_import_status(
    job_id: str, request: Request, actor: SenderDep, services: ServicesDep
) -> Response:
    status = await run_in_threadpool(services.imports.status, actor, job_id)
    running = status.status in ("queued", "running")
    headers = {"X-Progress": f"{status.lines_done}/{status.lines_total} lines"}
    return fhir_response(status.model_dump(exclude_unset=True), 202 if running else 200, headers)


_DQ_PARAMS = ("period", "kind", "_count", "_cursor")


@router.get(
    "/$data-quality",
    response_class=JSONResponse,
    responses={
        200: {"model": SenderDataQuality, "description": "The sender's own data quality"},
        **FHIR_REFUSAL_RESPONSE,
    },
)
async def data_quality(request: Request, actor: SenderDep, services: ServicesDep) -> Response:
    """The sender's own data quality at record level (docs/interface-guide.md, "Your data
    quality"): rejections, warnings, flags, unmapped codes, references to records never sent;
    by ``period`` (YYYY or YYYY-MM), one ``kind`` paged with ``_count`` and ``_cursor``."""
    params = request.query_params
    unknown = sorted({k for k in params if k not in _DQ_PARAMS})
    if unknown:
        raise InvalidResource(
            [
                Issue(
                    f"Unknown parameter {k!r}: this operation takes {', '.join(_DQ_PARAMS)}",
                    k,
                    "not-supported",
                )
                for k in unknown
            ]
        )
    kind = params.get("kind")
    if kind is not None and kind not in SENDER_KINDS:
        raise InvalidResource([Issue(f"kind is one of {', '.join(SENDER_KINDS)}", "kind", "value")])
    count = _int_param(params.get("_count"), "_count", 50, 1, 500)
    cursor = _int_param(params.get("_cursor"), "_cursor", 0, 0, 2**62)
    if cursor and kind is None:
        raise InvalidResource([Issue("_cursor goes with a kind", "_cursor", "value")])
    kinds = (kind,) if kind else SENDER_KINDS
    view = await run_in_threadpool(
        services.fhir.data_quality,
        actor,
        ZoneInfo(_settings(request).timezone),
        params.get("period"),
        kinds,
        cursor,
        count,
    )
    base = _base(request)
    for name in kinds:
        section = view.get(name)
        if section is None:
            continue
        nxt = section.pop("next_cursor")
        query = {"kind": name, "_count": str(count)}
        if params.get("period"):
            query["period"] = params["period"]
        section["next"] = (
            f"{base}/$data-quality?{urlencode({**query, '_cursor': str(nxt)})}"
            if nxt is not None
            else None
        )
    return JSONResponse(view, headers={"Cache-Control": "no-store"})


def _int_param(value: str | None, name: str, default: int, low: int, high: int) -> int:
    if value is None:
        return default
    if not value.isdigit() or not low <= int(value) <= high:
        raise InvalidResource(
            [Issue(f"{name} must be a whole number from {low} to {high}", name, "value")]
        )
    return int(value)


@router.post("/{rtype}/$validate", responses=FHIR_RESOURCE_RESPONSE)
async def validate(
    rtype: str, request: Request, actor: SenderDep, services: ServicesDep
) -> Response:
    check_accept(request)
    _check_type(rtype)
    body = await read_body(request, one_resource=True)
    return fhir_response(await run_in_threadpool(services.fhir.validate, rtype, body))


@router.post("/{rtype}", responses=FHIR_RESOURCE_RESPONSE)
async def create(rtype: str, request: Request, actor: SenderDep, services: ServicesDep) -> Response:
    check_accept(request)
    _check_type(rtype)
    body = await read_body(request, one_resource=True)
    prefer = Prefer.parse(request.headers.get("prefer"))
    result = await run_in_threadpool(
        services.fhir.create, actor, rtype, body, request.headers.get("if-none-exist")
    )
    return await run_in_threadpool(_write_response, request, services.fhir, actor, result, prefer)


@router.put("/{rtype}/{fhir_id}", responses=FHIR_RESOURCE_RESPONSE)
async def update(
    rtype: str, fhir_id: str, request: Request, actor: SenderDep, services: ServicesDep
) -> Response:
    check_accept(request)
    _check_type(rtype)
    body = await read_body(request, one_resource=True)
    prefer = Prefer.parse(request.headers.get("prefer"))
    result = await run_in_threadpool(
        services.fhir.update, actor, f"{rtype}/{fhir_id}", body, request.headers.get("if-match")
    )
    return await run_in_threadpool(_write_response, request, services.fhir, actor, result, prefer)


@router.put("/{rtype}", responses=FHIR_RESOURCE_RESPONSE)
async def conditional_update(
    rtype: str, request: Request, actor: SenderDep, services: ServicesDep
) -> Response:
    check_accept(request)
    _check_type(rtype)
    if not request.url.query:
        raise InvalidResource(
            [
                Issue(
                    f"PUT at the type URL needs a condition, e.g. {rtype}?identifier=system|value",
                    None,
                    "required",
                )
            ]
        )
    body = await read_body(request, one_resource=True)
    prefer = Prefer.parse(request.headers.get("prefer"))
    result = await run_in_threadpool(
        services.fhir.update,
        actor,
        f"{rtype}?{request.url.query}",
        body,
        request.headers.get("if-match"),
    )
    return await run_in_threadpool(_write_response, request, services.fhir, actor, result, prefer)


@router.delete("/{rtype}/{fhir_id}", responses=FHIR_RESOURCE_RESPONSE)
async def delete(
    rtype: str, fhir_id: str, request: Request, actor: SenderDep, services: ServicesDep
) -> Response:
    _check_type(rtype)
    result = await run_in_threadpool(
        services.fhir.delete, actor, f"{rtype}/{fhir_id}", request.headers.get("if-match")
    )
    return _delete_response(result)


@router.delete("/{rtype}", responses=FHIR_RESOURCE_RESPONSE)
async def conditional_delete(
    rtype: str, request: Request, actor: SenderDep, services: ServicesDep
) -> Response:
    _check_type(rtype)
    if not request.url.query:
        raise InvalidResource(
            [
                Issue(
                    "DELETE at the type URL needs a condition, e.g. "
                    f"{rtype}?identifier=system|value",
                    None,
                    "required",
                )
            ]
        )
    result = await run_in_threadpool(
        services.fhir.delete, actor, f"{rtype}?{request.url.query}", None
    )
    return _delete_response(result)


def _delete_response(result: EntryResult) -> Response:
    headers = {"ETag": f'W/"{result.version_id}"'} if result.version_id else {}
    return Response(status_code=204, headers=headers)


@router.get("/{rtype}", responses=FHIR_RESOURCE_RESPONSE)
async def search(rtype: str, request: Request, actor: SenderDep, services: ServicesDep) -> Response:
    check_accept(request)
    _check_type(rtype)
    url = f"{rtype}?{request.url.query}" if request.url.query else rtype
    return fhir_response(await run_in_threadpool(services.fhir.search, actor, url))


@router.get("/{rtype}/{fhir_id}", responses=FHIR_RESOURCE_RESPONSE)
async def read(
    rtype: str, fhir_id: str, request: Request, actor: SenderDep, services: ServicesDep
) -> Response:
    check_accept(request)
    _check_type(rtype)
    result = await run_in_threadpool(services.fhir.read, actor, rtype, fhir_id)
    return _read_response(result)


@router.get("/{rtype}/{fhir_id}/_history", responses=FHIR_RESOURCE_RESPONSE)
async def history(
    rtype: str, fhir_id: str, request: Request, actor: SenderDep, services: ServicesDep
) -> Response:
    check_accept(request)
    _check_type(rtype)
    cursor = request.query_params.get("_cursor")
    if cursor is not None and not cursor.isdigit():
        raise InvalidResource(
            [Issue("_cursor is not valid; follow the 'next' link", "_cursor", "value")]
        )
    before = int(cursor) if cursor is not None else None
    return fhir_response(
        await run_in_threadpool(services.fhir.history, actor, rtype, fhir_id, before)
    )


@router.get("/{rtype}/{fhir_id}/_history/{vid}", responses=FHIR_RESOURCE_RESPONSE)
async def vread(
    rtype: str, fhir_id: str, vid: str, request: Request, actor: SenderDep, services: ServicesDep
) -> Response:
    check_accept(request)
    _check_type(rtype)
    result = await run_in_threadpool(services.fhir.read, actor, rtype, fhir_id, vid)
    return _read_response(result)


def _read_response(result: EntryResult) -> Response:
    headers = {"ETag": f'W/"{result.version_id}"'}
    if result.last_updated:
        headers["Last-Modified"] = result.last_updated.strftime("%a, %d %b %Y %H:%M:%S GMT")
    return fhir_response(result.resource, 200, headers)
