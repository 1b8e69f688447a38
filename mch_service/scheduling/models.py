"""The records of scheduled work: every job run, and the lease that lets one process schedule."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mch_service.database import Base
from mch_service.store.models import PK


class JobRun(Base):
    """Every run of every job: when, how it ended, how much it did."""

    __tablename__ = "job_run"

    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    job: Mapped[str] = mapped_column(String(48), index=True)
    trigger: Mapped[str] = mapped_column(String(16))  # scheduled | manual
    as_of: Mapped[date | None] = mapped_column(Date, nullable=True)
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    status: Mapped[str] = mapped_column(String(16))  # running | succeeded | failed
    rows_touched: Mapped[int] = mapped_column(Integer, default=0)
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    host: Mapped[str | None] = mapped_column(String(120), nullable=True)


class SchedulerLease(Base):
    """Who runs the scheduler. A holder renews its lease; a process takes it over only once the
    lease has run out, so two workers never both schedule."""

    __tablename__ = "scheduler_lease"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    holder: Mapped[str] = mapped_column(String(120))
    expires_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
