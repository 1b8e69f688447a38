"""The service against the simulator's independent truth: a simulated district loaded through
the FHIR service layer, assembled, computed — every indicator for every period, area and
institution, and every work list member with its since day, on the days around each list's
thresholds, must equal truth.json; with the default settings and two other sets. Each Bundle
reaches the service at its planned time (the clock moved with time-machine), so that
report_late has members: late assessments and ones on the reporting edge."""

from __future__ import annotations

import dataclasses
import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
import time_machine
from sqlalchemy import select

from mch_service.app import Services, build_services
from mch_service.cases.models import WorkItem
from mch_service.cases.worklists import LISTS
from mch_service.database import Database
from mch_service.domain import models as domain_models
from mch_service.indicators.results import IndicatorResult
from mch_service.simulator import SimulationParams, simulate
from mch_service.simulator.generate import threshold_days
from mch_service.simulator.load import load, register_institutions, site_code_tables
from mch_service.simulator.params import TruthSettings

# Each variant: the truth's settings and the service's settings that say the same.
VARIANTS: dict[str, tuple[TruthSettings, dict[str, Any]]] = {
    "default": (TruthSettings(), {}),
    # caesareans per woman, thalassaemia carriers kept in the anaemia denominator (the
    # settings' other values; every variant has the statistical years and rolling years as
    # periods of their own)
    "caesarean-women": (
        TruthSettings(
            caesarean_basis="women",
            anaemia_denominator_excludes_thalassaemia=False,
        ),
        {
            "indicator_caesarean_basis": "women",
            "indicator_anaemia_denominator_excludes_thalassaemia": False,
        },
    ),
    # only red women case-managed, followed up every 10 days
    "red-only": (
        TruthSettings(case_managed_colours=("red",), follow_up_days_red=10),
        {
            "case_managed_colours": ["red"],
            "case_follow_up_days": {"red": 10, "orange": 14, "purple": 14},
        },
    ),
    # many maternal deaths of every cause class, near-miss records, bookings after delivery
    "deaths": (TruthSettings(), {}),
}
# Simulation parameters of a variant beyond the defaults.
SIMULATED: dict[str, dict[str, Any]] = {
    "deaths": {
        "maternal_death_share": 0.3,
        "maternal_death_external_share": 0.25,
        "maternal_death_care_complication_share": 0.3,
        "maternal_death_self_harm_share": 0.2,
        "severe_maternal_morbidity_share": 0.3,
        "booking_after_delivery_share": 0.5,
    },
}
# Simulation parameters a variant changes besides the settings: "infections" makes the rule
# 3 and 4 situations common (reactive screens confirmed negative, syphilis test pairs and
# past-treated syphilis, ART from before the LMP, ceftriaxone with and without a syphilis
# indication, entecavir, Hb after the admission, screening records).
VARIANT_PARAMS: dict[str, dict[str, Any]] = {
    "infections": {
        "hiv_prevalence": 0.15,
        "syphilis_prevalence": 0.3,
        "hbsag_prevalence": 0.2,
        "hiv_false_reactive_share": 0.15,
        "syphilis_past_share": 0.15,
        "syphilis_ceftriaxone_share": 0.3,
        "syphilis_treatment_share": 0.75,
        "ceftriaxone_other_share": 0.03,
        "hbv_antiviral_share": 0.5,
        "hb_after_admission_share": 0.3,
        "prenatal_diagnosis_share": 0.3,
        "untested_share": 0.1,
    },
}
VARIANTS["infections"] = (TruthSettings(), {})
# Many orange and red assessments, some received late and a third of them on the reporting
# edges (an hour before, on, a minute after and an hour after the limit + 24 hours): seed 21
# meets all four edges of both colours (tests/simulator/test_simulator_edges.py checks).
REPORTS: dict[str, Any] = {
    "risk_orange_share": 0.3,
    "risk_red_share": 0.3,
    "risk_report_late_share": 0.15,
}
VARIANT_PARAMS["reports"] = REPORTS
VARIANTS["reports"] = (TruthSettings(), {})


@pytest.mark.parametrize(
    ("seed", "pregnancies", "variant"),
    [
        (11, 40, "default"),
        (29, 25, "default"),
        (11, 25, "caesarean-women"),
        (29, 25, "red-only"),
        (17, 40, "deaths"),
        (7, 60, "infections"),
        (21, 30, "reports"),
    ],
)
def test_indicators_and_work_lists_equal_truth(
    services: Services, tmp_path: Path, seed: int, pregnancies: int, variant: str
) -> None:
    out = tmp_path / "sim"
    truth_settings, service_settings = VARIANTS[variant]
    params = SimulationParams(
        pregnancies=pregnancies,
        seed=seed,
        start=date(2024, 1, 1),
        end=date(2025, 12, 31),
        edge_share=0.3,  # many events on and next to the thresholds (docs/simulator.md)
        truth=truth_settings,
        **SIMULATED.get(variant, {}),
        **VARIANT_PARAMS.get(variant, {}),
    )
    # the work lists on the days around each list's thresholds, and at the end
    as_of = (*threshold_days(params), params.end)
    simulate(dataclasses.replace(params, as_of=as_of), out)
    tables = site_code_tables(out, tmp_path / "tables")
    settings = services.settings.model_copy(
        update={"code_tables_dir": str(tables), "domain_assembly": "queued", **service_settings}
    )
    svc = build_services(settings, Database(settings.database_url))
    try:
        register_institutions(svc, out)
        # each Bundle received at its planned time (late reports, the reporting edges)
        counts = load(svc, out, clock=lambda at: time_machine.travel(at, tick=False))
        truth = json.loads((out / "truth.json").read_text())
        svc.domain.process_queue(svc.db)
        svc.indicators.refresh(full=True)
        with svc.db.reading() as session:
            counted = {
                (r.indicator_id, r.period, r.area, r.institution): (r.numerator, r.denominator)
                for r in session.scalars(select(IndicatorResult))
            }
        mismatches = []
        compared = 0
        for t in truth["indicators"]:
            key = (t["id"], t["period"], t["area"], t["institution"])
            expected = (t["numerator"], t["denominator"])
            actual = counted.get(key, (0, 0))  # the engine writes no rows where nothing happened
            compared += expected != (0, 0)
            if actual != expected:
                mismatches.append((key, expected, actual))
        assert compared > 100
        assert mismatches == []
        if variant == "deaths":
            _the_situations_were_there(svc, truth)

        assert len(truth["work_lists"]) == len(set(as_of)) > 10
        wrong = []
        listed = 0
        late_days = 0
        for snapshot in truth["work_lists"]:
            day = date.fromisoformat(snapshot["as_of"])
            with svc.db.transaction() as session:
                svc.cases.refresh(session, None, day)
            members = _members(svc)
            # Every list the engine keeps, both ways: members the truth has and the engine
            # lacks, and members the engine has that the truth lacks, each with its since day.
            # report_late too: the truth knows when each Bundle is received.
            expected_lists = snapshot["lists"]
            late_days += bool(expected_lists["report_late"])
            assert set(expected_lists) == set(LISTS)
            for name, expected in expected_lists.items():
                want = {(e["resident_id"], e["lmp"], e["since"]) for e in expected}
                got = members.get(name, set())
                listed += len(want)
                if got != want:
                    wrong.append((day, name, sorted(want - got), sorted(got - want)))
            assert set(members) <= set(LISTS)
        assert wrong == []
        assert listed >= 8  # members compared over all the days (seeded: fixed counts)
        if variant == "reports":
            assert late_days >= 5  # late reports on many days (seeded: fixed counts)
        assert counts["bundles"] > 0
    finally:
        svc.db.dispose()


def _the_situations_were_there(svc: Services, truth: dict[str, Any]) -> None:
    """The deaths variant met what it is for: deaths of each cause class, a near-miss, a
    booking after the delivery (kept: its pregnancy's births count)."""
    with svc.db.reading() as session:
        classes = set(session.scalars(select(domain_models.Death.cause_class)))
        issues = session.scalars(select(domain_models.DataQualityIssue.rule)).all()
        excluded = session.scalars(
            select(domain_models.Pregnancy).where(domain_models.Pregnancy.excluded.is_(True))
        ).all()
    assert {"accidental", "self_harm", "care_complication", "obstetric"} <= classes
    assert "delivery_before_booking" in issues
    assert excluded == []
    totals = {
        t["id"]: t["numerator"]
        for t in truth["indicators"]
        if t["period"] in ("2024", "2025")
        and t["area"] == "district"
        and t["institution"] == "all"
        and t["numerator"]
    }
    assert totals.get("maternal_mortality_ratio", 0) > 0
    assert totals.get("severe_maternal_morbidity_ratio", 0) > 0


def _members(svc: Services) -> dict[str, set[tuple[str, Any, str]]]:
    out: dict[str, set[tuple[str, Any, str]]] = {}
    with svc.db.reading() as session:
        rows = session.execute(
            select(
                WorkItem.list_name, WorkItem.woman_key, domain_models.Pregnancy.lmp, WorkItem.since
            ).join(domain_models.Pregnancy, domain_models.Pregnancy.id == WorkItem.pregnancy_id)
        ).all()
        keys = {k for _, k, _, _ in rows}
        rid: dict[str, str] = {}
        for r in session.scalars(
            select(domain_models.PatientRecord).where(
                domain_models.PatientRecord.woman_key.in_(keys)
            )
        ):
            if r.resident_id_sealed:
                rid[r.woman_key or ""] = svc.crypto.open_sealed(
                    r.resident_id_sealed, f"patient_record/{r.ref}/resident_id".encode()
                ).decode()
    for name, key, lmp, since in rows:
        out.setdefault(name, set()).add(
            (rid.get(key, key), lmp.isoformat() if lmp else None, since.isoformat())
        )
    return out
