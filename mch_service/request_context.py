"""The id of the HTTP request being served (the access log's ``request_id``, the
``X-Request-ID`` response header), for the audit rows the request writes: one id finds a
request in the log and in the audit. Set by mch_service.middleware.AccessLog; a context
variable, so the worker threads that run the services see it (Starlette copies the context);
None outside a request (jobs, the command line)."""

from __future__ import annotations

from contextvars import ContextVar

REQUEST_ID: ContextVar[str | None] = ContextVar("mch_request_id", default=None)
