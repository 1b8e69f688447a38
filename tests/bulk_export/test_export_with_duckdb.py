"""The scale-out path: a province platform pulls the district's bulk export and computes the
indicators on its own engine. Here DuckDB reads the downloaded NDJSON files (the benchmark
peer's SQL, benchmarks/duckdb_peer.py, fed from the export instead of the simulator's files)
and must get the service's own numerators and denominators, month by month."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from benchmarks import duckdb_peer
from mch_service.app import Services
from mch_service.indicators.results import IndicatorResult
from mch_service.simulator.load import site_code_tables
from tests.bulk_export.conftest import export
from tests.ops.district import load_district, simulate_district

pytest.importorskip("duckdb")


def _service_months(services: Services) -> dict[tuple[str, str], tuple[int, int]]:
    R = IndicatorResult
    with services.db.reading() as session:
        rows = session.execute(
            select(R.indicator_id, R.period, R.numerator, R.denominator).where(
                R.area == "district",
                R.institution == "all",
                R.indicator_id.in_(duckdb_peer.INDICATORS),
            )
        ).all()
    return {(i, p): (int(n), int(d)) for i, p, n, d in rows if duckdb_peer.is_month(p)}


@pytest.fixture
def sim(tmp_path: Path) -> Path:
    return simulate_district(tmp_path / "sim", pregnancies=40, seed=5)


@pytest.fixture
def export_settings(export_settings: dict[str, Any], sim: Path, tmp_path: Path) -> dict[str, Any]:
    """The service knows what the district's sites' local codes mean (hosp-c's laboratory
    codes, as its site code table says), as the peer does: without the table hosp-c's local
    HIV/syphilis/HBsAg tests are not tests to the service."""
    return {**export_settings, "code_tables_dir": str(site_code_tables(sim, tmp_path / "codes"))}


def test_duckdb_over_the_export_reproduces_the_indicators(
    http: httpx.Client, services: Services, platform: dict[str, str], sim: Path, tmp_path: Path
) -> None:
    load_district(services, sim)
    manifest = export(http, platform)
    folder = tmp_path / "download"
    folder.mkdir()
    for item in manifest["output"]:
        r = http.get(item["url"], headers=platform)
        assert r.status_code == 200
        (folder / item["url"].rsplit("/", 1)[1]).write_bytes(r.content)

    peer = duckdb_peer.run_on_export(folder, threads=2)
    service = _service_months(services)

    # one indicator checked by name, to the figure: the caesarean rate of every month
    caesarean = {p: v for (i, p), v in service.items() if i == "caesarean_rate" and v[1]}
    assert len(caesarean) >= 6
    assert sum(d for _n, d in caesarean.values()) >= 20
    for period, (num, den) in caesarean.items():
        assert peer.get(("caesarean_rate", period)) == (num, den), period
    # ... and every indicator the peer computes, every month either side has
    keys = {k for k in set(peer) | set(service) if k[0] in duckdb_peer.INDICATORS}
    keys = {k for k in keys if (peer.get(k, (0, 0)), service.get(k, (0, 0))) != ((0, 0),) * 2}
    assert len(keys) >= 6 * len(duckdb_peer.INDICATORS)
    assert {k: peer.get(k, (0, 0)) for k in keys} == {k: service.get(k, (0, 0)) for k in keys}
    # the district has a record sent twice in one history file (a corrected postpartum visit
    # date): the figure must follow the later line, whichever engine reads it
    assert service[("systematic_management_rate", "2025-06")] == (2, 2)
    # the export loses nothing: the peer gets the same figures from the export as from the
    # files the hospitals sent
    sent = duckdb_peer.run_peer(sim, threads=2)["results"]
    assert peer == {k: v for k, v in sent.items() if duckdb_peer.is_month(k[1])}
