"""Stage 1: one stored resource version -> its fact rows. Pure: the same resource always gives
the same rows, which is what makes a rebuild equal to incremental derivation.

The ViewDefinitions in fhir_mappings/views flatten the resource; the code tables say what its
codes mean; the rules in ``domain/extraction/`` (one module per resource family, picked from
``RESOURCE_RULES`` here) turn that into rows, normalise units, and apply the plausibility
rules (a valid resource with an impossible value is kept in the store, flagged, and left out
of the facts). How to add a mapping: docs/add-a-mapping.md.
"""

from __future__ import annotations

import re
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
from mch_service.domain.extraction.rows import (
    Extracted,
    Source,
    ViewRow,
    add_issue,
    local_ref,
)
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
        _subject_problems(src, row, out)
        self._code_system_problems(src, out)
        _times_without_offset(src, resource, out)
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

    def _code_system_problems(self, src: Source, out: Extracted) -> None:
        """An unrecognised code whose system is no table's but looks like one (a typo: a
        trailing slash, https, a letter off) or under which the tables know the code, and a
        coding without a system: the sender is told which system to send."""
        known = self.codes.systems()
        seen: set[tuple[str, str, str]] = set()
        for u in out.unmapped:
            system, code, element = u["system"], u["code"], u["element"]
            if system in known or (system, code, element) in seen:
                continue
            seen.add((system, code, element))
            where = _unmapped_element(src.resource_type, element)
            if not system:
                under = self.codes.systems_of_code(code)
                hint = f" (the tables know {code!r} under {', '.join(under)})" if under else ""
                add_issue(
                    src,
                    out,
                    "code_system_missing",
                    where,
                    f"Code {code!r} has no system, so no code table can read it{hint}; send "
                    "Coding.system with the code system's URI",
                )
                continue
            near = _near_systems(system, known)
            if not near and not _looks_like_uri(system):
                # 'LOINC', 'SNOMED CT': a name, not the URI; the tables say which one
                near = self.codes.systems_of_code(code)
            if near:
                add_issue(
                    src,
                    out,
                    "code_system_typo",
                    where,
                    f"Code system {system!r} is not one the code tables know, so code "
                    f"{code!r} is not read; did you mean {' or '.join(repr(n) for n in near[:3])}? "
                    "Correct Coding.system (or map the code in your code table)",
                )

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


# Unmapped-code elements (add_unmapped) -> the FHIR element they come from.
_UNMAPPED_ELEMENTS = {
    "value": "valueCodeableConcept",
    "medication": "medicationCodeableConcept",
}


def _unmapped_element(resource_type: str, element: str) -> str:
    if element == "colour":
        element = "prediction.qualitativeRisk" if resource_type == "RiskAssessment" else "value"
    return f"{resource_type}.{_UNMAPPED_ELEMENTS.get(element, element)}"


# The reference element each domain type's view reads as its subject.
_SUBJECT_ELEMENTS = {
    "Immunization": "patient",
    "EpisodeOfCare": "patient",
}
# A dateTime or instant with a time of day and no offset (FHIR requires one).
_NO_OFFSET = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?")
_MAX_TIME_ISSUES = 5


def _normalised_system(system: str) -> str:
    s = system.strip().lower().rstrip("/")
    s = s.replace("https://", "http://").replace("://www.", "://")
    return s


def _edit_distance(a: str, b: str, limit: int) -> int:
    if abs(len(a) - len(b)) > limit:
        return limit + 1
    prev = list(range(len(b) + 1))
    for i, ca in enumerate(a, 1):
        cur = [i]
        for j, cb in enumerate(b, 1):
            cur.append(min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (ca != cb)))
        if min(cur) > limit:
            return limit + 1
        prev = cur
    return prev[-1]


def _looks_like_uri(system: str) -> bool:
    return "://" in system or system.startswith(("urn:", "oid:"))


def _near_systems(system: str, known: frozenset[str]) -> list[str]:
    """Known systems this one is probably a typo of."""
    mine = _normalised_system(system)
    return sorted(
        k
        for k in known
        if _normalised_system(k) == mine or _edit_distance(_normalised_system(k), mine, 2) <= 2
    )


def _subject_problems(src: Source, row: ViewRow, out: Extracted) -> None:
    """A clinical record without a subject, or with one that links nothing, is kept but can
    be placed in no woman's pregnancy."""
    if src.resource_type == "Patient":
        return
    name = "patient" if "patient" in row and "subject" not in row else "subject"
    if name not in row:
        return
    element = f"{src.resource_type}.{_SUBJECT_ELEMENTS.get(src.resource_type, 'subject')}"
    ref = row.get(name)
    if not ref:
        add_issue(
            src,
            out,
            "subject_missing",
            element,
            "No subject: the record is kept but belongs to no woman, so it is left out of the "
            "pregnancy record and the indicators; send a reference to the woman's (or the "
            "newborn's) Patient",
        )
    elif local_ref(src.institution_id, ref) is None or not str(ref).startswith("Patient/"):
        add_issue(
            src,
            out,
            "subject_not_linked",
            element,
            f"Subject {str(ref)[:80]!r} links nothing: only 'Patient/<id>' (your Patient) "
            "places a record in a woman's pregnancy; send the Patient reference",
        )


def _times_without_offset(src: Source, resource: dict[str, Any], out: Extracted) -> None:
    found: list[tuple[str, str]] = []

    def walk(node: Any, path: str) -> None:
        if len(found) >= _MAX_TIME_ISSUES:
            return
        if isinstance(node, dict):
            for key, value in node.items():
                if key not in ("meta", "text", "contained"):
                    walk(value, f"{path}.{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{path}[{i}]")
        elif isinstance(node, str) and len(node) <= 40 and _NO_OFFSET.fullmatch(node):
            found.append((path, node))

    walk(resource, src.resource_type)
    for path, value in found:
        add_issue(
            src,
            out,
            "time_without_offset",
            path,
            f"{value!r} has a time of day but no offset: it is read as Beijing time "
            f"(Asia/Shanghai); FHIR requires the offset, send {value}+08:00",
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
