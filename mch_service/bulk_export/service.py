"""The FHIR Bulk Data export (Bulk Data Access IG v2.0.0): who may export, the kick-off
parameters, and the export jobs that write the stored resources as NDJSON files per type.

A job is a row of ``export_job`` (durable: any server process answers its status) worked by a
thread of the process that accepted it, as the ``$import`` jobs are. The files are written
under MCH_EXPORT_DIR/<job id>/ (0700, files 0600), bounded per file and per job, and removed
when the export is cancelled, fails, or expires (MCH_EXPORT_RETENTION_HOURS after it ended).

What goes out is what the senders sent, as stored: the current version of every live (not
deleted) resource, with the server's meta (versionId, lastUpdated) and one meta.tag naming the
sending institution (ids are unique per sender, not across senders). It is the district's data
for the platform above it, personal data included; the platform's key is export-only."""

from __future__ import annotations

import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import IO, Any

import orjson
from sqlalchemy.orm import Session

from mch_service.audit.service import Actor, AuditRecord, record
from mch_service.auth.permissions import Permission, Principal
from mch_service.auth.service import StaffAccounts, actor_of
from mch_service.bulk_export import repository
from mch_service.bulk_export.models import ExportClient, ExportJob
from mch_service.bulk_export.schemas import (
    ExportClientCreate,
    ExportClientRead,
    IssuedExportKey,
)
from mch_service.database import Database
from mch_service.errors import (
    Conflict,
    Forbidden,
    InvalidResource,
    Issue,
    MchError,
    NotFound,
    TooManyRequests,
    Unauthorized,
)
from mch_service.fhir_api.resource_types import R4_RESOURCE_TYPES
from mch_service.institutions.service import authenticate as authenticate_sender
from mch_service.store.service import ResourceStore, current_versions
from mch_service.timeutil import fhir_instant, to_utc, utcnow

log = logging.getLogger(__name__)

KEY_PREFIX = "mchx_"
# _outputFormat values accepted (the IG's and its abbreviations); every one gives FHIR NDJSON
OUTPUT_FORMATS = ("application/fhir+ndjson", "application/ndjson", "ndjson")
NDJSON = "application/fhir+ndjson"
RETRY_AFTER_SECONDS = 5
_STALE_AFTER = timedelta(minutes=5)  # an active job without a heartbeat this long has died
_PAGE = 500  # resources read per query (each page is one short read transaction)
_JOB_ID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
_FILE_NAME = re.compile(r"[A-Za-z]{1,64}-[0-9]{1,6}\.ndjson")
_PARAMS = ("_type", "_since", "_outputFormat")

# The R4 Patient compartment (CompartmentDefinition/patient): what Patient/$export exports.
PATIENT_COMPARTMENT: frozenset[str] = frozenset(
    """Account AdverseEvent AllergyIntolerance Appointment AppointmentResponse AuditEvent Basic
    BodyStructure CarePlan CareTeam ChargeItem Claim ClaimResponse ClinicalImpression
    Communication CommunicationRequest Composition Condition Consent Coverage
    CoverageEligibilityRequest CoverageEligibilityResponse DetectedIssue DeviceRequest
    DeviceUseStatement DiagnosticReport DocumentManifest DocumentReference Encounter
    EnrollmentRequest EpisodeOfCare ExplanationOfBenefit FamilyMemberHistory Flag Goal Group
    ImagingStudy Immunization ImmunizationEvaluation ImmunizationRecommendation Invoice List
    MeasureReport Media MedicationAdministration MedicationDispense MedicationRequest
    MedicationStatement MolecularSequence NutritionOrder Observation Patient Person Procedure
    Provenance QuestionnaireResponse RelatedPerson RequestGroup ResearchSubject RiskAssessment
    Schedule ServiceRequest Specimen SupplyDelivery SupplyRequest VisionPrescription""".split()
)


# -- who is exporting ---------------------------------------------------------------------


@dataclass(frozen=True)
class Exporter:
    """An export client (the platform) or an administrator, as the export sees them."""

    kind: str  # export_client | user
    id: str
    client_ip: str | None = None

    @property
    def actor(self) -> Actor:
        return Actor(self.kind, self.id, self.client_ip)


def _hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def identify(
    session: Session, accounts: StaffAccounts, token: str, client_ip: str | None
) -> Exporter:
    """The exporter behind a bearer token: an export client's key, or the token of a staff
    member allowed to export (administrators). An institution's key is refused (403): a
    hospital sends its records and reads its own, it does not take the district's."""
    client = repository.client_by_key_hash(session, _hash_key(token))
    if client is not None:
        if not client.active:
            raise Unauthorized("This export client is disabled")
        return Exporter("export_client", client.id, client_ip)
    try:
        sender = authenticate_sender(session, token)
    except Unauthorized:
        sender = None
    if sender is not None:
        raise Forbidden(
            "An institution's API key sends and reads its own records; it cannot export the "
            "district's data (a bulk export needs an export client's key or an administrator)"
        )
    try:
        principal, _row = accounts.resolve(session, token, None)
    except Unauthorized:
        raise Unauthorized(
            "Send an export client's key or an administrator's token as "
            "'Authorization: Bearer <key>'"
        ) from None
    if not principal.can(Permission.BULK_EXPORT):
        raise Forbidden(f"Your role ({principal.role}) does not allow a bulk export")
    return Exporter("user", principal.username, client_ip)


def audit_refusal(session: Session, client_ip: str | None, status: int, what: str) -> None:
    """A refused export request (wrong key, a hospital's key, a staff role that may not). The
    path is the client's: control characters (a NUL, which PostgreSQL refuses) are escaped."""
    what = "".join(c if c.isprintable() else f"\\x{ord(c):02x}" for c in what)
    record(
        session,
        Actor("anonymous", None, client_ip),
        [AuditRecord("fhir.export", "denied", None, None, status, what[:300])],
    )


# -- export clients (the staff API, administrators) ----------------------------------------


def _client_read(c: ExportClient) -> ExportClientRead:
    return ExportClientRead(
        id=c.id,
        name=c.name,
        active=c.active,
        key_prefix=c.key_prefix,
        created_at=fhir_instant(c.created_at),
        key_issued_at=fhir_instant(c.key_issued_at),
    )


def _new_key() -> tuple[str, str, str]:
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    return key, key[:12], _hash_key(key)


def _audited(session: Session, by: Principal, action: str, client_id: str) -> None:
    record(session, actor_of(by), [AuditRecord(action, "success", "ExportClient", client_id)])


def register_client(session: Session, by: Principal, body: ExportClientCreate) -> IssuedExportKey:
    by.require(Permission.MANAGE_INSTITUTIONS)
    if repository.client_by_id(session, body.id) is not None:
        raise Conflict(f"Export client {body.id!r} already exists")
    key, prefix, key_hash = _new_key()
    now = utcnow()
    repository.add_client(
        session,
        ExportClient(
            id=body.id,
            name=body.name,
            key_prefix=prefix,
            key_hash=key_hash,
            active=True,
            created_at=now,
            key_issued_at=now,
        ),
    )
    _audited(session, by, "export_client.add", body.id)
    return IssuedExportKey(id=body.id, api_key=key)


def list_clients(session: Session, by: Principal) -> list[ExportClientRead]:
    by.require(Permission.MANAGE_INSTITUTIONS)
    return [_client_read(c) for c in repository.all_clients(session)]


def _client(session: Session, client_id: str) -> ExportClient:
    client = repository.client_by_id(session, client_id)
    if client is None:
        raise NotFound(f"No export client {client_id!r}")
    return client


def rotate_client_key(session: Session, by: Principal, client_id: str) -> IssuedExportKey:
    """A new key; the old one stops working at once (one key per client)."""
    by.require(Permission.MANAGE_INSTITUTIONS)
    client = _client(session, client_id)
    key, client.key_prefix, client.key_hash = _new_key()
    client.key_issued_at = utcnow()
    _audited(session, by, "export_client.rotate_key", client_id)
    return IssuedExportKey(id=client_id, api_key=key)


def set_client_active(
    session: Session, by: Principal, client_id: str, active: bool
) -> ExportClientRead:
    by.require(Permission.MANAGE_INSTITUTIONS)
    client = _client(session, client_id)
    client.active = active
    _audited(session, by, "export_client.enable" if active else "export_client.disable", client_id)
    return _client_read(client)


# -- the kick-off request ------------------------------------------------------------------


@dataclass(frozen=True)
class ExportRequest:
    level: str  # system | patient
    types: tuple[str, ...]
    since: datetime | None
    url: str  # the kick-off URL as the client sent it (the manifest's `request`)


def _refuse(message: str, expression: str, code: str = "value") -> InvalidResource:
    return InvalidResource([Issue(message, expression, code)], message)


def parse_since(value: str) -> datetime:
    """A FHIR instant: a date and time with seconds and a time zone."""
    text = value.strip()
    try:
        parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        parsed = None
    if parsed is None or parsed.tzinfo is None or "T" not in text:
        raise _refuse(
            "_since must be a FHIR instant with a time zone, e.g. 2025-01-01T00:00:00+08:00",
            "_since",
        )
    return to_utc(parsed)


def parse_request(level: str, params: list[tuple[str, str]], url: str) -> ExportRequest:
    allowed = PATIENT_COMPARTMENT if level == "patient" else R4_RESOURCE_TYPES
    types: list[str] = []
    since: datetime | None = None
    for name, value in params:
        if name not in _PARAMS:
            raise _refuse(
                f"The export parameter {name!r} is not supported here (supported: "
                f"{', '.join(_PARAMS)})",
                name,
                "not-supported",
            )
        if name == "_outputFormat" and value.strip() not in OUTPUT_FORMATS:
            raise _refuse(
                f"_outputFormat {value!r} is not supported: this server writes FHIR NDJSON "
                f"({', '.join(OUTPUT_FORMATS)})",
                "_outputFormat",
                "not-supported",
            )
        if name == "_since":
            if since is not None:
                raise _refuse("_since is given twice", "_since")
            since = parse_since(value)
        if name == "_type":
            for t in (x.strip() for x in value.split(",")):
                if t not in R4_RESOURCE_TYPES:
                    raise _refuse(f"_type: {t!r} is not a FHIR R4 resource type", "_type")
                if t not in allowed:
                    raise _refuse(
                        f"_type: {t} is not in the Patient compartment (use the system-level "
                        "$export for it)",
                        "_type",
                    )
                if t not in types:
                    types.append(t)
    chosen = tuple(types) if types else tuple(sorted(allowed))
    return ExportRequest(level, chosen, since, url)


# -- the jobs ------------------------------------------------------------------------------


class _ExportTooLarge(Exception):
    pass


class _Stopped(Exception):
    pass


@dataclass
class _Output:
    type: str
    index: int
    handle: IO[bytes]
    count: int = 0
    size: int = 0


@dataclass
class _Writer:
    """NDJSON files per type: <Type>-<n>.ndjson, a new file when the next line would pass the
    file limit; the job fails past the job limit."""

    folder: Path
    max_file_bytes: int
    max_job_bytes: int
    total: int = 0
    size: int = 0
    open_files: dict[str, _Output] = field(default_factory=dict)
    done: list[tuple[str, str, int]] = field(default_factory=list)  # (type, file, count)

    def _open(self, rtype: str, index: int) -> _Output:
        path = self.folder / f"{rtype}-{index}.ndjson"
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        return _Output(rtype, index, os.fdopen(fd, "wb"))

    def _close(self, out: _Output) -> None:
        out.handle.close()
        self.done.append((out.type, f"{out.type}-{out.index}.ndjson", out.count))

    def write(self, rtype: str, line: bytes) -> None:
        self.size += len(line)
        if self.size > self.max_job_bytes:
            raise _ExportTooLarge
        out = self.open_files.get(rtype)
        if out is None:
            out = self.open_files[rtype] = self._open(rtype, 1)
        elif out.count and out.size + len(line) > self.max_file_bytes:
            self._close(out)
            out = self.open_files[rtype] = self._open(rtype, out.index + 1)
        out.handle.write(line)
        out.count += 1
        out.size += len(line)
        self.total += 1

    def close(self) -> list[dict[str, Any]]:
        for out in self.open_files.values():
            self._close(out)
        self.open_files.clear()
        return [
            {"type": t, "file": f, "count": n}
            for t, f, n in sorted(self.done, key=lambda d: (d[0], int(d[1].rsplit("-", 1)[1][:-7])))
        ]

    def abandon(self) -> None:
        for out in self.open_files.values():
            out.handle.close()
        self.open_files.clear()


@dataclass(frozen=True)
class JobView:
    """What the status URL answers from."""

    id: str
    status: str
    resources_done: int
    transaction_time: datetime
    request_url: str
    expires_at: datetime | None
    output: list[dict[str, Any]]
    error: str | None


class ExportJobs:
    def __init__(
        self,
        db: Database,
        store: ResourceStore,
        export_dir: Path,
        canonical_base: str,
        max_file_bytes: int,
        max_job_bytes: int,
        retention: timedelta,
        max_active: int,
    ) -> None:
        self.db = db
        self.store = store
        self.export_dir = export_dir
        self.sender_tag_system = f"{canonical_base.rstrip('/')}/CodeSystem/sender"
        self.max_file_bytes = max_file_bytes
        self.max_job_bytes = max_job_bytes
        self.retention = retention
        self.max_active = max_active
        self._executor: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()

    # -- kick-off, status, cancel, files ------------------------------------------------

    def kick_off(self, exporter: Exporter, request: ExportRequest) -> str:
        self.sweep()
        job_id = str(uuid.uuid4())
        # to the millisecond, as the manifest's transactionTime says it: a next export with
        # _since=transactionTime then starts exactly where this one ended
        now = utcnow()
        now = now.replace(microsecond=now.microsecond // 1000 * 1000)
        with self.db.transaction() as session:
            if repository.active_count(session) >= self.max_active:
                raise TooManyRequests(
                    f"{self.max_active} export(s) are already running; ask again later",
                    60,
                )
            repository.add_job(
                session,
                ExportJob(
                    id=job_id,
                    owner_kind=exporter.kind,
                    owner_id=exporter.id,
                    level=request.level,
                    types=",".join(request.types),
                    since=request.since,
                    request_url=request.url,
                    status="queued",
                    transaction_time=now,
                    created_at=now,
                    heartbeat_at=now,
                    resources_done=0,
                ),
            )
            since = fhir_instant(request.since) if request.since else "-"
            record(
                session,
                exporter.actor,
                [
                    AuditRecord(
                        "fhir.export",
                        "accepted",
                        "ExportJob",
                        job_id,
                        202,
                        f"{request.level} export; _type={','.join(request.types)[:1500]}; "
                        f"_since={since}",
                    )
                ],
            )
        with self._lock:
            if self._executor is None:
                self._executor = ThreadPoolExecutor(
                    self.max_active, thread_name_prefix="mch-export"
                )
            self._executor.submit(self._run, job_id)
        return job_id

    def _owned(self, session: Session, exporter: Exporter, job_id: str) -> ExportJob:
        job = repository.job_by_id(session, job_id) if _JOB_ID.fullmatch(job_id) else None
        # Another exporter's job, a cancelled or expired one: not found (IG: 404 after DELETE)
        if (
            job is None
            or (job.owner_kind, job.owner_id) != (exporter.kind, exporter.id)
            or job.status in ("cancelled", "expired")
        ):
            raise NotFound(f"No export {job_id}")
        return job

    def status(self, exporter: Exporter, job_id: str) -> JobView:
        self.sweep()
        with self.db.reading() as session:
            job = self._owned(session, exporter, job_id)
            manifest = json.loads(job.manifest) if job.manifest else {}
            return JobView(
                job.id,
                job.status,
                job.resources_done,
                to_utc(job.transaction_time),
                job.request_url,
                to_utc(job.expires_at) if job.expires_at else None,
                manifest.get("output", []),
                job.error,
            )

    def cancel(self, exporter: Exporter, job_id: str) -> None:
        with self.db.transaction() as session:
            job = self._owned(session, exporter, job_id)
            was = job.status
            repository.set_job(session, job_id, status="cancelled", finished_at=utcnow())
            record(
                session,
                exporter.actor,
                [AuditRecord("fhir.export.cancel", "success", "ExportJob", job_id, 202, was)],
            )
        if was != "running":  # a running job removes its own folder at its next page
            shutil.rmtree(self.export_dir / job_id, ignore_errors=True)

    def file(self, exporter: Exporter, job_id: str, name: str) -> Path:
        """The path of one output file of a finished export of this exporter (audited)."""
        with self.db.transaction() as session:
            job = self._owned(session, exporter, job_id)
            names = {o["file"] for o in json.loads(job.manifest or "{}").get("output", [])}
            expired = job.expires_at is not None and to_utc(job.expires_at) <= utcnow()
            if job.status != "done" or expired or name not in names:
                raise NotFound(f"No file {name} in export {job_id}")
            record(
                session,
                exporter.actor,
                [AuditRecord("fhir.export.download", "success", "ExportJob", job_id, 200, name)],
            )
        path = self.export_dir / job_id / name
        if not _FILE_NAME.fullmatch(name) or not path.is_file():
            raise NotFound(f"No file {name} in export {job_id}")
        return path

    # -- the work -------------------------------------------------------------------------

    def _resource_line(self, institution_id: str, content: dict[str, Any]) -> bytes:
        meta = dict(content.get("meta") or {})
        meta["tag"] = [
            *(meta.get("tag") or []),
            {"system": self.sender_tag_system, "code": institution_id},
        ]
        return orjson.dumps({**content, "meta": meta}) + b"\n"

    def _run(self, job_id: str) -> None:
        folder = self.export_dir / job_id
        writer: _Writer | None = None
        try:
            with self.db.transaction() as session:
                claimed = repository.set_job_if(
                    session, job_id, ("queued",), status="running", heartbeat_at=utcnow()
                )
                job = repository.job_by_id(session, job_id)
                assert job is not None
                types = job.types.split(",")
                since = to_utc(job.since) if job.since else None
                until = to_utc(job.transaction_time)
                owner = Actor(job.owner_kind, job.owner_id)
            if not claimed:
                return
            self.export_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
            folder.mkdir(mode=0o700)
            writer = _Writer(folder, self.max_file_bytes, self.max_job_bytes)
            after = 0
            while True:
                with self.db.reading() as session:
                    page = current_versions(session, self.store, types, after, _PAGE, since, until)
                for cv in page:
                    writer.write(
                        cv.resource_type, self._resource_line(cv.institution_id, cv.content)
                    )
                if page:
                    after = page[-1].pk
                with self.db.transaction() as session:
                    alive = repository.set_job_if(
                        session,
                        job_id,
                        ("running",),
                        resources_done=writer.total,
                        heartbeat_at=utcnow(),
                    )
                if not alive:  # cancelled meanwhile
                    raise _Stopped
                if self._stopping.is_set():
                    raise _Stopped
                if len(page) < _PAGE:
                    break
            outputs = writer.close()
            now = utcnow()
            with self.db.transaction() as session:
                finished = repository.set_job_if(
                    session,
                    job_id,
                    ("running",),
                    status="done",
                    finished_at=now,
                    expires_at=now + self.retention,
                    resources_done=writer.total,
                    manifest=json.dumps({"output": outputs, "error": []}),
                )
                if finished:
                    counts: dict[str, int] = {}
                    for o in outputs:
                        counts[o["type"]] = counts.get(o["type"], 0) + o["count"]
                    detail = ", ".join(f"{t} {n}" for t, n in sorted(counts.items()))
                    record(
                        session,
                        owner,
                        [
                            AuditRecord(
                                "fhir.export.done",
                                "success",
                                "ExportJob",
                                job_id,
                                200,
                                f"{writer.total} resources: {detail}"[:2000],
                            )
                        ],
                    )
            if not finished:
                shutil.rmtree(folder, ignore_errors=True)
        except _Stopped:
            self._end(job_id, folder, writer, "the server stopped; ask again", cancelled=True)
        except _ExportTooLarge:
            self._end(
                job_id,
                folder,
                writer,
                f"the export is over MCH_EXPORT_MAX_JOB_BYTES ({self.max_job_bytes} bytes): "
                "ask for fewer types or use _since",
            )
        except Exception as exc:  # noqa: BLE001 - recorded on the job for the exporter to see
            log.error("export %s failed: %s", job_id, type(exc).__name__)
            self._end(job_id, folder, writer, f"the export failed ({type(exc).__name__})")

    def _end(
        self,
        job_id: str,
        folder: Path,
        writer: _Writer | None,
        reason: str,
        cancelled: bool = False,
    ) -> None:
        if writer is not None:
            writer.abandon()
        shutil.rmtree(folder, ignore_errors=True)
        with self.db.transaction() as session:
            # a cancelled job stays cancelled; a running one that had to stop fails
            repository.set_job_if(
                session,
                job_id,
                ("queued", "running"),
                status="failed",
                finished_at=utcnow(),
                error=reason,
            )

    # -- housekeeping ---------------------------------------------------------------------

    def sweep(self) -> int:
        """Jobs whose process died are failed; finished exports past their time expire; their
        files, and folders of cancelled, failed or unknown jobs, are removed. Safe to run in
        every process at any time. Returns how many folders were removed."""
        now = utcnow()
        with self.db.reading() as session:  # a status poll writes only when there is work
            stale = repository.stale_active_ids(session, now - _STALE_AFTER)
            expired = repository.expired_ids(session, now)
        if stale or expired:
            self._fail_and_expire(stale, expired, now)
        if not self.export_dir.is_dir():
            return 0
        folders = [p for p in self.export_dir.iterdir() if _JOB_ID.fullmatch(p.name)]
        if not folders:
            return 0
        with self.db.reading() as session:
            keep = repository.ids_with_files(session, [p.name for p in folders])
        removed = 0
        for path in folders:
            if path.name not in keep:
                shutil.rmtree(path, ignore_errors=True)
                removed += 1
        return removed

    def _fail_and_expire(self, stale: list[str], expired: list[str], now: datetime) -> None:
        with self.db.transaction() as session:
            for job_id in stale:
                repository.set_job_if(
                    session,
                    job_id,
                    ("queued", "running"),
                    status="failed",
                    finished_at=now,
                    error="the export was interrupted (the server stopped); ask again",
                )
            for job_id in expired:
                repository.set_job_if(session, job_id, ("done",), status="expired")

    def shutdown(self) -> None:
        """Running exports stop at their next page (failed: 'ask again'), files removed."""
        self._stopping.set()
        if self._executor is not None:
            self._executor.shutdown(wait=True)


def manifest(view: JobView, base: str) -> dict[str, Any]:
    return {
        "transactionTime": fhir_instant(view.transaction_time),
        "request": view.request_url,
        "requiresAccessToken": True,
        "output": [
            {
                "type": o["type"],
                "url": f"{base}/$export-file/{view.id}/{o['file']}",
                "count": o["count"],
            }
            for o in view.output
        ],
        "error": [],
    }


def failure(view: JobView) -> MchError:
    return MchError(f"The export failed: {view.error}", 500, [], "exception")
