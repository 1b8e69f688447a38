"""SQL of the data-quality figures, and the audit counts they read.

``fhir_write_outcomes`` reads the audit table: the audit package offers no count of writes per
sender yet; when it does, the quality service calls that instead.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, func, insert, select
from sqlalchemy.orm import Session

from mch_service.audit.models import AuditEvent
from mch_service.quality.models import DataQualityFigure


def fhir_write_outcomes(session: Session) -> list[tuple[str, str, int]]:
    """(sender, outcome, how many) of the FHIR writes the audit log holds."""
    return [
        (str(inst), outcome, n)
        for inst, outcome, n in session.execute(
            select(AuditEvent.actor_id, AuditEvent.outcome, func.count())
            .where(AuditEvent.actor_kind == "institution", AuditEvent.action.startswith("fhir."))
            .group_by(AuditEvent.actor_id, AuditEvent.outcome)
        )
    ]


def replace_figures(session: Session, rows: list[dict[str, Any]]) -> None:
    session.execute(delete(DataQualityFigure))
    if rows:
        session.execute(insert(DataQualityFigure), rows)


def figures(session: Session) -> list[DataQualityFigure]:
    """Every figure, by institution then metric."""
    return list(
        session.scalars(
            select(DataQualityFigure).order_by(
                DataQualityFigure.institution_id, DataQualityFigure.metric
            )
        )
    )
