"""Data quality per sending institution: completeness, timeliness, rejections, unmapped codes.

| metric | meaning |
|---|---|
| resources | live resources the institution sent |
| rejected | writes refused (4xx) in the audit log |
| rejection_rate | rejected / (rejected + accepted writes) |
| resident_id_valid_share | share of its women's Patient records with a valid resident ID |
| street_share | share of its women's Patient records whose address names a street code |
| delay_days_median | median days from the clinical date to receipt (resources with a date) |
| late_share | share received more than 30 days after their clinical date |
| unmapped_codes | distinct codes no code table recognises |
| plausibility_flags | records flagged clinically impossible or inconsistent |
"""

from __future__ import annotations

from typing import Any

import pandas as pd
from sqlalchemy.orm import Session

from mch_service.audit import service as audit_service
from mch_service.domain.service import (
    issues_by_institution,
    unmapped_codes_by_institution,
    women_records_by_institution,
)
from mch_service.quality import repository
from mch_service.store.service import live_counts_by_institution, live_dated_resources
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


def report(session: Session) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for f in repository.figures(session):
        row = out.setdefault(
            f.institution_id,
            {"institution": f.institution_id, "computed_at": to_utc(f.computed_at).isoformat()},
        )
        row[f.metric] = f.value
    return list(out.values())
