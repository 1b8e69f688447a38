"""Reports the monitoring group can send (issue 17), on a simulated district loaded through the
service, on both databases: every indicator's drill-down adds up to its figure, the congenital
syphilis drill-down lists its case, unknown filters are refused with the valid values, an
external figure entered appears everywhere, the official workbook and the MeasureReports."""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import openpyxl
import pytest

from mch_service.app import Services, build_services
from mch_service.database import Database
from mch_service.indicators.catalogue import CALCULATED, CATALOGUE
from mch_service.simulator import SimulationParams, simulate
from mch_service.simulator.load import load, register_institutions, site_code_tables
from tests.auth.test_accounts import add_user, bearer, token_for

YEAR = "2025"


@pytest.fixture
def district(services: Services, tmp_path: Path, live_server: Any) -> Iterator[httpx.Client]:
    """A simulated district (Nansha's streets, 2024-2025) with syphilis, congenital syphilis
    and maternal deaths common, computed, behind a live server; a monitor and an admin."""
    out = tmp_path / "sim"
    params = SimulationParams(
        pregnancies=70,
        seed=17,
        start=date(2024, 1, 1),
        end=date(2025, 12, 31),
        maternal_death_share=0.2,
        syphilis_prevalence=0.3,
        syphilis_treatment_share=0.5,
        congenital_syphilis_untreated_share=0.9,
        hiv_prevalence=0.1,
        hbsag_prevalence=0.2,
        severe_maternal_morbidity_share=0.2,
    )
    simulate(dataclasses.replace(params, as_of=(params.end,)), out)
    tables = site_code_tables(out, tmp_path / "tables")
    settings = services.settings.model_copy(
        update={"code_tables_dir": str(tables), "domain_assembly": "queued"}
    )
    svc = build_services(settings, Database(settings.database_url))
    try:
        register_institutions(svc, out)
        load(svc, out)
        svc.domain.process_queue(svc.db)
        svc.indicators.refresh(full=True)
        live_server.point_at(svc)
        with httpx.Client(base_url=live_server.url, timeout=60) as client:
            add_user(svc, "mon1", "monitor")
            add_user(svc, "admin1", "admin")
            client.headers.update(bearer(token_for(client, "mon1")))
            client.extensions_admin = bearer(token_for(client, "admin1"))  # type: ignore[attr-defined]
            yield client
    finally:
        svc.db.dispose()


def _results(http: httpx.Client, query: str) -> dict[str, dict[str, Any]]:
    r = http.get(f"/api/v1/indicators?{query}")
    assert r.status_code == 200, r.text
    return {x["id"]: x for x in r.json()["results"]}


def test_every_drilldown_adds_up_and_lists_its_events(district: httpx.Client) -> None:
    http = district
    figures = _results(http, f"period={YEAR}")
    events = 0
    for ind in CALCULATED:
        r = http.get(f"/api/v1/indicators/{ind.id}/records?period={YEAR}")
        assert r.status_code == 200, (ind.id, r.text)
        body = r.json()
        rows = body["rows"]
        fig = figures[ind.id]
        assert sum(x["units"] for x in rows) == fig["denominator"], ind.id
        assert sum(x["numerator_units"] for x in rows) == fig["numerator"], ind.id
        assert (body["units_total"], body["numerator_units_total"]) == (
            fig["denominator"],
            fig["numerator"],
        )
        if fig["numerator"]:
            assert any(x["in_numerator"] for x in rows), ind.id
        for x in rows:
            assert set(x["criteria"]) <= set(body["criteria_labels"]), ind.id
        if ind.id in ("congenital_syphilis_rate", "maternal_mortality_ratio"):
            kinds = [x for x in rows if x["kind"] != "delivery"]
            assert len(kinds) == fig["numerator"]
            events += len(kinds)
    # the situations were there: cases and deaths in the year
    assert figures["congenital_syphilis_rate"]["numerator"] > 0
    assert figures["maternal_mortality_ratio"]["numerator"] > 0
    assert events > 1
