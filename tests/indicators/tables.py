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

from mch_service.indicators import fact_tables
from mch_service.indicators.settings import DEFAULT_SETTINGS
from mch_service.indicators.values import IndicatorValue

_counter = iter(range(1_000_000))


def pregnancy(**changes: Any) -> dict[str, Any]:
    n = next(_counter)
    row: dict[str, Any] = {
        fact_tables.PREGNANCY_ID: f"P{n}",
        fact_tables.WOMAN_ID: f"W{n}",
        fact_tables.STREET: "S1",
        fact_tables.RESIDENCE: fact_tables.RESIDENT,
        fact_tables.DELIVERY_INSTITUTION: "H1",
        fact_tables.DELIVERY_DATE: date(2025, 3, 15),
        fact_tables.FACILITY_DELIVERY: True,
        fact_tables.CAESAREAN: False,
        fact_tables.LIVE_BIRTHS: 1,
        fact_tables.STILLBIRTHS: 0,
        fact_tables.FIRST_CONTACT_GA_DAYS: 60,
        fact_tables.PRENATAL_CHECK_DAYS: 6,
        fact_tables.POSTPARTUM_VISIT_28D: True,
        fact_tables.POSTPARTUM_42D_CHECK: True,
        fact_tables.HIGHEST_COLOUR: "green",
        fact_tables.PURPLE: False,
        fact_tables.FIRST_CASE_MANAGED_DATE: None,
        fact_tables.CASE_MANAGED_CONTACT: False,
        fact_tables.HIGH_RISK_MANAGED: False,
        fact_tables.CASE_OPENED_IN_TIME: False,
        fact_tables.CASE_FOLLOWED_AT_INTERVAL: False,
        fact_tables.EPDS_42D: False,
        fact_tables.HAS_HB: True,
        fact_tables.ANAEMIA: False,
        fact_tables.THALASSAEMIA: False,
        fact_tables.EXCLUDED: False,
    }
    for infection in fact_tables.INFECTIONS:
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
    delivery = row[fact_tables.DELIVERY_DATE]
    row.setdefault(fact_tables.DELIVERY_ADMISSION_DATE, delivery)
    row.setdefault(fact_tables.DISCHARGE_DATE, delivery)
    row.setdefault(fact_tables.PREGNANCY_END_DATE, delivery)
    # a delivery at 28+0 weeks or later (the default baby is born at 39+0)
    row.setdefault(fact_tables.COUNTED_DELIVERY, delivery is not None)
    return row


def baby(pregnancy_row: dict[str, Any], **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        fact_tables.PREGNANCY_ID: pregnancy_row[fact_tables.PREGNANCY_ID],
        fact_tables.LIVE: True,
        fact_tables.WEIGHT_G: 3200.0,
        fact_tables.GA_DAYS: 273,
        fact_tables.NEONATAL_DEATH_AGE_DAYS: None,
    }
    row.update(changes)
    return row


def death(pregnancy_row: dict[str, Any], death_date: date, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        fact_tables.PREGNANCY_ID: pregnancy_row[fact_tables.PREGNANCY_ID],
        fact_tables.DEATH_DATE: death_date,
        fact_tables.STREET: pregnancy_row[fact_tables.STREET],
        fact_tables.RESIDENCE: pregnancy_row[fact_tables.RESIDENCE],
        fact_tables.REPORTING_INSTITUTION: "H1",
        fact_tables.MATERNAL: True,
    }
    row.update(changes)
    return row


def syphilis_case(recorded: date, **changes: Any) -> dict[str, Any]:
    row: dict[str, Any] = {
        fact_tables.CASE_ID: f"C{next(_counter)}",
        fact_tables.RECORDED_DATE: recorded,
        fact_tables.STREET: "S1",
        fact_tables.RESIDENCE: fact_tables.RESIDENT,
        fact_tables.REPORTING_INSTITUTION: "H1",
    }
    row.update(changes)
    return row


def _frame(table: str, rows: Sequence[dict[str, Any]]) -> pd.DataFrame:
    if not rows:
        return fact_tables.empty_frame(table)
    frame = pd.DataFrame(list(rows))
    for column in fact_tables.CONTRACT[table]:
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
) -> fact_tables.FactFrames:
    """Fact tables from rows. Without ``births``, each delivered pregnancy gets default babies
    for its live_births and stillbirths counts (stillborn at 39+0 weeks)."""
    if births is None:
        births = [
            baby(p, **({} if i < p[fact_tables.LIVE_BIRTHS] else {fact_tables.LIVE: False}))
            for p in pregnancies
            if p[fact_tables.DELIVERY_DATE] is not None
            for i in range(p[fact_tables.LIVE_BIRTHS] + p[fact_tables.STILLBIRTHS])
        ]
    return fact_tables.FactFrames(
        _frame(fact_tables.PREGNANCIES, pregnancies),
        _frame(fact_tables.BIRTHS, births),
        _frame(fact_tables.MATERNAL_DEATHS, deaths),
        _frame(fact_tables.CONGENITAL_SYPHILIS, syphilis),
        case_managed_colours=case_managed_colours,
    )


def by_id(values: Sequence[IndicatorValue]) -> dict[str, IndicatorValue]:
    return {v.id: v for v in values}


def counts(values: Sequence[IndicatorValue], indicator_id: str) -> tuple[int, int]:
    v = by_id(values)[indicator_id]
    return (v.numerator, v.denominator)
