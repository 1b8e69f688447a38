"""How an error becomes a response: an OperationOutcome under /fhir, the staff API's JSON
shape everywhere else (``{"error": {"code", "message", "issues"}}``)."""

from __future__ import annotations

from fastapi import Request
from fastapi.responses import JSONResponse, Response

from mch_service.errors import MchError, TooManyRequests
from mch_service.fhir_api.endpoints import fhir_response
from mch_service.fhir_api.outcomes import outcome_for_error


def is_fhir(request: Request) -> bool:
    return request.url.path.startswith("/fhir")


def render(request: Request, exc: MchError) -> Response:
    headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else None
    if isinstance(exc, TooManyRequests):
        headers = {"Retry-After": str(exc.retry_after)}
    if exc.headers:
        headers = {**(headers or {}), **exc.headers}
    if is_fhir(request):
        return fhir_response(outcome_for_error(exc), exc.status_code, headers)
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
