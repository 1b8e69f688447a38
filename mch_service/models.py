"""Imports every model so that Base.metadata knows all tables (for Alembic and tests)."""

import mch_service.bulk_export.models  # noqa: F401
import mch_service.cases.models  # noqa: F401
import mch_service.death_reports.models  # noqa: F401
import mch_service.domain.models  # noqa: F401 (registers the domain tables)
import mch_service.indicators.results  # noqa: F401
import mch_service.quality.models  # noqa: F401
import mch_service.scheduling.models  # noqa: F401
from mch_service.audit.models import AuditEvent
from mch_service.auth.models import StaffToken, StaffUser
from mch_service.fhir_api.models import ImportJob
from mch_service.institutions.models import Institution, InstitutionApiKey
from mch_service.store.models import (
    FhirIdentifier,
    FhirReference,
    FhirResource,
    FhirResourceVersion,
)

__all__ = [
    "AuditEvent",
    "FhirIdentifier",
    "FhirReference",
    "FhirResource",
    "FhirResourceVersion",
    "ImportJob",
    "Institution",
    "InstitutionApiKey",
    "StaffToken",
    "StaffUser",
]
