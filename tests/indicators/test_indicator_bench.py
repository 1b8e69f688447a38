"""The benchmark script runs (a smoke test; the time is printed, never asserted)."""

from __future__ import annotations

import pytest

from mch_service.indicators import fact_tables
from mch_service.indicators.bench_calculations import main, synthetic_facts, two_years_of_periods


def test_synthetic_facts_obey_the_contract() -> None:
    facts = synthetic_facts(2_000, seed=1)
    fact_tables.check_frames(facts)
    assert len(facts.pregnancies) == 2_000
    assert len(two_years_of_periods()) == 24 + 8 + 2


def test_benchmark_prints_the_time(capsys: pytest.CaptureFixture[str]) -> None:
    main(["--pregnancies", "1000", "--repeat", "1"])
    out = capsys.readouterr().out
    assert "compute_all: 1,000 pregnancies" in out
    assert " s" in out
