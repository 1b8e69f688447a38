"""The catalogue covers the rules, each calculated id has a calculation, and an edit to an
entry without a new CATALOGUE_VERSION fails.

When you add an indicator (docs/add-an-indicator.md), the ``test_every_…`` tests below say, by
its code, what is still missing: its catalogue entry, its calculation, a base count, its rule
in docs/indicator-rules.md or docs/indicators.md."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict
from pathlib import Path

from mch_service.indicators.calculations import CALCULATIONS, count_pair
from mch_service.indicators.catalogue import (
    BY_ID,
    CALCULATED,
    CATALOGUE,
    CATALOGUE_VERSION,
    EXTERNAL,
)
from mch_service.indicators.counts import BASE_COUNTS
from mch_service.indicators.docs import DOCS_PATH
from mch_service.indicators.settings import IndicatorSettings
from mch_service.simulator.truth import INDICATORS as TRUTH_INDICATORS

ROOT = Path(__file__).resolve().parents[2]

# One fingerprint per released catalogue version. When you change an entry, bump
# CATALOGUE_VERSION and add its fingerprint here (stored results name the version they used).
FINGERPRINTS = {
    "2026.1": "a8fe7a7f0f0fba63eba2814b074c5cf3c33c3ce4d0781f7577d406a7f4af87e1",
    # national statistical rules (issue 14): statistical year and rolling years as periods,
    # small numbers, counts only for per-100,000 figures outside years
    "2026.2": "70f31f18f1910b2a13715a35b6467c71b5a7e20492b93c1c041a28b45323fc82",
}


def _fingerprint() -> str:
    text = json.dumps([asdict(i) for i in CATALOGUE], sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(text.encode()).hexdigest()


def test_catalogue_edits_need_a_new_version() -> None:
    assert FINGERPRINTS.get(CATALOGUE_VERSION) == _fingerprint(), (
        f"The catalogue changed: bump CATALOGUE_VERSION and record its fingerprint {_fingerprint()}"
    )


def _rule_ids() -> set[str]:
    """Indicator ids in docs/indicator-rules.md's table, with `syphilis_…` / `hbsag_…`
    shorthand expanded from the hiv_ id before them."""
    text = (ROOT / "docs" / "indicator-rules.md").read_text(encoding="utf-8")
    section = text.split("## The indicators", 1)[1].split("\n## ", 1)[0]
    ids: set[str] = set()
    for line in section.splitlines():
        if not line.startswith("| `"):
            continue
        first_cell = line.split("|")[1]
        names = re.findall(r"`([a-z0-9_…]+)`", first_cell)
        hiv = next((n for n in names if n.startswith("hiv_")), None)
        for name in names:
            if name.endswith("…") and hiv:
                prefix = name.rstrip("_…")
                ids.add(prefix + hiv.removeprefix("hiv"))
            else:
                ids.add(name)
    return ids


def test_every_indicator_of_the_rules_is_calculated() -> None:
    rule_ids = _rule_ids()
    # 30 + severe_maternal_morbidity_ratio, preterm_birth_rate, macrosomia_rate, the four
    # exposed-infant indicators, high_risk_case_management_rate, high_risk_facility_delivery_rate,
    # postpartum_depression_screening_rate, syphilis_adequate_treatment_rate, and the three
    # screening rates, less who_anc_syphilis_test_rate (issue 14)
    assert len(rule_ids) == 43
    assert {i.id for i in CALCULATED} == rule_ids


def test_every_calculated_indicator_has_a_calculation_under_every_setting() -> None:
    for basis in ("births", "women"):
        settings = IndicatorSettings(caesarean_basis=basis)  # type: ignore[arg-type]
        for indicator in CALCULATED:
            numerator, denominator = count_pair(indicator.id, settings)
            assert numerator
            assert denominator


def test_external_indicators_and_their_targets() -> None:
    assert {i.id: (i.direction, i.target) for i in EXTERNAL} == {
        "premarital_examination_rate": (">=", 65.0),
        "prepregnancy_check_rate": (">=", 80.0),
        "cervical_cancer_screening_rate": (">=", 70.0),
        # 《中国妇女发展纲要（2021-2030年）》: mother-to-child transmission of HIV below 2 %
        "hiv_mtct_rate": ("<", 2.0),
    }


def test_plan_targets_from_the_working_catalogue() -> None:
    expected = {
        "systematic_management_rate": (">=", 90.0),
        "hiv_test_rate": (">=", 98.0),
        "syphilis_test_rate": (">=", 98.0),
        "hbsag_test_rate": (">=", 98.0),
        "hiv_treatment_rate": (">=", 95.0),
        "syphilis_treatment_rate": (">=", 95.0),
        "maternal_mortality_ratio": ("<", 7.5),
        "anaemia_prevalence_non_thalassaemia": ("<", 10.0),
        "congenital_syphilis_rate": ("<", 15.0),
    }
    targets = {i.id: (i.direction, i.target) for i in CALCULATED if i.target is not None}
    assert targets == expected
    assert BY_ID["prenatal_care_rate"].reference is not None
    assert BY_ID["prenatal_care_rate"].reference.value == 95.0
    assert BY_ID["hiv_early_test_rate"].reference is not None


def test_units_and_settings_shaping_each_indicator() -> None:
    assert BY_ID["maternal_mortality_ratio"].multiplier == 100_000
    assert BY_ID["perinatal_mortality_rate"].multiplier == 1_000
    assert BY_ID["caesarean_rate"].settings == ("small_numbers_below", "caesarean_basis")
    assert "case_managed_colours" in BY_ID["high_risk_case_management_rate"].settings
    assert "case_managed_colours" not in BY_ID["high_risk_management_rate"].settings
    assert (
        "anaemia_denominator_excludes_thalassaemia"
        in BY_ID["anaemia_prevalence_non_thalassaemia"].settings
    )
    assert all("small_numbers_below" in i.settings for i in CALCULATED)
    yearly = {i.id for i in CALCULATED if i.rate_periods is not None}
    assert yearly == {"maternal_mortality_ratio", "congenital_syphilis_rate"}
    assert all(i.name_zh and i.name_en and i.numerator_zh and i.denominator_en for i in CATALOGUE)


def _every_settings() -> list[IndicatorSettings]:
    return [
        IndicatorSettings(caesarean_basis=basis)  # type: ignore[arg-type]
        for basis in ("births", "women")
    ]


def test_every_catalogue_indicator_has_a_calculation() -> None:
    missing = [i.id for i in CALCULATED if i.id not in CALCULATIONS]
    assert not missing, f"No entry in calculations.CALCULATIONS for: {', '.join(missing)}"


def test_every_calculation_has_a_calculated_catalogue_entry() -> None:
    calculated = {i.id for i in CALCULATED}
    orphans = [code for code in CALCULATIONS if code not in calculated]
    assert not orphans, (
        f"No calculated entry in catalogue.CATALOGUE for the calculation of: {', '.join(orphans)}"
    )


def test_every_calculation_divides_declared_base_counts() -> None:
    unknown = sorted(
        f"{code}: {count}"
        for settings in _every_settings()
        for code in CALCULATIONS
        for count in count_pair(code, settings)
        if count not in BASE_COUNTS
    )
    assert not unknown, f"Base counts missing from counts.BASE_COUNTS: {'; '.join(unknown)}"


def test_every_calculated_indicator_has_its_rule_and_documentation() -> None:
    rules = _rule_ids()
    documented = DOCS_PATH.read_text(encoding="utf-8")
    for indicator in CALCULATED:
        assert indicator.id in rules, (
            f'{indicator.id}: add its row to docs/indicator-rules.md, "The indicators"'
        )
    for indicator in CATALOGUE:
        assert f"`{indicator.id}`" in documented, (
            f"{indicator.id}: regenerate docs/indicators.md "
            "(.venv/bin/python -m mch_service.indicators.docs)"
        )


def test_every_calculated_indicator_has_a_simulator_truth() -> None:
    # The simulator computes each indicator independently (mch_service/simulator/truth.py), so
    # the engine can be held against it (tests/simulator/test_engine_matches_truth.py).
    missing = [i.id for i in CALCULATED if i.id not in TRUTH_INDICATORS]
    assert not missing, (
        "Add to simulator/truth.py (INDICATORS and cohort_figures or the event counts): "
        + ", ".join(missing)
    )
