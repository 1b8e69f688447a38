"""Base counts: every count an indicator divides, each declared once in ``BASE_COUNTS``.

A base count is a per-record number: for each delivery of the cohort (产妇数 = 1 per woman,
活产数 = her live births, "tested for HIV" = 0 or 1, ...), for each maternal death and for each
congenital syphilis case. ``count_units`` turns the fact tables into one row per counted record with
its attribution day, street and institution beside the counts; ``calculations.py`` sums those
rows over periods and views and divides them per ``calculations.CALCULATIONS``.

Rules: docs/indicator-rules.md ("Attribution", "The indicators").
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property

import numpy as np
import numpy.typing as npt
import pandas as pd

from mch_service.indicators import fact_tables
from mch_service.indicators.errors import IndicatorInputError
from mch_service.indicators.settings import IndicatorSettings

# Attribution keys of a unit row (beside the count columns). AREA is the residence line the
# record belongs to ("district" for residents, "non_resident", "address_unknown"); STREET is
# set for residents only, so a non-resident is in no street.
DATE, STREET, INSTITUTION, ID = "_date", "_street", "_institution", "_id"
AREA = "_area"

# The two cohort denominators most indicators share.
WOMEN = "women"  # 产妇数: women delivered in the period
LIVE_BIRTHS = "live_births"  # 活产数: their live births (twins count twice)

Counts = npt.NDArray[np.bool_] | npt.NDArray[np.int64]


def _bool(frame: pd.DataFrame, column: str) -> npt.NDArray[np.bool_]:
    return frame[column].to_numpy(dtype=bool)


def _float(frame: pd.DataFrame, column: str) -> npt.NDArray[np.float64]:
    # Missing (NA/NaN) becomes NaN, and every comparison with NaN is False: an unknown GA or
    # weight never satisfies a threshold.
    return frame[column].to_numpy(dtype=np.float64, na_value=np.nan)


class Cohort:
    """The delivery cohort's columns as arrays, one entry per delivered pregnancy, with the
    derived values several base counts share (computed once, on first use)."""

    def __init__(
        self, frame: pd.DataFrame, births: pd.DataFrame, settings: IndicatorSettings
    ) -> None:
        self.frame = frame
        self.births = births
        self.settings = settings
        self.size = len(frame)

    def flag(self, column: str) -> npt.NDArray[np.bool_]:
        return _bool(self.frame, column)

    def optional_flag(self, column: str) -> npt.NDArray[np.bool_]:
        """A flag of an optional column: False for every delivery when it is absent."""
        if column not in self.frame.columns:
            return np.zeros(self.size, dtype=bool)
        return self.flag(column)

    @cached_property
    def live_births(self) -> npt.NDArray[np.int64]:
        return self.frame[fact_tables.LIVE_BIRTHS].to_numpy(dtype=np.int64)

    @cached_property
    def first_contact_ga(self) -> npt.NDArray[np.float64]:
        return _float(self.frame, fact_tables.FIRST_CONTACT_GA_DAYS)

    @cached_property
    def early(self) -> npt.NDArray[np.bool_]:
        return self.first_contact_ga < 91  # before 13+0 weeks

    @cached_property
    def checks(self) -> npt.NDArray[np.int64]:
        return self.frame[fact_tables.PRENATAL_CHECK_DAYS].to_numpy(dtype=np.int64)

    @cached_property
    def colour(self) -> pd.Series:
        return self.frame[fact_tables.HIGHEST_COLOUR]

    @cached_property
    def high_risk(self) -> npt.NDArray[np.bool_]:
        """Highest colour not green (yellow, orange, red) or purple."""
        graded = self.colour.isin(["yellow", "orange", "red"]).to_numpy(dtype=bool)
        return graded | self.flag(fact_tables.PURPLE)

    @cached_property
    def case_managed(self) -> npt.NDArray[np.bool_]:
        managed_set = self.settings.case_managed_colours
        colours = [c for c in managed_set if c != "purple"]
        managed = self.colour.isin(colours).to_numpy(dtype=bool)
        if "purple" in managed_set:
            managed = managed | self.flag(fact_tables.PURPLE)
        return managed

    @cached_property
    def hb_women(self) -> npt.NDArray[np.bool_]:
        hb_women = self.flag(fact_tables.HAS_HB)
        if self.settings.anaemia_denominator_excludes_thalassaemia:
            hb_women = hb_women & ~self.flag(fact_tables.THALASSAEMIA)
        return hb_women

    @cached_property
    def syphilis_adequately_treated(self) -> npt.NDArray[np.bool_]:
        """Syphilis-infected, penicillin started ≥ N days before the delivery day
        (``syphilis_adequate_days``)."""
        if fact_tables.SYPHILIS_PENICILLIN_START not in self.frame.columns:
            return np.zeros(self.size, dtype=bool)
        start = self.frame[fact_tables.SYPHILIS_PENICILLIN_START]
        days = (self.frame[fact_tables.DELIVERY_DATE] - start).dt.days
        started = (days >= self.settings.syphilis_adequate_days).to_numpy(dtype=bool)
        return self.flag("syphilis_positive") & start.notna().to_numpy() & started

    @cached_property
    def baby_counts(self) -> pd.DataFrame:
        """Per cohort pregnancy: perinatal stillbirths, early neonatal deaths, low-weight
        births (columns still, neonatal, lbw)."""
        cohort_ids = self.frame[fact_tables.PREGNANCY_ID].to_numpy(dtype=object)
        births = self.births
        births = births.loc[births[fact_tables.PREGNANCY_ID].isin(cohort_ids).to_numpy()]
        live = _bool(births, fact_tables.LIVE)
        ga = _float(births, fact_tables.GA_DAYS)
        weight = _float(births, fact_tables.WEIGHT_G)
        age = _float(births, fact_tables.NEONATAL_DEATH_AGE_DAYS)
        per_baby = pd.DataFrame(
            {
                "pid": births[fact_tables.PREGNANCY_ID].to_numpy(dtype=object),
                # 围产儿: stillbirth at >= 28+0 weeks (196 d), or >= 1000 g when GA is unknown.
                "still": ~live & ((ga >= 196) | (np.isnan(ga) & (weight >= 1000))),
                # Early neonatal death: a live-born baby who died 0-6 days after birth.
                "neonatal": live & (age >= 0) & (age <= 6),
                # Low birth weight: < 2500 g; an unknown weight is not low.
                "lbw": live & (weight < 2500),
                # Preterm: a live birth before 37+0 weeks (259 d); an unknown GA is not.
                "preterm": live & (ga < 259),
                # Macrosomia (巨大儿): a live birth of >= 4000 g.
                "macrosomia": live & (weight >= 4000),
            }
        )
        return (
            per_baby.groupby("pid", sort=False)[
                ["still", "neonatal", "lbw", "preterm", "macrosomia"]
            ]
            .sum()
            .reindex(cohort_ids, fill_value=0)
        )

    def babies(self, column: str) -> npt.NDArray[np.int64]:
        return self.baby_counts[column].to_numpy(dtype=np.int64)

    @cached_property
    def infant_counts(self) -> pd.DataFrame:
        """Per cohort pregnancy, its live-born babies with: HBIG within ``hbig_hours`` of birth
        (hbig), the first hepatitis B vaccine dose within ``hepb_vaccine_hours`` (hepb), an
        antiretroviral record (arv), penicillin prophylaxis (penicillin). A dose whose time or
        the birth time is unknown is not timely (its hours are NaN)."""
        cohort_ids = self.frame[fact_tables.PREGNANCY_ID].to_numpy(dtype=object)
        births = self.births
        births = births.loc[births[fact_tables.PREGNANCY_ID].isin(cohort_ids).to_numpy()]
        live = _bool(births, fact_tables.LIVE)

        def hours(column: str) -> npt.NDArray[np.float64]:
            if column not in births.columns:
                return np.full(len(births), np.nan)
            return _float(births, column)

        def flag(column: str) -> npt.NDArray[np.bool_]:
            if column not in births.columns:
                return np.zeros(len(births), dtype=bool)
            return _bool(births, column)

        per_baby = pd.DataFrame(
            {
                "pid": births[fact_tables.PREGNANCY_ID].to_numpy(dtype=object),
                "hbig": live & (hours(fact_tables.HBIG_AFTER_HOURS) <= self.settings.hbig_hours),
                "hepb": live
                & (hours(fact_tables.HEPB_VACCINE_AFTER_HOURS) <= self.settings.hepb_vaccine_hours),
                "arv": live & flag(fact_tables.INFANT_ARV),
                "penicillin": live & flag(fact_tables.INFANT_SYPHILIS_PROPHYLAXIS),
            }
        )
        columns = ["hbig", "hepb", "arv", "penicillin"]
        return per_baby.groupby("pid", sort=False)[columns].sum().reindex(cohort_ids, fill_value=0)

    def infants(self, column: str, mother_positive: str) -> npt.NDArray[np.int64]:
        """Live-born babies with ``column``, of mothers with ``mother_positive``."""
        counts = self.infant_counts[column].to_numpy(dtype=np.int64)
        return counts * self.flag(mother_positive)


def _flag(column: str) -> Callable[[Cohort], Counts]:
    return lambda cohort: cohort.flag(column)


def _recorded_per_event(cohort: Cohort) -> Counts:
    # Counted per event row (``count_units``), never per delivery.
    return np.zeros(cohort.size, dtype=np.int64)


def _infection_flags() -> dict[str, Callable[[Cohort], Counts]]:
    flags = ("tested", "tested_in_pregnancy")
    return {
        **{f"{i}_{flag}": _flag(f"{i}_{flag}") for i in fact_tables.INFECTIONS for flag in flags},
        **{f"{i}_tested_early": _flag(f"{i}_tested_early") for i in fact_tables.INFECTIONS},
    }


# name -> its value per cohort delivery. An indicator names two of these in CALCULATIONS.
BASE_COUNTS: Mapping[str, Callable[[Cohort], Counts]] = {
    WOMEN: lambda c: np.ones(c.size, dtype=np.int64),
    LIVE_BIRTHS: lambda c: c.live_births,
    # 系统管理: all four conditions (docs/indicator-rules.md, systematic_management_rate).
    "systematic": lambda c: (
        c.early
        & (c.checks >= 5)
        & c.flag(fact_tables.FACILITY_DELIVERY)
        & c.flag(fact_tables.POSTPARTUM_VISIT_28D)
    ),
    "first_contact_lt91": lambda c: c.early,
    # WHO: first contact at <= 12 weeks, 12+0 included: GA <= 84 d.
    "first_contact_le84": lambda c: c.first_contact_ga < 85,
    "checks_1plus": lambda c: c.checks >= 1,
    "checks_4plus": lambda c: c.checks >= 4,
    "checks_5plus": lambda c: c.checks >= 5,
    "checks_8plus": lambda c: c.checks >= 8,
    "postpartum_visit_28d": _flag(fact_tables.POSTPARTUM_VISIT_28D),
    "postpartum_42d_check": _flag(fact_tables.POSTPARTUM_42D_CHECK),
    "facility_live_births": lambda c: c.live_births * c.flag(fact_tables.FACILITY_DELIVERY),
    "caesarean_live_births": lambda c: c.live_births * c.flag(fact_tables.CAESAREAN),
    "caesarean_women": _flag(fact_tables.CAESAREAN),
    **_infection_flags(),
    "hiv_positive": _flag("hiv_positive"),
    "hiv_positive_treated": lambda c: c.flag("hiv_positive") & c.flag("hiv_treated"),
    "syphilis_positive": _flag("syphilis_positive"),
    "syphilis_positive_treated": lambda c: c.flag("syphilis_positive") & c.flag("syphilis_treated"),
    "syphilis_adequately_treated": lambda c: c.syphilis_adequately_treated,
    "thalassaemia_screened": lambda c: c.optional_flag(fact_tables.THALASSAEMIA_SCREENED),
    "prenatal_screened": lambda c: c.optional_flag(fact_tables.PRENATAL_SCREENED),
    "prenatal_diagnosed": lambda c: c.optional_flag(fact_tables.PRENATAL_DIAGNOSED),
    "high_risk": lambda c: c.high_risk,
    # Rule 7 (a) 高危孕产妇管理率: re-assessed or followed up (not a prenatal visit alone).
    "high_risk_managed": lambda c: c.high_risk & c.flag(fact_tables.HIGH_RISK_MANAGED),
    "high_risk_facility": lambda c: c.high_risk & c.flag(fact_tables.FACILITY_DELIVERY),
    "case_managed": lambda c: c.case_managed,
    # Rule 7 (b) 高危孕产妇专案管理率: case opened in time and followed at the interval.
    "case_managed_in_time_followed": lambda c: (
        c.case_managed
        & c.flag(fact_tables.CASE_OPENED_IN_TIME)
        & c.flag(fact_tables.CASE_FOLLOWED_AT_INTERVAL)
    ),
    "epds_42d": _flag(fact_tables.EPDS_42D),
    "case_managed_contacted": lambda c: c.case_managed & c.flag(fact_tables.CASE_MANAGED_CONTACT),
    "hb_women": lambda c: c.hb_women,
    # anaemia implies has_hb (checked by check_frames), so this is within hb_women.
    "anaemia_non_thalassaemia": lambda c: (
        c.flag(fact_tables.ANAEMIA) & ~c.flag(fact_tables.THALASSAEMIA)
    ),
    "perinatal_deaths": lambda c: c.babies("still") + c.babies("neonatal"),
    "perinatal_births": lambda c: c.babies("still") + c.live_births,
    "low_birth_weight": lambda c: c.babies("lbw"),
    # 危重孕产妇: women with a near-miss record (pregnancy start to delivery + 42 days).
    "severe_maternal_morbidity": lambda c: c.optional_flag(fact_tables.SEVERE_MATERNAL_MORBIDITY),
    "preterm_live_births": lambda c: c.babies("preterm"),
    "macrosomia_live_births": lambda c: c.babies("macrosomia"),
    # Exposed infants: live births of positive mothers, and those of them given the
    # prophylaxis (docs/indicator-rules.md, "Infants of infected mothers").
    "hbsag_positive_live_births": lambda c: c.live_births * c.flag("hbsag_positive"),
    "hiv_positive_live_births": lambda c: c.live_births * c.flag("hiv_positive"),
    "syphilis_positive_live_births": lambda c: c.live_births * c.flag("syphilis_positive"),
    "infants_hbig_timely": lambda c: c.infants("hbig", "hbsag_positive"),
    "infants_hepb_vaccine_timely": lambda c: c.infants("hepb", "hbsag_positive"),
    "infants_arv": lambda c: c.infants("arv", "hiv_positive"),
    "infants_syphilis_prophylaxis": lambda c: c.infants("penicillin", "syphilis_positive"),
    # Events: one row per maternal death or congenital syphilis case (see ``count_units``).
    "maternal_deaths": _recorded_per_event,
    "congenital_syphilis": _recorded_per_event,
}
COUNT_COLUMNS: tuple[str, ...] = tuple(BASE_COUNTS)


def _cohort_units(facts: fact_tables.FactFrames, settings: IndicatorSettings) -> pd.DataFrame:
    preg = facts.pregnancies
    # Cohort = deliveries at 28+0 weeks or later (counted_delivery; an earlier ending is a
    # loss, in no cohort count) whose delivery day is set (the period filter comes later); a
    # clinically impossible record keeps the pregnancy out of every number.
    in_cohort = preg[fact_tables.DELIVERY_DATE].notna().to_numpy()
    in_cohort = in_cohort & _bool(preg, fact_tables.COUNTED_DELIVERY)
    frame = preg.loc[in_cohort & ~_bool(preg, fact_tables.EXCLUDED)]
    cohort = Cohort(frame, facts.births, settings)
    matrix = np.column_stack(
        [BASE_COUNTS[column](cohort).astype(np.int64) for column in COUNT_COLUMNS]
    )
    return _with_keys(
        matrix.reshape(cohort.size, len(COUNT_COLUMNS)),
        frame[fact_tables.PREGNANCY_ID],
        frame[fact_tables.DELIVERY_DATE],
        frame[fact_tables.STREET],
        frame[fact_tables.RESIDENCE],
        frame[fact_tables.DELIVERY_INSTITUTION],
    )


def _with_keys(
    matrix: npt.NDArray[np.int64],
    ids: pd.Series,
    day: pd.Series,
    street: pd.Series,
    residence: pd.Series,
    institution: pd.Series,
) -> pd.DataFrame:
    """Attribution keys beside the counts, the counts kept as one int64 block (fast sums).
    ``ids`` name the counted record (pregnancy or case) for drill-down. The residence becomes
    the area line; only a resident has a street."""
    resident = (residence == fact_tables.RESIDENT).to_numpy()
    keys = pd.DataFrame(
        {
            ID: ids.to_numpy(dtype=object),
            DATE: day.to_numpy(dtype="datetime64[ns]"),
            STREET: np.where(resident, street.to_numpy(dtype=object), None),
            AREA: residence.map(fact_tables.RESIDENCE_AREAS).to_numpy(dtype=object),
            INSTITUTION: institution.to_numpy(dtype=object),
        }
    )
    return pd.concat([keys, pd.DataFrame(matrix, columns=list(COUNT_COLUMNS))], axis=1)


def _event_units(
    frame: pd.DataFrame, id_column: str, date_column: str, count_column: str
) -> pd.DataFrame:
    matrix = np.zeros((len(frame), len(COUNT_COLUMNS)), dtype=np.int64)
    matrix[:, COUNT_COLUMNS.index(count_column)] = 1
    # Deaths and congenital syphilis belong to the institution that reported them, and to
    # the area of the woman's residence.
    return _with_keys(
        matrix,
        frame[id_column],
        frame[date_column],
        frame[fact_tables.STREET],
        frame[fact_tables.RESIDENCE],
        frame[fact_tables.REPORTING_INSTITUTION],
    )


def _once_per_woman(deaths: pd.DataFrame) -> pd.DataFrame:
    """An entered death (report card) of a woman whose death a feed reports counts once: the
    fed one stays, with its own cause rule and review (docs/indicator-rules.md, "Maternal
    death")."""
    if fact_tables.ENTERED not in deaths.columns or fact_tables.WOMAN_ID not in deaths.columns:
        return deaths
    entered = _bool(deaths, fact_tables.ENTERED)
    fed_women = set(deaths.loc[~entered, fact_tables.WOMAN_ID])
    duplicate = entered & deaths[fact_tables.WOMAN_ID].isin(fed_women).to_numpy()
    return deaths.loc[~duplicate]


def count_units(facts: fact_tables.FactFrames, settings: IndicatorSettings) -> pd.DataFrame:
    """One row per counted record: the attribution keys (``ID``, ``DATE``, ``STREET``,
    ``AREA``, ``INSTITUTION``) and the ``COUNT_COLUMNS``."""
    fact_tables.check_frames(facts)
    if facts.case_managed_colours is not None and set(facts.case_managed_colours) != set(
        settings.case_managed_colours
    ):
        raise IndicatorInputError(
            "The facts' case_managed_contact was derived for the colours "
            f"{', '.join(facts.case_managed_colours)}, but the settings ask for "
            f"{', '.join(settings.case_managed_colours)}; rebuild the facts with the same set"
        )
    deaths = _once_per_woman(facts.maternal_deaths)
    excluded_ids = facts.pregnancies.loc[
        _bool(facts.pregnancies, fact_tables.EXCLUDED), fact_tables.PREGNANCY_ID
    ].to_numpy(dtype=object)
    # Maternal deaths: accidental causes and deaths excluded on review are not maternal; a
    # death of an excluded pregnancy counts nowhere, like everything else about it.
    of_excluded = deaths[fact_tables.PREGNANCY_ID].isin(excluded_ids).to_numpy()
    deaths = deaths.loc[_bool(deaths, fact_tables.MATERNAL) & ~of_excluded]
    parts = [
        _cohort_units(facts, settings),
        _event_units(deaths, fact_tables.PREGNANCY_ID, fact_tables.DEATH_DATE, "maternal_deaths"),
        _event_units(
            facts.congenital_syphilis,
            fact_tables.CASE_ID,
            fact_tables.RECORDED_DATE,
            "congenital_syphilis",
        ),
    ]
    parts = [p for p in parts if len(p)] or parts[:1]
    return pd.concat(parts, ignore_index=True) if len(parts) > 1 else parts[0]
