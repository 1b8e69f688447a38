"""The report cards and reviews of maternal deaths (one table, ``maternal_death_report``).

A row is either a death entered from a report card (``kind = "entered"``) or the review of a
death known from a feed (``kind = "feed"``, keyed by the woman's key as the ``death`` row is).
Personal data (resident ID, name, the reviewer's reason) is sealed (mch_service.crypto); the
resident ID is also kept as a keyed hash, to find the woman a feed knows.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Date, DateTime, Integer, LargeBinary, String
from sqlalchemy.orm import Mapped, mapped_column

from mch_service.database import Base
from mch_service.store.models import PK

ENTERED, FEED = "entered", "feed"
PENDING, CONFIRMED, EXCLUDED = "pending", "confirmed", "excluded"


class MaternalDeathReport(Base):
    __tablename__ = "maternal_death_report"

    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(8))  # entered | feed
    # The woman: "rid:<hash>" from a valid resident ID (as the domain keys women), the death
    # row's key for a feed death; None for a card whose resident ID is not valid.
    woman_key: Mapped[str | None] = mapped_column(String(80), nullable=True, index=True)
    resident_id_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    name_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    death_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    pregnancy_end_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    outcome: Mapped[str | None] = mapped_column(String(20), nullable=True)
    ga_days: Mapped[int | None] = mapped_column(Integer, nullable=True)
    street: Mapped[str | None] = mapped_column(String(32), nullable=True)
    institution_id: Mapped[str | None] = mapped_column(String(64), nullable=True)
    cause_code: Mapped[str | None] = mapped_column(String(32), nullable=True)
    # accidental | self_harm | care_complication | obstetric | None, from the cause's code
    cause_class: Mapped[str | None] = mapped_column(String(24), nullable=True)
    classification: Mapped[str] = mapped_column(String(24))  # direct | indirect | ...
    review_status: Mapped[str] = mapped_column(String(12), index=True)
    reviewed_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    reviewed_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    review_reason_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # The indicator job recomputes when a card or a review changes after its last run.
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)
