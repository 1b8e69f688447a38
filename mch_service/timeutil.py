"""Time helpers. Instants are stored in UTC; local times without an offset are read in the
district's zone (``MCH_TIMEZONE``, default Asia/Shanghai)."""

from __future__ import annotations

from datetime import UTC, datetime


def utcnow() -> datetime:
    return datetime.now(UTC)


def to_utc(value: datetime) -> datetime:
    """Normalise for storage. SQLite hands back naive datetimes, which are UTC by our convention."""
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def fhir_instant(value: datetime) -> str:
    """FHIR ``instant`` in UTC with milliseconds, e.g. 2025-03-01T08:15:00.123Z."""
    value = to_utc(value)
    return value.strftime("%Y-%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"
