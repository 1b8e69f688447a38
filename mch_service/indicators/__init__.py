"""Maternal and child health indicators (issue 6): catalogue, settings, periods, the fact
tables contract, pure calculations, early warning and exports.

Calculations are pure functions over the fact tables (``fact_tables.FactFrames``) with an explicit
period: no clock, no I/O, no globals. The day-level rules are docs/indicator-rules.md; the
definitions as published are docs/indicators.md (generated from ``catalogue``).
"""

from __future__ import annotations

from mch_service.indicators.calculations import compute, compute_all, external_value
from mch_service.indicators.catalogue import CATALOGUE, CATALOGUE_VERSION, Indicator, get_indicator
from mch_service.indicators.errors import IndicatorInputError
from mch_service.indicators.fact_tables import FactFrames, check_frames, empty_facts
from mch_service.indicators.periods import Period, iter_periods, parse_period
from mch_service.indicators.settings import DEFAULT_SETTINGS, IndicatorSettings
from mch_service.indicators.values import RESULT_COLUMNS, IndicatorValue, iter_values, values_frame
from mch_service.indicators.warnings import EarlyWarning, early_warnings

__all__ = [
    "CATALOGUE",
    "CATALOGUE_VERSION",
    "DEFAULT_SETTINGS",
    "RESULT_COLUMNS",
    "EarlyWarning",
    "FactFrames",
    "Indicator",
    "IndicatorInputError",
    "IndicatorSettings",
    "IndicatorValue",
    "Period",
    "check_frames",
    "compute",
    "compute_all",
    "early_warnings",
    "empty_facts",
    "external_value",
    "get_indicator",
    "iter_periods",
    "iter_values",
    "parse_period",
    "values_frame",
]
