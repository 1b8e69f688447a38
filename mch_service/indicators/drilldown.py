"""Drill-down with reasons: the records behind one result, each with what it adds to the
denominator and the numerator and the criteria it met or missed (pure, like calculations.py).

A row is one counted record of ``counts.count_units`` (a delivery of the cohort, a maternal
death, a congenital syphilis case) that adds to the indicator's denominator or numerator in the
period and view: ``units`` is what it adds to the denominator (live births where the indicator
counts live births, so twins add 2), ``numerator_units`` what it adds to the numerator. Summed
over the rows they are the indicator's denominator and numerator exactly, because the result is
the sum of the same rows (``calculations.compute``).

``criteria`` name each condition of the numerator (id -> met, and the value behind it where
there is one: e.g. ``checks_5plus``: not met, 3 check days). Labels: ``CRITERION_LABELS``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd

from mch_service.indicators import fact_tables
from mch_service.indicators.calculations import _select, count_pair
from mch_service.indicators.counts import (
    AREA,
    DATE,
    ID,
    INSTITUTION,
    STREET,
    Cohort,
    count_units,
)
from mch_service.indicators.periods import parse_period
from mch_service.indicators.settings import DEFAULT_SETTINGS, IndicatorSettings

# A criterion: (its values per cohort delivery, whether each is met). A value is a number,
# a word (a colour) or None (nothing recorded).
Criterion = Callable[[Cohort], tuple[list[Any], npt.NDArray[np.bool_]]]

# criterion id -> (Chinese label, English label)
CRITERION_LABELS: dict[str, tuple[str, str]] = {
    "early_registration": ("早孕建册（孕13周前）", "booked before 13+0 weeks"),
    "first_contact_12w": ("孕12周内首次产检", "first contact at 12 weeks or earlier"),
    "checks_1plus": ("产前检查≥1次", "1+ prenatal check days"),
    "checks_4plus": ("产前检查≥4次", "4+ prenatal check days"),
    "checks_5plus": ("产前检查≥5次", "5+ prenatal check days"),
    "checks_8plus": ("产前检查≥8次", "8+ prenatal check days"),
    "facility_delivery": ("住院分娩", "delivered in a facility"),
    "postpartum_visit_28d": ("产后28天内访视", "postpartum visit within 28 days"),
    "postpartum_42d_check": ("产后42天检查", "42-day postpartum check"),
    "caesarean": ("剖宫产", "caesarean delivery"),
    "epds_42d": ("产后抑郁筛查（EPDS）", "EPDS screening at the 42-day check"),
    "high_risk": ("高危（黄/橙/红/紫）", "high risk (yellow/orange/red/purple)"),
    "high_risk_managed": ("高危管理（复评或随访）", "re-assessed or followed up"),
    "case_opened_in_time": ("专案及时建立", "case opened in time"),
    "case_followed_at_interval": ("按期随访", "followed at the interval"),
    "treated": ("孕期治疗", "treated in pregnancy"),
    "penicillin_days_before_delivery": (
        "青霉素治疗开始距分娩天数",
        "days from the first penicillin to delivery",
    ),
    "anaemia": ("贫血（非地贫）", "anaemia (not thalassaemia)"),
    "tested": ("已检测", "tested"),
    "screened": ("已筛查", "screened"),
    "diagnosed": ("已产前诊断", "prenatal diagnosis"),
    "severe_maternal_morbidity": ("危重孕产妇", "severe maternal morbidity"),
    "babies": ("计入分子的婴儿数", "babies counted in the numerator"),
    "maternal_death": ("孕产妇死亡", "maternal death"),
    "congenital_syphilis": ("先天梅毒病例", "congenital syphilis case"),
}


def _values(array: npt.NDArray[Any]) -> list[Any]:
    out: list[Any] = []
    for v in array.tolist():
        if isinstance(v, float) and np.isnan(v):
            out.append(None)
        elif isinstance(v, float) and v.is_integer():
            out.append(int(v))
        else:
            out.append(v)
    return out


def _flag(column: str) -> Criterion:
    def criterion(c: Cohort) -> tuple[list[Any], npt.NDArray[np.bool_]]:
        met = c.optional_flag(column)
        return [None] * c.size, met

    return criterion


def _ga_below(days: int) -> Criterion:
    def criterion(c: Cohort) -> tuple[list[Any], npt.NDArray[np.bool_]]:
        ga = c.first_contact_ga
        return _values(ga), ga < days

    return criterion


def _checks(n: int) -> Criterion:
    return lambda c: (c.checks.tolist(), c.checks >= n)


def _colour(c: Cohort) -> tuple[list[Any], npt.NDArray[np.bool_]]:
    colours = [None if pd.isna(x) else str(x) for x in c.colour.tolist()]
    purple = c.flag(fact_tables.PURPLE)
    shown = [("purple" if p else col) for col, p in zip(colours, purple.tolist(), strict=True)]
    return shown, c.high_risk


def _penicillin_days(c: Cohort) -> tuple[list[Any], npt.NDArray[np.bool_]]:
    if fact_tables.SYPHILIS_PENICILLIN_START not in c.frame.columns:
        return [None] * c.size, np.zeros(c.size, dtype=bool)
    days = (c.frame[fact_tables.DELIVERY_DATE] - c.frame[fact_tables.SYPHILIS_PENICILLIN_START]).dt
    values = [None if pd.isna(d) else int(d) for d in days.days.tolist()]
    return values, c.syphilis_adequately_treated


_EARLY = {"early_registration": _ga_below(91)}
_CHECKS5 = {"checks_5plus": _checks(5)}
_FACILITY = {"facility_delivery": _flag(fact_tables.FACILITY_DELIVERY)}
_VISIT = {"postpartum_visit_28d": _flag(fact_tables.POSTPARTUM_VISIT_28D)}
_HIGH_RISK = {"high_risk": _colour}

# numerator base count -> its criteria (in the order they are read). A numerator not listed
# has one criterion named after it: whether the record adds to the numerator.
CRITERIA: Mapping[str, Mapping[str, Criterion]] = {
    "systematic": {**_EARLY, **_CHECKS5, **_FACILITY, **_VISIT},
    "first_contact_lt91": _EARLY,
    "first_contact_le84": {"first_contact_12w": _ga_below(85)},
    "checks_1plus": {"checks_1plus": _checks(1)},
    "checks_4plus": {"checks_4plus": _checks(4)},
    "checks_5plus": _CHECKS5,
    "checks_8plus": {"checks_8plus": _checks(8)},
    "postpartum_visit_28d": _VISIT,
    "postpartum_42d_check": {"postpartum_42d_check": _flag(fact_tables.POSTPARTUM_42D_CHECK)},
    "facility_live_births": _FACILITY,
    "caesarean_live_births": {"caesarean": _flag(fact_tables.CAESAREAN)},
    "caesarean_women": {"caesarean": _flag(fact_tables.CAESAREAN)},
    "epds_42d": {"epds_42d": _flag(fact_tables.EPDS_42D)},
    "high_risk": _HIGH_RISK,
    "high_risk_managed": {
        **_HIGH_RISK,
        "high_risk_managed": _flag(fact_tables.HIGH_RISK_MANAGED),
    },
    "high_risk_facility": {**_HIGH_RISK, **_FACILITY},
    "case_managed_in_time_followed": {
        "case_opened_in_time": _flag(fact_tables.CASE_OPENED_IN_TIME),
        "case_followed_at_interval": _flag(fact_tables.CASE_FOLLOWED_AT_INTERVAL),
    },
    "hiv_positive_treated": {"treated": _flag("hiv_treated")},
    "syphilis_positive_treated": {"treated": _flag("syphilis_treated")},
    "syphilis_adequately_treated": {"penicillin_days_before_delivery": _penicillin_days},
    "anaemia_non_thalassaemia": {"anaemia": _flag(fact_tables.ANAEMIA)},
    "thalassaemia_screened": {"screened": _flag(fact_tables.THALASSAEMIA_SCREENED)},
    "prenatal_screened": {"screened": _flag(fact_tables.PRENATAL_SCREENED)},
    "prenatal_diagnosed": {"diagnosed": _flag(fact_tables.PRENATAL_DIAGNOSED)},
    "severe_maternal_morbidity": {
        "severe_maternal_morbidity": _flag(fact_tables.SEVERE_MATERNAL_MORBIDITY)
    },
    **{
        f"{i}_{kind}": {"tested": _flag(f"{i}_{kind}")}
        for i in fact_tables.INFECTIONS
        for kind in ("tested", "tested_in_pregnancy", "tested_early")
    },
}

# what a record is, by the count that placed it in the table
KIND_DELIVERY, KIND_DEATH, KIND_CS = "delivery", "maternal_death", "congenital_syphilis"
# event numerators: the event row itself is the criterion
_EVENTS = {"maternal_deaths": KIND_DEATH, "congenital_syphilis": KIND_CS}


@dataclass(frozen=True)
class DrillRow:
    record_id: str
    kind: str  # delivery | maternal_death | congenital_syphilis
    units: int
    numerator_units: int
    date: str | None  # the attribution day: delivery, death or diagnosis
    street: str | None
    area: str
    institution: str | None
    criteria: dict[str, dict[str, Any]]
    # the pregnancy to open: the record's own, the mother's for a congenital syphilis case
    pregnancy_id: str | None = None

    @property
    def in_numerator(self) -> bool:
        return self.numerator_units > 0

    @property
    def missed(self) -> bool:
        """In the denominator and not in the numerator (a condition not met). A row in both
        can add less to the numerator than to the denominator without missing anything:
        系统管理率 counts women over live births, so twins add 2 and 1."""
        return self.units > 0 and self.numerator_units == 0


def _cohort(facts: fact_tables.FactFrames, settings: IndicatorSettings) -> Cohort:
    preg = facts.pregnancies
    keep = preg[fact_tables.DELIVERY_DATE].notna().to_numpy()
    keep = keep & preg[fact_tables.COUNTED_DELIVERY].to_numpy(dtype=bool)
    keep = keep & ~preg[fact_tables.EXCLUDED].to_numpy(dtype=bool)
    return Cohort(preg.loc[keep], facts.births, settings)


def drilldown(
    facts: fact_tables.FactFrames,
    indicator_id: str,
    period: str,
    area: str = fact_tables.DISTRICT,
    institution: str = fact_tables.ALL_INSTITUTIONS,
    settings: IndicatorSettings | None = None,
) -> list[DrillRow]:
    """The rows of one calculated indicator's result, in attribution-day order then id."""
    settings = settings or DEFAULT_SETTINGS
    p = parse_period(period)
    numerator, denominator = count_pair(indicator_id, settings)
    units = count_units(facts, settings)
    mask = _select(units, p, area, institution)
    num = units[numerator].to_numpy(dtype=np.int64)
    den = units[denominator].to_numpy(dtype=np.int64)
    chosen = units.loc[mask & ((num > 0) | (den > 0))]

    # the criteria of the cohort deliveries, by pregnancy id
    criteria_of: dict[str, dict[str, dict[str, Any]]] = {}
    named = CRITERIA.get(numerator)
    if named:
        cohort = _cohort(facts, settings)
        wanted = set(chosen[ID].astype(str))
        ids = cohort.frame[fact_tables.PREGNANCY_ID].astype(str).tolist()
        evaluated = {name: fn(cohort) for name, fn in named.items()}
        for n, pid in enumerate(ids):
            if pid in wanted:
                criteria_of[pid] = {
                    name: {"met": bool(met[n]), "value": values[n]}
                    for name, (values, met) in evaluated.items()
                }

    deaths = chosen["maternal_deaths"].to_numpy(dtype=np.int64) > 0
    cases = chosen["congenital_syphilis"].to_numpy(dtype=np.int64) > 0
    ids = chosen[ID].astype(str).tolist()
    dens = chosen[denominator].to_numpy(dtype=np.int64).tolist()
    nums = chosen[numerator].to_numpy(dtype=np.int64).tolist()
    days = chosen[DATE].tolist()
    streets = chosen[STREET].tolist()
    areas = chosen[AREA].tolist()
    insts = chosen[INSTITUTION].tolist()
    cs = facts.congenital_syphilis
    mothers: dict[str, str] = {}
    if "pregnancy_id" in cs.columns:
        mothers = {
            str(case): str(pid)
            for case, pid in zip(cs[fact_tables.CASE_ID], cs["pregnancy_id"], strict=True)
            if isinstance(pid, str)
        }
    rows: list[DrillRow] = []
    for n, rid in enumerate(ids):
        u, nu = int(dens[n]), int(nums[n])
        kind = KIND_DEATH if deaths[n] else KIND_CS if cases[n] else KIND_DELIVERY
        crit: dict[str, dict[str, Any]]
        if kind == KIND_DELIVERY and numerator in _EVENTS:
            crit = {_EVENTS[numerator]: {"met": False, "value": None}}
        elif kind == KIND_DELIVERY:
            crit = criteria_of.get(rid) or {numerator: {"met": nu >= u and nu > 0, "value": nu}}
            if numerator in _BABY_COUNTS:
                crit = {**crit, "babies": {"met": nu > 0, "value": nu}}
        else:
            crit = {kind: {"met": True, "value": None}}
        day, street, inst = days[n], streets[n], insts[n]
        rows.append(
            DrillRow(
                record_id=rid,
                kind=kind,
                units=u,
                numerator_units=nu,
                date=None if pd.isna(day) else pd.Timestamp(day).date().isoformat(),
                street=None if street is None or pd.isna(street) else str(street),
                area=str(areas[n]),
                institution=None if inst is None or pd.isna(inst) else str(inst),
                criteria=crit,
                pregnancy_id=mothers.get(rid) if kind == KIND_CS else rid,
            )
        )
    rows.sort(key=lambda r: (r.date or "", r.record_id))
    return rows


# numerators that count babies of a delivery rather than the woman
_BABY_COUNTS = frozenset(
    {
        "perinatal_deaths",
        "low_birth_weight",
        "preterm_live_births",
        "macrosomia_live_births",
        "infants_hbig_timely",
        "infants_hepb_vaccine_timely",
        "infants_arv",
        "infants_syphilis_prophylaxis",
    }
)


def criterion_ids(indicator_id: str, settings: IndicatorSettings) -> list[str]:
    """The criteria a drill-down row of the indicator can name (for filters and exports)."""
    numerator, _ = count_pair(indicator_id, settings)
    if numerator in _EVENTS:
        return [_EVENTS[numerator]]
    named = list(CRITERIA.get(numerator, {numerator: None}))
    if numerator in _BABY_COUNTS:
        named.append("babies")
    return named
