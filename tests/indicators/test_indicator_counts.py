"""The base counts (mch_service/indicators/counts.py) as a contract: whole numbers in every
count column, the refusal of facts built for another case-managed set in full, and maternal
deaths counted whichever of the optional report-card columns the facts carry. Expected values
by hand from the rows built here."""

from __future__ import annotations

from datetime import date

import numpy as np
import pytest

from mch_service.indicators.counts import COUNT_COLUMNS, count_units
from mch_service.indicators.errors import IndicatorInputError
from mch_service.indicators.settings import IndicatorSettings
from tests.indicators.tables import baby, death, make_facts, pregnancy, syphilis_case

SETTINGS = IndicatorSettings()


def test_every_count_column_holds_whole_numbers() -> None:
    """Counts are whole numbers (int64) in the cohort rows and in the event rows (a death, a
    congenital syphilis case): the API gives numerators and denominators as integers."""
    a, b = pregnancy(), pregnancy(hbsag_positive=True)
    facts = make_facts(
        [a, b],
        [baby(a), baby(b, weight_g=2400.0)],
        deaths=[death(a, date(2025, 3, 20))],
        syphilis=[syphilis_case(date(2025, 3, 21))],
    )
    units = count_units(facts, SETTINGS)
    assert len(units) == 4  # two cohort pregnancies, the death, the case
    wrong = {c: str(units[c].dtype) for c in COUNT_COLUMNS if units[c].dtype != np.int64}
    assert wrong == {}
    # and where there is no event at all (cohort rows only)
    only = count_units(make_facts([pregnancy()]), SETTINGS)
    assert len(only) == 1
    assert {c for c in COUNT_COLUMNS if only[c].dtype != np.int64} == set()
    # and with no facts at all: no row, the same whole-number columns
    none = count_units(make_facts([]), SETTINGS)
    assert len(none) == 0
    assert {c for c in COUNT_COLUMNS if none[c].dtype != np.int64} == set()
    # the event rows are zero outside their own column
    death_row = units[units["maternal_deaths"] == 1]
    assert len(death_row) == 1
    assert int(death_row[list(COUNT_COLUMNS)].to_numpy().sum()) == 1


def test_facts_for_another_case_managed_set_are_refused_naming_both_sets() -> None:
    facts = make_facts([pregnancy()], case_managed_colours=("orange", "red", "purple"))
    with pytest.raises(IndicatorInputError) as refused:
        count_units(facts, IndicatorSettings(case_managed_colours=("orange", "red")))
    assert str(refused.value) == (
        "The facts' case_managed_contact was derived for the colours orange, red, purple, but "
        "the settings ask for orange, red; rebuild the facts with the same set"
    )


@pytest.mark.parametrize(
    ("columns", "reason"),
    [
        ({}, "facts from before report cards: neither column"),
        ({"entered": True}, "an entered card without a woman id: nothing to match a feed on"),
        ({"entered": False}, "a fed death with the entered flag and no woman id"),
        ({"woman_id": "W1"}, "a woman id without the entered flag: a fed death"),
    ],
)
def test_a_death_counts_whichever_optional_columns_the_facts_carry(
    columns: dict[str, object], reason: str
) -> None:
    """The once-per-woman rule needs both ``entered`` and ``woman_id``; with either missing
    every maternal death counts (one here)."""
    a = pregnancy()
    facts = make_facts([a], deaths=[death(a, date(2025, 3, 20), **columns)])
    units = count_units(facts, SETTINGS)
    assert int(units["maternal_deaths"].sum()) == 1, reason
