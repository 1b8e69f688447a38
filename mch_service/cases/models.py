"""The high-risk register (专案管理), reviewers' follow-ups, and the work lists."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import Boolean, Date, DateTime, Index, Integer, LargeBinary, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mch_service.database import Base
from mch_service.store.models import PK


class CaseRecord(Base):
    """A pregnancy under case management: opened when a case-managed colour arrives."""

    __tablename__ = "case_record"
    __table_args__ = (Index("ix_case_record_status_street", "status", "street"),)

    pregnancy_id: Mapped[str] = mapped_column(String(80), primary_key=True)
    woman_key: Mapped[str] = mapped_column(String(80), index=True)
    status: Mapped[str] = mapped_column(String(8))  # open | closed
    opened_on: Mapped[date] = mapped_column(Date)
    colour: Mapped[str | None] = mapped_column(String(8), nullable=True)  # current severity
    purple: Mapped[bool] = mapped_column(Boolean, default=False)
    street: Mapped[str | None] = mapped_column(String(32), nullable=True)
    institutions: Mapped[str] = mapped_column(Text, default="")
    assignee: Mapped[str | None] = mapped_column(String(64), nullable=True, index=True)
    closed_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # Sealed (mch_service.crypto): a reviewer's reason may name the woman or her situation.
    close_reason_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    closed_by_reviewer: Mapped[bool] = mapped_column(Boolean, default=False)
    # Why it was closed, as a code of worklists.CLOSE_REASONS (transferred_out, ...); the
    # free-text reason stays sealed above.
    close_code: Mapped[str | None] = mapped_column(String(24), nullable=True)
    next_due: Mapped[date | None] = mapped_column(Date, nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)  # optimistic concurrency
    # False: a lightweight record, opened by a reviewer's action (a follow-up, an assignment, a
    # recorded outcome) on a woman not under case management (issue 16); it becomes a managed
    # case when a case-managed colour arrives.
    managed: Mapped[bool] = mapped_column(Boolean, default=True)
    # The outcome a reviewer recorded (POST /cases/{id}/outcome): worklists.OUTCOME_KINDS, its
    # day, where, who told (worklists.OUTCOME_SOURCES), who recorded it. Place and note are
    # free text about her, sealed.
    outcome_kind: Mapped[str | None] = mapped_column(String(24), nullable=True)
    outcome_date: Mapped[date | None] = mapped_column(Date, nullable=True)
    outcome_place_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    outcome_source: Mapped[str | None] = mapped_column(String(24), nullable=True)
    outcome_note_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    outcome_by: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The list day it was recorded on: an outcome without a day of its own counts from then
    # (lists recomputed for an earlier day do not see it). NULL on outcomes recorded before
    # migration 0020: those count from any day.
    outcome_recorded_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class FollowUp(Base):
    __tablename__ = "follow_up"

    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    pregnancy_id: Mapped[str] = mapped_column(String(80), index=True)
    contact_date: Mapped[date] = mapped_column(Date)
    kind: Mapped[str] = mapped_column(String(16))  # phone | home_visit | clinic_visit | referral
    # Sealed like the notes: free text about her ("reached; husband says she moved to ...").
    outcome_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    notes_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    next_due: Mapped[date | None] = mapped_column(Date, nullable=True)
    recorded_by: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    # A correction is a new row naming the one it replaces (``corrects``); the original stays,
    # marked ``corrected_by``, in the history and out of every count.
    corrects: Mapped[int | None] = mapped_column(Integer, nullable=True)
    corrected_by: Mapped[int | None] = mapped_column(Integer, nullable=True)


class CaseEvent(Base):
    """Assignments, closing and reopening, acknowledgements: who, when, why."""

    __tablename__ = "case_event"

    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    pregnancy_id: Mapped[str] = mapped_column(String(80), index=True)
    action: Mapped[str] = mapped_column(String(24))
    # Structured details in clear (an assignee, a follow-up kind, an acknowledged record);
    # a reviewer's free-text reason (close, reopen) sealed in reason_sealed instead.
    detail: Mapped[str | None] = mapped_column(Text, nullable=True)
    reason_sealed: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    by: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class WorkItem(Base):
    """One pregnancy on one work list, as of ``as_of``: why, since when, what clears it."""

    __tablename__ = "work_item"
    __table_args__ = (
        Index("ix_work_item_list", "list_name", "since"),
        Index("ix_work_item_street", "street", "list_name"),
        # the lists' day (max(as_of)) is read by every assembly round and reviewer action:
        # without it, a scan of every item (3 ms a call at 10,000 pregnancies, growing)
        Index("ix_work_item_as_of", "as_of"),
    )

    id: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    list_name: Mapped[str] = mapped_column(String(24))
    pregnancy_id: Mapped[str] = mapped_column(String(80), index=True)
    woman_key: Mapped[str] = mapped_column(String(80), index=True)
    as_of: Mapped[date] = mapped_column(Date)
    since: Mapped[date] = mapped_column(Date)
    overdue: Mapped[bool] = mapped_column(Boolean, default=False)
    colour: Mapped[str | None] = mapped_column(String(8), nullable=True)
    purple: Mapped[bool] = mapped_column(Boolean, default=False)
    street: Mapped[str | None] = mapped_column(String(32), nullable=True)
    institutions: Mapped[str] = mapped_column(Text, default="")
    reason: Mapped[str] = mapped_column(Text)
    clears: Mapped[str] = mapped_column(Text)
    # The call sheet (issue 16), computed with the item at ``as_of``.
    reason_zh: Mapped[str] = mapped_column(Text, default="")
    clears_zh: Mapped[str] = mapped_column(Text, default="")
    last_contact: Mapped[date | None] = mapped_column(Date, nullable=True)
    next_due: Mapped[date | None] = mapped_column(Date, nullable=True)
    lmp: Mapped[date | None] = mapped_column(Date, nullable=True)
    edd: Mapped[date | None] = mapped_column(Date, nullable=True)
    delivered_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    risk_factors: Mapped[str] = mapped_column(Text, default="")
    # 0 purple or red, 1 orange, 2 yellow, 3 green or no colour; then days past next_due
    urgency: Mapped[int] = mapped_column(Integer, default=3)
    days_overdue: Mapped[int] = mapped_column(Integer, default=0)
    # no street on her records: listed under MCH_DEFAULT_JURISDICTION_STREET
    street_missing: Mapped[bool] = mapped_column(Boolean, default=False)
