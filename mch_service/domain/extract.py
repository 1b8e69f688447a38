"""Stage 1: one stored resource version -> its fact rows. Pure: the same resource always gives
the same rows, which is what makes a rebuild equal to incremental derivation.

The ViewDefinitions in fhir_mappings/views flatten the resource; the code tables say what its
codes mean; the rules in ``domain/extraction/`` (one module per resource family, picked from
``RESOURCE_RULES`` here) turn that into rows, normalise units, and apply the plausibility
rules (a valid resource with an impossible value is kept in the store, flagged, and left out
of the facts). How to add a mapping: docs/add-a-mapping.md.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo

from fhir_mappings import CodeTables, ViewSet
from mch_service.domain.extraction import (
    conditions,
    encounters,
    immunizations,
    medications,
    observations,
    patients,
    procedures,
    risk,
)
from mch_service.domain.extraction.rows import Extracted, Source, ViewRow, add_issue
from mch_service.store.indexing import date_range, local_date

# View columns holding codings -> the element they come from (for the data-quality issue).
_ELEMENTS = {
    "codes": "code",
    "types": "type",
    "value_codes": "value",
    "interpretation": "interpretation",
}


@dataclass(frozen=True)
class Extractor:
    views: ViewSet
    codes: CodeTables
    zone: ZoneInfo
    canonical: str
    resident_id_systems: frozenset[str]
    keyed_hash: Callable[[str], str]
    seal: Callable[[bytes, bytes], bytes]
    # Codings read per element, and unmapped-code rows kept per resource: one resource with
    # hundreds of thousands of codings must not cost seconds and as many rows. The rest are
    # counted in a data-quality issue, which the sender gets back as a warning.
    max_codings: int = 50
    max_unmapped: int = 20
    # The district's street codes (MCH_STREETS); empty: any well-formed code.
    streets: frozenset[str] = frozenset()
    # The district (MCH_DISTRICT_CODE / MCH_DISTRICT_NAME): a Patient's residence is
    # classified against it when stored (mch_service.streets.residence_of).
    district_code: str = "440115"
    district_name: str = "南沙区"

    def extract(self, src: Source, resource: dict[str, Any]) -> Extracted:
        out = Extracted()
        row = self.views.row(resource)
        if row is None:
            return out
        self._cap_codings(src, row, out)
        rule = RESOURCE_RULES.get(src.resource_type)
        if rule is not None:
            rule.extract(self, src, row, out)
        if len(out.unmapped) > self.max_unmapped:
            extra = len(out.unmapped) - self.max_unmapped
            del out.unmapped[self.max_unmapped :]
            add_issue(
                src,
                out,
                "unmapped_codes_capped",
                src.resource_type,
                f"{extra} more codes that no code table recognises were not recorded "
                f"(at most {self.max_unmapped} per resource)",
            )
        return out

    def day(self, value: Any) -> date | None:
        """A FHIR date or dateTime (or the first of a list) as the local calendar day."""
        if isinstance(value, list):
            value = value[0] if value else None
        return local_date(value, self.zone) if isinstance(value, str) else None

    def instant(self, value: Any) -> datetime | None:
        """A FHIR dateTime with a time of day (or the first of a list) as a UTC instant; None
        for a date alone (the time is unknown) or no value. Without an offset the time is read
        in the district's zone."""
        if isinstance(value, list):
            value = value[0] if value else None
        if not isinstance(value, str) or "T" not in value:
            return None
        rng = date_range(value, self.zone)
        return rng[0] if rng else None

    def _cap_codings(self, src: Source, row: ViewRow, out: Extracted) -> None:
        for name, value in row.items():
            if (
                isinstance(value, list)
                and len(value) > self.max_codings
                and isinstance(value[0], dict)
                and ("code" in value[0] or "system" in value[0])
            ):
                row[name] = value[: self.max_codings]
                add_issue(
                    src,
                    out,
                    "codings_capped",
                    f"{src.resource_type}.{_ELEMENTS.get(name, name)}",
                    f"{len(value)} codings; only the first {self.max_codings} were read",
                )


@dataclass(frozen=True)
class ResourceRule:
    """How one resource type becomes fact rows, and which code table concepts it reads."""

    extract: Callable[[Extractor, Source, ViewRow, Extracted], None]
    concepts: frozenset[str] = frozenset()


RESOURCE_RULES: dict[str, ResourceRule] = {
    "Patient": ResourceRule(patients.extract_patient),
    "EpisodeOfCare": ResourceRule(
        encounters.extract_episode_of_care, encounters.EPISODE_CONCEPTS_READ
    ),
    "Encounter": ResourceRule(encounters.extract_encounter, encounters.ENCOUNTER_CONCEPTS_READ),
    "Observation": ResourceRule(observations.extract_observation, observations.CONCEPTS_READ),
    "Procedure": ResourceRule(procedures.extract_procedure, procedures.CONCEPTS_READ),
    "Condition": ResourceRule(conditions.extract_condition, conditions.CONCEPTS_READ),
    "RiskAssessment": ResourceRule(risk.extract_risk_assessment, risk.CONCEPTS_READ),
    "Immunization": ResourceRule(immunizations.extract_immunization, immunizations.CONCEPTS_READ),
    **dict.fromkeys(
        ("MedicationAdministration", "MedicationStatement", "MedicationRequest"),
        ResourceRule(medications.extract_medication, medications.CONCEPTS_READ),
    ),
}


def concepts_read() -> dict[str, list[str]]:
    """Each code table concept -> the resource types whose rules read it."""
    read: dict[str, list[str]] = {}
    for resource_type, rule in RESOURCE_RULES.items():
        for concept in rule.concepts:
            read.setdefault(concept, []).append(resource_type)
    return read
