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

# R4's date, dateTime and instant, with the parts R4 allows: a year 0001-9999 (never 0000), an
# offset up to 14:00, second 60 (a leap second). ASCII digits only: `\d` would take any
# script's digits, which are no FHIR date.
_DATE_RE = re.compile(
    r"(?P<y>[0-9]{4})(?:-(?P<m>[0-9]{2})(?:-(?P<d>[0-9]{2})"
    r"(?:T(?P<H>[0-9]{2}):(?P<M>[0-9]{2})(?::(?P<S>[0-9]{2})(?:\.(?P<f>[0-9]+))?)?"
    r"(?P<tz>Z|[+-](?:0[0-9]|1[0-3]):[0-5][0-9]|[+-]14:00)?)?)?)?"
)
# The index's far past and far future: an open end of a period, and where a valid but extreme
# date (year 1 or 9999, an offset pushing it past either end) is clamped. A day inside what
# Python's datetime can hold, so that PostgreSQL returning the value in any session time zone
# still gives a datetime (9999-12-31T23:00Z read at +08:00 would be in the year 10000).
FAR_PAST = datetime(1, 1, 2, tzinfo=UTC)
FAR_FUTURE = datetime(9999, 12, 30, tzinfo=UTC)


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
    """The instants [start, end) a FHIR date/dateTime/instant covers, in UTC; None when the
    value is not one (month 13, 30 February, year 0000, ...).

    A value without an offset is read in the district's zone (INTERFACE.md), so
    "2025-03-01" means Shanghai's 1 March, 16:00 UTC on 28 February to 16:00 on 1 March.
    Both ends are clamped to [FAR_PAST, FAR_FUTURE]: "9999" and "0001-01-01T00:00:00+14:00"
    are valid R4 whose exact instants Python (and the index) cannot hold.
    """
    m = _DATE_RE.fullmatch(value)
    if not m:
        return None
    y = int(m["y"])
    if y == 0:
        return None
    try:
        if m["m"] is None:
            start, step = datetime(y, 1, 1), None
        elif m["d"] is None:
            mo = int(m["m"])
            start = datetime(y, mo, 1)
            step = timedelta(days=monthrange(y, mo)[1])
        elif m["H"] is None:
            start, step = datetime(y, int(m["m"]), int(m["d"])), timedelta(days=1)
        else:
            sec = int(m["S"] or 0)
            frac = m["f"] or ""
            micro = int((frac + "000000")[:6]) if frac else 0
            if sec == 60:  # a leap second: the last instant of the minute
                sec, micro = 59, 999999
            start = datetime(y, int(m["m"]), int(m["d"]), int(m["H"]), int(m["M"]), sec, micro)
            if m["S"] is None:
                step = timedelta(minutes=1)
            elif frac:
                step = timedelta(microseconds=10 ** max(0, 6 - len(frac)))
            else:
                step = timedelta(seconds=1)
    except ValueError:  # month 13, day 31 of a 30-day month, hour 24, ...
        return None
    end = _end_of(start, step)
    tz = m["tz"]
    if tz:
        offset = (
            timedelta(0)
            if tz == "Z"
            else (1 if tz[0] == "+" else -1) * timedelta(hours=int(tz[1:3]), minutes=int(tz[4:6]))
        )
        return _clamp(_minus(start, offset)), _clamp(_minus(end, offset))
    return _clamp(_to_utc(start, zone)), _clamp(_to_utc(end, zone))


def _end_of(start: datetime, step: timedelta | None) -> datetime:
    try:
        return datetime(start.year + 1, 1, 1) if step is None else start + step
    except (OverflowError, ValueError):  # the end of 9999: past what datetime holds
        return datetime.max


def _minus(moment: datetime, offset: timedelta) -> datetime:
    try:
        return (moment - offset).replace(tzinfo=UTC)
    except OverflowError:
        return FAR_PAST if offset > timedelta(0) else FAR_FUTURE


def _to_utc(moment: datetime, zone: ZoneInfo) -> datetime:
    try:
        return moment.replace(tzinfo=zone).astimezone(UTC)
    except OverflowError:
        return FAR_PAST if moment.year == 1 else FAR_FUTURE


def _clamp(moment: datetime) -> datetime:
    if moment.tzinfo is None:  # datetime.max from _end_of
        moment = moment.replace(tzinfo=UTC)
    return min(max(moment, FAR_PAST), FAR_FUTURE)


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
            start = lo[0] if lo else FAR_PAST
            end = hi[1] if hi else FAR_FUTURE
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
