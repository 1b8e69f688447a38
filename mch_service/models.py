"""Imports every model so that Base.metadata knows all tables (for Alembic and tests)."""

from mch_service.audit.models import AuditEvent
from mch_service.auth.models import StaffToken, StaffUser
from mch_service.domain.models import *  # noqa: F403 (registers the domain tables)
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
