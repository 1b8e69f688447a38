"""HTTP routes of the FHIR Bulk Data export (/fhir/$export, /fhir/Patient/$export, the status
and file URLs) and the administration of export clients (/api/v1/export-clients).

The router is included before the FHIR interface's, whose /fhir/{rtype}/{fhir_id} would
otherwise take /fhir/Patient/$export."""

from __future__ import annotations

from typing import Annotated

import orjson
from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, Response
from starlette.concurrency import run_in_threadpool

from mch_service.auth.dependencies import CurrentStaff
from mch_service.bulk_export import service as export
from mch_service.bulk_export.schemas import (
    CANCEL_RESPONSE,
    FILE_RESPONSE,
    KICK_OFF_RESPONSE,
    STATUS_RESPONSE,
    ExportClientCreate,
    ExportClientRead,
    IssuedExportKey,
)
from mch_service.bulk_export.service import Exporter
from mch_service.deps import ServicesDep, in_transaction
from mch_service.errors import Forbidden, InvalidResource, Issue, NotAcceptable, Unauthorized
from mch_service.fhir_api.schemas import FHIR_REFUSAL_RESPONSE

FHIR_JSON = "application/fhir+json"


def _json(body: object, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(orjson.dumps(body), status_code=status, media_type=FHIR_JSON, headers=headers)


def _outcome(text: str) -> dict[str, object]:
    return {
        "resourceType": "OperationOutcome",
        "issue": [{"severity": "information", "code": "informational", "diagnostics": text}],
    }


def _base(request: Request) -> str:
    """The FHIR base as clients reach it (MCH_PUBLIC_BASE, else this request's)."""
    configured = request.app.state.settings.public_base
    return str(configured or str(request.base_url).rstrip("/") + "/fhir").rstrip("/")


async def exporter(request: Request, services: ServicesDep) -> Exporter:
    """An export client's key or an administrator's token; refusals are audited."""
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    ip = request.client.host if request.client else None
    try:
        if scheme.lower() != "bearer" or not token.strip():
            raise Unauthorized(
                "Send an export client's key or an administrator's token as "
                "'Authorization: Bearer <key>'"
            )
        who = await in_transaction(services, export.identify, services.accounts, token.strip(), ip)
    except (Unauthorized, Forbidden) as exc:
        await in_transaction(
            services,
            export.audit_refusal,
            ip,
            exc.status_code,
            f"{request.method} {request.url.path}",
        )
        raise
    request.state.actor = who.actor  # the access log names the exporter
    return who


ExporterDep = Annotated[Exporter, Depends(exporter)]

router = APIRouter(
    prefix="/fhir",
    tags=["FHIR Bulk Data export"],
    default_response_class=Response,
    responses=FHIR_REFUSAL_RESPONSE,
)


def _check_kick_off_headers(request: Request) -> None:
    accept = request.headers.get("accept", "")
    if FHIR_JSON not in accept:
        raise NotAcceptable(
            "A bulk export kick-off needs 'Accept: application/fhir+json' (the format of "
            "its OperationOutcome)"
        )
    prefer = [p.strip().lower() for p in request.headers.get("prefer", "").split(",")]
    if "respond-async" not in prefer:
        raise InvalidResource(
            [
                Issue(
                    "A bulk export is asynchronous: send 'Prefer: respond-async'", None, "required"
                )
            ],
            "A bulk export is asynchronous: send 'Prefer: respond-async'",
        )


async def _kick_off(request: Request, who: Exporter, services: ServicesDep, level: str) -> Response:
    _check_kick_off_headers(request)
    base = _base(request)
    path = "/$export" if level == "system" else "/Patient/$export"
    url = f"{base}{path}" + (f"?{request.url.query}" if request.url.query else "")
    asked = export.parse_request(level, list(request.query_params.multi_items()), url)
    job_id = await run_in_threadpool(services.exports.kick_off, who, asked)
    status_url = f"{base}/$export-status/{job_id}"
    return _json(
        _outcome(f"Export accepted; poll {status_url}"), 202, {"Content-Location": status_url}
    )


@router.get("/$export", status_code=202, responses=KICK_OFF_RESPONSE)
async def system_export(request: Request, who: ExporterDep, services: ServicesDep) -> Response:
    """Kick-off of a system-level export: every stored resource type (or _type)."""
    return await _kick_off(request, who, services, "system")


@router.get("/Patient/$export", status_code=202, responses=KICK_OFF_RESPONSE)
async def patient_export(request: Request, who: ExporterDep, services: ServicesDep) -> Response:
    """Kick-off of a Patient-level export: the types of the Patient compartment (or _type)."""
    return await _kick_off(request, who, services, "patient")


@router.get("/$export-status/{job_id}", responses=STATUS_RESPONSE)
async def export_status(
    job_id: str, request: Request, who: ExporterDep, services: ServicesDep
) -> Response:
    """202 with X-Progress while running, 200 with the manifest when done."""
    view = await run_in_threadpool(services.exports.status, who, job_id)
    if view.status in ("queued", "running"):
        return Response(
            status_code=202,
            headers={
                "X-Progress": f"{view.status}: {view.resources_done} resources written",
                "Retry-After": str(export.RETRY_AFTER_SECONDS),
            },
        )
    if view.status == "failed":
        raise export.failure(view)
    headers = {}
    if view.expires_at is not None:
        headers["Expires"] = view.expires_at.strftime("%a, %d %b %Y %H:%M:%S GMT")
    return Response(
        orjson.dumps(export.manifest(view, _base(request))),
        200,
        headers,
        media_type="application/json",
    )


@router.delete("/$export-status/{job_id}", status_code=202, responses=CANCEL_RESPONSE)
async def cancel_export(
    job_id: str, request: Request, who: ExporterDep, services: ServicesDep
) -> Response:
    """Cancel an export (or delete a finished one's files): 202; its status is then 404."""
    await run_in_threadpool(services.exports.cancel, who, job_id)
    return _json(_outcome(f"Export {job_id} cancelled; its files are removed"), 202)


@router.get("/$export-file/{job_id}/{file_name}", responses=FILE_RESPONSE)
async def export_file(
    job_id: str, file_name: str, who: ExporterDep, services: ServicesDep
) -> Response:
    """One NDJSON file of a finished export, for the exporter that asked for it."""
    path = await run_in_threadpool(services.exports.file, who, job_id, file_name)
    return FileResponse(path, media_type=export.NDJSON, filename=file_name)


admin = APIRouter(prefix="/api/v1/export-clients", tags=["bulk export"])


@admin.get("", response_model=list[ExportClientRead])
async def list_export_clients(
    services: ServicesDep, principal: CurrentStaff
) -> list[ExportClientRead]:
    return await in_transaction(services, export.list_clients, principal)


@admin.post("", status_code=201, response_model=IssuedExportKey)
async def register_export_client(
    body: ExportClientCreate, services: ServicesDep, principal: CurrentStaff
) -> IssuedExportKey:
    return await in_transaction(services, export.register_client, principal, body)


@admin.post("/{client_id}/rotate-key", status_code=201, response_model=IssuedExportKey)
async def rotate_export_client_key(
    client_id: str, services: ServicesDep, principal: CurrentStaff
) -> IssuedExportKey:
    return await in_transaction(services, export.rotate_client_key, principal, client_id)


@admin.post("/{client_id}/disable", response_model=ExportClientRead)
async def disable_export_client(
    client_id: str, services: ServicesDep, principal: CurrentStaff
) -> ExportClientRead:
    return await in_transaction(services, export.set_client_active, principal, client_id, False)


@admin.post("/{client_id}/enable", response_model=ExportClientRead)
async def enable_export_client(
    client_id: str, services: ServicesDep, principal: CurrentStaff
) -> ExportClientRead:
    return await in_transaction(services, export.set_client_active, principal, client_id, True)
