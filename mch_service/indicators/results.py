"""Stored indicator results: numerator and denominator, not just the rate, with the catalogue
version and settings that produced them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, Float, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mch_service.database import Base


class IndicatorResult(Base):
    __tablename__ = "indicator_result"
    # The span of the stored results (min start, max end) is read by every indicator table
    # request: each bound is then one index probe instead of a scan of every result row.
    __table_args__ = (
        Index("ix_indicator_result_period_start", "period_start"),
        Index("ix_indicator_result_period_end", "period_end"),
    )

    indicator_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    period: Mapped[str] = mapped_column(String(16), primary_key=True)
    area: Mapped[str] = mapped_column(String(32), primary_key=True)  # district | street code
    institution: Mapped[str] = mapped_column(String(64), primary_key=True)  # all | id
    period_start: Mapped[date] = mapped_column(Date)
    period_end: Mapped[date] = mapped_column(Date)
    numerator: Mapped[int] = mapped_column(Integer)
    denominator: Mapped[int] = mapped_column(Integer)
    value: Mapped[float | None] = mapped_column(Float, nullable=True)
    unit: Mapped[str] = mapped_column(String(16))
    target: Mapped[float | None] = mapped_column(Float, nullable=True)
    direction: Mapped[str | None] = mapped_column(String(4), nullable=True)
    status: Mapped[str] = mapped_column(String(16))
    catalogue_version: Mapped[str] = mapped_column(String(16))
    settings: Mapped[str] = mapped_column(Text)  # JSON of IndicatorSettings
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # An external indicator's figure as the monitoring group entered it (PUT .../external):
    # where it comes from, a note, and who entered it. None for calculated results.
    entered_source: Mapped[str | None] = mapped_column(Text, nullable=True)
    entered_note: Mapped[str | None] = mapped_column(Text, nullable=True)
    entered_by: Mapped[str | None] = mapped_column(String(64), nullable=True)


class IndicatorRun(Base):
    """The indicator job's latest run (one row, ``id`` 1), written in the transaction of its
    results. The job writes only the result rows that changed, so a row's ``computed_at`` is
    when its figure last changed; the figures were last *confirmed* by this run. The readers of
    "when were these figures computed" (the results' ``computed_at``, the report's 计算时间, the
    freshness gauge) take the later of the two for calculated indicators."""

    __tablename__ = "indicator_run"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    computed_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    full: Mapped[bool] = mapped_column(Boolean)
    rows_computed: Mapped[int] = mapped_column(Integer)  # result rows of the affected periods
    rows_changed: Mapped[int] = mapped_column(Integer)  # of which inserted, updated or deleted
