"""Properties over random fact tables (hypothesis): proportions stay within their
denominators, the district is the sum of its parts, and compute_all agrees with compute."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mch_service.indicators import fact_tables
from mch_service.indicators.calculations import compute, compute_all
from mch_service.indicators.catalogue import BY_ID, CALCULATED
from mch_service.indicators.settings import IndicatorSettings
from tests.indicators.tables import baby, make_facts, pregnancy

FIRST_DAY = date(2024, 9, 1)
DAYS = 500  # to mid-January 2026: crosses calendar and statistical year ends
PERIODS = ["2024-09", "2024-10", "2025-03", "2024-Q4", "2025-Q1", "2025-Q4", "2024", "2025", "2026"]
STREETS = ["S1", "S2", None]
INSTITUTIONS = ["H1", "H2", None]
# Numerator women over denominator live births: above 100 % is possible when a delivery has no
# live birth (docs/indicators.md); rates per live birth (deaths, congenital syphilis) are not
# proportions. Every other indicator's numerator is a subset of its denominator.
WOMEN_OVER_LIVE_BIRTHS = {
    "systematic_management_rate",
    "early_registration_rate",
    "prenatal_care_rate",
    "prenatal_5plus_rate",
    "postpartum_visit_rate",
}
NOT_PROPORTIONS = {"maternal_mortality_ratio", "congenital_syphilis_rate"}

days = st.integers(0, DAYS).map(lambda n: FIRST_DAY + timedelta(days=n))
colours = st.sampled_from(["green", "yellow", "orange", "red", None])
residences = st.sampled_from(fact_tables.RESIDENCES)


@st.composite
def a_pregnancy(draw: st.DrawFn) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    delivered = draw(st.booleans().map(lambda b: b or draw(st.booleans())))  # mostly delivered
    live = draw(st.integers(0, 2)) if delivered else 0
    still = (draw(st.integers(0, 1)) if live < 2 else 0) if delivered else 0
    if delivered and live + still == 0:
        live = 1
    changes: dict[str, Any] = {
        fact_tables.STREET: draw(st.sampled_from(STREETS)),
        fact_tables.RESIDENCE: draw(residences),
        fact_tables.DELIVERY_INSTITUTION: draw(st.sampled_from(INSTITUTIONS)),
        fact_tables.DELIVERY_DATE: draw(days) if delivered else None,
        # mostly at 28+0 weeks or later; some earlier endings (losses, in no cohort count)
        fact_tables.COUNTED_DELIVERY: delivered and draw(st.integers(0, 5)) > 0,
        fact_tables.FACILITY_DELIVERY: draw(st.booleans()),
        fact_tables.CAESAREAN: draw(st.booleans()),
        fact_tables.LIVE_BIRTHS: live,
        fact_tables.STILLBIRTHS: still,
        fact_tables.FIRST_CONTACT_GA_DAYS: draw(st.one_of(st.none(), st.integers(40, 120))),
        fact_tables.PRENATAL_CHECK_DAYS: draw(st.integers(0, 10)),
        fact_tables.POSTPARTUM_VISIT_28D: draw(st.booleans()),
        fact_tables.POSTPARTUM_42D_CHECK: draw(st.booleans()),
        fact_tables.HIGHEST_COLOUR: draw(colours),
        fact_tables.PURPLE: draw(st.booleans()),
        fact_tables.THALASSAEMIA: draw(st.booleans()),
        fact_tables.EXCLUDED: draw(st.integers(0, 9)) == 0,
    }
    managed = (
        changes[fact_tables.HIGHEST_COLOUR] in ("orange", "red") or changes[fact_tables.PURPLE]
    )
    changes[fact_tables.FIRST_CASE_MANAGED_DATE] = date(2024, 1, 1) if managed else None
    changes[fact_tables.CASE_MANAGED_CONTACT] = managed and draw(st.booleans())
    has_hb = draw(st.booleans())
    changes[fact_tables.HAS_HB] = has_hb
    changes[fact_tables.ANAEMIA] = has_hb and draw(st.booleans())
    for infection in fact_tables.INFECTIONS:
        tested = draw(st.booleans())
        in_pregnancy = tested and draw(st.booleans())
        changes[f"{infection}_tested"] = tested
        changes[f"{infection}_tested_in_pregnancy"] = in_pregnancy
        changes[f"{infection}_tested_early"] = in_pregnancy and draw(st.booleans())
        changes[f"{infection}_positive"] = draw(st.booleans())
        changes[f"{infection}_treated"] = draw(st.booleans())
    row = pregnancy(**changes)
    babies = [
        baby(
            row,
            live=i < live,
            ga_days=draw(st.one_of(st.none(), st.integers(150, 300))),
            weight_g=draw(st.one_of(st.just(float("nan")), st.floats(400, 4500))),
            neonatal_death_age_days=(
                draw(st.one_of(st.none(), st.integers(0, 27))) if i < live else None
            ),
        )
        for i in range(live + still)
    ]
    return row, babies


@st.composite
def drawn_fact_tables(draw: st.DrawFn) -> fact_tables.FactFrames:
    drawn = draw(st.lists(a_pregnancy(), min_size=0, max_size=25))
    rows = [r for r, _ in drawn]
    births = [b for _, bs in drawn for b in bs]
    deaths = [
        {
            fact_tables.PREGNANCY_ID: draw(st.sampled_from(rows))[fact_tables.PREGNANCY_ID],
            fact_tables.DEATH_DATE: draw(days),
            fact_tables.STREET: draw(st.sampled_from(STREETS)),
            fact_tables.RESIDENCE: draw(residences),
            fact_tables.REPORTING_INSTITUTION: draw(st.sampled_from(INSTITUTIONS)),
            fact_tables.MATERNAL: draw(st.booleans()),
        }
        for _ in range(draw(st.integers(0, 3) if rows else st.just(0)))
    ]
    cases = [
        {
            fact_tables.CASE_ID: f"C{i}",
            fact_tables.RECORDED_DATE: draw(days),
            fact_tables.STREET: draw(st.sampled_from(STREETS)),
            fact_tables.RESIDENCE: draw(residences),
            fact_tables.REPORTING_INSTITUTION: draw(st.sampled_from(INSTITUTIONS)),
        }
        for i in range(draw(st.integers(0, 2)))
    ]
    return make_facts(rows, births, deaths, cases)


indicator_settings = st.builds(
    IndicatorSettings,
    small_numbers_below=st.integers(min_value=0, max_value=30),
    caesarean_basis=st.sampled_from(["births", "women"]),
    anaemia_denominator_excludes_thalassaemia=st.booleans(),
)
PROPERTY = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _subset(
    facts: fact_tables.FactFrames, column: str, keep_missing: bool
) -> fact_tables.FactFrames:
    """The facts attributed to no street (or no institution): the part the views leave out."""

    def pick(frame: pd.DataFrame, name: str) -> pd.DataFrame:
        return frame.loc[frame[name].isna()] if keep_missing else frame

    institution = column == "institution"
    preg = facts.pregnancies
    unattributed = preg[
        fact_tables.DELIVERY_INSTITUTION if institution else fact_tables.STREET
    ].isna()
    # Excluded pregnancies count nowhere, so keeping them changes no number; they must stay so
    # that a death of an excluded pregnancy is still known to be excluded.
    preg = preg.loc[unattributed | preg[fact_tables.EXCLUDED]]
    return fact_tables.FactFrames(
        preg,
        facts.births.loc[
            facts.births[fact_tables.PREGNANCY_ID].isin(preg[fact_tables.PREGNANCY_ID])
        ],
        pick(
            facts.maternal_deaths,
            fact_tables.REPORTING_INSTITUTION if institution else fact_tables.STREET,
        ),
        pick(
            facts.congenital_syphilis,
            fact_tables.REPORTING_INSTITUTION if institution else fact_tables.STREET,
        ),
        facts.case_managed_colours,
    )


@PROPERTY
@given(facts=drawn_fact_tables(), chosen=indicator_settings)
def test_numerators_stay_within_their_denominators(
    facts: fact_tables.FactFrames, chosen: IndicatorSettings
) -> None:
    table = compute_all(facts, PERIODS, chosen)
    cohort = (
        facts.pregnancies[fact_tables.DELIVERY_DATE].notna()
        & facts.pregnancies[fact_tables.COUNTED_DELIVERY]
        & ~facts.pregnancies[fact_tables.EXCLUDED]
    )
    every_delivery_has_a_live_birth = bool(
        (facts.pregnancies.loc[cohort, fact_tables.LIVE_BIRTHS] > 0).all()
    )
    for indicator in CALCULATED:
        if indicator.id in NOT_PROPORTIONS:
            continue
        if indicator.id in WOMEN_OVER_LIVE_BIRTHS and not every_delivery_has_a_live_birth:
            continue
        rows = table[table["indicator_id"] == indicator.id]
        assert (rows["numerator"] <= rows["denominator"]).all(), indicator.id
    assert (table["numerator"] >= 0).all()


@PROPERTY
@given(
    facts=drawn_fact_tables(),
    chosen=indicator_settings,
    view=st.sampled_from(["area", "institution"]),
)
def test_district_is_the_sum_of_its_parts_and_the_unattributed(
    facts: fact_tables.FactFrames, chosen: IndicatorSettings, view: str
) -> None:
    # By area: the district (its residents) is its streets plus its residents without a
    # street. By institution (place of service, every residence): the institutions plus the
    # unattributed are the three residence lines together.
    table = compute_all(facts, PERIODS, chosen)
    keys = ["indicator_id", "period"]
    cols = ["numerator", "denominator"]
    lines = ["district"] if view == "area" else list(fact_tables.RESERVED_AREAS)

    def whole_of(frame: pd.DataFrame) -> pd.DataFrame:
        rows = frame[frame["area"].isin(lines) & (frame["institution"] == "all")]
        return rows.groupby(keys)[cols].sum()

    if view == "area":
        parts = table[~table["area"].isin(fact_tables.RESERVED_AREAS)]
    else:
        parts = table[(table["institution"] != "all") & (table["area"] == "district")]
    summed = parts.groupby(keys)[cols].sum()
    missing = _subset(facts, "institution" if view == "institution" else "street", True)
    unattributed = whole_of(compute_all(missing, PERIODS, chosen))
    whole_district = whole_of(table)
    assert len(whole_district) == len(PERIODS) * len(CALCULATED)
    expected = summed.reindex(whole_district.index, fill_value=0) + unattributed.reindex(
        whole_district.index
    )[cols].astype("int64")
    pd.testing.assert_frame_equal(whole_district, expected, check_dtype=False)


@PROPERTY
@given(
    facts=drawn_fact_tables(),
    chosen=indicator_settings,
    period=st.sampled_from(PERIODS),
    data=st.data(),
)
def test_compute_all_agrees_with_compute(
    facts: fact_tables.FactFrames, chosen: IndicatorSettings, period: str, data: st.DataObject
) -> None:
    table = compute_all(facts, PERIODS, chosen)
    combos = sorted(set(zip(table["area"], table["institution"], strict=True)))
    area, institution = data.draw(st.sampled_from(combos))
    expected = compute(facts, period, area, institution, chosen)
    got = table[
        (table["period"] == period)
        & (table["area"] == area)
        & (table["institution"] == institution)
    ]
    assert got["indicator_id"].tolist() == [v.id for v in expected]
    for v, row in zip(expected, got.itertuples(), strict=True):
        assert (row.numerator, row.denominator, row.status) == (
            v.numerator,
            v.denominator,
            v.status,
        )
        if v.value is None:
            assert pd.isna(row.value)
        else:
            # value = numerator / denominator × the unit's multiplier, unrounded
            assert row.value == v.value == v.numerator * BY_ID[v.id].multiplier / v.denominator


@PROPERTY
@given(facts=drawn_fact_tables(), seed=st.integers(0, 2**32 - 1))
def test_row_order_does_not_matter(facts: fact_tables.FactFrames, seed: int) -> None:
    shuffled = fact_tables.FactFrames(
        facts.pregnancies.sample(frac=1, random_state=seed),
        facts.births.sample(frac=1, random_state=seed),
        facts.maternal_deaths.sample(frac=1, random_state=seed),
        facts.congenital_syphilis.sample(frac=1, random_state=seed),
        facts.case_managed_colours,
    )
    a = compute_all(facts, PERIODS)
    b = compute_all(shuffled, PERIODS)
    pd.testing.assert_frame_equal(a.reset_index(drop=True), b.reset_index(drop=True))
