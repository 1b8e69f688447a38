"""The SQL the operators' probes and gauges read: a ping, the schema's revision, the assembly
queue, the indicators' freshness, the newest sealed version (for a restored backup's key
check). (The last three read other packages' tables: they move to the ``domain``,
``indicators`` and ``store`` services once those offer them.)"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, func, select, text
from sqlalchemy.orm import Session

from mch_service.domain.models import AssemblyQueue
from mch_service.indicators.results import IndicatorResult
from mch_service.store.models import FhirResource, FhirResourceVersion


def schema_heads(session: Session) -> frozenset[str]:
    """The revisions the database is at (a failure here means it is unreachable)."""
    conn = session.connection()
    conn.execute(text("SELECT 1"))
    return frozenset(MigrationContext.configure(conn).get_current_heads())


def assembly_queue(session: Session) -> tuple[int, datetime | None]:
    """How many women wait to be assembled, and since when the oldest waits."""
    depth, oldest = session.execute(select(func.count(), func.min(AssemblyQueue.enqueued_at))).one()
    return depth or 0, oldest


def indicators_computed(session: Session) -> list[tuple[str, datetime | None]]:
    """(indicator, when its results were last computed)."""
    rows = session.execute(
        select(IndicatorResult.indicator_id, func.max(IndicatorResult.computed_at)).group_by(
            IndicatorResult.indicator_id
        )
    )
    return [(indicator, computed) for indicator, computed in rows]


@dataclass(frozen=True)
class SealedVersion:
    resource_type: str
    fhir_id: str
    version_id: int
    content: bytes


def newest_sealed_version(conn: Connection) -> SealedVersion | None:
    """The newest stored version that holds content (sealed)."""
    row = conn.execute(
        select(
            FhirResource.resource_type,
            FhirResource.fhir_id,
            FhirResourceVersion.version_id,
            FhirResourceVersion.content,
        )
        .join(FhirResource, FhirResource.pk == FhirResourceVersion.resource_pk)
        .where(FhirResourceVersion.content.is_not(None))
        .order_by(FhirResourceVersion.pk.desc())
        .limit(1)
    ).first()
    if row is None:
        return None
    resource_type, fhir_id, version_id, content = row
    return SealedVersion(resource_type, fhir_id, version_id, bytes(content or b""))
