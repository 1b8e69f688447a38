"""A stored or computed indicator result as one record (``IndicatorValue``), and the results
table of ``calculations.compute_all`` (``RESULT_COLUMNS``) turned into records and back."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date
from typing import Literal

import numpy as np
import pandas as pd

# count_only: the period is too short for the rate to be read (catalogue ``rate_periods``).
Status = Literal["met", "not_met", "no_data", "no_target", "count_only", "not_assessable"]

# Columns of compute_all's result, in order.
RESULT_COLUMNS: tuple[str, ...] = (
    "indicator_id",
    "name_zh",
    "name_en",
    "period",
    "period_start",
    "period_end",
    "area",
    "institution",
    "numerator",
    "denominator",
    "value",
    "unit",
    "target",
    "direction",
    "status",
    "small_numbers",
    "catalogue_version",
    "settings",
)


@dataclass(frozen=True)
class IndicatorValue:
    """One result. ``value`` is numerator / denominator × the unit's multiplier, unrounded, or
    None when the denominator is 0. ``settings`` is ``IndicatorSettings.to_dict()``."""

    id: str
    name_zh: str
    name_en: str
    period: str
    period_start: date
    period_end: date
    area: str
    institution: str
    numerator: int
    denominator: int
    value: float | None
    unit: str
    target: float | None
    direction: str | None
    status: Status
    catalogue_version: str
    settings: dict[str, object]
    # The denominator is above 0 and below the small-numbers size (settings).
    small_numbers: bool = False
    # Records of the period may still arrive: it ended 56 days ago or less (or has not ended).
    # Known when the figure is read (today against the period's end), not when computed.
    provisional: bool = False


def iter_values(results: pd.DataFrame) -> Iterator[IndicatorValue]:
    """Stream ``compute_all``'s rows as ``IndicatorValue`` objects (for exports)."""
    parsed: dict[str, dict[str, object]] = {}
    columns = list(RESULT_COLUMNS)
    for row in results.loc[:, columns].itertuples(index=False, name=None):
        record = dict(zip(columns, row, strict=True))
        settings_json = str(record["settings"])
        if settings_json not in parsed:
            parsed[settings_json] = json.loads(settings_json)
        yield IndicatorValue(
            id=str(record["indicator_id"]),
            name_zh=str(record["name_zh"]),
            name_en=str(record["name_en"]),
            period=str(record["period"]),
            period_start=pd.Timestamp(record["period_start"]).date(),
            period_end=pd.Timestamp(record["period_end"]).date(),
            area=str(record["area"]),
            institution=str(record["institution"]),
            numerator=int(record["numerator"]),
            denominator=int(record["denominator"]),
            value=_optional_float(record["value"]),
            unit=str(record["unit"]),
            target=_optional_float(record["target"]),
            direction=None if pd.isna(record["direction"]) else str(record["direction"]),
            status=record["status"],
            small_numbers=bool(record["small_numbers"]),
            catalogue_version=str(record["catalogue_version"]),
            settings=dict(parsed[settings_json]),
        )


def values_frame(values: Iterable[IndicatorValue]) -> pd.DataFrame:
    """The inverse of ``iter_values``: a results DataFrame from ``IndicatorValue`` objects."""
    rows = [
        {
            "indicator_id": v.id,
            "name_zh": v.name_zh,
            "name_en": v.name_en,
            "period": v.period,
            "period_start": pd.Timestamp(v.period_start),
            "period_end": pd.Timestamp(v.period_end),
            "area": v.area,
            "institution": v.institution,
            "numerator": v.numerator,
            "denominator": v.denominator,
            "value": v.value,
            "unit": v.unit,
            "target": v.target,
            "direction": v.direction,
            "status": v.status,
            "small_numbers": v.small_numbers,
            "catalogue_version": v.catalogue_version,
            "settings": json.dumps(v.settings, sort_keys=True, separators=(",", ":")),
        }
        for v in values
    ]
    frame = pd.DataFrame(rows, columns=list(RESULT_COLUMNS))
    frame["numerator"] = frame["numerator"].astype(np.int64)
    frame["denominator"] = frame["denominator"].astype(np.int64)
    frame["value"] = frame["value"].astype("Float64")
    frame["target"] = frame["target"].astype("Float64")
    return frame


def _optional_float(value: object) -> float | None:
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return None
    return float(value)  # type: ignore[arg-type]
