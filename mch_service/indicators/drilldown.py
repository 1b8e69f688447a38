"""Drill-down: which records a result counts, from the same per-record counts the engine sums
(so the lists always add up to the numbers)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from mch_service.indicators import calculations as calc
from mch_service.indicators import facts as f
from mch_service.indicators.periods import parse_period
from mch_service.indicators.settings import IndicatorSettings


def _record_ids(facts: f.FactFrames) -> list[str]:
    """Ids in the row order of ``calculations._units``: cohort pregnancies, maternal deaths
    (their pregnancy), congenital syphilis cases."""
    preg = facts.pregnancies
    excluded = preg[f.EXCLUDED].to_numpy(dtype=bool)
    cohort = preg.loc[preg[f.DELIVERY_DATE].notna().to_numpy() & ~excluded]
    excluded_ids = preg.loc[excluded, f.PREGNANCY_ID].to_numpy(dtype=object)
    deaths = facts.maternal_deaths
    deaths = deaths.loc[
        deaths[f.MATERNAL].to_numpy(dtype=bool)
        & ~deaths[f.PREGNANCY_ID].isin(excluded_ids).to_numpy()
    ]
    return (
        [str(x) for x in cohort[f.PREGNANCY_ID]]
        + [str(x) for x in deaths[f.PREGNANCY_ID]]
        + [str(x) for x in facts.congenital_syphilis[f.CASE_ID]]
    )


def members(
    facts: f.FactFrames,
    indicator_id: str,
    period: str,
    area: str,
    institution: str,
    settings: IndicatorSettings,
) -> dict[str, list[str]]:
    """{"numerator": [...ids], "denominator": [...ids]}; an id appears once however much it
    counts (twins are one pregnancy)."""
    units = calc._units(facts, settings)
    ids = np.asarray(_record_ids(facts), dtype=object)
    if len(ids) != len(units):  # the engine's row order changed: refuse rather than mislead
        raise RuntimeError("drill-down is out of step with the indicator engine")
    p = parse_period(period, statistical_year=settings.statistical_year)
    days = units[calc._DATE]
    mask = (days >= pd.Timestamp(p.start)) & (days <= pd.Timestamp(p.end))
    if area != "district":
        mask &= units[calc._STREET] == area
    if institution != "all":
        mask &= units[calc._INSTITUTION] == institution
    numerator, denominator = calc.count_pair(indicator_id, settings)
    out = {}
    for part, column in (("numerator", numerator), ("denominator", denominator)):
        chosen = mask.to_numpy() & (units[column].to_numpy() > 0)
        out[part] = sorted(set(ids[chosen]))
    return out
