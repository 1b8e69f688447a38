"""A small simulated district loaded through the FHIR service, and a snapshot of what an
operator would check after a restore or an upgrade: indicators, cases, work lists, a FHIR read."""

from __future__ import annotations

import json
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import select

from mch_service.app import Services
from mch_service.audit.service import Actor
from mch_service.cases.models import CaseRecord, WorkItem
from mch_service.indicators.results import IndicatorResult
from mch_service.simulator import SimulationParams, simulate
from mch_service.simulator.load import load, register_institutions
from mch_service.store.models import FhirResource

START, END = date(2024, 1, 1), date(2025, 6, 30)


def simulate_district(folder: Path, pregnancies: int = 40, seed: int = 5) -> Path:
    simulate(
        SimulationParams(
            pregnancies=pregnancies, seed=seed, start=START, end=END, history_share=1.0
        ),
        folder,
    )
    return folder


def load_district(services: Services, sim: Path) -> None:
    register_institutions(services, sim)
    load(services, sim)
    services.domain.process_queue(services.db)
    services.indicators.refresh(full=True)
    with services.db.transaction() as session:
        services.cases.refresh(session, None, END)


def _rows(session: Any, model: Any, order: Any) -> list[dict[str, Any]]:
    cols = [c.name for c in model.__table__.columns]
    return [
        {c: getattr(r, c) for c in cols} for r in session.scalars(select(model).order_by(*order))
    ]


def snapshot(services: Services) -> dict[str, Any]:
    """What must be identical after a restore: indicator results, cases and work lists, and a
    FHIR read (decrypted: so the key still opens the data) of every stored Patient."""
    with services.db.reading() as session:
        indicators = _rows(
            session,
            IndicatorResult,
            [
                IndicatorResult.indicator_id,
                IndicatorResult.period,
                IndicatorResult.area,
                IndicatorResult.institution,
            ],
        )
        cases = _rows(session, CaseRecord, [CaseRecord.pregnancy_id])
        items = [
            {k: v for k, v in r.items() if k != "id"}
            for r in _rows(session, WorkItem, [WorkItem.list_name, WorkItem.pregnancy_id])
        ]
        patients = session.execute(
            select(FhirResource.institution_id, FhirResource.fhir_id)
            .where(FhirResource.resource_type == "Patient")
            .order_by(FhirResource.institution_id, FhirResource.fhir_id)
        ).all()
    reads = {}
    for institution, fhir_id in patients:
        result = services.fhir.read(Actor("institution", institution), "Patient", fhir_id)
        reads[f"{institution}/{fhir_id}"] = json.loads(json.dumps(result.resource, default=str))
    return {"indicators": indicators, "cases": cases, "work_items": items, "patients": reads}
