"""Early warning over a time series of results (pure: the caller names the current period).

Two flags per (indicator, area, institution), for indicators with a plan target:

* ``off_target``: the current period's value misses the target.
* ``trend``: the current value meets the target, but the least-squares line through the last
  ``window`` periods (current included, periods without data skipped, at least ``min_points``
  of them) projects a value that misses it by the horizon. The horizon defaults to the end of
  the plan year that holds the current period (``plan_year``: the statistical year, ending in
  September / Q3, by default; or the calendar year); for a series of years it is the next year.

Figures flagged small numbers are left out (see ``early_warnings``).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
import pandas as pd

from mch_service.indicators.display import DIRECTION_SYMBOLS, format_rate, format_target
from mch_service.indicators.errors import IndicatorInputError
from mch_service.indicators.periods import Period, parse_period, period_from_index
from mch_service.indicators.settings import PlanYear
from mch_service.indicators.values import IndicatorValue, values_frame

WarningKind = Literal["off_target", "trend"]


@dataclass(frozen=True)
class EarlyWarning:
    indicator_id: str
    area: str
    institution: str
    period: str  # the current period
    kind: WarningKind
    value: float | None  # the current value
    target: float
    direction: str
    projected_value: float | None  # trend only: the line's value at the horizon
    horizon: str | None  # trend only: the period the projection is for
    slope_per_period: float | None  # trend only
    points: int  # periods with data that the trend used (0 for off_target)
    reason_zh: str
    reason_en: str


def default_horizon(current: Period, plan_year: PlanYear = "statistical") -> Period:
    """The period the trend projects to: the next one for a series of years (calendar or
    statistical); else the last month, quarter or rolling year of the plan year
    (MCH_INDICATOR_PLAN_YEAR: the statistical year by default, which ends in September) that
    holds ``current``."""
    if current.kind in ("year", "statistical_year"):
        return current.next()
    year, month = divmod(current.index * (3 if current.kind == "quarter" else 1), 12)
    month += 1  # the first month of the current period (its last for a rolling year)
    if plan_year == "statistical" and month >= 10:
        year += 1  # October to December belong to the next statistical year
    last_month = 9 if plan_year == "statistical" else 12
    if current.kind == "quarter":
        return period_from_index("quarter", year * 4 + (last_month - 1) // 3)
    return period_from_index(current.kind, year * 12 + last_month - 1)


def early_warnings(
    results: pd.DataFrame | Iterable[IndicatorValue],
    current_period: str,
    *,
    window: int = 6,
    min_points: int = 3,
    horizon: str | None = None,
    plan_year: PlanYear = "statistical",
) -> list[EarlyWarning]:
    """Flags for the current period, ordered as the results are (indicator, area, institution).

    ``results`` are ``compute_all`` rows (or ``IndicatorValue`` objects) of several periods of
    the current period's kind; rows of other kinds are ignored. A small-numbers figure (its
    ``small_numbers`` flag) raises no flag and is left out of trends: one case moves it too
    far to conclude anything.
    """
    if window < 2:
        raise IndicatorInputError("The trend window needs at least 2 periods")
    if min_points < 2 or min_points > window:
        raise IndicatorInputError("min_points must be between 2 and the window")
    frame = results if isinstance(results, pd.DataFrame) else values_frame(results)
    current = parse_period(current_period)
    end = parse_period(horizon) if horizon is not None else default_horizon(current, plan_year)
    if end.kind != current.kind or end.index < current.index:
        raise IndicatorInputError(
            f"The horizon {end.label} must be a {current.kind} on or after {current.label}"
        )

    labels = frame["period"].drop_duplicates()
    index_of: dict[str, int] = {}
    for label in labels:
        try:
            p = parse_period(str(label))
        except IndicatorInputError:
            continue
        if p.kind == current.kind:
            index_of[str(label)] = p.index
    small = frame["small_numbers"].to_numpy(dtype=bool)
    rows = frame.loc[
        frame["period"].isin(list(index_of)) & frame["target"].notna().to_numpy() & ~small
    ].copy()
    if rows.empty:
        return []
    # x = periods relative to the current one (0 = current, -1 = the one before, ...).
    rows["_x"] = rows["period"].map(index_of).astype(np.int64) - current.index
    keys = ["indicator_id", "area", "institution"]
    now = rows.loc[rows["_x"] == 0].drop_duplicates(keys)
    if now.empty:
        return []

    # Least-squares slope and intercept per series from sums (no loop per series).
    in_window = rows.loc[(rows["_x"] > -window) & (rows["_x"] <= 0) & rows["value"].notna()]
    x = in_window["_x"].to_numpy(dtype=np.float64)
    y = in_window["value"].to_numpy(dtype=np.float64, na_value=np.nan)
    sums = (
        pd.DataFrame(
            {
                **{k: in_window[k].to_numpy(dtype=object) for k in keys},
                "n": 1.0,
                "sx": x,
                "sy": y,
                "sxx": x * x,
                "sxy": x * y,
            }
        )
        .groupby(keys, sort=False)
        .sum()
    )
    spread = sums["n"] * sums["sxx"] - sums["sx"] ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        slope = (sums["n"] * sums["sxy"] - sums["sx"] * sums["sy"]) / spread
    intercept = (sums["sy"] - slope * sums["sx"]) / sums["n"]
    steps = end.index - current.index
    trend = pd.DataFrame(
        {"points": sums["n"], "slope": slope, "projected": intercept + slope * steps}
    )
    merged = now.merge(trend, how="left", left_on=keys, right_index=True)
    # Decide the flags for all series at once; the loop below only words them.
    status = merged["status"].to_numpy(dtype=object)
    projected = merged["projected"].to_numpy(dtype=np.float64, na_value=np.nan)
    off_target = (status == "not_met") & merged["value"].notna().to_numpy()
    trending = (
        (status == "met")
        & (merged["points"].fillna(0).to_numpy(dtype=np.float64) >= min_points)
        & np.isfinite(projected)
        & ~_meets(
            projected,
            merged["direction"].to_numpy(dtype=object),
            merged["target"].to_numpy(dtype=np.float64, na_value=np.nan),
        )
    )
    merged = merged.loc[off_target | trending]

    flags: list[EarlyWarning] = []
    for row in merged.itertuples(index=False):
        target = float(row.target)
        direction = str(row.direction)
        value = None if pd.isna(row.value) else float(row.value)
        target_zh = format_target(direction, target, row.unit, "zh")
        target_en = format_target(direction, target, row.unit, "en")
        common = {
            "indicator_id": row.indicator_id,
            "area": row.area,
            "institution": row.institution,
            "period": current.label,
            "value": value,
            "target": target,
            "direction": direction,
        }
        if row.status == "not_met":
            flags.append(
                EarlyWarning(
                    **common,
                    kind="off_target",
                    projected_value=None,
                    horizon=None,
                    slope_per_period=None,
                    points=0,
                    reason_zh=(
                        f"{current.label} {row.name_zh}为{format_rate(value, row.unit, 'zh')}，"
                        f"未达到目标{target_zh}。"
                    ),
                    reason_en=(
                        f"{row.name_en} was {format_rate(value, row.unit, 'en')} in "
                        f"{current.label}; the target is {_spaced(target_en)}."
                    ),
                )
            )
            continue
        points = int(row.points)
        projected = float(row.projected)
        slope_text = f"{float(row.slope):+.2f}"
        flags.append(
            EarlyWarning(
                **common,
                kind="trend",
                projected_value=projected,
                horizon=end.label,
                slope_per_period=float(row.slope),
                points=points,
                reason_zh=(
                    f"按最近{points}期的线性趋势（每期{slope_text}），{row.name_zh}预计"
                    f"{end.label}为{format_rate(projected, row.unit, 'zh')}，将达不到目标"
                    f"{target_zh}（{current.label}为{format_rate(value, row.unit, 'zh')}）。"
                ),
                reason_en=(
                    f"On the least-squares trend of the last {points} periods ({slope_text} per "
                    f"period), {row.name_en} is projected at "
                    f"{format_rate(projected, row.unit, 'en')} by {end.label}, missing the "
                    f"target {_spaced(target_en)} (it is {format_rate(value, row.unit, 'en')} "
                    f"in {current.label})."
                ),
            )
        )
    return flags


def _meets(
    value: npt.NDArray[np.float64],
    direction: npt.NDArray[np.object_],
    target: npt.NDArray[np.float64],
) -> npt.NDArray[np.bool_]:
    met: npt.NDArray[np.bool_] = np.select(
        [direction == ">=", direction == "<", direction == "<="],
        [value >= target, value < target, value <= target],
        True,  # no direction: nothing to miss
    )
    return met


def _spaced(target: str) -> str:
    # "≥90%" reads better in English prose as "≥ 90%".
    for symbol in DIRECTION_SYMBOLS.values():
        if target.startswith(symbol):
            return f"{symbol} {target[len(symbol) :]}"
    return target
