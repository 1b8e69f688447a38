"""SQL of the FHIR interface's own table, ``import_job`` (the NDJSON backfills sent over HTTP).
The resources themselves are the store's (``mch_service.store``)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from mch_service.fhir_api.models import ImportJob


def add_job(session: Session, job: ImportJob) -> None:
    session.add(job)


def job_by_id(session: Session, job_id: str) -> ImportJob | None:
    return session.get(ImportJob, job_id)


def set_job(session: Session, job_id: str, **values: Any) -> None:
    session.execute(update(ImportJob).where(ImportJob.id == job_id).values(**values))


def unfinished_job_ids(session: Session) -> list[str]:
    return list(
        session.scalars(select(ImportJob.id).where(ImportJob.status.in_(("queued", "running"))))
    )


def set_jobs(session: Session, job_ids: list[str], **values: Any) -> None:
    session.execute(update(ImportJob).where(ImportJob.id.in_(job_ids)).values(**values))
