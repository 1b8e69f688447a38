"""SQL of the data-quality figures (the counts they read of other packages come from those
packages' services)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.orm import Session

from mch_service.quality.models import DataQualityFigure


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
