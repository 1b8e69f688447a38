"""Two guards before routing, plain ASGI middleware like ``mch_service.middleware``: every
request body is held to its route's limit (``BodyLimit``), and a control character in a staff
URL or a NUL in a staff body is refused (``RefuseNul``). Both answer in the route's error
shape (``mch_service.http_errors``)."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import unquote_to_bytes

from fastapi import Request
from fastapi.responses import JSONResponse

from mch_service.config import Settings
from mch_service.domain import code_tables_api
from mch_service.errors import TooLarge
from mch_service.http_errors import is_fhir, render


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
    if path.startswith("/api/v1/code-tables/") or path == "/admin/code-tables":
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
        where = "/fhir/metadata" if is_fhir(request) else "the README"
        exc = TooLarge(f"{what}; the limit for this route is {limit} bytes (see {where})")

        async def no_body() -> Any:
            return {"type": "http.disconnect"}

        await render(request, exc)(scope, no_body, send)


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
