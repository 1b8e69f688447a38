"""Benchmark: ``compute_all`` over synthetic facts (default 100,000 pregnancies, two years,
every month, quarter and year). Prints the time; it is not a test and asserts nothing.

    .venv/bin/python -m mch_service.indicators.bench_calculations [--pregnancies N] [--repeat R]

The synthetic tables follow the facts contract and are random but plausible (about 1.5 % twins,
0.5 % stillbirths, 20 streets, 12 institutions, 2 % unknown street). Nothing here is personal.
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from mch_service.indicators import fact_tables
from mch_service.indicators.calculations import compute_all
from mch_service.indicators.periods import iter_periods
from mch_service.indicators.settings import DEFAULT_SETTINGS, IndicatorSettings


def synthetic_facts(
    pregnancies: int = 100_000,
    *,
    seed: int = 0,
    first_day: str = "2024-01-01",
    days: int = 731,
    streets: int = 20,
    institutions: int = 12,
) -> fact_tables.FactFrames:
    """Random fact tables obeying the contract (check_frames passes)."""
    rng = np.random.default_rng(seed)
    n = pregnancies
    ids = np.array([f"P{i:07d}" for i in range(n)], dtype=object)
    start = np.datetime64(first_day, "D")
    delivered = rng.random(n) < 0.97  # the rest ended in a loss
    delivery = start + rng.integers(0, days, n).astype("timedelta64[D]")
    stay = rng.integers(0, 5, n).astype("timedelta64[D]")
    street_codes = np.array([f"S{i:02d}" for i in range(streets)], dtype=object)
    street = street_codes[rng.integers(0, streets, n)]
    street[rng.random(n) < 0.02] = None
    inst_codes = np.array([f"H{i:02d}" for i in range(institutions)], dtype=object)
    institution = inst_codes[rng.integers(0, institutions, n)]
    institution[~delivered] = None
    roll = rng.random(n)
    live = np.where(roll < 0.015, 2, np.where(roll < 0.02, 0, 1))
    still = np.where(roll < 0.015, 0, np.where(roll < 0.02, 1, 0))
    live[~delivered] = 0
    still[~delivered] = 0
    ga = pd.array(rng.integers(40, 200, n), dtype="Int64")
    ga[rng.random(n) < 0.05] = pd.NA
    colours = np.array(["green", "yellow", "orange", "red", None], dtype=object)
    colour = colours[rng.choice(5, n, p=[0.5, 0.3, 0.12, 0.03, 0.05])]
    managed = np.isin(colour, ["orange", "red"]) | (rng.random(n) < 0.01)
    nat = np.datetime64("NaT", "D")
    table: dict[str, object] = {
        fact_tables.PREGNANCY_ID: ids,
        fact_tables.WOMAN_ID: np.array([f"W{i:07d}" for i in range(n)], dtype=object),
        fact_tables.STREET: street,
        fact_tables.DELIVERY_INSTITUTION: institution,
        fact_tables.DELIVERY_DATE: np.where(delivered, delivery, nat),
        fact_tables.DELIVERY_ADMISSION_DATE: np.where(delivered, delivery, nat),
        fact_tables.DISCHARGE_DATE: np.where(delivered, delivery + stay, nat),
        fact_tables.PREGNANCY_END_DATE: delivery,
        fact_tables.FACILITY_DELIVERY: delivered & (rng.random(n) < 0.99),
        fact_tables.CAESAREAN: delivered & (rng.random(n) < 0.35),
        fact_tables.LIVE_BIRTHS: live.astype(np.int64),
        fact_tables.STILLBIRTHS: still.astype(np.int64),
        fact_tables.FIRST_CONTACT_GA_DAYS: ga,
        fact_tables.PRENATAL_CHECK_DAYS: rng.integers(0, 12, n).astype(np.int64),
        fact_tables.POSTPARTUM_VISIT_28D: rng.random(n) < 0.9,
        fact_tables.POSTPARTUM_42D_CHECK: rng.random(n) < 0.85,
        fact_tables.HIGHEST_COLOUR: colour,
        fact_tables.PURPLE: rng.random(n) < 0.01,
        fact_tables.FIRST_CASE_MANAGED_DATE: np.where(
            managed, delivery - np.timedelta64(60, "D"), nat
        ),
        fact_tables.CASE_MANAGED_CONTACT: managed & (rng.random(n) < 0.9),
        fact_tables.THALASSAEMIA: rng.random(n) < 0.05,
        fact_tables.EXCLUDED: rng.random(n) < 0.001,
    }
    for infection in fact_tables.INFECTIONS:
        tested = rng.random(n) < 0.98
        in_pregnancy = tested & (rng.random(n) < 0.95)
        table[f"{infection}_tested"] = tested
        table[f"{infection}_tested_in_pregnancy"] = in_pregnancy
        table[f"{infection}_tested_early"] = in_pregnancy & (rng.random(n) < 0.7)
        positive = tested & (rng.random(n) < 0.01)
        table[f"{infection}_positive"] = positive
        table[f"{infection}_treated"] = positive & (rng.random(n) < 0.9)
    has_hb = rng.random(n) < 0.95
    table[fact_tables.HAS_HB] = has_hb
    table[fact_tables.ANAEMIA] = has_hb & (rng.random(n) < 0.12)
    # Residence (8 % non-resident, 2 % no usable address) and deliveries before 28 weeks
    # (0.5 %) from a stream of their own, so the other columns are what they were.
    extra = np.random.default_rng([seed, 14])
    residences = np.array(fact_tables.RESIDENCES, dtype=object)
    residence = residences[extra.choice(3, n, p=[0.90, 0.08, 0.02])]
    table[fact_tables.RESIDENCE] = residence
    table[fact_tables.COUNTED_DELIVERY] = delivered & (extra.random(n) >= 0.005)
    # Rule 7 and the EPDS flag from a stream of their own (the other columns stay as they were).
    extra = np.random.default_rng([seed, 7])
    table[fact_tables.HIGH_RISK_MANAGED] = extra.random(n) < 0.7
    table[fact_tables.CASE_OPENED_IN_TIME] = managed & (extra.random(n) < 0.8)
    table[fact_tables.CASE_FOLLOWED_AT_INTERVAL] = managed & (extra.random(n) < 0.6)
    table[fact_tables.EPDS_42D] = extra.random(n) < 0.5
    pregnancies_frame = pd.DataFrame(table)
    for column in (
        fact_tables.DELIVERY_DATE,
        fact_tables.DELIVERY_ADMISSION_DATE,
        fact_tables.DISCHARGE_DATE,
        fact_tables.PREGNANCY_END_DATE,
        fact_tables.FIRST_CASE_MANAGED_DATE,
    ):
        pregnancies_frame[column] = pregnancies_frame[column].astype("datetime64[ns]")

    babies = live + still
    baby_mother = np.repeat(np.arange(n), babies)
    # Within each pregnancy, the live babies come first.
    order = np.arange(len(baby_mother)) - np.repeat(np.cumsum(babies) - babies, babies)
    baby_live = order < live[baby_mother]
    m = len(baby_mother)
    age = pd.array(rng.integers(0, 28, m), dtype="Int64")
    age[~(baby_live & (rng.random(m) < 0.003))] = pd.NA
    births = pd.DataFrame(
        {
            fact_tables.PREGNANCY_ID: ids[baby_mother],
            fact_tables.LIVE: baby_live,
            fact_tables.WEIGHT_G: rng.normal(3200, 500, m).round(),
            fact_tables.GA_DAYS: pd.array(rng.integers(180, 295, m), dtype="Int64"),
            fact_tables.NEONATAL_DEATH_AGE_DAYS: age,
        }
    )
    deaths_n = max(1, n // 20_000)
    deaths = pd.DataFrame(
        {
            fact_tables.PREGNANCY_ID: ids[rng.integers(0, n, deaths_n)],
            fact_tables.DEATH_DATE: (
                start + rng.integers(0, days, deaths_n).astype("timedelta64[D]")
            ).astype("datetime64[ns]"),
            fact_tables.STREET: street_codes[rng.integers(0, streets, deaths_n)],
            fact_tables.RESIDENCE: residences[extra.choice(3, deaths_n, p=[0.90, 0.08, 0.02])],
            fact_tables.REPORTING_INSTITUTION: inst_codes[rng.integers(0, institutions, deaths_n)],
            fact_tables.MATERNAL: rng.random(deaths_n) < 0.9,
        }
    )
    cs_n = max(1, n // 50_000)
    syphilis = pd.DataFrame(
        {
            fact_tables.CASE_ID: np.array([f"C{i:05d}" for i in range(cs_n)], dtype=object),
            fact_tables.RECORDED_DATE: (
                start + rng.integers(0, days, cs_n).astype("timedelta64[D]")
            ).astype("datetime64[ns]"),
            fact_tables.STREET: street_codes[rng.integers(0, streets, cs_n)],
            fact_tables.RESIDENCE: residences[extra.choice(3, cs_n, p=[0.90, 0.08, 0.02])],
            fact_tables.REPORTING_INSTITUTION: inst_codes[rng.integers(0, institutions, cs_n)],
        }
    )
    return fact_tables.FactFrames(
        pregnancies_frame,
        births,
        deaths,
        syphilis,
        case_managed_colours=DEFAULT_SETTINGS.case_managed_colours,
    )


def two_years_of_periods(first_year: int = 2024) -> list[str]:
    """Every month, quarter and year of two calendar years."""
    last = first_year + 1
    return [
        *(p.label for p in iter_periods(f"{first_year}-01", f"{last}-12")),
        *(p.label for p in iter_periods(f"{first_year}-Q1", f"{last}-Q4")),
        str(first_year),
        str(last),
    ]


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--pregnancies", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    facts = synthetic_facts(args.pregnancies)
    periods = two_years_of_periods()
    settings = IndicatorSettings()
    timings = []
    rows = 0
    for _ in range(args.repeat):
        began = time.perf_counter()
        rows = len(compute_all(facts, periods, settings))
        timings.append(time.perf_counter() - began)
    print(
        f"compute_all: {args.pregnancies:,} pregnancies, {len(facts.births):,} births, "
        f"{len(periods)} periods -> {rows:,} result rows; "
        f"best {min(timings):.3f} s, median {sorted(timings)[len(timings) // 2]:.3f} s "
        f"over {args.repeat} run(s)"
    )


if __name__ == "__main__":
    main()
