"""What the data-quality route answers."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class DataQualityRead(BaseModel):
    """One institution's data-quality figures: one key per metric (e.g. ``"gestation_missing":
    0.02``) besides the two named here."""

    model_config = ConfigDict(extra="allow")

    institution: str
    computed_at: str


class DataQualityMonth(BaseModel):
    """One institution's record-level counts in one month (by receipt)."""

    month: str
    rejections: int
    warnings: int
    flags: int
    unmapped_codes: int
    unresolved_references: int


class DataQualityTrend(BaseModel):
    institution: str
    months: list[DataQualityMonth]


class DataQualityRecords(BaseModel):
    """One page of the records behind a data-quality figure (``GET
    /api/v1/data-quality/records``); each item's fields depend on ``kind``
    (docs/monitoring-guide.md, "Data-quality records")."""

    institution: str
    kind: str
    period: str | None
    from_: str | None = Field(alias="from")
    to: str | None
    total: int
    items: list[dict[str, Any]]
    next: str | None
