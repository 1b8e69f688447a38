"""Prometheus metrics (docs/operations.md lists them and the alerts to set).

Two kinds:

* Counters and histograms that a server process updates as it works (requests, latency,
  resources ingested and rejected, sign-in failures and lockouts). Under ``serve --workers N``
  every worker is its own process: prometheus-client's multiprocess mode keeps each process's
  values in files under ``PROMETHEUS_MULTIPROC_DIR`` and ``/metrics`` sums them. ``serve`` sets
  that folder up (see :func:`prepare_multiprocess_dir`); the variable must be set before
  prometheus-client is first imported, so it is set before anything else starts.
* Gauges read from the database when ``/metrics`` is scraped (assembly queue, jobs, indicator
  freshness, the scheduler lease): they are true whichever process did the work, including the
  ``worker`` process that no scraper sees.

Per-resource counts come from the audit rows a write records (one place for every ingest path:
REST, Bundles, $import) and are added once per transaction after it commits, so a rolled-back
write counts nothing.
"""

from __future__ import annotations

import os
import time
from collections import Counter as Tally
from collections.abc import Iterable, Iterator
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session

from mch_service.ops.multiproc import MULTIPROC_ENV

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

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


# -- read from the database at scrape time -------------------------------------------------


def _ts(value: Any) -> float:
    from mch_service.timeutil import to_utc

    return to_utc(value).timestamp()


class DatabaseCollector(Collector):
    """Gauges that hold whichever process did the work: read at scrape time."""

    def __init__(self, services: Any) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        from jobs.models import JobRun, SchedulerLease
        from jobs.scheduler import LEASE_NAME
        from mch_service.domain.models import AssemblyQueue
        from mch_service.indicators.results import IndicatorResult
        from mch_service.timeutil import utcnow

        now = utcnow()
        up = GaugeMetricFamily("mch_database_up", "1 when the database answered this scrape")
        try:
            with self.services.db.reading() as session:
                depth, oldest = session.execute(
                    select(func.count(), func.min(AssemblyQueue.enqueued_at))
                ).one()
                runs = session.execute(
                    select(JobRun.job, JobRun.status, func.count()).group_by(
                        JobRun.job, JobRun.status
                    )
                ).all()
                last_ok = session.execute(
                    select(JobRun.job, func.max(JobRun.finished_at))
                    .where(JobRun.status == "succeeded")
                    .group_by(JobRun.job)
                ).all()
                latest_ids = (
                    select(func.max(JobRun.id))
                    .where(JobRun.finished_at.is_not(None))
                    .group_by(JobRun.job)
                    .scalar_subquery()
                )
                latest = session.execute(
                    select(JobRun.job, JobRun.status, JobRun.started_at, JobRun.finished_at).where(
                        JobRun.id.in_(latest_ids)
                    )
                ).all()
                fresh = session.execute(
                    select(
                        IndicatorResult.indicator_id, func.max(IndicatorResult.computed_at)
                    ).group_by(IndicatorResult.indicator_id)
                ).all()
                lease = session.scalar(
                    select(SchedulerLease.expires_at).where(SchedulerLease.name == LEASE_NAME)
                )
        except Exception:  # noqa: BLE001 - the scrape still answers, with the database down
            up.add_metric([], 0)
            yield up
            return
        up.add_metric([], 1)
        yield up

        g = GaugeMetricFamily("mch_assembly_queue_depth", "Women waiting to be assembled")
        g.add_metric([], depth or 0)
        yield g
        g = GaugeMetricFamily(
            "mch_assembly_queue_oldest_age_seconds",
            "How long the longest-waiting woman has waited (0 when the queue is empty)",
        )
        g.add_metric([], (now.timestamp() - _ts(oldest)) if oldest is not None else 0.0)
        yield g

        c = CounterMetricFamily(
            "mch_job_runs", "Job runs recorded, by job and status", labels=["job", "status"]
        )
        for job, status, n in runs:
            c.add_metric([job, status], n)
        yield c
        g = GaugeMetricFamily(
            "mch_job_last_success_timestamp_seconds",
            "When each job last finished successfully (Unix time)",
            labels=["job"],
        )
        for job, at in last_ok:
            if at is not None:
                g.add_metric([job], _ts(at))
        yield g
        g = GaugeMetricFamily(
            "mch_job_last_duration_seconds",
            "Duration of each job's latest finished run, with its outcome",
            labels=["job", "status"],
        )
        for job, status, started, finished in latest:
            g.add_metric([job, status], max(0.0, _ts(finished) - _ts(started)))
        yield g
        g = GaugeMetricFamily(
            "mch_indicator_last_computed_timestamp_seconds",
            "When each indicator's results were last computed (Unix time)",
            labels=["indicator"],
        )
        for indicator, at in fresh:
            if at is not None:
                g.add_metric([indicator], _ts(at))
        yield g
        g = GaugeMetricFamily(
            "mch_scheduler_lease_held", "1 when some process holds the scheduler lease"
        )
        g.add_metric([], 1 if lease is not None and _ts(lease) > now.timestamp() else 0)
        yield g


def render(services: Any) -> bytes:
    """The exposition text: this process's (or, in multiprocess mode, every worker's) counters
    and the database gauges."""
    if os.environ.get(MULTIPROC_ENV):
        base = CollectorRegistry()
        MultiProcessCollector(base)
    else:
        base = REGISTRY
    database = CollectorRegistry(auto_describe=False)
    database.register(DatabaseCollector(services))
    # Two registries, one text: the exposition format is a sequence of metric families.
    return generate_latest(base) + generate_latest(database)
