"""SQL of the bulk export's own tables (``export_client``, ``export_job``). The resources come
from the store's service (``mch_service.store.service.current_versions``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from mch_service.bulk_export.models import ExportClient, ExportJob

ACTIVE = ("queued", "running")


def client_by_id(session: Session, client_id: str) -> ExportClient | None:
    return session.get(ExportClient, client_id)


def client_by_key_hash(session: Session, key_hash: str) -> ExportClient | None:
    return session.scalars(select(ExportClient).where(ExportClient.key_hash == key_hash)).first()


def add_client(session: Session, client: ExportClient) -> None:
    session.add(client)
    session.flush()


def all_clients(session: Session) -> list[ExportClient]:
    return list(session.scalars(select(ExportClient).order_by(ExportClient.id)))


def add_job(session: Session, job: ExportJob) -> None:
    session.add(job)
    session.flush()


def job_by_id(session: Session, job_id: str) -> ExportJob | None:
    return session.get(ExportJob, job_id)


def set_job(session: Session, job_id: str, **values: Any) -> int:
    result = session.execute(update(ExportJob).where(ExportJob.id == job_id).values(**values))
    return result.rowcount  # type: ignore[attr-defined,no-any-return]


def set_job_if(session: Session, job_id: str, statuses: tuple[str, ...], **values: Any) -> int:
    """Update the job only while its status is one of ``statuses`` (how many rows changed: 0
    when it was cancelled or finished meanwhile)."""
    result = session.execute(
        update(ExportJob)
        .where(ExportJob.id == job_id, ExportJob.status.in_(statuses))
        .values(**values)
    )
    return result.rowcount  # type: ignore[attr-defined,no-any-return]


def job_status(session: Session, job_id: str) -> str | None:
    return session.scalar(select(ExportJob.status).where(ExportJob.id == job_id))


def active_count(session: Session, owner: tuple[str, str] | None = None) -> int:
    stmt = select(func.count()).select_from(ExportJob).where(ExportJob.status.in_(ACTIVE))
    if owner is not None:
        stmt = stmt.where(ExportJob.owner_kind == owner[0], ExportJob.owner_id == owner[1])
    return session.scalar(stmt) or 0


def stale_active_ids(session: Session, heartbeat_before: datetime) -> list[str]:
    return list(
        session.scalars(
            select(ExportJob.id).where(
                ExportJob.status.in_(ACTIVE), ExportJob.heartbeat_at < heartbeat_before
            )
        )
    )


def expired_ids(session: Session, now: datetime) -> list[str]:
    return list(
        session.scalars(
            select(ExportJob.id).where(ExportJob.status == "done", ExportJob.expires_at < now)
        )
    )


def ids_with_files(session: Session, job_ids: list[str]) -> set[str]:
    """Of these ids, the jobs whose files must stay (running, or done and not expired)."""
    if not job_ids:
        return set()
    return set(
        session.scalars(
            select(ExportJob.id).where(
                ExportJob.id.in_(job_ids), ExportJob.status.in_((*ACTIVE, "done"))
            )
        )
    )
