"""NDJSON backfill over HTTP: the body is spooled to disk, imported in the background, and its
progress and final report are kept in ``import_job`` (the FHIR asynchronous pattern: 202 with a
status URL to poll)."""

from __future__ import annotations

import json
import logging
import os
import re
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from mch_service.audit.service import Actor, AuditRecord, record
from mch_service.database import Database
from mch_service.errors import NotFound
from mch_service.fhir_api import repository
from mch_service.fhir_api.bulk import iter_lines, run_import
from mch_service.fhir_api.models import ImportJob
from mch_service.fhir_api.schemas import ImportJobStatus
from mch_service.fhir_api.service import FhirService
from mch_service.timeutil import to_utc, utcnow

log = logging.getLogger(__name__)
_SPOOL_NAME = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.ndjson")


class ImportJobs:
    def __init__(
        self, db: Database, fhir: FhirService, spool_dir: Path, max_line_bytes: int | None = None
    ) -> None:
        self.db = db
        self.max_line_bytes = max_line_bytes
        self.fhir = fhir
        self.spool_dir = spool_dir
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def spool_path(self) -> Path:
        """A new, empty spool file readable by this service's user only: the body holds
        personal data in clear until it is imported (the file is removed right after, and at
        the next start-up if the process died first)."""
        self.spool_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        path = self.spool_dir / f"{uuid.uuid4()}.ndjson"
        # O_EXCL: never reuse (or follow a link planted at) an existing name; 0600 from the
        # start, not chmod-ed after the data is in.
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600))
        return path

    def clean_spool(self) -> int:
        """At start-up: spool files left by a process that stopped mid-import. Their jobs are
        marked interrupted (mark_interrupted); the sender sends the NDJSON again."""
        if not self.spool_dir.is_dir():
            return 0
        removed = 0
        for path in self.spool_dir.iterdir():
            if _SPOOL_NAME.fullmatch(path.name) and path.is_file():
                path.unlink(missing_ok=True)
                removed += 1
        return removed

    def submit(self, actor: Actor, path: Path, lines_total: int) -> str:
        job_id = str(uuid.uuid4())
        with self.db.transaction() as session:
            repository.add_job(
                session,
                ImportJob(
                    id=job_id,
                    institution_id=actor.id,
                    status="queued",
                    created_at=utcnow(),
                    lines_total=lines_total,
                    lines_done=0,
                ),
            )
            record(
                session,
                actor,
                [
                    AuditRecord(
                        "fhir.import",
                        "success",
                        "ImportJob",
                        job_id,
                        202,
                        f"{lines_total} lines queued",
                    )
                ],
            )
        with self._lock:
            if self._executor is None:
                # One import at a time per process: a backfill must not starve live traffic.
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="mch-import")
            self._executor.submit(self._run, job_id, actor, path)
        return job_id

    def _set(self, job_id: str, **values: Any) -> None:
        with self.db.transaction() as session:
            repository.set_job(session, job_id, **values)

    def _run(self, job_id: str, actor: Actor, path: Path) -> None:
        self._set(job_id, status="running", started_at=utcnow())
        done = 0

        def progress(n: int) -> None:
            nonlocal done
            done += n
            self._set(job_id, lines_done=done)

        try:
            with path.open("rb") as fh:
                report = run_import(
                    self.fhir, actor, iter_lines("body", fh, self.max_line_bytes), progress
                )
            self._set(
                job_id,
                status="done",
                finished_at=utcnow(),
                lines_done=report.lines,
                report=json.dumps(report.as_dict(), ensure_ascii=False),
            )
        except Exception as exc:  # noqa: BLE001 - recorded on the job for the sender to see
            log.error("import %s failed: %s", job_id, type(exc).__name__)
            self._set(job_id, status="failed", finished_at=utcnow(), error=type(exc).__name__)
        finally:
            path.unlink(missing_ok=True)

    def status(self, actor: Actor, job_id: str) -> ImportJobStatus:
        try:
            # Job ids are UUIDs we issued; anything else (a NUL would be a database error on
            # PostgreSQL) names no job.
            uuid.UUID(job_id)
        except ValueError:
            raise NotFound(f"No import job {job_id!r}") from None
        with self.db.reading() as session:
            job = repository.job_by_id(session, job_id)
            # Another sender's job is reported as missing: its existence is not theirs to know.
            if job is None or job.institution_id != actor.id:
                raise NotFound(f"No import job {job_id}")
            found: dict[str, Any] = {
                "id": job.id,
                "status": job.status,
                "lines_total": job.lines_total,
                "lines_done": job.lines_done,
                "created_at": to_utc(job.created_at).isoformat(),
                "finished_at": to_utc(job.finished_at).isoformat() if job.finished_at else None,
            }
            # report and error are absent (not null) until there is one
            if job.report:
                found["report"] = json.loads(job.report)
            if job.error:
                found["error"] = job.error
            return ImportJobStatus.model_validate(found)

    def mark_interrupted(self) -> int:
        """At start-up: jobs that were running when the process stopped will not finish.
        Sending the same NDJSON again is safe (an import changes nothing the second time)."""
        with self.db.transaction() as session:
            ids = repository.unfinished_job_ids(session)
            if ids:
                repository.set_jobs(session, ids, status="interrupted", finished_at=utcnow())
        return len(ids)

    def shutdown(self) -> None:
        if self._executor is not None:
            self._executor.shutdown(wait=True)
