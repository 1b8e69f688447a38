"""Hand-built fact tables for the indicator tests.

``pregnancy(**changes)`` is one delivered pregnancy that satisfies every numerator (early first
contact, 6 checks, facility delivery, postpartum visits, all tests early, green, Hb normal, one
live baby of 3,200 g at 39+0 weeks), so each test changes only what it is about.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Any

import pandas as pd

from mch_service.indicators import facts as f
from mch_service.indicators.calculations import IndicatorValue
from mch_service.indicators.settings import DEFAULT_SETTINGS

_counter = iter(range(1_000_000))


def pregnancy(**changes: Any) -> dict[str, Any]:
    n = next(_counter)
    row: dict[str, Any] = {
        f.PREGNANCY_ID: f"P{n}",
        f.WOMAN_ID: f"W{n}",
        f.STREET: "S1",
        f.DELIVERY_INSTITUTION: "H1",
        f.DELIVERY_DATE: date(2025, 3, 15),
        f.FACILITY_DELIVERY: True,
        f.CAESAREAN: False,
        f.LIVE_BIRTHS: 1,
        f.STILLBIRTHS: 0,
        f.FIRST_CONTACT_GA_DAYS: 60,
        f.PRENATAL_CHECK_DAYS: 6,
        f.POSTPARTUM_VISIT_28D: True,
        f.POSTPARTUM_42D_CHECK: True,
        f.HIGHEST_COLOUR: "green",
        f.PURPLE: False,
        f.FIRST_CASE_MANAGED_DATE: None,
        f.CASE_MANAGED_CONTACT: False,
        f.HAS_HB: True,
        f.ANAEMIA: False,
        f.THALASSAEMIA: False,
        f.EXCLUDED: False,
    }
    for infection in f.INFECTIONS:
        row.update(
            {
                f"{infection}_tested": True,
                f"{infection}_tested_in_pregnancy": True,
                f"{infection}_tested_early": True,
                f"{infection}_positive": False,
                f"{infection}_treated": False,
            }
        )
    row.update(changes)
    delivery = row[f.DELIVERY_DATE]
    row.setdefault(f.DELIVERY_ADMISSION_DATE, delivery)
    row.setdefault(f.DISCHARGE_DATE, delivery)
    row.setdefault(f.PREGNANCY_END_DATE, delivery)
    return row


def baby(pregnancy_row: dict[str, Any], **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        f.PREGNANCY_ID: pregnancy_row[f.PREGNANCY_ID],
        f.LIVE: True,
        f.WEIGHT_G: 3200.0,
        f.GA_DAYS: 273,
        f.NEONATAL_DEATH_AGE_DAYS: None,
    }
    row.update(changes)
    return row


def death(pregnancy_row: dict[str, Any], death_date: date, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        f.PREGNANCY_ID: pregnancy_row[f.PREGNANCY_ID],
        f.DEATH_DATE: death_date,
        f.STREET: pregnancy_row[f.STREET],
        f.REPORTING_INSTITUTION: "H1",
        f.MATERNAL: True,
    }
    row.update(changes)
    return row


def syphilis_case(recorded: date, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        f.CASE_ID: f"C{next(_counter)}",
        f.RECORDED_DATE: recorded,
        f.STREET: "S1",
        f.REPORTING_INSTITUTION: "H1",
    }
    row.update(changes)
    return row


def _frame(table: str, rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    if not rows:
        return f.empty_frame(table)
    frame = pd.DataFrame(list(rows))
    for column in f.CONTRACT[table]:
        if column.name not in frame.columns:
            continue
        if column.kind in ("day", "day_or_nat"):
            frame[column.name] = pd.to_datetime(frame[column.name])
        elif column.kind == "int_or_na":
            frame[column.name] = frame[column.name].astype("Int64")
        elif column.kind == "count":
            frame[column.name] = frame[column.name].astype("int64")
        elif column.kind == "float_or_nan":
            frame[column.name] = frame[column.name].astype("float64")
        elif column.kind == "bool":
            frame[column.name] = frame[column.name].astype(bool)
        else:
            frame[column.name] = frame[column.name].astype(object)
    return frame


def make_facts(
    pregnancies: Sequence[dict[str, Any]],
    births: Sequence[dict[str, Any]] | None = None,
    deaths: Sequence[dict[str, Any]] = (),
    syphilis: Sequence[dict[str, Any]] = (),
    case_managed_colours: tuple[str, ...] | None = DEFAULT_SETTINGS.case_managed_colours,
) -> f.FactFrames:
    """Fact tables from rows. Without ``births``, each delivered pregnancy gets default babies
    for its live_births and stillbirths counts (stillborn at 39+0 weeks)."""
    if births is None:
        births = [
            baby(p, **({} if i < p[f.LIVE_BIRTHS] else {f.LIVE: False}))
            for p in pregnancies
            if p[f.DELIVERY_DATE] is not None
            for i in range(p[f.LIVE_BIRTHS] + p[f.STILLBIRTHS])
        ]
    return f.FactFrames(
        _frame(f.PREGNANCIES, pregnancies),
        _frame(f.BIRTHS, births),
        _frame(f.MATERNAL_DEATHS, deaths),
        _frame(f.CONGENITAL_SYPHILIS, syphilis),
        case_managed_colours=case_managed_colours,
    )


def by_id(values: Sequence[IndicatorValue]) -> dict[str, IndicatorValue]:
    return {v.id: v for v in values}


def counts(values: Sequence[IndicatorValue], indicator_id: str) -> tuple[int, int]:
    v = by_id(values)[indicator_id]
    return (v.numerator, v.denominator)
