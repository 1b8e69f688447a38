"""The counters and histograms a process updates as it works: requests and latency (by route
template), resources ingested and rejected, sign-in failures and lockouts. ``/metrics``
(``mch_service.ops.metrics``) exports them with the gauges read from the database.

Per-resource counts come from the audit rows a write records (one place for every ingest path:
REST, Bundles, $import) and are added once per transaction after it commits, so a rolled-back
write counts nothing. This module sits below every package that counts (``audit`` calls
:func:`count_audit`), and imports none of them.
"""

from __future__ import annotations

import time
from collections import Counter as Tally
from collections.abc import Iterable
from typing import Any

from prometheus_client import Counter, Histogram
from sqlalchemy import event
from sqlalchemy.orm import Session

REQUESTS = Counter(
    "mch_http_requests_total",
    "HTTP requests answered, by method, route template and status",
    ["method", "route", "status"],
)
LATENCY = Histogram(
    "mch_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route template",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)
INGESTED = Counter(
    "mch_fhir_resources_ingested_total",
    "FHIR resources written by senders, by sender, resource type and action",
    ["sender", "type", "action"],
)
REJECTED = Counter(
    "mch_fhir_resources_rejected_total",
    "FHIR requests rejected (validation, conflicts, limits), by sender and resource type",
    ["sender", "type"],
)
LOGIN_FAILURES = Counter(
    "mch_login_failures_total", "Staff sign-ins refused (wrong password, unknown, locked)"
)
LOCKOUTS = Counter(
    "mch_login_lockouts_total",
    "Sign-in back-offs started by repeated failures (an address, a username or both)",
)

_INGEST_ACTIONS = {"fhir.create", "fhir.update", "fhir.unchanged", "fhir.delete"}
_PENDING = "mch_metrics_pending"


# -- per-request counters ------------------------------------------------------------------


class MetricsMiddleware:
    """Requests and latency by route template (never the raw path: ids would make a series per
    record). Pure ASGI: Starlette's BaseHTTPMiddleware adds a task and a stream copy per
    request. The route is known only after routing, from ``scope["route"]``."""

    def __init__(self, app: Any) -> None:
        self.app = app

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
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope["method"]
            REQUESTS.labels(method, template, str(status)).inc()
            LATENCY.labels(method, template).observe(time.perf_counter() - start)


def count_audit(
    session: Session, actor_kind: str, actor_id: str | None, rows: Iterable[Any]
) -> None:
    """Remember what an audited transaction did, to count once it commits. ``rows`` are the
    audit rows (dicts) being written."""
    tally: Tally[tuple[str, ...]] = Tally()
    for r in rows:
        action, outcome = r["action"], r["outcome"]
        if action.startswith("fhir.") and actor_kind == "institution":
            rtype = r["target_type"] or "-"
            if outcome == "success" and action in _INGEST_ACTIONS:
                tally[("ingested", actor_id or "-", rtype, action[5:])] += 1
            elif outcome == "rejected":
                tally[("rejected", actor_id or "-", rtype)] += 1
        elif action == "auth.sign_in" and outcome == "denied":
            tally[("login_failed",)] += 1
            # the failure that starts a back-off (auth/throttle.py): the account's "lockout"
            if (r["detail"] or "").endswith("; further attempts slowed down"):
                tally[("lockout",)] += 1
    if tally:
        session.info.setdefault(_PENDING, Tally()).update(tally)


@event.listens_for(Session, "after_commit")
def _count_committed(session: Session) -> None:
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    for key, n in pending.items():
        kind = key[0]
        if kind == "ingested":
            INGESTED.labels(*key[1:]).inc(n)
        elif kind == "rejected":
            REJECTED.labels(*key[1:]).inc(n)
        elif kind == "login_failed":
            LOGIN_FAILURES.inc(n)
        elif kind == "lockout":
            LOCKOUTS.inc(n)


@event.listens_for(Session, "after_rollback")
def _forget_rolled_back(session: Session) -> None:
    session.info.pop(_PENDING, None)
