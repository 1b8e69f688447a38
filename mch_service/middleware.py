"""The two outermost layers of every response: the access log and the security headers.

Both are plain ASGI middleware (Starlette's BaseHTTPMiddleware would add a task and a stream
copy to every request), and both wrap the whole application, outside Starlette's own error
middleware: the 500 response of an unexpected error gets the headers and the request id too,
and the error is logged here as one line instead of uvicorn's traceback.
"""

from __future__ import annotations

import logging
import re
import time
import uuid
from collections.abc import MutableMapping
from typing import Any

import orjson
from starlette.datastructures import MutableHeaders

from mch_service.logs import escape_controls
from mch_service.request_context import REQUEST_ID

ASGIApp = Any
Scope = MutableMapping[str, Any]
Message = dict[str, Any]

REQUEST_ID_HEADER = "X-Request-ID"
# A proxy's request id is kept when it looks like one; anything else is replaced (it is
# written to the log and echoed to the client).
_SANE_REQUEST_ID = re.compile(r"[A-Za-z0-9._:-]{8,128}")

CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
)
HSTS = "max-age=31536000; includeSubDomains"
_ALWAYS = (
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("x-frame-options", "DENY"),
    # Pages and API paths carry record ids: never send them to another site.
    ("referrer-policy", "no-referrer"),
)
# Every FHIR and staff API response may carry personal data: no copy in any cache.
_NO_STORE_PREFIXES = ("/fhir", "/api/")


def header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers") or ():
        if key == name:
            return bytes(value).decode("latin-1")
    return None


def over_https(scope: Scope) -> bool:
    """The request came over HTTPS: directly, or through a proxy that says so in
    X-Forwarded-Proto (the rule of the session cookie's Secure flag, MCH_COOKIE_SECURE=auto)."""
    forwarded = header(scope, b"x-forwarded-proto")
    if forwarded is not None:
        return forwarded.split(",")[0].strip().lower() == "https"
    return scope.get("scheme") == "https"


class SecurityHeaders:
    """CSP without inline script, nosniff, no framing, no referrer; HSTS when over HTTPS;
    ``Cache-Control: no-store`` on /fhir and /api. A header the route set itself is kept."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope.get("path", "")
        no_store = path == "/fhir" or path.startswith(_NO_STORE_PREFIXES)
        https = over_https(scope)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in _ALWAYS:
                    headers.setdefault(name, value)
                if https:
                    headers.setdefault("strict-transport-security", HSTS)
                if no_store:
                    headers["cache-control"] = "no-store"
            await send(message)

        await self.app(scope, receive, send_with_headers)


class AccessLog:
    """One JSON line per request on ``mch_service.access``: method, route template, path
    (control characters escaped), the query's parameter names (never their values:
    ``identifier=...|110...`` is personal data), status, duration, client, who (institution
    or staff user) and a request id, also returned in ``X-Request-ID``.

    An exception that escaped the application is not re-raised: uvicorn would print its
    traceback, whose messages and frames may hold request content. The application's handler
    has answered 500 and logged it as one line (type, route, request id); if none answered,
    it is logged here the same way and answered 500 here."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.log = logging.getLogger("mch_service.access")
        self.errors = logging.getLogger("mch_service.errors")

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        incoming = header(scope, b"x-request-id")
        request_id = (
            incoming if incoming and _SANE_REQUEST_ID.fullmatch(incoming) else uuid.uuid4().hex
        )
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500
        started = False

        async def send_with_id(message: Message) -> None:
            nonlocal status, started
            if message["type"] == "http.response.start":
                status = message["status"]
                started = True
                MutableHeaders(scope=message)[REQUEST_ID_HEADER] = request_id
            await send(message)

        token = REQUEST_ID.set(request_id)  # for the audit rows of this request
        try:
            await self.app(scope, receive, send_with_id)
        except Exception as exc:  # noqa: BLE001 - the last stop: one line, a 500
            if not started:
                # No handler answered (an error outside the application's own handlers)
                self.errors.error(
                    "unexpected error",
                    extra={"fields": {"error": type(exc).__name__, "request_id": request_id}},
                )
                await _internal_error(send_with_id)
            # else the application's handler answered 500 and logged it (app._unexpected);
            # Starlette re-raises only for the server to print the traceback: not here.
        finally:
            REQUEST_ID.reset(token)
            if self.log.isEnabledFor(logging.INFO):
                self.log.info("request", extra={"fields": _fields(scope, status, start)})


def _fields(scope: Scope, status: int, start: float) -> dict[str, Any]:
    state = scope.get("state") or {}
    route = scope.get("route")
    principal = state.get("principal")
    actor = state.get("actor")
    who = (
        f"user:{principal.username}"
        if principal is not None
        else f"institution:{actor.id}"
        if actor is not None
        else None
    )
    query = bytes(scope.get("query_string") or b"").decode("latin-1")
    client = scope.get("client")
    return {
        "request_id": state.get("request_id"),
        "method": escape_controls(str(scope.get("method", ""))),
        "route": getattr(route, "path", None),
        "path": escape_controls(scope.get("root_path", "") + scope.get("path", "")),
        "query_params": sorted(
            {escape_controls(p.split("=", 1)[0])[:64] for p in query.split("&") if p}
        ),
        "status": status,
        "duration_ms": round((time.perf_counter() - start) * 1000, 1),
        "client": client[0] if client else None,
        "who": escape_controls(who) if who else None,
    }


async def _internal_error(send: Any) -> None:
    body = orjson.dumps(
        {
            "resourceType": "OperationOutcome",
            "issue": [
                {
                    "severity": "fatal",
                    "code": "exception",
                    "diagnostics": "Internal error; it has been logged",
                }
            ],
        }
    )
    await send(
        {
            "type": "http.response.start",
            "status": 500,
            "headers": [
                (b"content-type", b"application/fhir+json; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})
