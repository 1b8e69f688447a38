"""Indicator settings: validated, canonical and serialisable with each result."""

from __future__ import annotations

import json

import pytest

from mch_service.indicators.settings import IndicatorSettings


def test_defaults_serialise_to_a_plain_dict() -> None:
    assert IndicatorSettings().to_dict() == {
        "statistical_year": False,
        "caesarean_basis": "births",
        "case_managed_colours": ["orange", "red", "purple"],
        "anaemia_denominator_excludes_thalassaemia": True,
        "syphilis_adequate_days": 30,
    }
    assert json.loads(IndicatorSettings().to_json()) == IndicatorSettings().to_dict()


def test_round_trip_through_a_dict() -> None:
    settings = IndicatorSettings(
        statistical_year=True,
        caesarean_basis="women",
        case_managed_colours=("red", "purple"),
        anaemia_denominator_excludes_thalassaemia=False,
        syphilis_adequate_days=14,
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
        ({"statistical_year": "false"}, "true or false"),
        ({"anaemia_denominator_excludes_thalassaemia": 1}, "true or false"),
    ],
)
def test_bad_values_are_refused(changes: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        IndicatorSettings(**changes)  # type: ignore[arg-type]


def test_unknown_keys_are_refused() -> None:
    with pytest.raises(ValueError, match="Unknown indicator setting"):
        IndicatorSettings.from_dict({"statistical_yaer": True})
