"""What the store extracts from a resource to search and de-duplicate it. Pure functions."""

from __future__ import annotations

import re
from calendar import monthrange
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache
from typing import Any
from zoneinfo import ZoneInfo

import orjson

# The element behind the `date` search parameter, per type, as R4 defines it
# (search parameter `clinical-date` and the type-specific `date` parameters).
DATE_ELEMENTS: dict[str, tuple[str, ...]] = {
    "Observation": ("effective",),
    "Encounter": ("period",),
    "Procedure": ("performed",),
    "RiskAssessment": ("occurrence",),
    "EpisodeOfCare": ("period",),
    "DiagnosticReport": ("effective",),
    "MedicationStatement": ("effective",),
    "Immunization": ("occurrence",),
    "AllergyIntolerance": ("recordedDate",),
    "Composition": ("date",),
    "CarePlan": ("period",),
    "CareTeam": ("period",),
    "ClinicalImpression": ("date",),
    "FamilyMemberHistory": ("date",),
    "Flag": ("period",),
}
# Top-level reference elements that `subject` / `patient` search follows.
REFERENCE_ELEMENTS = ("subject", "patient")

_DATE_RE = re.compile(
    r"^(?P<y>\d{4})(?:-(?P<m>\d{2})(?:-(?P<d>\d{2})"
    r"(?:T(?P<H>\d{2}):(?P<M>\d{2})(?::(?P<S>\d{2})(?:\.(?P<f>\d+))?)?"
    r"(?P<tz>Z|[+-]\d{2}:\d{2})?)?)?)?$"
)


@dataclass(frozen=True)
class Token:
    system: str
    value: str


@dataclass(frozen=True)
class IndexData:
    identifiers: tuple[Token, ...]
    references: tuple[tuple[str, str], ...]  # (element name, "Type/id")
    date_start: datetime | None
    date_end: datetime | None


@lru_cache(maxsize=16384)  # the same days and times recur across a Bundle and a day's Bundles
def date_range(value: str, zone: ZoneInfo) -> tuple[datetime, datetime] | None:
    """The instants [start, end) a FHIR date/dateTime/instant covers, in UTC.

    A value without an offset is read in the district's zone (INTERFACE.md), so
    "2025-03-01" means Shanghai's 1 March, 16:00 UTC on 28 February to 16:00 on 1 March.
    """
    m = _DATE_RE.match(value)
    if not m:
        return None
    y = int(m["y"])
    if m["m"] is None:
        start, end = datetime(y, 1, 1), datetime(y + 1, 1, 1)
    elif m["d"] is None:
        mo = int(m["m"])
        start = datetime(y, mo, 1)
        end = start + timedelta(days=monthrange(y, mo)[1])
    elif m["H"] is None:
        start = datetime(y, int(m["m"]), int(m["d"]))
        end = start + timedelta(days=1)
    else:
        sec = int(m["S"] or 0)
        frac = m["f"] or ""
        micro = int((frac + "000000")[:6]) if frac else 0
        start = datetime(y, int(m["m"]), int(m["d"]), int(m["H"]), int(m["M"]), sec, micro)
        if m["S"] is None:
            step = timedelta(minutes=1)
        elif frac:
            step = (
                timedelta(microseconds=10 ** max(0, 6 - len(frac)))
                if len(frac) < 6
                else (timedelta(microseconds=1))
            )
        else:
            step = timedelta(seconds=1)
        end = start + step
        tz = m["tz"]
        if tz:
            offset = (
                timedelta(0)
                if tz == "Z"
                else (1 if tz[0] == "+" else -1)
                * timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))
            )
            return (start - offset).replace(tzinfo=UTC), (end - offset).replace(tzinfo=UTC)
    return (
        start.replace(tzinfo=zone).astimezone(UTC),
        end.replace(tzinfo=zone).astimezone(UTC),
    )


def local_date(value: str, zone: ZoneInfo) -> date | None:
    """The calendar day (in the district's zone) on which a FHIR date/dateTime starts."""
    rng = date_range(value, zone)
    return rng[0].astimezone(zone).date() if rng else None


def _element_range(
    resource: dict[str, Any], base: str, zone: ZoneInfo
) -> tuple[datetime, datetime] | None:
    for key in (base, base + "DateTime", base + "Instant", base + "Date"):
        v = resource.get(key)
        if isinstance(v, str):
            return date_range(v, zone)
    period = (
        resource.get(base)
        if isinstance(resource.get(base), dict)
        else resource.get(base + "Period")
    )
    if isinstance(period, dict):
        lo = date_range(period["start"], zone) if isinstance(period.get("start"), str) else None
        hi = date_range(period["end"], zone) if isinstance(period.get("end"), str) else None
        if lo or hi:
            # An open end (ongoing encounter) is indexed as open: far past / far future.
            start = lo[0] if lo else datetime(1, 1, 2, tzinfo=UTC)
            end = hi[1] if hi else datetime(9999, 12, 30, tzinfo=UTC)
            return start, end
    return None


def normalise_reference(ref: str) -> str | None:
    """'Patient/1', 'http://host/fhir/Patient/1' or 'Patient/1/_history/2' -> 'Patient/1'."""
    parts = ref.split("/")
    if "_history" in parts:
        parts = parts[: parts.index("_history")]
    if len(parts) >= 2 and parts[-2][:1].isupper() and parts[-1]:
        return f"{parts[-2]}/{parts[-1]}"
    return None


def extract(resource: dict[str, Any], zone: ZoneInfo) -> IndexData:
    identifiers: list[Token] = []
    seen: set[Token] = set()
    ids = resource.get("identifier")
    if isinstance(ids, dict):  # the few types with a single identifier (e.g. Bundle)
        ids = [ids]
    for ident in ids or ():
        value = ident.get("value") if isinstance(ident, dict) else None
        if isinstance(value, str) and value:
            token = Token(ident.get("system") or "", value)
            if token not in seen:
                seen.add(token)
                identifiers.append(token)
    refs: list[tuple[str, str]] = []
    for name in REFERENCE_ELEMENTS:
        ref = resource.get(name)
        if isinstance(ref, dict) and isinstance(ref.get("reference"), str):
            target = normalise_reference(ref["reference"])
            if target:
                refs.append((name, target))
    rng = None
    for base in DATE_ELEMENTS.get(resource.get("resourceType", ""), ()):
        rng = _element_range(resource, base, zone)
        if rng:
            break
    return IndexData(
        tuple(identifiers), tuple(refs), rng[0] if rng else None, rng[1] if rng else None
    )


def canonical_content(resource: dict[str, Any]) -> bytes:
    """Bytes that are equal when two versions say the same thing: keys sorted, and without the
    meta elements the server sets (versionId, lastUpdated)."""
    meta = resource.get("meta")
    if isinstance(meta, dict) and ("versionId" in meta or "lastUpdated" in meta):
        meta = {k: v for k, v in meta.items() if k not in ("versionId", "lastUpdated")}
        resource = (
            {**resource, "meta": meta}
            if meta
            else {k: v for k, v in resource.items() if k != "meta"}
        )
    return orjson.dumps(resource, option=orjson.OPT_SORT_KEYS)
