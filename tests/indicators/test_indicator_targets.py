"""Targets and whether a figure meets its target: a target that is not a whole number, each
direction, and the counts an external figure may carry. Expected statuses are worked out by
hand from the catalogue's targets (docs/indicator-rules.md, "The indicators")."""

from __future__ import annotations

import dataclasses
from datetime import date

import numpy as np
import pytest

from mch_service.indicators.calculations import (
    _status,
    _Targets,
    compute,
    compute_all,
    external_value,
)
from mch_service.indicators.catalogue import BY_ID
from mch_service.indicators.errors import IndicatorInputError
from tests.indicators.tables import by_id, death, make_facts, pregnancy


def test_the_maternal_mortality_target_of_7_5_per_100000_is_compared_as_a_fraction() -> None:
    # The plan target is < 7.5 per 100,000 live births: 7.5 = 15/2, the one target of the
    # catalogue that is not a whole number. One maternal death over 10,000 live births (5,000
    # twin deliveries of 2025) is 1 × 100,000 / 10,000 = 10.0 per 100,000: not below 7.5, so
    # not met. Over 20,000 live births it is 5.0: met. (Comparing 10.0 with 15 or with 30,
    # the target's numerator alone or halved the wrong way, would call it met.)
    twins = [pregnancy(live_births=2, delivery_date=date(2025, 6, 1)) for _ in range(5_000)]
    deaths = [death(twins[0], date(2025, 6, 20))]
    year = by_id(compute(make_facts(twins, deaths=deaths), "2025"))["maternal_mortality_ratio"]
    assert (year.numerator, year.denominator, year.value) == (1, 10_000, 10.0)
    assert (year.target, year.direction, year.status) == (7.5, "<", "not_met")

    more = twins + [pregnancy(live_births=2, delivery_date=date(2025, 7, 1)) for _ in range(5_000)]
    table = compute_all(make_facts(more, deaths=deaths), ["2025"])
    row = table[
        (table["indicator_id"] == "maternal_mortality_ratio")
        & (table["area"] == "district")
        & (table["institution"] == "all")
    ]
    assert row[["numerator", "denominator"]].values.tolist() == [[1, 20_000]]
    assert row["value"].tolist() == [5.0]
    assert row["status"].tolist() == ["met"]


def test_at_most_a_target_meets_it_at_the_target_itself() -> None:
    # Direction "<=" (catalogue.Direction allows it; no indicator of the catalogue uses it
    # yet): 9, 10 and 11 of 100 against "<= 10 %" are met, met (exactly at the target) and
    # not met. The same counts against the catalogue's "< 10" are met, not met, not met.
    anaemia = BY_ID["anaemia_prevalence_non_thalassaemia"]
    at_most = dataclasses.replace(anaemia, direction="<=")
    numerator = np.array([9, 10, 11], dtype=np.int64)
    denominator = np.array([100, 100, 100], dtype=np.int64)
    multiplier = np.array([100, 100, 100], dtype=np.int64)
    assert _status(numerator, denominator, multiplier, _Targets.of([at_most], 3)).tolist() == [
        "met",
        "met",
        "not_met",
    ]
    assert _status(numerator, denominator, multiplier, _Targets.of([anaemia], 3)).tolist() == [
        "met",
        "not_met",
        "not_met",
    ]


def test_a_target_of_zero_is_met_only_by_none() -> None:
    # "<= 0" (no case at all; no indicator of the catalogue has it yet): 0 of 100 meets it,
    # 1 of 100 (1 %) does not. The target 0 is p/q = 0/1, so the comparison is
    # 0 × 100 × 1 <= 0 × 100 (met) and 1 × 100 × 1 <= 0 (not met).
    none_at_all = dataclasses.replace(
        BY_ID["anaemia_prevalence_non_thalassaemia"], target=0.0, direction="<="
    )
    numerator = np.array([0, 1], dtype=np.int64)
    denominator = np.array([100, 100], dtype=np.int64)
    multiplier = np.array([100, 100], dtype=np.int64)
    targets = _Targets.of([none_at_all], 2)
    assert _status(numerator, denominator, multiplier, targets).tolist() == ["met", "not_met"]


@pytest.mark.parametrize(
    ("numerator", "denominator"),
    [(2**63, 1), (1, 2**63)],
    ids=["numerator", "denominator"],
)
def test_an_external_count_beyond_64_bit_integers_is_not_computed(
    numerator: int, denominator: int
) -> None:
    # Results carry their counts as 64-bit integers (the numerator and denominator columns
    # are int64); 2**63 is one more than the largest. Such a count is refused, not turned into
    # a figure and a status.
    with pytest.raises((OverflowError, IndicatorInputError)):
        external_value("hiv_mtct_rate", "2025", numerator, denominator)
