"""What the data-quality route answers."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict


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
