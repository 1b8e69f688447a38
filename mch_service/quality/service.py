"""Data quality per sending institution: completeness, timeliness, rejections, unmapped codes.

| metric | meaning |
|---|---|
| resources | live resources the institution sent |
| rejected | writes refused (4xx); refused reads and access refusals (401, 403) left out |
| rejection_rate | rejected / (rejected + accepted writes) |
| resident_id_valid_share | share of its women's Patient records with a valid resident ID |
| street_share | share of its women's Patient records whose address names a street code |
| delay_days_median | median days from the clinical date to receipt (resources with a date) |
| late_share | share received more than 30 days after their clinical date |
| unmapped_codes | distinct codes no code table recognises |
| plausibility_flags | records flagged clinically impossible or inconsistent |
"""

from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

import pandas as pd
from sqlalchemy.orm import Session

from mch_service.audit import service as audit_service
from mch_service.domain.service import (
    issue_kinds_by_institution,
    issues_by_institution,
    sender_issues,
    sender_issues_by_period,
    sender_unmapped,
    sender_unmapped_by_period,
    unmapped_codes_by_institution,
    women_records_by_institution,
)
from mch_service.errors import InvalidResource, Issue
from mch_service.quality import repository
from mch_service.quality.rules import GENERIC, what_to_do
from mch_service.sqlperiods import Period
from mch_service.store.service import (
    dangling_references_by_period,
    live_counts_by_institution,
    live_dated_resources,
    unresolved_reference_page,
)
from mch_service.timeutil import to_utc, utcnow

LATE_DAYS = 30
METRICS = (
    "resources",
    "rejected",
    "rejection_rate",
    "resident_id_valid_share",
    "street_share",
    "delay_days_median",
    "late_share",
    "unmapped_codes",
    "plausibility_flags",
)


def refresh(session: Session) -> int:
    """Recompute every figure; returns the number of figures written."""
    figures: dict[tuple[str, str], float | None] = {}

    def put(rows: Any, metric: str) -> None:
        for inst, value in rows:
            figures[(inst, metric)] = None if value is None else float(value)

    put(live_counts_by_institution(session).items(), "resources")
    by_inst: dict[str, dict[str, int]] = {}
    for inst, outcome, n in audit_service.fhir_write_outcomes(session):
        by_inst.setdefault(inst, {})[outcome] = n
    for inst, counts in by_inst.items():
        rejected = counts.get("rejected", 0)
        total = rejected + counts.get("success", 0)
        figures[(inst, "rejected")] = float(rejected)
        figures[(inst, "rejection_rate")] = rejected / total if total else None
    for inst, n, valid, streets in women_records_by_institution(session):
        figures[(inst, "resident_id_valid_share")] = (valid or 0) / n if n else None
        figures[(inst, "street_share")] = streets / n if n else None
    dated = pd.DataFrame(live_dated_resources(session), columns=["inst", "start", "received"])
    if not dated.empty:
        dated["start"] = pd.to_datetime([to_utc(v) for v in dated["start"]], utc=True)
        dated["received"] = pd.to_datetime([to_utc(v) for v in dated["received"]], utc=True)
        dated["delay"] = (dated["received"] - dated["start"]).dt.total_seconds() / 86400
        for inst, group in dated.groupby("inst"):
            figures[(str(inst), "delay_days_median")] = float(group["delay"].median())
            figures[(str(inst), "late_share")] = float((group["delay"] > LATE_DAYS).mean())
    put(unmapped_codes_by_institution(session), "unmapped_codes")
    put(issues_by_institution(session), "plausibility_flags")
    now = utcnow()
    rows = [
        {"institution_id": inst, "metric": metric, "value": value, "computed_at": now}
        for (inst, metric), value in sorted(figures.items())
    ]
    repository.replace_figures(session, rows)
    return len(rows)


# Figures that are counts: whole numbers, 0 when there are none (never missing).
COUNTS = frozenset({"resources", "rejected", "unmapped_codes", "plausibility_flags"})


def report(session: Session, institution: str | None = None) -> list[dict[str, Any]]:
    """Each institution's figures (one institution's with ``institution``): every metric
    present, counts as whole numbers (0 when none), shares and medians null when there is
    nothing to compute them over."""
    out: dict[str, dict[str, Any]] = {}
    for f in repository.figures(session):
        if institution is not None and f.institution_id != institution:
            continue
        row = out.setdefault(
            f.institution_id,
            {"institution": f.institution_id, "computed_at": to_utc(f.computed_at).isoformat()},
        )
        row[f.metric] = f.value
    for row in out.values():
        for metric in METRICS:
            value = row.get(metric)
            if metric in COUNTS:
                row[metric] = int(value or 0)
            else:
                row[metric] = value
    return list(out.values())


def flag_split(session: Session) -> dict[str, dict[str, int]]:
    """Per institution, its ``plausibility_flags`` as the records lists split them (read now):
    ``warnings`` (record-level) and ``flags`` (raised when put into a pregnancy)."""
    return issue_kinds_by_institution(session)


# -- a sender's own view (GET /fhir/$data-quality) --------------------------------------------

SENDER_KINDS = ("rejections", "warnings", "flags", "unmapped_codes", "unresolved_references")
_PERIOD = re.compile(r"(\d{4})(?:-(\d{2}))?")
_STATUS_ADVICE = {
    400: "Correct the element(s) named and send it again.",
    404: "The record is not one of yours (or was never sent): check the id.",
    409: "Another of your records holds that identifier: update that record instead.",
    410: "The record was deleted: create it again if it should exist.",
    412: "Read the current version (ETag) and send your change against it.",
    413: "Split the request (see the limits in the interface guide).",
    415: "Send application/fhir+json.",
    422: "Correct the element(s) named and send it again.",
}


def period_range(period: str | None, zone: ZoneInfo) -> tuple[datetime | None, datetime | None]:
    """'2025' or '2025-06' -> [start, end) in UTC, the days as the district counts them; None
    for no period (everything). Anything else is refused, naming the form expected."""
    if period is None:
        return None, None
    m = _PERIOD.fullmatch(period.strip())
    month = int(m.group(2)) if m and m.group(2) else None
    if (
        m is None
        or not 1 <= int(m.group(1)) <= 9998
        or (month is not None and not 1 <= month <= 12)
    ):
        raise InvalidResource(
            [
                Issue(
                    f"period {period[:20]!r} is not a year or a month: send YYYY (2025) or "
                    "YYYY-MM (2025-06)",
                    "period",
                    "value",
                )
            ]
        )
    year = int(m.group(1))
    if month is None:
        start, end = datetime(year, 1, 1, tzinfo=zone), datetime(year + 1, 1, 1, tzinfo=zone)
    else:
        start = datetime(year, month, 1, tzinfo=zone)
        end = datetime(year + (month == 12), month % 12 + 1, 1, tzinfo=zone)
    return to_utc(start), to_utc(end)


def sender_view(
    session: Session,
    institution_id: str,
    zone: ZoneInfo,
    period: str | None,
    kinds: tuple[str, ...],
    cursor: int,
    count: int,
) -> dict[str, Any]:
    """One sender's own data quality, at record level: its rejected requests (not access
    refusals), the warnings on its records, the flags raised when its records were put into a
    pregnancy, its unrecognised codes and its references to records it never sent; each list
    a page of ``count`` after ``cursor`` (its ``next_cursor`` when more remain). Only ever
    this sender's rows."""
    start, end = period_range(period, zone)
    out: dict[str, Any] = {
        "institution": institution_id,
        "period": period,
        "from": start.isoformat() if start else None,
        "to": end.isoformat() if end else None,
    }
    summary: dict[str, int] = {}
    sections: dict[str, dict[str, Any]] = {}

    def page(kind: str, total: int, items: list[dict[str, Any]], key: str = "id") -> None:
        summary[kind] = total
        if kind in kinds:
            more = len(items) > count
            items = items[:count]
            for item in items:
                item.setdefault("what_to_do", what_to_do(item.get("rule")))
            sections[kind] = {
                "total": total,
                "items": [{k: v for k, v in i.items() if k != key} for i in items],
                "next_cursor": items[-1][key] if more and items else None,
            }

    after = cursor if len(kinds) == 1 else 0
    total, rows = audit_service.sender_rejections(
        session, institution_id, start, end, after, count + 1
    )
    for row in rows:
        row["what_to_do"] = _STATUS_ADVICE.get(int(row["status"] or 0), GENERIC)
    page("rejections", total, rows)
    for kind, level in (("warnings", False), ("flags", True)):
        total, rows = sender_issues(session, institution_id, level, start, end, after, count + 1)
        for row in rows:
            if not level:
                row.pop("pregnancy_id", None)
        page(kind, total, rows)
    total, distinct, rows = sender_unmapped(session, institution_id, start, end, after, count + 1)
    for row in rows:
        row["what_to_do"] = (
            "Map the code in your code table (docs/code-tables.md), or correct its system."
        )
    page("unmapped_codes", total, rows)
    summary["unmapped_distinct_codes"] = distinct
    # the records API's query: one row a reference, the reference's key the cursor
    total, rows = unresolved_reference_page(session, institution_id, start, end, after, count + 1)
    for row in rows:
        row["rule"] = "reference_unresolved"
    page("unresolved_references", total, rows, key="key")
    out["summary"] = summary
    out.update(sections)
    return out


def monthly_trend(
    session: Session, institution_id: str, zone: ZoneInfo, months: list[str]
) -> list[dict[str, Any]]:
    """One institution's record-level counts month by month (``YYYY-MM``, by receipt): its
    rejected requests, the warnings on its records, the flags raised when they were assembled,
    its unrecognised codes and unresolved references. The counts of the sender's own view
    (``sender_view``'s summary for each month), for the monitoring group's trend chart: one
    query per kind, grouped by month (the months' bounds worked out here, in the district's
    time zone, exactly as ``period_range`` does for the sender's view)."""
    if not months:
        return []
    periods: list[Period] = []
    for month in months:
        start, end = period_range(month, zone)
        assert start is not None
        assert end is not None
        periods.append((month, start, end))
    by_kind = {
        "rejections": audit_service.sender_rejections_by_period(session, institution_id, periods),
        "warnings": sender_issues_by_period(session, institution_id, False, periods),
        "flags": sender_issues_by_period(session, institution_id, True, periods),
        "unmapped_codes": sender_unmapped_by_period(session, institution_id, periods),
        "unresolved_references": dangling_references_by_period(session, institution_id, periods),
    }
    return [
        {"month": month, **{kind: by_kind[kind].get(month, 0) for kind in SENDER_KINDS}}
        for month in months
    ]


def last_months(today: date, count: int) -> list[str]:
    """The ``count`` months up to and including today's, oldest first (``YYYY-MM``)."""
    index = today.year * 12 + today.month - 1
    return [f"{i // 12:04d}-{i % 12 + 1:02d}" for i in range(index - count + 1, index + 1)]
