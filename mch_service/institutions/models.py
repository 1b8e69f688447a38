from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, DateTime, ForeignKey, Integer, String, text
from sqlalchemy.orm import Mapped, mapped_column

from mch_service.database import Base


class Institution(Base):
    """A hospital or community health centre that sends records."""

    __tablename__ = "institution"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    # hospital | mch_hospital (the district MCH hospital) | chc (community health centre) | other
    kind: Mapped[str] = mapped_column(String(16), default="other", server_default=text("'other'"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


class InstitutionApiKey(Base):
    """API keys are random 256-bit tokens, kept only as SHA-256 hashes (a slow hash adds
    nothing for keys with that much entropy, and would cost every request)."""

    __tablename__ = "institution_api_key"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    institution_id: Mapped[str] = mapped_column(ForeignKey("institution.id"), index=True)
    key_prefix: Mapped[str] = mapped_column(String(16))
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class Street(Base):
    """A street or town (镇街) of the district: its name, and the community health centre
    responsible for the women living there (the centre a reviewer calls, the 建册 place)."""

    __tablename__ = "street"

    code: Mapped[str] = mapped_column(String(32), primary_key=True)
    name: Mapped[str] = mapped_column(String(100))
    name_en: Mapped[str | None] = mapped_column(String(100), nullable=True)
    centre_id: Mapped[str | None] = mapped_column(
        ForeignKey("institution.id"), nullable=True, index=True
    )
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
