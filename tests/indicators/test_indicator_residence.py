"""Issue 14, rules 1 and 2, and the birth indicators, worked by hand on the engine.

Rule 1: 产妇数 and 活产数 count deliveries at 28+0 weeks or later (``counted_delivery``); an
earlier ending is a loss (流产/引产), in no cohort count, but a maternal death still counts.
Rule 2: the district figure is by residence (现住址); non-residents and women with no usable
address are area lines of their own; the institution view is the place of service.
Source: 《全国妇幼健康统计调查制度》年报 (产妇数, 活产数: 孕满28周及以上; 按现住址统计).

Every expected number is worked out in the comments, never taken from the engine.
"""

from __future__ import annotations

from datetime import date

import pytest

from mch_service.indicators import fact_tables
from mch_service.indicators.calculations import compute, compute_all
from tests.indicators.tables import baby, by_id, counts, death, make_facts, pregnancy, syphilis_case

MARCH = "2025-03"
RESIDENT, NON_RESIDENT, UNKNOWN = (
    fact_tables.RESIDENT,
    fact_tables.NON_RESIDENT,
    fact_tables.RESIDENCE_UNKNOWN,
)


def test_a_loss_before_28_weeks_is_in_no_cohort_count_but_its_death_counts() -> None:
    # The 27+6 weeks decision is the loader's (counted_delivery; both sides of 196 days and
    # 1000 g in test_indicator_residence_loaders.py); here the flag is set by hand.
    # P: a term delivery, 1 live birth of 3,200 g at 39+0.
    # L: stillborn at 27+6 weeks (GA 195 d, 1,100 g): a loss (流产/引产). The loaders mark it
    # counted_delivery = False; it is in no count: not a woman delivered, no birth, not
    # perinatal (not even by the >= 1000 g branch: its GA is known).
    term = pregnancy()
    loss = pregnancy(live_births=0, stillbirths=1, counted_delivery=False)
    births = [baby(term), baby(loss, live=False, ga_days=195, weight_g=1100.0)]
    # Her death 20 days after the loss is a maternal death all the same (counted by death day).
    deaths = [death(loss, date(2025, 3, 30))]
    results = compute(make_facts([term, loss], births, deaths), MARCH)
    # 产妇数: P only = 1 (postpartum_42d_check_rate divides by women; P had her check).
    assert counts(results, "postpartum_42d_check_rate") == (1, 1)
    # 活产数: 1; the systematic management denominator is live births.
    assert counts(results, "systematic_management_rate") == (1, 1)
    # Perinatal: P's live birth only: 0 deaths / (0 perinatal stillbirths + 1 live birth).
    assert counts(results, "perinatal_mortality_rate") == (0, 1)
    # HIV testing over women: P only.
    assert counts(results, "hiv_test_rate") == (1, 1)
    # The maternal death counts, over the cohort's 1 live birth.
    assert counts(results, "maternal_mortality_ratio") == (1, 1)
    # The same at the institution that delivered both.
    at_h1 = compute(make_facts([term, loss], births, deaths), MARCH, institution="H1")
    assert counts(at_h1, "postpartum_42d_check_rate") == (1, 1)


def _people() -> tuple[list[dict[str, object]], list[dict[str, object]], list[dict[str, object]]]:
    # R: a resident of street S1 delivered at H1 (1 live birth).
    # N: a non-resident delivered at H1 (twins, 2 live births). Her sender wrote a street
    #    code, but she lives elsewhere: in no street.
    # E: a resident of S2 delivered at H-OUT, a hospital outside the district that sends.
    # U: no usable address, delivered at H1 (1 live birth, no postpartum visit).
    r = pregnancy(street="S1", residence=RESIDENT, delivery_institution="H1")
    n = pregnancy(street="S1", residence=NON_RESIDENT, delivery_institution="H1", live_births=2)
    e = pregnancy(street="S2", residence=RESIDENT, delivery_institution="H-OUT")
    u = pregnancy(
        street=None, residence=UNKNOWN, delivery_institution="H1", postpartum_visit_28d=False
    )
    deaths = [death(n, date(2025, 3, 25), reporting_institution="H1")]  # N died: maternal
    cases = [syphilis_case(date(2025, 3, 5), street=None, residence=UNKNOWN)]  # U's baby
    return [r, n, e, u], deaths, cases


def test_the_district_counts_its_residents_wherever_they_delivered() -> None:
    rows, deaths, cases = _people()
    facts = make_facts(rows, deaths=deaths, syphilis=cases)
    women = "postpartum_42d_check_rate"  # every one had her 42-day check: num = den = women
    # District = residents R and E: 2 women, 2 live births (E delivered outside: still ours).
    district = compute(facts, MARCH)
    assert counts(district, women) == (2, 2)
    assert counts(district, "facility_delivery_rate") == (2, 2)
    # N's death and U's congenital syphilis case are not the district's.
    assert counts(district, "maternal_mortality_ratio") == (0, 2)
    assert counts(district, "congenital_syphilis_rate") == (0, 2)
    # Streets: S1 = R only (N's street code does not make her a resident); S2 = E.
    assert counts(compute(facts, MARCH, area="S1"), women) == (1, 1)
    assert counts(compute(facts, MARCH, area="S2"), women) == (1, 1)


def test_non_residents_and_unknown_addresses_are_lines_of_their_own() -> None:
    rows, deaths, cases = _people()
    facts = make_facts(rows, deaths=deaths, syphilis=cases)
    women = "postpartum_42d_check_rate"
    non_resident = compute(facts, MARCH, area="non_resident")
    # N: 1 woman, 2 live births, her death: 1 / 2 live births.
    assert counts(non_resident, women) == (1, 1)
    assert counts(non_resident, "facility_delivery_rate") == (2, 2)
    assert counts(non_resident, "maternal_mortality_ratio") == (1, 2)
    unknown = compute(facts, MARCH, area="address_unknown")
    # U: 1 woman, 1 live birth, no postpartum visit; the congenital syphilis case: 1 / 1.
    assert counts(unknown, women) == (1, 1)
    assert counts(unknown, "postpartum_visit_rate") == (0, 1)
    assert counts(unknown, "congenital_syphilis_rate") == (1, 1)
    assert by_id(unknown)["congenital_syphilis_rate"].area == "address_unknown"


def test_the_institution_view_is_the_place_of_service() -> None:
    rows, deaths, cases = _people()
    facts = make_facts(rows, deaths=deaths, syphilis=cases)
    women = "postpartum_42d_check_rate"
    # H1 delivered R, N and U whatever their residence: 3 women, 1 + 2 + 1 = 4 live births;
    # N's death was reported by H1: 1 / 4.
    at_h1 = compute(facts, MARCH, institution="H1")
    assert counts(at_h1, women) == (3, 3)
    assert counts(at_h1, "maternal_mortality_ratio") == (1, 4)
    # The resident who delivered outside counts at that institution's id.
    assert counts(compute(facts, MARCH, institution="H-OUT"), women) == (1, 1)
    # A residence line narrowed to an institution: the non-residents H1 delivered.
    assert counts(compute(facts, MARCH, area="non_resident", institution="H1"), women) == (1, 1)
    assert counts(compute(facts, MARCH, area="S1", institution="H1"), women) == (1, 1)


def test_compute_all_emits_the_residence_lines() -> None:
    rows, deaths, cases = _people()
    table = compute_all(make_facts(rows, deaths=deaths, syphilis=cases), [MARCH])
    women = table[table["indicator_id"] == "postpartum_42d_check_rate"]
    got = {
        (a, i): (int(n), int(d))
        for a, i, n, d in zip(
            women["area"],
            women["institution"],
            women["numerator"],
            women["denominator"],
            strict=True,
        )
    }
    assert got == {
        ("district", "all"): (2, 2),  # R, E
        ("non_resident", "all"): (1, 1),  # N
        ("address_unknown", "all"): (1, 1),  # U
        ("S1", "all"): (1, 1),  # R
        ("S2", "all"): (1, 1),  # E
        ("district", "H1"): (3, 3),  # R, N, U
        ("district", "H-OUT"): (1, 1),  # E
    }


def test_preterm_macrosomia_and_low_birth_weight() -> None:
    # T: twins at GA 250 (35+5), 2,400 g and 2,600 g: 2 preterm, 1 low weight.
    # M: one baby at GA 280, 4,000 g: macrosomia (>= 4000), not preterm.
    # W: GA unknown (the delivery counts: a baby of >= 1000 g), 4,200 g: macrosomia; an
    #    unknown GA is not preterm.
    # K: GA 258 (36+6), weight unknown: preterm; an unknown weight is neither low nor large.
    # X: GA 259 (37+0), 3,999 g: neither.
    # S: stillborn at GA 230, 4,100 g: not a live birth, in no numerator (and 0 live births).
    t = pregnancy(live_births=2)
    m, w, k, x = pregnancy(), pregnancy(), pregnancy(), pregnancy()
    s = pregnancy(live_births=0, stillbirths=1)
    births = [
        baby(t, ga_days=250, weight_g=2400.0),
        baby(t, ga_days=250, weight_g=2600.0),
        baby(m, ga_days=280, weight_g=4000.0),
        baby(w, ga_days=None, weight_g=4200.0),
        baby(k, ga_days=258, weight_g=float("nan")),
        baby(x, ga_days=259, weight_g=3999.0),
        baby(s, live=False, ga_days=230, weight_g=4100.0),
    ]
    results = compute(make_facts([t, m, w, k, x, s], births), MARCH)
    # 活产数 = 2 + 1 + 1 + 1 + 1 = 6.
    assert counts(results, "preterm_birth_rate") == (3, 6)  # T's twins and K
    assert counts(results, "macrosomia_rate") == (2, 6)  # M and W
    assert counts(results, "low_birth_weight_rate") == (1, 6)  # T's 2,400 g twin
    assert by_id(results)["preterm_birth_rate"].value == pytest.approx(50.0)
    assert by_id(results)["macrosomia_rate"].unit == "%"
    assert by_id(results)["preterm_birth_rate"].target is None


def test_every_result_names_the_district() -> None:
    result = by_id(compute(make_facts([pregnancy()]), MARCH))["preterm_birth_rate"]
    assert result.settings["district_code"] == "440115"
    assert result.settings["district_name"] == "南沙区"
