"""The fact tables contract: the tables the indicator engine counts (column names, dtypes,
``check_frames``).

``loaders.py`` builds these from the domain tables, applying docs/indicator-rules.md's fact rules
(days in the district's zone, pregnancy windows, GA, tests, colours, ...). The engine only counts.
``check_frames`` refuses a table that breaks the contract with one error listing every problem,
so a mistake shows up as an error and never as a quietly wrong rate.

Dates are calendar days in the district's zone: tz-naive ``datetime64`` at midnight. A value
with a time of day or a zone is refused, because it means an instant was passed where a local
day was meant (2025-03-31T17:30Z is 1 April in Shanghai).

Extra columns are allowed and ignored.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from pandas.api import types as ptypes

from mch_service.indicators.errors import IndicatorInputError
from mch_service.indicators.settings import RISK_COLOURS, SEVERITY_COLOURS

# --- table names ---------------------------------------------------------------------------
PREGNANCIES = "pregnancies"
BIRTHS = "births"
MATERNAL_DEATHS = "maternal_deaths"
CONGENITAL_SYPHILIS = "congenital_syphilis"

# --- pregnancies: one row per pregnancy (delivered or lost) --------------------------------
PREGNANCY_ID = "pregnancy_id"
WOMAN_ID = "woman_id"
STREET = "street"  # attribution street/town code (镇街) of the woman's home; None = unknown
# Where the woman lives (现住址; docs/indicator-rules.md, "Attribution"): RESIDENT counts in the
# district and its streets, the others in their own area lines only.
RESIDENCE = "residence"
RESIDENT, NON_RESIDENT, RESIDENCE_UNKNOWN = "resident", "non_resident", "unknown"
RESIDENCES: tuple[str, ...] = (RESIDENT, NON_RESIDENT, RESIDENCE_UNKNOWN)
DELIVERY_INSTITUTION = "delivery_institution"
DELIVERY_DATE = "delivery_date"  # NaT when the pregnancy did not end in a delivery
DELIVERY_ADMISSION_DATE = "delivery_admission_date"
DISCHARGE_DATE = "discharge_date"
PREGNANCY_END_DATE = "pregnancy_end_date"  # delivery or loss
# 产妇数/活产数 count a delivery at 28+0 weeks or later (GA >= 196 days; GA unknown: a baby of
# >= 1000 g). An earlier ending is a loss (流产/引产): in no cohort count.
COUNTED_DELIVERY = "counted_delivery"
FACILITY_DELIVERY = "facility_delivery"
CAESAREAN = "caesarean"
LIVE_BIRTHS = "live_births"
STILLBIRTHS = "stillbirths"
FIRST_CONTACT_GA_DAYS = "first_contact_ga_days"
PRENATAL_CHECK_DAYS = "prenatal_check_days"  # distinct days with a prenatal visit before admission
POSTPARTUM_VISIT_28D = "postpartum_visit_28d"
POSTPARTUM_42D_CHECK = "postpartum_42d_check"
INFECTIONS: tuple[str, ...] = ("hiv", "syphilis", "hbsag")
INFECTION_FLAGS: tuple[str, ...] = (
    "tested",
    "tested_in_pregnancy",
    "tested_early",
    "positive",
    "treated",
)
HIGHEST_COLOUR = "highest_colour"  # green/yellow/orange/red or None (no assessment)
PURPLE = "purple"
FIRST_CASE_MANAGED_DATE = "first_case_managed_date"
CASE_MANAGED_CONTACT = "case_managed_contact"
# Rule 7 (docs/indicator-rules.md, high_risk_management_rate / high_risk_case_management_rate):
# (a) a re-assessment or a recorded follow-up after the first non-green assessment, up to
# delivery + HIGH_RISK_MANAGEMENT_DAYS_AFTER_DELIVERY; (b) the case register's verdicts.
HIGH_RISK_MANAGED = "high_risk_managed"
CASE_OPENED_IN_TIME = "case_opened_in_time"
CASE_FOLLOWED_AT_INTERVAL = "case_followed_at_interval"
HIGH_RISK_MANAGEMENT_DAYS_AFTER_DELIVERY = 28
# EPDS score recorded 35-56 days after delivery (the 42-day check window)
EPDS_42D = "epds_42d"
HAS_HB = "has_hb"
ANAEMIA = "anaemia"
THALASSAEMIA = "thalassaemia"
# maternal screening, pregnancy start to the delivery admission day (docs/indicator-rules.md)
THALASSAEMIA_SCREENED = "thalassaemia_screened"
PRENATAL_SCREENED = "prenatal_screened"
PRENATAL_DIAGNOSED = "prenatal_diagnosed"
# earliest start of a penicillin regimen overlapping the pregnancy (syphilis adequacy)
SYPHILIS_PENICILLIN_START = "syphilis_penicillin_start"
EXCLUDED = "excluded"
# 危重孕产妇: a near-miss record from the pregnancy start to 42 days after the delivery
SEVERE_MATERNAL_MORBIDITY = "severe_maternal_morbidity"

# --- births: one row per baby of the deliveries ----------------------------------------------
LIVE = "live"
WEIGHT_G = "weight_g"
GA_DAYS = "ga_days"
NEONATAL_DEATH_AGE_DAYS = "neonatal_death_age_days"
# Exposed infants (docs/indicator-rules.md, "Infants of infected mothers"): hours from the
# baby's birth to its first HBIG / hepatitis B vaccine dose (NaN: none, or a time unknown),
# and whether it had an antiretroviral / penicillin record of its own.
HBIG_AFTER_HOURS = "hbig_after_hours"
HEPB_VACCINE_AFTER_HOURS = "hepb_vaccine_after_hours"
INFANT_ARV = "infant_arv"
INFANT_SYPHILIS_PROPHYLAXIS = "infant_syphilis_prophylaxis"

# --- maternal_deaths -------------------------------------------------------------------------
DEATH_DATE = "death_date"
REPORTING_INSTITUTION = "reporting_institution"
# False when the cause is accidental or incidental (ICD-10 V01-X59, X85-Y36) or the
# monitoring group excluded the death on review
MATERNAL = "maternal"
# A death entered from the report card (not fed); with WOMAN_ID it counts once per woman.
ENTERED = "entered"

# --- congenital_syphilis ---------------------------------------------------------------------
CASE_ID = "case_id"
RECORDED_DATE = "recorded_date"

# Reserved view names: a street cannot be called "district", "non_resident" or
# "address_unknown"; an institution cannot be "all".
DISTRICT = "district"  # the residents of the district
NON_RESIDENT_AREA = "non_resident"  # 非户籍/流动: an address elsewhere
ADDRESS_UNKNOWN_AREA = "address_unknown"  # no usable address
RESIDENCE_AREAS: Mapping[str, str] = {
    RESIDENT: DISTRICT,
    NON_RESIDENT: NON_RESIDENT_AREA,
    RESIDENCE_UNKNOWN: ADDRESS_UNKNOWN_AREA,
}
RESERVED_AREAS: tuple[str, ...] = (DISTRICT, NON_RESIDENT_AREA, ADDRESS_UNKNOWN_AREA)
ALL_INSTITUTIONS = "all"


def infection_column(infection: str, flag: str) -> str:
    """``infection_column("hiv", "tested_early") == "hiv_tested_early"``."""
    if infection not in INFECTIONS or flag not in INFECTION_FLAGS:
        raise IndicatorInputError(f"No infection column for {infection!r} / {flag!r}")
    return f"{infection}_{flag}"


Kind = Literal[
    "id",  # str, never missing or empty
    "street",  # str or missing; never "" or a reserved area name
    "residence",  # one of RESIDENCES, never missing
    "institution",  # str or missing; never "" or "all"
    "bool",  # bool, never missing
    "count",  # integer >= 0, never missing
    "int_or_na",  # integer, may be missing (nullable Int64)
    "float_or_nan",  # number, may be NaN
    "day",  # local day (naive datetime64 at midnight), never missing
    "day_or_nat",  # local day or NaT
    "colour_or_none",  # one of SEVERITY_COLOURS, or missing
]


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool = True


_PREGNANCY_COLUMNS: tuple[Column, ...] = (
    Column(PREGNANCY_ID, "id"),
    Column(WOMAN_ID, "id"),
    Column(STREET, "street"),
    Column(RESIDENCE, "residence"),
    Column(DELIVERY_INSTITUTION, "institution"),
    Column(DELIVERY_DATE, "day_or_nat"),
    Column(COUNTED_DELIVERY, "bool"),
    Column(DELIVERY_ADMISSION_DATE, "day_or_nat"),
    Column(DISCHARGE_DATE, "day_or_nat"),
    Column(PREGNANCY_END_DATE, "day_or_nat"),
    Column(FACILITY_DELIVERY, "bool"),
    Column(CAESAREAN, "bool"),
    Column(LIVE_BIRTHS, "count"),
    Column(STILLBIRTHS, "count"),
    Column(FIRST_CONTACT_GA_DAYS, "int_or_na"),
    Column(PRENATAL_CHECK_DAYS, "count"),
    Column(POSTPARTUM_VISIT_28D, "bool"),
    Column(POSTPARTUM_42D_CHECK, "bool"),
    *(Column(f"{i}_{f}", "bool") for i in INFECTIONS for f in INFECTION_FLAGS),
    Column(HIGHEST_COLOUR, "colour_or_none"),
    Column(PURPLE, "bool"),
    Column(FIRST_CASE_MANAGED_DATE, "day_or_nat"),
    Column(CASE_MANAGED_CONTACT, "bool"),
    Column(HIGH_RISK_MANAGED, "bool"),
    Column(CASE_OPENED_IN_TIME, "bool"),
    Column(CASE_FOLLOWED_AT_INTERVAL, "bool"),
    Column(EPDS_42D, "bool"),
    Column(HAS_HB, "bool"),
    Column(ANAEMIA, "bool"),
    Column(THALASSAEMIA, "bool"),
    # Optional (absent = none recorded), so that tables built before these rules still load.
    Column(THALASSAEMIA_SCREENED, "bool", required=False),
    Column(PRENATAL_SCREENED, "bool", required=False),
    Column(PRENATAL_DIAGNOSED, "bool", required=False),
    Column(SYPHILIS_PENICILLIN_START, "day_or_nat", required=False),
    Column(EXCLUDED, "bool"),
    Column(SEVERE_MATERNAL_MORBIDITY, "bool", required=False),  # absent: none recorded
)
_BIRTH_COLUMNS: tuple[Column, ...] = (
    Column(PREGNANCY_ID, "id"),
    Column(LIVE, "bool"),
    Column(WEIGHT_G, "float_or_nan"),
    Column(GA_DAYS, "int_or_na"),
    Column(NEONATAL_DEATH_AGE_DAYS, "int_or_na"),
    # Optional: a table without them has no exposed-infant facts (no dose, no treatment).
    Column(HBIG_AFTER_HOURS, "float_or_nan", required=False),
    Column(HEPB_VACCINE_AFTER_HOURS, "float_or_nan", required=False),
    Column(INFANT_ARV, "bool", required=False),
    Column(INFANT_SYPHILIS_PROPHYLAXIS, "bool", required=False),
    # Copied from the pregnancy for the caller's convenience. The engine attributes births
    # through pregnancy_id, so these are optional and never override the pregnancy's values.
    Column(DELIVERY_DATE, "day_or_nat", required=False),
    Column(STREET, "street", required=False),
    Column(DELIVERY_INSTITUTION, "institution", required=False),
    Column(FACILITY_DELIVERY, "bool", required=False),
    Column(CAESAREAN, "bool", required=False),
)
_MATERNAL_DEATH_COLUMNS: tuple[Column, ...] = (
    Column(PREGNANCY_ID, "id"),
    Column(DEATH_DATE, "day"),
    Column(STREET, "street"),
    Column(RESIDENCE, "residence"),
    Column(REPORTING_INSTITUTION, "institution"),
    Column(MATERNAL, "bool"),
    # Optional: without them every row counts (no report cards).
    Column(WOMAN_ID, "id", required=False),
    Column(ENTERED, "bool", required=False),
)
_CONGENITAL_SYPHILIS_COLUMNS: tuple[Column, ...] = (
    Column(CASE_ID, "id"),
    Column(RECORDED_DATE, "day"),
    Column(STREET, "street"),
    Column(RESIDENCE, "residence"),
    Column(REPORTING_INSTITUTION, "institution"),
)

CONTRACT: Mapping[str, tuple[Column, ...]] = {
    PREGNANCIES: _PREGNANCY_COLUMNS,
    BIRTHS: _BIRTH_COLUMNS,
    MATERNAL_DEATHS: _MATERNAL_DEATH_COLUMNS,
    CONGENITAL_SYPHILIS: _CONGENITAL_SYPHILIS_COLUMNS,
}

_EMPTY_DTYPES: Mapping[Kind, str] = {
    "id": "object",
    "street": "object",
    "residence": "object",
    "institution": "object",
    "bool": "bool",
    "count": "int64",
    "int_or_na": "Int64",
    "float_or_nan": "float64",
    "day": "datetime64[ns]",
    "day_or_nat": "datetime64[ns]",
    "colour_or_none": "object",
}


@dataclass(frozen=True)
class FactFrames:
    """The four fact tables of one computation.

    ``case_managed_colours`` says which colour set the domain layer used to derive
    ``first_case_managed_date`` and ``case_managed_contact``; when given, the engine refuses
    settings with another set (the contact flag would belong to a different rule).
    """

    pregnancies: pd.DataFrame
    births: pd.DataFrame
    maternal_deaths: pd.DataFrame
    congenital_syphilis: pd.DataFrame
    case_managed_colours: tuple[str, ...] | None = None

    def table(self, name: str) -> pd.DataFrame:
        frame: pd.DataFrame = getattr(self, name)
        return frame


def empty_frame(table: str) -> pd.DataFrame:
    """A zero-row table with the contract's columns and dtypes (required columns only)."""
    columns = CONTRACT[table]
    return pd.DataFrame(
        {c.name: pd.Series([], dtype=_EMPTY_DTYPES[c.kind]) for c in columns if c.required}
    )


def empty_facts() -> FactFrames:
    return FactFrames(
        empty_frame(PREGNANCIES),
        empty_frame(BIRTHS),
        empty_frame(MATERNAL_DEATHS),
        empty_frame(CONGENITAL_SYPHILIS),
    )


def check_frames(facts: FactFrames) -> None:
    """Raise ``IndicatorInputError`` listing every way the tables break the contract."""
    problems: list[str] = []
    for table, columns in CONTRACT.items():
        frame = facts.table(table)
        if not isinstance(frame, pd.DataFrame):
            problems.append(f"{table}: expected a pandas DataFrame, got {type(frame).__name__}")
            continue
        for column in columns:
            if column.name not in frame.columns:
                if column.required:
                    problems.append(f"{table}.{column.name}: missing column ({column.kind})")
                continue
            problem = _check_column(frame[column.name], column.kind)
            if problem:
                problems.append(f"{table}.{column.name}: {problem}")
    if not problems:
        problems.extend(_check_consistency(facts))
    if facts.case_managed_colours is not None:
        unknown = sorted(set(facts.case_managed_colours) - set(RISK_COLOURS))
        if unknown:
            problems.append(f"case_managed_colours: unknown colour(s) {', '.join(unknown)}")
    if problems:
        raise IndicatorInputError(
            "The indicator fact tables break the contract "
            "(mch_service/indicators/fact_tables.py):\n- " + "\n- ".join(problems)
        )


def _check_column(s: pd.Series, kind: Kind) -> str | None:
    if kind in ("id", "street", "residence", "institution", "colour_or_none"):
        if not (ptypes.is_object_dtype(s.dtype) or ptypes.is_string_dtype(s.dtype)):
            return f"expected strings, got dtype {s.dtype}"
        if ptypes.infer_dtype(s, skipna=True) not in ("string", "empty"):
            return "expected strings (None for missing), found other values"
        present = s.dropna()
        if kind == "id" and len(present) != len(s):
            return f"{len(s) - len(present)} missing value(s); an id is never missing"
        if (present == "").any():
            return "empty string(s); use None for a missing value"
        if kind == "street" and present.isin(RESERVED_AREAS).any():
            return f"{', '.join(RESERVED_AREAS)} are area names, not streets"
        if kind == "residence":
            if len(present) != len(s):
                return "missing value(s); a residence is never missing (use 'unknown')"
            bad = sorted(set(present.unique()) - set(RESIDENCES))
            if bad:
                return f"unknown residence(s) {bad}; expected {', '.join(RESIDENCES)}"
        if kind == "institution" and (present == ALL_INSTITUTIONS).any():
            return f"{ALL_INSTITUTIONS!r} is reserved for all institutions"
        if kind == "colour_or_none":
            bad = sorted(set(present.unique()) - set(SEVERITY_COLOURS))
            if bad:
                return f"unknown colour(s) {bad}; expected {', '.join(SEVERITY_COLOURS)} or None"
        return None
    if kind == "bool":
        if not ptypes.is_bool_dtype(s.dtype) or s.isna().any():
            return f"expected bool without missing values, got dtype {s.dtype}"
        return None
    if kind in ("count", "int_or_na"):
        if not ptypes.is_integer_dtype(s.dtype):
            hint = " (use .astype('Int64') for a column with missing values)"
            return f"expected integers, got dtype {s.dtype}{hint}"
        if kind == "count":
            if s.isna().any():
                return "missing value(s); a count is never missing"
            if (s < 0).any():
                return "negative value(s); a count is >= 0"
        return None
    if kind == "float_or_nan":
        if not ptypes.is_numeric_dtype(s.dtype) or ptypes.is_bool_dtype(s.dtype):
            return f"expected numbers (NaN for missing), got dtype {s.dtype}"
        return None
    # day, day_or_nat
    if isinstance(s.dtype, pd.DatetimeTZDtype):
        return "expected local calendar days (tz-naive); convert to Asia/Shanghai days first"
    if not ptypes.is_datetime64_dtype(s.dtype):
        return f"expected datetime64 days, got dtype {s.dtype} (use pandas.to_datetime)"
    if kind == "day" and s.isna().any():
        return "missing date(s); this date is never missing"
    if (s.notna() & (s != s.dt.normalize())).any():
        return "values with a time of day; expected calendar days at midnight"
    return None


def _check_consistency(facts: FactFrames) -> list[str]:
    """Invariants between columns that the domain layer guarantees. Broken ones mean a bug
    upstream; a count would silently disagree with its definition otherwise."""
    problems: list[str] = []
    preg = facts.pregnancies
    if not preg[PREGNANCY_ID].is_unique:
        problems.append("pregnancies.pregnancy_id: duplicated ids (one row per pregnancy)")
        return problems
    counted = preg.loc[~preg[EXCLUDED].to_numpy(dtype=bool)]

    def implies(a: str, b: str, why: str) -> None:
        n = int((counted[a].to_numpy(dtype=bool) & ~counted[b].to_numpy(dtype=bool)).sum())
        if n:
            problems.append(f"pregnancies: {n} row(s) with {a} but not {b} ({why})")

    for infection in INFECTIONS:
        for flag in ("tested_in_pregnancy", "tested_early"):
            implies(f"{infection}_{flag}", f"{infection}_tested", "a subset of tested")
    implies(ANAEMIA, HAS_HB, "anaemia needs a haemoglobin result")
    n = int((counted[COUNTED_DELIVERY].to_numpy(dtype=bool) & counted[DELIVERY_DATE].isna()).sum())
    if n:
        problems.append(f"pregnancies: {n} row(s) with counted_delivery but no delivery_date")
    no_date = counted[FIRST_CASE_MANAGED_DATE].isna().to_numpy()
    n = int((counted[CASE_MANAGED_CONTACT].to_numpy(dtype=bool) & no_date).sum())
    if n:
        problems.append(
            f"pregnancies: {n} row(s) with case_managed_contact but no first_case_managed_date"
        )

    births = facts.births
    known = births[PREGNANCY_ID].isin(preg[PREGNANCY_ID])
    if not known.all():
        problems.append(f"births: {int((~known).sum())} row(s) whose pregnancy_id is unknown")
        return problems
    # Each baby has a row: the rows must agree with the pregnancy's birth counts, or live
    # births (denominators) and per-baby facts (weights, GA, deaths) would disagree.
    live = births[LIVE].to_numpy(dtype=bool)
    per_pregnancy = (
        pd.DataFrame(
            {
                PREGNANCY_ID: births[PREGNANCY_ID].to_numpy(),
                "live": live.astype(np.int64),
                "still": (~live).astype(np.int64),
            }
        )
        .groupby(PREGNANCY_ID, sort=False)[["live", "still"]]
        .sum()
    )
    rows = per_pregnancy.reindex(counted[PREGNANCY_ID].to_numpy(), fill_value=0)
    mismatch = (rows["live"].to_numpy() != counted[LIVE_BIRTHS].to_numpy(dtype=np.int64)) | (
        rows["still"].to_numpy() != counted[STILLBIRTHS].to_numpy(dtype=np.int64)
    )
    if mismatch.any():
        problems.append(
            f"births: the baby rows of {int(mismatch.sum())} pregnancy(ies) do not match their "
            "live_births / stillbirths counts (one row per baby)"
        )
    return problems
