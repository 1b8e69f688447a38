"""Tables of the FHIR Bulk Data export: the export clients the administrator registers (the
province or city platform that pulls the district's data) and the export jobs."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from mch_service.database import Base


class ExportClient(Base):
    """A platform allowed to pull bulk exports, and nothing else: its key is not an institution
    key (it cannot send or read records) nor a staff token. One key at a time, kept only as a
    SHA-256 hash (random 256-bit keys, as the institutions')."""

    __tablename__ = "export_client"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    key_prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    key_issued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class ExportJob(Base):
    """One $export request: what was asked, its progress, and the manifest when done. The files
    are on disk under MCH_EXPORT_DIR/<id>/ until ``expires_at``."""

    __tablename__ = "export_job"
    __table_args__ = (
        Index("ix_export_job_owner", "owner_kind", "owner_id"),
        Index("ix_export_job_status", "status"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    owner_kind: Mapped[str] = mapped_column(String(16))  # export_client | user
    owner_id: Mapped[str] = mapped_column(String(64))
    level: Mapped[str] = mapped_column(String(16))  # system | patient
    types: Mapped[str] = mapped_column(Text)  # comma-separated resource types
    since: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    request_url: Mapped[str] = mapped_column(Text)
    # queued | running | done | failed | cancelled | expired
    status: Mapped[str] = mapped_column(String(16))
    transaction_time: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    heartbeat_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    resources_done: Mapped[int] = mapped_column(Integer, default=0)
    # JSON: {"output": [{"type", "file", "count"}], "error": [...]} once done
    manifest: Mapped[str | None] = mapped_column(Text, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
