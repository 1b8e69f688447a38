"""The CapabilityStatement at /fhir/metadata, built from what the code really supports."""

from __future__ import annotations

from typing import Any

from mch_service import __version__
from mch_service.config import Settings
from mch_service.fhir_api.resource_types import R4_ONLY_TYPES, R4_RESOURCE_TYPES
from mch_service.fhir_api.search import supported_params

_PARAM_TYPES = {
    "_id": "token",
    "identifier": "token",
    "patient": "reference",
    "subject": "reference",
    "date": "date",
    "_lastUpdated": "date",
}
_PARAM_DOCS = {
    "_id": "Logical id (comma-separated for several)",
    "identifier": "Business identifier: system|value, |value (no system) or value (any system)",
    "patient": "The Patient the record is about (subject or patient element)",
    "subject": "The subject reference",
    "date": "The clinical date (effective, period, performed, occurrence); prefixes eq ne gt lt "
    "ge le sa eb; times without offset are Asia/Shanghai",
    "_lastUpdated": "When the server stored the current version",
}


# The FHIR Bulk Data export (mch_service/bulk_export, docs/bulk-export.md): for an export
# client's key or an administrator's token, never an institution's.
_EXPORT_DOC = (
    "FHIR Bulk Data Access IG v2.0.0 asynchronous export (Prefer: respond-async, "
    "Accept: application/fhir+json) with _type, _since and _outputFormat "
    "(application/fhir+ndjson); for a registered export client's key or an administrator's "
    "token (institution keys: 403). See docs/bulk-export.md."
)
_SYSTEM_EXPORT = {
    "name": "export",
    "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/export",
    "documentation": _EXPORT_DOC,
}
_PATIENT_EXPORT = {
    "name": "export",
    "definition": "http://hl7.org/fhir/uv/bulkdata/OperationDefinition/patient-export",
    "documentation": _EXPORT_DOC,
}


def capability_statement(settings: Settings) -> dict[str, Any]:
    resources = []
    for rtype in sorted(R4_RESOURCE_TYPES):
        entry: dict[str, Any] = {
            "type": rtype,
            "interaction": [
                {"code": c}
                for c in (
                    "read",
                    "vread",
                    "update",
                    "delete",
                    "history-instance",
                    "create",
                    "search-type",
                )
            ],
            "versioning": "versioned-update",
            "readHistory": True,
            "updateCreate": True,
            "conditionalCreate": True,
            "conditionalRead": "not-supported",
            "conditionalUpdate": True,
            "conditionalDelete": "single",
            "referencePolicy": ["literal", "logical", "local"],
            "searchParam": [
                {"name": p, "type": _PARAM_TYPES[p], "documentation": _PARAM_DOCS[p]}
                for p in supported_params(rtype)
            ],
            "operation": [
                {
                    "name": "validate",
                    "definition": "http://hl7.org/fhir/OperationDefinition/Resource-validate",
                }
            ],
        }
        if rtype == "Patient":
            entry["operation"].append(_PATIENT_EXPORT)
        if rtype in R4_ONLY_TYPES:
            entry["documentation"] = (
                "Checked for JSON structure, ids and references only (no "
                "element-level model for this R4 type)"
            )
        resources.append(entry)
    return {
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-11-28",
        "publisher": "mch-service",
        "kind": "instance",
        "software": {"name": "mch-service", "version": __version__},
        "implementation": {
            "description": "District maternal and child health service",
            "url": settings.canonical_base,
        },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json", "application/json"],
        "rest": [
            {
                "mode": "server",
                "documentation": (
                    f"Limits: at most {settings.max_bundle_entries} entries per Bundle and "
                    f"{settings.max_body_bytes} bytes per request body (413 beyond). One "
                    f"resource may have at most {settings.max_resource_bytes} bytes. A Bundle "
                    f"may hold at most {settings.max_batch_gets} GET entries (413 beyond); a "
                    f"batch response holds at most {settings.max_batch_response_bytes} bytes, "
                    "reads past it are answered 413 in their own entries. Search pages "
                    f"hold {settings.default_page_size} entries unless _count says otherwise (at "
                    f"most {settings.max_page_size}, and at most {settings.max_page_bytes} "
                    "bytes; instance history pages too); follow the 'next' link for every match. "
                    "Creates are de-duplicated per sender by business identifier "
                    "(identifier system|value) and, without one, by content. A sender reads and "
                    "writes only its own records. XML is not supported."
                ),
                "security": {
                    "cors": False,
                    "description": "Each institution sends 'Authorization: Bearer <API key>'.",
                },
                "resource": resources,
                "interaction": [{"code": "transaction"}, {"code": "batch"}],
                "operation": [
                    _SYSTEM_EXPORT,
                    {
                        "name": "data-quality",
                        "definition": (
                            f"{settings.canonical_base}/OperationDefinition/data-quality"
                        ),
                        "documentation": (
                            "GET [base]/$data-quality?period=YYYY|YYYY-MM&kind=&_count=: the "
                            "sender's own rejections, warnings, flags, unmapped codes and "
                            "references to records never sent, record by record (JSON; the "
                            "interface guide, 'Your data quality')"
                        ),
                    },
                ],
            }
        ],
        "extension": [
            {
                "url": f"{settings.canonical_base}/StructureDefinition/max-bundle-entries",
                "valueInteger": settings.max_bundle_entries,
            },
            {
                "url": f"{settings.canonical_base}/StructureDefinition/max-body-bytes",
                "valueInteger": settings.max_body_bytes,
            },
            {
                "url": f"{settings.canonical_base}/StructureDefinition/max-resource-bytes",
                "valueInteger": settings.max_resource_bytes,
            },
            {
                "url": f"{settings.canonical_base}/StructureDefinition/max-batch-gets",
                "valueInteger": settings.max_batch_gets,
            },
            {
                "url": f"{settings.canonical_base}/StructureDefinition/max-batch-response-bytes",
                "valueInteger": settings.max_batch_response_bytes,
            },
        ],
    }
