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
from sqlalchemy import Integer, delete, func, insert, select
from sqlalchemy.orm import Session

from mch_service.audit.models import AuditEvent
from mch_service.domain import models as m
from mch_service.quality.models import DataQualityFigure
from mch_service.store.models import FhirResource
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

    put(
        session.execute(
            select(FhirResource.institution_id, func.count())
            .where(FhirResource.deleted.is_(False))
            .group_by(FhirResource.institution_id)
        ),
        "resources",
    )
    audit = session.execute(
        select(AuditEvent.actor_id, AuditEvent.outcome, func.count())
        .where(AuditEvent.actor_kind == "institution", AuditEvent.action.startswith("fhir."))
        .group_by(AuditEvent.actor_id, AuditEvent.outcome)
    ).all()
    by_inst: dict[str, dict[str, int]] = {}
    for inst, outcome, n in audit:
        by_inst.setdefault(str(inst), {})[outcome] = n
    for inst, counts in by_inst.items():
        rejected = counts.get("rejected", 0)
        total = rejected + counts.get("success", 0)
        figures[(inst, "rejected")] = float(rejected)
        figures[(inst, "rejection_rate")] = rejected / total if total else None
    pr = m.PatientRecord
    women = session.execute(
        select(
            pr.institution_id,
            func.count(),
            func.sum(func.cast(pr.resident_id_valid, Integer)),
            func.count(pr.street),
        )
        .where(pr.mother_ref.is_(None))
        .group_by(pr.institution_id)
    )
    for inst, n, valid, streets in women:
        figures[(inst, "resident_id_valid_share")] = (valid or 0) / n if n else None
        figures[(inst, "street_share")] = streets / n if n else None
    dated = pd.DataFrame(
        session.execute(
            select(
                FhirResource.institution_id, FhirResource.date_start, FhirResource.last_updated
            ).where(FhirResource.deleted.is_(False), FhirResource.date_start.is_not(None))
        ).all(),
        columns=["inst", "start", "received"],
    )
    if not dated.empty:
        dated["start"] = pd.to_datetime([to_utc(v) for v in dated["start"]], utc=True)
        dated["received"] = pd.to_datetime([to_utc(v) for v in dated["received"]], utc=True)
        dated["delay"] = (dated["received"] - dated["start"]).dt.total_seconds() / 86400
        for inst, group in dated.groupby("inst"):
            figures[(str(inst), "delay_days_median")] = float(group["delay"].median())
            figures[(str(inst), "late_share")] = float((group["delay"] > LATE_DAYS).mean())
    put(
        session.execute(
            select(
                m.UnmappedCode.institution_id,
                func.count(func.distinct(m.UnmappedCode.system + "|" + m.UnmappedCode.code)),
            ).group_by(m.UnmappedCode.institution_id)
        ),
        "unmapped_codes",
    )
    put(
        session.execute(
            select(m.DataQualityIssue.institution_id, func.count())
            .where(m.DataQualityIssue.institution_id.is_not(None))
            .group_by(m.DataQualityIssue.institution_id)
        ),
        "plausibility_flags",
    )
    now = utcnow()
    session.execute(delete(DataQualityFigure))
    rows = [
        {"institution_id": inst, "metric": metric, "value": value, "computed_at": now}
        for (inst, metric), value in sorted(figures.items())
    ]
    if rows:
        session.execute(insert(DataQualityFigure), rows)
    return len(rows)


def report(session: Session) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for f in session.scalars(
        select(DataQualityFigure).order_by(
            DataQualityFigure.institution_id, DataQualityFigure.metric
        )
    ):
        row = out.setdefault(
            f.institution_id,
            {"institution": f.institution_id, "computed_at": to_utc(f.computed_at).isoformat()},
        )
        row[f.metric] = f.value
    return list(out.values())
