"""Indicator settings: validated, canonical and serialisable with each result."""

from __future__ import annotations

import json

import pytest

from mch_service.indicators.settings import IndicatorSettings


def test_defaults_serialise_to_a_plain_dict() -> None:
    assert IndicatorSettings().to_dict() == {
        "plan_year": "statistical",
        "small_numbers_below": 20,
        "caesarean_basis": "births",
        "case_managed_colours": ["orange", "red", "purple"],
        "anaemia_denominator_excludes_thalassaemia": True,
        "syphilis_adequate_days": 30,
        "district_code": "440115",
        "district_name": "南沙区",
        "hbig_hours": 12,
        "hepb_vaccine_hours": 24,
    }
    assert json.loads(IndicatorSettings().to_json()) == IndicatorSettings().to_dict()


def test_round_trip_through_a_dict() -> None:
    settings = IndicatorSettings(
        plan_year="calendar",
        small_numbers_below=5,
        caesarean_basis="women",
        case_managed_colours=("red", "purple"),
        anaemia_denominator_excludes_thalassaemia=False,
        syphilis_adequate_days=14,
        hbig_hours=6,
        hepb_vaccine_hours=12,
    )
    assert IndicatorSettings.from_dict(settings.to_dict()) == settings


def test_colour_order_is_canonical() -> None:
    a = IndicatorSettings(case_managed_colours=("purple", "red", "orange"))
    assert a == IndicatorSettings()
    assert a.case_managed_colours == ("orange", "red", "purple")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"caesarean_basis": "mothers"}, "births' or 'women'"),
        ({"case_managed_colours": ("red", "blue")}, "Unknown case-managed colour"),
        ({"case_managed_colours": ()}, "must not be empty"),
        ({"case_managed_colours": "red"}, "sequence of colour names"),
        ({"plan_year": "fiscal"}, "'statistical' or 'calendar'"),
        ({"small_numbers_below": -1}, "whole number"),
        ({"small_numbers_below": "20"}, "whole number"),
        ({"anaemia_denominator_excludes_thalassaemia": 1}, "true or false"),
        ({"hbig_hours": 0}, "whole number of hours"),
        ({"hbig_hours": 12.5}, "whole number of hours"),
        ({"hepb_vaccine_hours": True}, "whole number of hours"),
    ],
)
def test_bad_values_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        IndicatorSettings(**changes)  # type: ignore[arg-type]


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="Unknown indicator setting"):
        IndicatorSettings.from_dict({"statistical_yaer": True})
