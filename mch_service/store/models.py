"""The resource store: every version of every accepted resource, as received.

``fhir_resource`` is one row per logical resource (its current version and what search
needs); ``fhir_resource_version`` keeps every version, sealed (encrypted) because resources
carry names, ID numbers, phones and addresses. Search and uniqueness work on keyed hashes
(``fhir_identifier``) and non-personal columns, never on clear personal data.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
    false,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from mch_service.database import Base

# SQLite only auto-increments INTEGER PRIMARY KEY; PostgreSQL gets a 64-bit key.
PK = BigInteger().with_variant(Integer, "sqlite")


class FhirResource(Base):
    __tablename__ = "fhir_resource"
    __table_args__ = (
        # Ids are scoped per sender: one sender's Patient/123 and another's are two records,
        # so a sender's PUT can neither take nor block another sender's id.
        UniqueConstraint("institution_id", "resource_type", "fhir_id"),
        # Same content created twice by one sender is one record (INTERFACE.md: "same
        # identifier, or same content"); NULL once deleted or when not created by POST.
        UniqueConstraint("institution_id", "resource_type", "create_key"),
        Index("ix_fhir_resource_sender_type_pk", "institution_id", "resource_type", "pk"),
        Index("ix_fhir_resource_type_updated", "resource_type", "last_updated"),
    )

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    resource_type: Mapped[str] = mapped_column(String(64))
    fhir_id: Mapped[str] = mapped_column(String(64))
    institution_id: Mapped[str] = mapped_column(ForeignKey("institution.id"))
    version_id: Mapped[int] = mapped_column(Integer)
    last_updated: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    deleted: Mapped[bool] = mapped_column(Boolean, default=False)
    # Keyed hash of the current content without server-set meta: a PUT of equal content is a no-op.
    content_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    create_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # The clinical date range the `date` search parameter looks at, UTC, end exclusive.
    date_start: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)
    date_end: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), nullable=True)


class FhirResourceVersion(Base):
    __tablename__ = "fhir_resource_version"
    __table_args__ = (UniqueConstraint("resource_pk", "version_id"),)

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    resource_pk: Mapped[int] = mapped_column(ForeignKey("fhir_resource.pk"))
    version_id: Mapped[int] = mapped_column(Integer)
    institution_id: Mapped[str] = mapped_column(String(64))
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    operation: Mapped[str] = mapped_column(String(8))  # create | update | delete
    content_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    # Sealed JSON of the version as stored (see mch_service.crypto); NULL for a delete.
    content: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)


class FhirIdentifier(Base):
    """Identifiers of live resources, as keyed hashes. Most identifiers are not unique (a
    claim group, a visit number); those the identifier policy makes business keys
    (``is_key``: a Patient's resident ID and MRN by default) are unique per sender and type,
    the database's guarantee that one sender's record with one key exists once, even when
    the same record arrives twice at the same moment."""

    __tablename__ = "fhir_identifier"
    __table_args__ = (
        Index(
            "uq_fhir_identifier_key",
            "institution_id",
            "resource_type",
            "token_hash",
            unique=True,
            postgresql_where=text("is_key"),
            sqlite_where=text("is_key"),
        ),
        Index("ix_fhir_identifier_token", "institution_id", "resource_type", "token_hash"),
        Index("ix_fhir_identifier_value", "institution_id", "resource_type", "value_hash"),
    )

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    resource_pk: Mapped[int] = mapped_column(ForeignKey("fhir_resource.pk"), index=True)
    institution_id: Mapped[str] = mapped_column(String(64))
    resource_type: Mapped[str] = mapped_column(String(64))
    token_hash: Mapped[str] = mapped_column(String(64))  # hash of "system|value"
    value_hash: Mapped[str] = mapped_column(String(64))  # hash of "value" (search without system)
    is_key: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())


class FhirReference(Base):
    """References of live resources that search can follow (``subject``, ``patient``)."""

    __tablename__ = "fhir_reference"
    __table_args__ = (Index("ix_fhir_reference_target", "name", "target"),)

    pk: Mapped[int] = mapped_column(PK, primary_key=True, autoincrement=True)
    resource_pk: Mapped[int] = mapped_column(ForeignKey("fhir_resource.pk"), index=True)
    name: Mapped[str] = mapped_column(String(32))
    target: Mapped[str] = mapped_column(String(140))  # "Patient/123"
