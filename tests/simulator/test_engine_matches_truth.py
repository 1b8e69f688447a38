"""The service against the simulator's independent truth: a simulated district loaded through
the FHIR service layer, assembled, computed — every indicator for every period, area and
institution, and every work list member at the truth's as_of day, must equal truth.json."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from mch_service.app import Services, build_services
from mch_service.cases.models import WorkItem
from mch_service.database import Database
from mch_service.domain import models as m
from mch_service.indicators.results import IndicatorResult
from mch_service.simulator import SimulationParams, simulate
from mch_service.simulator.load import load, register_institutions, site_code_tables


@pytest.mark.parametrize(("seed", "pregnancies"), [(11, 40), (29, 25)])
def test_indicators_and_work_lists_equal_truth(
    services: Services, tmp_path: Path, seed: int, pregnancies: int
) -> None:
    out = tmp_path / "sim"
    simulate(
        SimulationParams(
            pregnancies=pregnancies, seed=seed, start=date(2024, 1, 1), end=date(2025, 12, 31)
        ),
        out,
    )
    tables = site_code_tables(out, tmp_path / "tables")
    settings = services.settings.model_copy(
        update={"code_tables_dir": str(tables), "domain_assembly": "queued"}
    )
    svc = build_services(settings, Database(settings.database_url))
    try:
        register_institutions(svc, out)
        counts = load(svc, out)
        truth = json.loads((out / "truth.json").read_text())
        svc.domain.process_queue(svc.db)
        svc.indicators.refresh(full=True)
        with svc.db.reading() as session:
            got = {
                (r.indicator_id, r.period, r.area, r.institution): (r.numerator, r.denominator)
                for r in session.scalars(select(IndicatorResult))
            }
        mismatches = []
        compared = 0
        for t in truth["indicators"]:
            key = (t["id"], t["period"], t["area"], t["institution"])
            expected = (t["numerator"], t["denominator"])
            actual = got.get(key, (0, 0))  # the engine writes no rows where nothing happened
            compared += expected != (0, 0)
            if actual != expected:
                mismatches.append((key, expected, actual))
        assert compared > 100
        assert mismatches == []

        for snapshot in truth["work_lists"]:
            as_of = date.fromisoformat(snapshot["as_of"])
            with svc.db.transaction() as session:
                svc.cases.refresh(session, None, as_of)
            members = _members(svc)
            for name, expected in snapshot["lists"].items():
                want = {(e["resident_id"], e["lmp"]) for e in expected}
                assert members.get(name, set()) == want, name
        assert counts["bundles"] > 0
    finally:
        svc.db.dispose()


def _members(svc: Services) -> dict[str, set[tuple[str, Any]]]:
    out: dict[str, set[tuple[str, Any]]] = {}
    with svc.db.reading() as session:
        rows = session.execute(
            select(WorkItem.list_name, WorkItem.woman_key, m.Pregnancy.lmp).join(
                m.Pregnancy, m.Pregnancy.id == WorkItem.pregnancy_id
            )
        ).all()
        keys = {k for _, k, _ in rows}
        rid: dict[str, str] = {}
        for r in session.scalars(
            select(m.PatientRecord).where(m.PatientRecord.woman_key.in_(keys))
        ):
            if r.resident_id_sealed:
                rid[r.woman_key or ""] = svc.crypto.open_sealed(
                    r.resident_id_sealed, f"patient_record/{r.ref}/resident_id".encode()
                ).decode()
    for name, key, lmp in rows:
        out.setdefault(name, set()).add((rid.get(key, key), lmp.isoformat() if lmp else None))
    return out
