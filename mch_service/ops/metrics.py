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

The counters themselves, and the per-request middleware, are in ``mch_service.process_metrics``
(below every package that counts); this module exports them with the database gauges.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import REGISTRY, Collector

from mch_service.domain.service import assembly_queue_state
from mch_service.indicators.service import computed_at_by_indicator
from mch_service.ops.multiproc import MULTIPROC_ENV
from mch_service.scheduling.service import run_figures
from mch_service.timeutil import to_utc, utcnow

if TYPE_CHECKING:
    from mch_service.services import Services

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"

# -- read from the database at scrape time -------------------------------------------------


def _ts(value: datetime) -> float:
    return to_utc(value).timestamp()


class DatabaseCollector(Collector):
    """Gauges that hold whichever process did the work: read at scrape time."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[Metric]:
        now = utcnow()
        up = GaugeMetricFamily("mch_database_up", "1 when the database answered this scrape")
        try:
            with self.services.db.reading() as session:
                depth, oldest = assembly_queue_state(session)
                jobs = run_figures(session)
                fresh = computed_at_by_indicator(session)
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
        for job, status, n in jobs.counts:
            c.add_metric([job, status], n)
        yield c
        g = GaugeMetricFamily(
            "mch_job_last_success_timestamp_seconds",
            "When each job last finished successfully (Unix time)",
            labels=["job"],
        )
        for job, at in jobs.last_successes:
            if at is not None:
                g.add_metric([job], _ts(at))
        yield g
        g = GaugeMetricFamily(
            "mch_job_last_duration_seconds",
            "Duration of each job's latest finished run, with its outcome",
            labels=["job", "status"],
        )
        for job, status, started, finished in jobs.latest:
            if finished is not None:  # the latest *finished* run: always set
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
        lease = jobs.lease_expires_at
        g.add_metric([], 1 if lease is not None and _ts(lease) > now.timestamp() else 0)
        yield g


def render(services: Services) -> bytes:
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
