"""The services of one running instance, built once from the settings: the composition of
the database, the crypto keys and every package's service. Routes reach them through
``mch_service.deps``; jobs and the CLI receive them whole (the composition root,
``jobs/main.py``, adds the job runner)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from fhir_mappings import load_code_tables, load_views
from mch_service.auth.service import StaffAccounts
from mch_service.bulk_export.service import ExportJobs
from mch_service.cases.service import CaseService
from mch_service.config import Settings
from mch_service.crypto import Crypto
from mch_service.database import Database
from mch_service.death_reports.service import DeathReportService
from mch_service.domain.extract import Extractor
from mch_service.domain.service import DomainService
from mch_service.fhir_api.import_jobs import ImportJobs
from mch_service.fhir_api.interactions import Interactions
from mch_service.fhir_api.service import FhirService
from mch_service.indicators.ports import CaseManagementFacts
from mch_service.indicators.service import IndicatorService, indicator_settings
from mch_service.scheduling.service import JobRunner, NoJobRunner
from mch_service.store.identifier_policy import IdentifierPolicy
from mch_service.store.service import ResourceStore


@dataclass
class Services:
    settings: Settings
    db: Database
    crypto: Crypto
    store: ResourceStore
    fhir: FhirService
    imports: ImportJobs
    accounts: StaffAccounts
    domain: DomainService
    indicators: IndicatorService
    cases: CaseService
    deaths: DeathReportService
    exports: ExportJobs
    # Runs jobs by name for the job routes and the command line; the composition root
    # (jobs/main.py) puts the runner of jobs.tasks here. Without it no job is known.
    jobs: JobRunner = field(default_factory=NoJobRunner)


def build_services(settings: Settings, db: Database | None = None) -> Services:
    db = db or Database(settings.database_url, sqlite_synchronous=settings.sqlite_synchronous)
    crypto = Crypto(settings.secret_key, settings.previous_secret_keys)
    zone = ZoneInfo(settings.timezone)
    store = ResourceStore(
        crypto,
        zone,
        IdentifierPolicy(tuple(settings.identifier_keys), frozenset(settings.resident_id_systems)),
    )
    interactions = Interactions(
        store,
        zone,
        settings.default_page_size,
        settings.max_page_size,
        base=settings.canonical_base,
        reject_example_urls=settings.fhir_reject_example_urls,
        max_page_bytes=settings.max_page_bytes,
        reject_active_content=settings.fhir_reject_active_content,
    )
    domain = DomainService(
        Extractor(
            views=load_views(settings.canonical_base),
            codes=load_code_tables(settings.code_tables_dir, settings.canonical_base),
            zone=zone,
            canonical=settings.canonical_base,
            resident_id_systems=frozenset(settings.resident_id_systems),
            keyed_hash=crypto.keyed_hash,
            seal=crypto.seal,
            max_codings=settings.max_codings_per_element,
            max_unmapped=settings.max_unmapped_codes_per_resource,
            streets=frozenset(settings.streets),
            district_code=settings.district_code,
            district_name=settings.district_name,
        ),
        queued=settings.domain_assembly == "queued",
    )
    domain.watch_code_tables(settings.code_tables_dir, settings.canonical_base)
    fhir = FhirService(
        db,
        interactions,
        settings.max_bundle_entries,
        domain,
        max_resource_bytes=settings.max_resource_bytes,
        max_batch_gets=settings.max_batch_gets,
        max_batch_response_bytes=settings.max_batch_response_bytes,
    )
    imports = ImportJobs(db, fhir, Path(settings.import_spool_dir), settings.max_resource_bytes)
    accounts = StaffAccounts(settings)
    cases = CaseService(settings, crypto)
    indicators = IndicatorService(
        db,
        indicator_settings(settings),
        settings.streets,
        case_register=CaseRegisterPort(cases),
        zone=zone,
    )
    domain.listeners.append(lambda session, women: cases.refresh(session, women))
    deaths = DeathReportService(
        crypto,
        domain.current_codes,
        frozenset(settings.streets),
    )
    exports = ExportJobs(
        db,
        store,
        Path(settings.export_dir),
        settings.canonical_base,
        settings.export_max_file_bytes,
        settings.export_max_job_bytes,
        timedelta(hours=settings.export_retention_hours),
        settings.export_max_active_jobs,
    )
    return Services(
        settings,
        db,
        crypto,
        store,
        fhir,
        imports,
        accounts,
        domain,
        indicators,
        cases,
        deaths,
        exports,
    )


class CaseRegisterPort:
    """The indicators' port to the case register (rule 7): cases and indicators never import
    each other, so the register's facts and changes reach the engine through this adapter."""

    def __init__(self, cases: CaseService) -> None:
        self.cases = cases

    def facts(self, session: Session, women: Sequence[str] | None) -> CaseManagementFacts:
        follow_ups, in_time, followed = self.cases.management_facts(session, women)
        return CaseManagementFacts(
            follow_ups,
            frozenset(in_time),
            frozenset(followed),
            self.cases.reported_outcomes(session, women),
        )

    def last_change(self, session: Session) -> datetime | None:
        return self.cases.last_change(session)

    def women_changed_since(self, session: Session, watermark: datetime | None) -> list[str]:
        return self.cases.women_changed_since(session, watermark)
