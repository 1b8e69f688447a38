"""The facts contract refuses tables that would give a quietly wrong number."""

from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from mch_service.indicators import fact_tables
from mch_service.indicators.errors import IndicatorInputError
from tests.indicators.tables import baby, make_facts, pregnancy


def _replace(facts: fact_tables.FactFrames, **tables: pd.DataFrame) -> fact_tables.FactFrames:
    return fact_tables.FactFrames(
        tables.get("pregnancies", facts.pregnancies),
        tables.get("births", facts.births),
        tables.get("maternal_deaths", facts.maternal_deaths),
        tables.get("congenital_syphilis", facts.congenital_syphilis),
        facts.case_managed_colours,
    )


def test_well_formed_and_empty_tables_pass() -> None:
    fact_tables.check_frames(make_facts([pregnancy(), pregnancy(live_births=2)]))
    fact_tables.check_frames(fact_tables.empty_facts())


def test_missing_and_mistyped_columns_are_all_listed() -> None:
    facts = make_facts([pregnancy()])
    preg = facts.pregnancies.drop(columns=[fact_tables.CAESAREAN])
    preg[fact_tables.LIVE_BIRTHS] = preg[fact_tables.LIVE_BIRTHS].astype(float)
    preg[fact_tables.DELIVERY_DATE] = preg[fact_tables.DELIVERY_DATE].dt.strftime("%Y-%m-%d")
    with pytest.raises(IndicatorInputError) as raised:
        fact_tables.check_frames(_replace(facts, pregnancies=preg))
    message = str(raised.value)
    assert "pregnancies.caesarean: missing column" in message
    assert "pregnancies.live_births: expected integers" in message
    assert "pregnancies.delivery_date: expected datetime64 days" in message
    assert isinstance(raised.value, ValueError)


def test_instants_are_refused_where_days_are_meant() -> None:
    facts = make_facts([pregnancy()])
    preg = facts.pregnancies.copy()
    preg[fact_tables.DELIVERY_DATE] = pd.to_datetime(["2025-03-31T17:30:00"])
    with pytest.raises(IndicatorInputError, match="time of day"):
        fact_tables.check_frames(_replace(facts, pregnancies=preg))
    preg[fact_tables.DELIVERY_DATE] = pd.to_datetime(["2025-03-31"]).tz_localize("UTC")
    with pytest.raises(IndicatorInputError, match="tz-naive"):
        fact_tables.check_frames(_replace(facts, pregnancies=preg))


@pytest.mark.parametrize(
    ("column", "value", "message"),
    [
        (fact_tables.STREET, "district", "are area names, not streets"),
        (fact_tables.STREET, "non_resident", "are area names, not streets"),
        (fact_tables.STREET, "address_unknown", "are area names, not streets"),
        (fact_tables.RESIDENCE, "abroad", "unknown residence"),
        (fact_tables.RESIDENCE, None, "a residence is never missing"),
        (fact_tables.DELIVERY_INSTITUTION, "all", "reserved for all institutions"),
        (fact_tables.STREET, "", "empty string"),
        (fact_tables.HIGHEST_COLOUR, "purple", "unknown colour"),
        (fact_tables.PREGNANCY_ID, None, "an id is never missing"),
    ],
)
def test_bad_values(column: str, value: object, message: str) -> None:
    facts = make_facts([pregnancy()])
    preg = facts.pregnancies.copy()
    preg[column] = pd.Series([value], dtype=object)
    with pytest.raises(IndicatorInputError, match=message):
        fact_tables.check_frames(_replace(facts, pregnancies=preg))


def test_missing_values_in_bool_and_count_columns_are_refused() -> None:
    facts = make_facts([pregnancy()])
    preg = facts.pregnancies.copy()
    preg[fact_tables.CAESAREAN] = pd.array([None], dtype="boolean")
    preg[fact_tables.PRENATAL_CHECK_DAYS] = pd.array([None], dtype="Int64")
    with pytest.raises(IndicatorInputError) as raised:
        fact_tables.check_frames(_replace(facts, pregnancies=preg))
    assert "caesarean: expected bool without missing values" in str(raised.value)
    assert "prenatal_check_days: missing value(s)" in str(raised.value)


def test_duplicated_pregnancies_are_refused() -> None:
    p = pregnancy()
    facts = make_facts([p])
    preg = pd.concat([facts.pregnancies, facts.pregnancies], ignore_index=True)
    with pytest.raises(IndicatorInputError, match="duplicated ids"):
        fact_tables.check_frames(_replace(facts, pregnancies=preg))


def test_baby_rows_must_match_the_birth_counts() -> None:
    twins = pregnancy(live_births=2)
    with pytest.raises(IndicatorInputError, match="do not match their live_births"):
        fact_tables.check_frames(make_facts([twins], births=[baby(twins)]))
    stray = pregnancy()
    with pytest.raises(IndicatorInputError, match="pregnancy_id is unknown"):
        fact_tables.check_frames(
            make_facts([twins], births=[baby(twins), baby(twins), baby(stray)])
        )
    # An excluded pregnancy's data is known to be bad: its counts are not checked.
    tainted = pregnancy(live_births=2, excluded=True)
    fact_tables.check_frames(make_facts([tainted], births=[baby(tainted)]))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"anaemia": True, "has_hb": False}, "anaemia but not has_hb"),
        (
            {"hiv_tested": False, "hiv_tested_in_pregnancy": True, "hiv_tested_early": False},
            "hiv_tested_in_pregnancy but not hiv_tested",
        ),
        (
            {"case_managed_contact": True, "first_case_managed_date": None},
            "case_managed_contact but no first_case_managed_date",
        ),
    ],
)
def test_flags_that_contradict_each_other_are_refused(
    changes: dict[str, object], message: str
) -> None:
    with pytest.raises(IndicatorInputError, match=message):
        fact_tables.check_frames(make_facts([pregnancy(**changes)]))


def test_extra_columns_and_pandas_string_dtypes_are_accepted() -> None:
    facts = make_facts([pregnancy(delivery_date=date(2025, 1, 2))])
    preg = facts.pregnancies.copy()
    preg["note"] = "anything"
    preg[fact_tables.STREET] = preg[fact_tables.STREET].astype("string")
    fact_tables.check_frames(_replace(facts, pregnancies=preg))
