"""The exposed-infant indicators and rule 6 (congenital syphilis per child), service against
the simulator's truth, on a district with many infected mothers, twins and repeated congenital
syphilis diagnoses (so that every situation of docs/indicator-rules.md, "Infants of infected
mothers", occurs), under the default hours and under other hours on both sides."""

from __future__ import annotations

import dataclasses
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mch_service.app import Services, build_services
from mch_service.database import Database
from mch_service.indicators.results import IndicatorResult
from mch_service.simulator import SimulationParams, simulate
from mch_service.simulator.generate import iter_facts
from mch_service.simulator.load import load, register_institutions, site_code_tables
from mch_service.simulator.params import TruthSettings

IDS = (
    "hbig_12h_rate",
    "hepb_vaccine_24h_rate",
    "hiv_exposed_infant_arv_rate",
    "syphilis_exposed_infant_prophylaxis_rate",
    "congenital_syphilis_rate",
)


@pytest.mark.parametrize(
    ("truth_settings", "service_settings"),
    [
        (TruthSettings(), {}),
        (
            TruthSettings(hbig_hours=6, hepb_vaccine_hours=30),
            {"indicator_hbig_hours": 6, "indicator_hepb_vaccine_hours": 30},
        ),
    ],
)
def test_infant_indicators_equal_truth(
    services: Services,
    tmp_path: Path,
    truth_settings: TruthSettings,
    service_settings: dict[str, Any],
) -> None:
    out = tmp_path / "sim"
    params = SimulationParams(
        pregnancies=40,
        seed=18,  # a district with doses on and a minute after each limit, in both settings
        start=date(2024, 1, 1),
        end=date(2025, 12, 31),
        hiv_prevalence=0.3,
        syphilis_prevalence=0.4,
        hbsag_prevalence=0.5,
        twin_share=0.3,
        hbig_late_share=0.3,
        hepb_vaccine_late_share=0.3,
        newborn_birth_time_share=0.6,
        delivery_date_only_share=0.4,
        congenital_syphilis_untreated_share=0.6,
        congenital_syphilis_treated_share=0.4,
        congenital_syphilis_repeat_share=0.6,
        # some exposed babies without their prophylaxis, so that both sides of each rate occur
        infant_arv_share=0.6,
        infant_syphilis_prophylaxis_share=0.6,
        # a third of the doses an hour before, exactly on, a minute after and an hour after the
        # truth's hour limit (docs/simulator.md, "Events on the thresholds")
        edge_share=0.3,
        truth=truth_settings,
    )
    # the district has doses exactly on the limits and a minute after them (the edges)
    offsets: set[tuple[str, timedelta]] = set()
    for f in iter_facts(params):
        for n in f.delivery.newborns if f.delivery and f.delivery.newborns else ():
            if n.born_at is not None:
                offsets |= {("hbig", t - n.born_at) for t in n.hbig_at if t is not None}
                offsets |= {("vaccine", t - n.born_at) for t in n.hepb_vaccine_at if t is not None}
    for dose, hours in (
        ("hbig", truth_settings.hbig_hours),
        ("vaccine", truth_settings.hepb_vaccine_hours),
    ):
        limit = timedelta(hours=hours)
        assert {(dose, limit), (dose, limit + timedelta(minutes=1))} <= offsets, dose
    simulate(dataclasses.replace(params, as_of=(params.end,)), out)
    tables = site_code_tables(out, tmp_path / "tables")
    settings = services.settings.model_copy(
        update={"code_tables_dir": str(tables), "domain_assembly": "queued", **service_settings}
    )
    svc = build_services(settings, Database(settings.database_url))
    try:
        register_institutions(svc, out)
        load(svc, out)
        truth = json.loads((out / "truth.json").read_text())
        svc.domain.process_queue(svc.db)
        svc.indicators.refresh(full=True)
        with svc.db.reading() as session:
            counted = {
                (r.indicator_id, r.period, r.area, r.institution): (r.numerator, r.denominator)
                for r in session.scalars(select(IndicatorResult))
            }
        mismatches = []
        seen: dict[str, tuple[int, int]] = {}
        for t in truth["indicators"]:
            if t["id"] not in IDS:
                continue
            key = (t["id"], t["period"], t["area"], t["institution"])
            expected = (t["numerator"], t["denominator"])
            if t["period"] in ("2024", "2025") and (t["area"], t["institution"]) == (
                "district",
                "all",
            ):
                before = seen.get(t["id"], (0, 0))
                seen[t["id"]] = (before[0] + expected[0], before[1] + expected[1])
            if counted.get(key, (0, 0)) != expected:
                mismatches.append((key, expected, counted.get(key, (0, 0))))
        assert mismatches == []
        # the situations occurred over the two years: some babies on time, some not, for every
        # indicator
        for indicator_id in IDS[:4]:
            numerator, denominator = seen[indicator_id]
            assert 0 < numerator < denominator, (indicator_id, seen[indicator_id])
        assert seen["congenital_syphilis_rate"][0] > 0
    finally:
        svc.db.dispose()
