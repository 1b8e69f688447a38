"""The indicator API's query parameters and the shapes of its JSON responses
(``response_model``s of ``endpoints.py``).

Each describes exactly what the API returns: every key, in order, with its nulls. Figures are
the stored numerator and denominator with the unrounded value (numerator / denominator × the
unit's multiplier). The FHIR MeasureReport Bundle is FHIR JSON and has no schema here.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ResultView(BaseModel):
    """Which figures: a period (2025, 2025-Q1 or 2025-03), an area (``district`` or a street
    code) and an institution (``all`` or an institution id). Query parameters."""

    period: str
    area: str = "district"
    institution: str = "all"


class SeriesQuery(BaseModel):
    """A run of periods, ``from`` to ``to`` inclusive, for one area and institution. Query
    parameters."""

    model_config = ConfigDict(populate_by_name=True)

    first: str = Field(alias="from")
    last: str = Field(alias="to")
    area: str = "district"
    institution: str = "all"


class IndicatorSettingsRead(BaseModel):
    """The indicator settings the figures were computed with (``IndicatorSettings``)."""

    statistical_year: bool
    caesarean_basis: str
    case_managed_colours: list[str]
    anaemia_denominator_excludes_thalassaemia: bool
    syphilis_adequate_days: int = 30


class IndicatorResult(BaseModel):
    """One indicator's figure for a period and view. An external indicator nobody entered has
    null numerator and denominator; a calculated one without deliveries has 0/0 (no_data)."""

    id: str
    name_zh: str
    name_en: str
    numerator: int | None
    denominator: int | None
    value: float | None
    unit: str
    target: float | None
    direction: str | None
    status: str  # met | not_met | no_data | no_target
    source: str  # calculated | external


class PeriodResults(BaseModel):
    """Every catalogue indicator for one period, area and institution."""

    period: str
    area: str
    institution: str
    catalogue_version: str
    computed_at: str | None  # ISO 8601, the latest computation of these figures
    settings: IndicatorSettingsRead
    results: list[IndicatorResult]


class SeriesPoint(BaseModel):
    period: str
    numerator: int
    denominator: int
    value: float | None
    status: str


class IndicatorSeries(BaseModel):
    """One indicator period by period (every period from ``from`` to ``to``)."""

    id: str
    name_zh: str
    name_en: str
    unit: str
    target: float | None
    direction: str | None
    area: str
    institution: str
    catalogue_version: str
    points: list[SeriesPoint]


class EarlyWarningRead(BaseModel):
    """An indicator off target now (``off_target``) or trending off it (``trend``)."""

    indicator_id: str
    area: str
    institution: str
    period: str
    kind: str
    value: float | None
    target: float
    direction: str
    projected_value: float | None
    horizon: str | None
    slope_per_period: float | None
    points: int
    reason_zh: str
    reason_en: str


class EarlyWarnings(BaseModel):
    period: str
    area: str
    institution: str
    warnings: list[EarlyWarningRead]


class CatalogueEntry(BaseModel):
    """One indicator's definition. ``reference`` is left out when the indicator has none."""

    id: str
    name_zh: str
    name_en: str
    unit: str
    target: float | None
    direction: str | None
    source: str
    numerator_zh: str
    numerator_en: str
    denominator_zh: str
    denominator_en: str
    period_basis: str
    settings: list[str]
    reference: str | None = None


class Catalogue(BaseModel):
    catalogue_version: str
    settings: IndicatorSettingsRead
    indicators: list[CatalogueEntry]


class CountedRecord(BaseModel):
    """A pregnancy behind a figure, its identifiers masked."""

    pregnancy_id: str
    name: str | None
    resident_id: str | None
    street: str | None
    end_date: str | None


class IndicatorRecords(BaseModel):
    """Drill-down: the records counted in the numerator and the denominator (each listed once,
    so a list can be shorter than its count)."""

    id: str
    period: str
    area: str
    institution: str
    numerator_count: int
    denominator_count: int
    numerator: list[CountedRecord]
    denominator: list[CountedRecord]
