"""The district's people and parameters: resident ID numbers, the parameter table in the docs."""

from __future__ import annotations

import random
from datetime import date
from pathlib import Path

import pytest

from mch_service.simulator.district import check_digit, is_valid_resident_id, resident_id
from mch_service.simulator.params import SimulationParams, TruthSettings, parameter_docs

DOCS = Path(__file__).resolve().parents[2] / "docs" / "simulator.md"


def test_check_digit_follows_gb_11643() -> None:
    # The standard's worked example, and one ending in X.
    assert check_digit("11010519491231002") == "X"
    assert is_valid_resident_id("11010519491231002X")
    assert not is_valid_resident_id("110105194912310021")
    assert not is_valid_resident_id("11010519491231002")


def test_generated_ids_embed_the_birth_date_and_are_female() -> None:
    rng = random.Random(1)
    born = date(1994, 5, 3)
    for bad in (False, True):
        for _ in range(50):
            rid = resident_id(rng, born, local=True, bad_check=bad)
            assert rid[6:14] == "19940503"
            assert int(rid[16]) % 2 == 0  # the 17th digit is even for women
            assert is_valid_resident_id(rid) is not bad


def test_every_parameter_is_in_the_docs_with_its_default() -> None:
    rows = {
        line.split("|")[1].strip().strip("`"): line.split("|")[2].strip()
        for line in DOCS.read_text(encoding="utf-8").splitlines()
        if line.startswith("| `")
    }
    missing = [
        (name, default) for name, default, _ in parameter_docs() if rows.get(name) != default
    ]
    assert missing == []


def test_params_round_trip_and_refuse_nonsense() -> None:
    p = SimulationParams(
        pregnancies=5, as_of=(date(2025, 1, 1),), truth=TruthSettings(caesarean_basis="women")
    )
    assert SimulationParams.from_dict(p.as_dict()) == p
    assert p.as_of_days == (date(2025, 1, 1),)
    assert SimulationParams().as_of_days == (SimulationParams().end,)
    with pytest.raises(ValueError, match="late_share must be in"):
        SimulationParams(late_share=1.5)
    with pytest.raises(ValueError, match="end must be after start"):
        SimulationParams(start=date(2025, 1, 1), end=date(2024, 1, 1))
    with pytest.raises(ValueError, match="unknown simulation parameters: colour"):
        SimulationParams.from_dict({"colour": 1})
    with pytest.raises(ValueError, match="caesarean_basis"):
        SimulationParams(truth=TruthSettings(caesarean_basis="mothers"))
