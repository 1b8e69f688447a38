"""Indicator calculations: pure functions over the fact tables and an explicit period.

No clock, no I/O, no globals. The method:

1. Turn every counted fact into a row of *base counts* (``counts.count_units``; each base count is
   declared once in ``counts.BASE_COUNTS``): one row per cohort delivery (live births, women
   early-contact, women tested, ...), one per maternal death and one per congenital syphilis
   case, each with its attribution day, street and institution.
2. Sum those rows over a period, an area and an institution (``compute``), or over every period
   and view at once with group-bys (``compute_all``).
3. Each indicator is a (numerator count, denominator count) pair of those sums: its entry in
   ``CALCULATIONS``.

A result is an ``IndicatorValue`` (``values.py``); ``compute_all`` returns them as one table.
Rules: docs/indicator-rules.md ("Attribution", "The indicators").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import numpy.typing as npt
import pandas as pd

from mch_service.indicators import fact_tables
from mch_service.indicators.catalogue import BY_ID, CALCULATED, CATALOGUE_VERSION, Indicator
from mch_service.indicators.counts import (
    AREA,
    COUNT_COLUMNS,
    DATE,
    ID,
    INSTITUTION,
    LIVE_BIRTHS,
    STREET,
    WOMEN,
    count_units,
)
from mch_service.indicators.errors import IndicatorInputError
from mch_service.indicators.periods import (
    PERIOD_KINDS,
    Period,
    parse_period,
    period_indexes,
)
from mch_service.indicators.settings import DEFAULT_SETTINGS, IndicatorSettings
from mch_service.indicators.values import RESULT_COLUMNS, IndicatorValue, iter_values

DISTRICT = fact_tables.DISTRICT
ALL_INSTITUTIONS = fact_tables.ALL_INSTITUTIONS
# The area lines by residence (docs/indicator-rules.md, "Attribution"): the district (its
# residents), the non-residents and the women with no usable address.
RESIDENCE_LINES: tuple[str, ...] = fact_tables.RESERVED_AREAS

# --- the calculation of each indicator ------------------------------------------------------

Calculation = Callable[[IndicatorSettings], tuple[str, str]]


def ratio(numerator: str, denominator: str) -> Calculation:
    """An indicator that divides two base counts (``counts.BASE_COUNTS``) whatever the settings."""
    return lambda _settings: (numerator, denominator)


def _caesarean(settings: IndicatorSettings) -> tuple[str, str]:
    # MCH_INDICATOR_CAESAREAN_BASIS: per live birth (the default) or per woman delivered.
    if settings.caesarean_basis == "women":
        return ("caesarean_women", WOMEN)
    return ("caesarean_live_births", LIVE_BIRTHS)


def _infection_tests() -> dict[str, Calculation]:
    entries: dict[str, Calculation] = {}
    for infection in fact_tables.INFECTIONS:
        entries[f"{infection}_test_rate"] = ratio(f"{infection}_tested", WOMEN)
        entries[f"{infection}_test_in_pregnancy_rate"] = ratio(
            f"{infection}_tested_in_pregnancy", WOMEN
        )
        entries[f"{infection}_early_test_rate"] = ratio(f"{infection}_tested_early", WOMEN)
    return entries


# indicator id -> its (numerator, denominator) base counts under the settings. One entry per
# calculated indicator of the catalogue (tests/indicators/test_indicator_catalogue.py checks).
CALCULATIONS: Mapping[str, Calculation] = {
    "systematic_management_rate": ratio("systematic", LIVE_BIRTHS),
    "early_registration_rate": ratio("first_contact_lt91", LIVE_BIRTHS),
    "prenatal_care_rate": ratio("checks_1plus", LIVE_BIRTHS),
    "prenatal_5plus_rate": ratio("checks_5plus", LIVE_BIRTHS),
    "postpartum_visit_rate": ratio("postpartum_visit_28d", LIVE_BIRTHS),
    "postpartum_42d_check_rate": ratio("postpartum_42d_check", WOMEN),
    "facility_delivery_rate": ratio("facility_live_births", LIVE_BIRTHS),
    "caesarean_rate": _caesarean,
    **_infection_tests(),
    "hiv_treatment_rate": ratio("hiv_positive_treated", "hiv_positive"),
    "syphilis_treatment_rate": ratio("syphilis_positive_treated", "syphilis_positive"),
    "syphilis_adequate_treatment_rate": ratio("syphilis_adequately_treated", "syphilis_positive"),
    "high_risk_proportion": ratio("high_risk", WOMEN),
    "high_risk_management_rate": ratio("high_risk_managed", "high_risk"),
    "high_risk_case_management_rate": ratio("case_managed_in_time_followed", "case_managed"),
    "high_risk_facility_delivery_rate": ratio("high_risk_facility", "high_risk"),
    "postpartum_depression_screening_rate": ratio("epds_42d", WOMEN),
    "anaemia_prevalence_non_thalassaemia": ratio("anaemia_non_thalassaemia", "hb_women"),
    "maternal_mortality_ratio": ratio("maternal_deaths", LIVE_BIRTHS),
    "congenital_syphilis_rate": ratio("congenital_syphilis", LIVE_BIRTHS),
    "perinatal_mortality_rate": ratio("perinatal_deaths", "perinatal_births"),
    "low_birth_weight_rate": ratio("low_birth_weight", LIVE_BIRTHS),
    "severe_maternal_morbidity_ratio": ratio("severe_maternal_morbidity", LIVE_BIRTHS),
    "preterm_birth_rate": ratio("preterm_live_births", LIVE_BIRTHS),
    "macrosomia_rate": ratio("macrosomia_live_births", LIVE_BIRTHS),
    "hbig_12h_rate": ratio("infants_hbig_timely", "hbsag_positive_live_births"),
    "hepb_vaccine_24h_rate": ratio("infants_hepb_vaccine_timely", "hbsag_positive_live_births"),
    "hiv_exposed_infant_arv_rate": ratio("infants_arv", "hiv_positive_live_births"),
    "syphilis_exposed_infant_prophylaxis_rate": ratio(
        "infants_syphilis_prophylaxis", "syphilis_positive_live_births"
    ),
    "thalassaemia_screening_rate": ratio("thalassaemia_screened", WOMEN),
    "prenatal_screening_rate": ratio("prenatal_screened", WOMEN),
    "prenatal_diagnosis_rate": ratio("prenatal_diagnosed", WOMEN),
    "who_anc_first_contact_12w_rate": ratio("first_contact_le84", WOMEN),
    "who_anc_4plus_rate": ratio("checks_4plus", WOMEN),
    "who_anc_8plus_rate": ratio("checks_8plus", WOMEN),
}


def count_pair(indicator_id: str, settings: IndicatorSettings) -> tuple[str, str]:
    """The (numerator, denominator) base counts of a calculated indicator under settings."""
    try:
        calculation = CALCULATIONS[indicator_id]
    except KeyError:
        raise IndicatorInputError(f"{indicator_id!r} is not a calculated indicator") from None
    return calculation(settings)


# --- turning summed counts into indicator rows -----------------------------------------------


@dataclass(frozen=True)
class _Targets:
    """Per-row target parts: the target as an exact fraction p/q, and its direction."""

    p: npt.NDArray[np.int64]
    q: npt.NDArray[np.int64]
    direction: npt.NDArray[np.object_]
    has_target: npt.NDArray[np.bool_]

    @classmethod
    def of(cls, indicators: Sequence[Indicator], repeat: int) -> _Targets:
        fractions = [Fraction(str(i.target)) if i.target is not None else None for i in indicators]
        return cls(
            p=np.repeat(np.array([x.numerator if x else 0 for x in fractions], np.int64), repeat),
            q=np.repeat(np.array([x.denominator if x else 1 for x in fractions], np.int64), repeat),
            direction=np.repeat(np.array([i.direction or "" for i in indicators], object), repeat),
            has_target=np.repeat(np.array([x is not None for x in fractions], bool), repeat),
        )


def _status(
    numerator: npt.NDArray[np.int64],
    denominator: npt.NDArray[np.int64],
    multiplier: npt.NDArray[np.int64],
    targets: _Targets,
) -> npt.NDArray[np.object_]:
    """met / not_met / no_data / no_target, compared exactly.

    ``num × mult / den`` against a target p/q is decided as ``num × mult × q`` against
    ``p × den`` in integers, so a rate exactly at the target (9/10 = 90 %) is never lost to
    floating-point rounding.
    """
    left = numerator * multiplier * targets.q
    right = targets.p * denominator
    d = targets.direction
    met = np.select(
        [d == ">=", d == "<", d == "<="], [left >= right, left < right, left <= right], False
    )
    return np.where(
        denominator == 0,
        "no_data",
        np.where(~targets.has_target, "no_target", np.where(met, "met", "not_met")),
    ).astype(object)


def _expand(
    grid: pd.DataFrame, indicators: Sequence[Indicator], settings: IndicatorSettings
) -> pd.DataFrame:
    """One result row per (indicator, grid row), indicator-major.

    ``grid`` has _kind (the period kind), period, period_start, period_end, area, institution
    and the COUNT_COLUMNS.
    """
    g, k = len(grid), len(indicators)
    pairs = [count_pair(i.id, settings) for i in indicators]
    numerator = grid[[p[0] for p in pairs]].to_numpy(dtype=np.int64).ravel(order="F")
    denominator = grid[[p[1] for p in pairs]].to_numpy(dtype=np.int64).ravel(order="F")

    def per_indicator(values: Sequence[object]) -> npt.NDArray[np.object_]:
        return np.repeat(np.array(values, dtype=object), g)

    multiplier = np.repeat(np.array([i.multiplier for i in indicators], np.int64), g)
    targets = _Targets.of(indicators, g)
    with np.errstate(divide="ignore", invalid="ignore"):
        rate = numerator * multiplier / denominator
    # The rate is shown only in the period kinds the indicator is read in (per-100,000
    # figures: years and rolling years); elsewhere the result carries the counts only.
    kinds = np.tile(grid["_kind"].to_numpy(dtype=object), k)
    rate_shown = np.ones(g * k, dtype=bool)
    for n, indicator in enumerate(indicators):
        if indicator.rate_periods is not None:
            block = slice(n * g, (n + 1) * g)
            rate_shown[block] = np.isin(kinds[block], list(indicator.rate_periods))
    value = pd.array(np.where((denominator > 0) & rate_shown, rate, np.nan), dtype="Float64")
    value[(denominator == 0) | ~rate_shown] = pd.NA
    status = _status(numerator, denominator, multiplier, targets)
    status[~rate_shown & (denominator > 0)] = "count_only"
    target = np.repeat(
        np.array([np.nan if i.target is None else i.target for i in indicators], np.float64), g
    )
    direction = per_indicator([i.direction for i in indicators])
    return pd.DataFrame(
        {
            "indicator_id": per_indicator([i.id for i in indicators]),
            "name_zh": per_indicator([i.name_zh for i in indicators]),
            "name_en": per_indicator([i.name_en for i in indicators]),
            "period": np.tile(grid["period"].to_numpy(dtype=object), k),
            "period_start": np.tile(grid["period_start"].to_numpy(), k),
            "period_end": np.tile(grid["period_end"].to_numpy(), k),
            "area": np.tile(grid["area"].to_numpy(dtype=object), k),
            "institution": np.tile(grid["institution"].to_numpy(dtype=object), k),
            "numerator": numerator,
            "denominator": denominator,
            "value": value,
            "unit": per_indicator([i.unit for i in indicators]),
            "target": pd.array(target, dtype="Float64"),
            "direction": direction,
            "status": status,
            "small_numbers": (denominator > 0) & (denominator < settings.small_numbers_below),
            "catalogue_version": CATALOGUE_VERSION,
            "settings": settings.to_json(),
        }
    )


# --- public API ------------------------------------------------------------------------------


def compute(
    frames: fact_tables.FactFrames,
    period: str,
    area: str = DISTRICT,
    institution: str = ALL_INSTITUTIONS,
    settings: IndicatorSettings = DEFAULT_SETTINGS,
) -> list[IndicatorValue]:
    """Every calculated indicator for one period, area (``"district"``, ``"non_resident"``,
    ``"address_unknown"`` or a street code) and institution (``"all"`` or an institution id),
    in catalogue order. ``("district", "all")`` is the district's residents;
    ``("district", institution)`` is the place-of-service view: everyone that institution
    delivered (or that reported the death or case), wherever she lives."""
    p = parse_period(period)
    units = count_units(frames, settings)
    mask = _select(units, p, area, institution)
    totals = units.loc[mask, list(COUNT_COLUMNS)].sum().astype(np.int64)
    grid = pd.DataFrame(
        {
            "_kind": [p.kind],
            "period": [p.label],
            "period_start": [pd.Timestamp(p.start)],
            "period_end": [pd.Timestamp(p.end)],
            "area": [area],
            "institution": [institution],
            **{column: [int(totals[column])] for column in COUNT_COLUMNS},
        }
    )
    return list(iter_values(_expand(grid, CALCULATED, settings)))


def members(
    frames: fact_tables.FactFrames,
    indicator_id: str,
    period: str,
    area: str = DISTRICT,
    institution: str = ALL_INSTITUTIONS,
    settings: IndicatorSettings = DEFAULT_SETTINGS,
) -> dict[str, list[str]]:
    """Drill-down: the ids of the records behind one result, ``{"numerator": [...],
    "denominator": [...]}``, sorted. Ids are pregnancy ids, except congenital syphilis cases
    (case ids). Each record is listed once however much it adds (twins add 2 live births),
    so a list can be shorter than its count."""
    p = parse_period(period)
    numerator, denominator = count_pair(indicator_id, settings)
    units = count_units(frames, settings)
    mask = _select(units, p, area, institution)

    def ids(column: str) -> list[str]:
        chosen = units.loc[mask & (units[column].to_numpy() > 0), ID]
        return sorted({str(i) for i in chosen})

    return {"numerator": ids(numerator), "denominator": ids(denominator)}


def _select(units: pd.DataFrame, p: Period, area: str, institution: str) -> npt.NDArray[np.bool_]:
    days = units[DATE]
    mask = ((days >= pd.Timestamp(p.start)) & (days <= pd.Timestamp(p.end))).to_numpy()
    if area in RESIDENCE_LINES:
        # (district, an institution) is the place-of-service view: every residence
        if area != DISTRICT or institution == ALL_INSTITUTIONS:
            mask = mask & (units[AREA] == area).to_numpy()
    else:
        mask = mask & (units[STREET] == area).to_numpy()
    if institution != ALL_INSTITUTIONS:
        mask = mask & (units[INSTITUTION] == institution).to_numpy()
    return mask


def compute_all(
    frames: fact_tables.FactFrames,
    periods: Iterable[str],
    settings: IndicatorSettings = DEFAULT_SETTINGS,
) -> pd.DataFrame:
    """Every calculated indicator for every period × view: (district, all) for the residents,
    (non_resident, all) and (address_unknown, all) for the other women, (each street present,
    all) and (district, each institution present: place of service, every residence), as one
    DataFrame with
    ``RESULT_COLUMNS``. "Present" means attributed to at least one counted fact in the tables
    (any date), so each time series is complete: a street without deliveries in a period gets
    a 0/0 row (no data). Rows are ordered by view, then indicator (catalogue order), period
    (as given) and area or institution."""
    wanted = _dedupe(parse_period(p) for p in periods)
    units = count_units(frames, settings)
    if not wanted:
        return _empty_results()
    streets = sorted(units[STREET].dropna().unique().tolist())
    institutions = sorted(units[INSTITUTION].dropna().unique().tolist())

    sums: list[pd.DataFrame] = []
    for kind in PERIOD_KINDS:
        indexes = {p.index for p in wanted if p.kind == kind}
        if not indexes:
            continue
        base = period_indexes(units[DATE], kind)
        # A day is in one period of each kind, except rolling years: the twelve ending with
        # its month and the eleven months after.
        shifts = range(12) if kind == "rolling_year" else range(1)
        wanted_indexes = np.array(sorted(indexes), dtype=np.int64)
        picked = [(np.flatnonzero(np.isin(base + s, wanted_indexes)), s) for s in shifts]
        positions = np.concatenate([p for p, _ in picked])
        key = np.concatenate([base[p] + s for p, s in picked])
        rows = units.iloc[positions]
        counts = rows[list(COUNT_COLUMNS)]
        for area_key, institution_key in (
            (rows[AREA].to_numpy(dtype=object), None),
            (rows[STREET].to_numpy(dtype=object), None),
            (None, rows[INSTITUTION].to_numpy(dtype=object)),
        ):
            by: list[npt.NDArray[np.generic]] = [key]
            by += [k for k in (area_key, institution_key) if k is not None]
            summed = counts.groupby(by, sort=False, dropna=True).sum()
            frame = summed.reset_index(drop=True)
            index_levels = [summed.index.get_level_values(i) for i in range(len(by))]
            frame.insert(0, "_kind", kind)
            frame.insert(1, "_index", np.asarray(index_levels[0], dtype=np.int64))
            frame.insert(2, "area", index_levels[1] if area_key is not None else DISTRICT)
            frame.insert(
                3,
                "institution",
                index_levels[1] if institution_key is not None else ALL_INSTITUTIONS,
            )
            sums.append(frame)

    grid_keys = _grid(wanted, streets, institutions)
    index_names = ["_kind", "_index", "area", "institution"]
    if sums:
        summed_all = pd.concat(sums, ignore_index=True).set_index(index_names)
    else:
        summed_all = pd.DataFrame(columns=[*index_names, *COUNT_COLUMNS]).set_index(index_names)
    grid_counts = (
        summed_all.reindex(pd.MultiIndex.from_frame(grid_keys[index_names]), fill_value=0)
        .astype(np.int64)
        .reset_index(drop=True)
    )
    grid = pd.concat([grid_keys.reset_index(drop=True), grid_counts], axis=1)
    views = []
    for view in ("district", "street", "institution"):
        part = grid.loc[grid["_view"].to_numpy() == view]
        if len(part):
            views.append(_expand(part, CALCULATED, settings))
    result = pd.concat(views, ignore_index=True)
    return result.loc[:, list(RESULT_COLUMNS)]


def _empty_results() -> pd.DataFrame:
    dtypes = {
        "period_start": "datetime64[ns]",
        "period_end": "datetime64[ns]",
        "numerator": "int64",
        "denominator": "int64",
        "value": "Float64",
        "target": "Float64",
    }
    return pd.DataFrame({c: pd.Series(dtype=dtypes.get(c, "object")) for c in RESULT_COLUMNS})


def _dedupe(periods: Iterable[Period]) -> list[Period]:
    seen: dict[tuple[str, int], Period] = {}
    for p in periods:
        seen.setdefault((p.kind, p.index), p)
    return list(seen.values())


def _grid(periods: Sequence[Period], streets: list[str], institutions: list[str]) -> pd.DataFrame:
    """Keys of every (view, period, area, institution) row, in output order."""
    blocks: list[tuple[str, list[str], list[str]]] = [
        ("district", list(RESIDENCE_LINES), [ALL_INSTITUTIONS]),
        ("street", streets, [ALL_INSTITUTIONS]),
        ("institution", [DISTRICT], institutions),
    ]
    frames = []
    for view, areas, insts in blocks:
        cells = [(a, i) for a in areas for i in insts]
        if not cells:
            continue
        n = len(cells)
        frames.append(
            pd.DataFrame(
                {
                    "_view": view,
                    "_kind": np.repeat([p.kind for p in periods], n),
                    "_index": np.repeat([p.index for p in periods], n).astype(np.int64),
                    "period": np.repeat([p.label for p in periods], n),
                    "period_start": np.repeat(
                        pd.to_datetime([p.start for p in periods]).to_numpy(), n
                    ),
                    "period_end": np.repeat(pd.to_datetime([p.end for p in periods]).to_numpy(), n),
                    "area": np.tile(np.array([c[0] for c in cells], dtype=object), len(periods)),
                    "institution": np.tile(
                        np.array([c[1] for c in cells], dtype=object), len(periods)
                    ),
                }
            )
        )
    return pd.concat(frames, ignore_index=True)


def external_value(
    indicator_id: str,
    period: str,
    numerator: int,
    denominator: int,
    area: str = DISTRICT,
    institution: str = ALL_INSTITUTIONS,
    settings: IndicatorSettings = DEFAULT_SETTINGS,
) -> IndicatorValue:
    """A result for an external indicator from the counts the monitoring group entered."""
    indicator = BY_ID.get(indicator_id)
    if indicator is None or indicator.source != "external":
        raise IndicatorInputError(f"{indicator_id!r} is not an external indicator")
    if type(numerator) is not int or type(denominator) is not int:
        raise IndicatorInputError("Numerator and denominator are whole numbers")
    if numerator < 0 or denominator < 0:
        raise IndicatorInputError("Numerator and denominator cannot be negative")
    p = parse_period(period)
    status = _status(
        np.array([numerator], dtype=np.int64),
        np.array([denominator], dtype=np.int64),
        np.array([indicator.multiplier], dtype=np.int64),
        _Targets.of([indicator], 1),
    )[0]
    return IndicatorValue(
        id=indicator.id,
        name_zh=indicator.name_zh,
        name_en=indicator.name_en,
        period=p.label,
        period_start=p.start,
        period_end=p.end,
        area=area,
        institution=institution,
        numerator=numerator,
        denominator=denominator,
        value=numerator * indicator.multiplier / denominator if denominator else None,
        unit=indicator.unit,
        target=indicator.target,
        direction=indicator.direction,
        status=status,
        catalogue_version=CATALOGUE_VERSION,
        settings=settings.to_dict(),
    )
