"""The indicator API's query parameters and the shapes of its JSON responses
(``response_model``s of ``endpoints.py``).

Each describes exactly what the API returns: every key, in order, with its nulls. Figures are
the stored numerator and denominator with the unrounded value (numerator / denominator × the
unit's multiplier). The FHIR MeasureReport Bundle is FHIR JSON and has no schema here.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class ResultView(BaseModel):
    """Which figures: a period (a calendar year 2025, a statistical year SY2025, a quarter
    2025-Q1, a month 2025-03 or the 12 months to a month 2025-03-R12), an area (``district``:
    the district's residents; ``non_resident``; ``address_unknown``; or a street code) and an
    institution (``all`` or an institution id: place of service, every residence). Query
    parameters."""

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

    plan_year: str  # statistical | calendar: the year early warnings project to
    small_numbers_below: int
    caesarean_basis: str
    case_managed_colours: list[str]
    anaemia_denominator_excludes_thalassaemia: bool
    hbig_hours: int = 12
    hepb_vaccine_hours: int = 24
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
    # met | not_met | no_data | no_target | count_only | not_assessable (small numbers: the
    # denominator below the minimum, neither met nor not met)
    status: str
    # the denominator is above 0 and below settings.small_numbers_below: read with care
    small_numbers: bool
    source: str  # calculated | external


MAX_COUNT = 2**31 - 1
# The rule named on the refusal of an entered proportion above 100 % (pages translate it).
OVER_DENOMINATOR = "numerator_over_denominator"


class ExternalFigure(BaseModel):
    """An external indicator's figure for a period and view, as the monitoring group enters
    it (PUT /api/v1/indicators/{id}/external)."""

    model_config = ConfigDict(extra="forbid")

    # at most what the results table's integer columns hold (a larger count is no district's)
    numerator: int = Field(ge=0, le=MAX_COUNT)
    denominator: int = Field(ge=0, le=MAX_COUNT)
    source: str = Field(min_length=1, max_length=200, description="The programme or report")
    note: str | None = Field(None, max_length=2000)


class ExternalFigureRead(BaseModel):
    """The stored figure with its value, target and status."""

    id: str
    period: str
    area: str
    institution: str
    numerator: int
    denominator: int
    value: float | None
    unit: str
    target: float | None
    direction: str | None
    status: str
    source: str
    note: str | None
    entered_by: str
    entered_at: str  # ISO 8601 with the zone


class PeriodResults(BaseModel):
    """Every catalogue indicator for one period, area and institution."""

    period: str
    period_kind: str  # year | statistical_year | quarter | month | rolling_year
    period_start: str  # first day, ISO 8601
    period_end: str  # last day
    # records may still arrive (the 28- and 42-day look-aheads): until period_end + 56 days
    provisional: bool
    final_on: str  # the first day the period's figures are final
    area: str
    area_name: str  # the district's name, 非本区居民, 住址不详 or the street's name
    institution: str
    institution_name: str  # 全部机构 or the institution's name
    catalogue_version: str
    computed_at: str | None  # ISO 8601, the latest computation of these figures
    settings: IndicatorSettingsRead
    results: list[IndicatorResult]


class PeriodChoice(BaseModel):
    """A period with stored figures."""

    period: str
    kind: str  # year | statistical_year | quarter | month | rolling_year
    start: str
    end: str
    provisional: bool


class PeriodChoices(BaseModel):
    """The periods with stored figures that have begun (newest first within each kind), and
    ``current``: the newest such quarter (the dashboard's first view), null without data."""

    current: str | None
    periods: list[PeriodChoice]


class SeriesPoint(BaseModel):
    period: str
    numerator: int
    denominator: int
    value: float | None
    status: str
    small_numbers: bool
    provisional: bool


class IndicatorSeries(BaseModel):
    """One indicator period by period (every period from ``from`` to ``to``)."""

    id: str
    name_zh: str
    name_en: str
    unit: str
    target: float | None
    direction: str | None
    area: str
    area_name: str
    institution: str
    institution_name: str
    catalogue_version: str
    points: list[SeriesPoint]


class WarningPoint(BaseModel):
    """A period's figure a warning was drawn from."""

    period: str
    numerator: int
    denominator: int
    value: float | None


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
    # how the flag was decided: current_value (the period's value against the target) or
    # least_squares_trend (a straight line through the complete periods, projected)
    method: str
    method_zh: str
    # the complete, not small-numbers periods the flag was drawn from (oldest first)
    points_used: list[WarningPoint]


class EarlyWarnings(BaseModel):
    """Warnings are drawn from complete periods only (not provisional: records may still
    arrive) whose denominator is not small numbers."""

    period: str
    area: str
    area_name: str
    institution: str
    institution_name: str
    # False: the period is provisional, so no warning is raised for it
    complete: bool
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
    note_zh: str = ""
    note_en: str = ""
    local: bool = False  # a local indicator (本地), not in the national statistical system


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


class CriterionRead(BaseModel):
    """One condition of the numerator for one record: met or not, and the value behind it
    (GA days at booking, check days, a colour, days of treatment; null when it is a yes/no)."""

    met: bool
    value: int | float | str | None


class DrillDownRow(BaseModel):
    """One record behind a figure (a delivery, a maternal death or a congenital syphilis case):
    what it adds to the denominator (``units``: live births where the indicator counts live
    births) and to the numerator (``numerator_units``), and why (``criteria``)."""

    # the pregnancy to open (the mother's for a congenital syphilis case); null for a
    # report-card death or a case whose child is not linked to its mother
    pregnancy_id: str | None
    record_id: str  # the pregnancy id, or the case / report card id
    kind: str  # delivery | maternal_death | congenital_syphilis
    units: int
    in_numerator: bool
    numerator_units: int
    missed: bool  # in the denominator, not in the numerator
    criteria: dict[str, CriterionRead]
    institution: str | None  # delivering (or reporting) institution: whom to contact
    institution_name: str | None
    street: str | None
    street_name: str | None
    responsible_centre: str | None  # the street's community health centre (its name)
    area: str  # district | non_resident | address_unknown
    date: str | None  # the attribution day (delivery, death or diagnosis), ISO 8601
    date_kind: str  # delivery | death | diagnosis
    name: str | None  # masked
    resident_id: str | None  # masked


class IndicatorRecords(BaseModel):
    """Drill-down: the records counted in the numerator and the denominator (each listed once,
    so a list can be shorter than its count), and ``rows``: one per record with its units and
    criteria; over all rows (no filter) ``units`` add up to the denominator and
    ``numerator_units`` to the numerator."""

    id: str
    name_zh: str
    name_en: str
    period: str
    area: str
    institution: str
    numerator_count: int
    denominator_count: int
    numerator: list[CountedRecord]
    denominator: list[CountedRecord]
    # criterion id -> its Chinese label (the keys of each row's ``criteria``)
    criteria_labels: dict[str, str]
    # filters applied to ``rows`` (missed: only rows missing the numerator; criterion: only
    # rows where that criterion is not met)
    missed: bool
    criterion: str | None
    rows_total: int  # rows before the filters
    units_total: int  # = the denominator
    numerator_units_total: int  # = the numerator
    rows: list[DrillDownRow]


class DrillDownQuery(BaseModel):
    """The view and the drill-down's filters. Query parameters."""

    period: str
    area: str = "district"
    institution: str = "all"
    missed: bool = False
    criterion: str | None = None
