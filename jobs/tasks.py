"""The jobs. Each body is a few lines that call a service."""

from __future__ import annotations

from datetime import date

from jobs.runner import JobBody, JobResult
from mch_service.quality import service as quality
from mch_service.services import Services


def indicators(services: Services, as_of: date | None) -> JobResult:
    """Recompute the indicator results that changed since the last run."""
    services.domain.process_queue(services.db)  # queued women first: counts need them
    rows = services.indicators.refresh()
    changed = services.indicators.last_changed
    return JobResult(rows, f"{rows} result rows computed, {changed} changed")


def indicators_full(services: Services, as_of: date | None) -> JobResult:
    """Recompute every indicator result from the domain tables."""
    services.domain.process_queue(services.db)
    rows = services.indicators.refresh(full=True)
    changed = services.indicators.last_changed
    return JobResult(rows, f"{rows} result rows computed, {changed} changed (full)")


def data_quality(services: Services, as_of: date | None) -> JobResult:
    with services.db.transaction() as session:
        n = quality.refresh(session)
    return JobResult(n, f"{n} figures")


def work_lists(services: Services, as_of: date | None) -> JobResult:
    """Recompute every work list (and open or close cases) for the day, or for ``as_of``."""
    services.domain.process_queue(services.db)
    with services.db.transaction() as session:
        n = services.cases.refresh(session, None, as_of)
    return JobResult(n, f"{n} work items")


def domain_rebuild(services: Services, as_of: date | None) -> JobResult:
    """Every domain row again from the stored resources (after a code table changed)."""
    services.domain.reload_codes_if_changed()
    counts = services.domain.rebuild(services.db, services.store)
    return JobResult(counts["resources"], f"{counts['women']} women")


JOBS: dict[str, JobBody] = {
    "domain_rebuild": domain_rebuild,
    "work_lists": work_lists,
    "indicators": indicators,
    "indicators_full": indicators_full,
    "data_quality": data_quality,
}
