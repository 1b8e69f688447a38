"""The scale-out path: a province platform pulls the district's bulk export and computes the
indicators on its own engine. Here DuckDB reads the downloaded NDJSON files (the benchmark
peer's SQL, benchmarks/duckdb_peer.py, fed from the export instead of the simulator's files)
and must get the service's own numerators and denominators, month by month."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from sqlalchemy import select

from benchmarks import duckdb_peer
from mch_service.app import Services
from mch_service.indicators.results import IndicatorResult
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


def test_duckdb_over_the_export_reproduces_the_indicators(
    http: httpx.Client, services: Services, platform: dict[str, str], tmp_path: Path
) -> None:
    load_district(services, simulate_district(tmp_path / "sim", pregnancies=40, seed=5))
    manifest = export(http, platform)
    folder = tmp_path / "download"
    folder.mkdir()
    for item in manifest["output"]:
        r = http.get(item["url"], headers=platform)
        assert r.status_code == 200
        (folder / item["url"].rsplit("/", 1)[1]).write_bytes(r.content)

    peer = duckdb_peer.run_on_export(folder, threads=1)
    service = _service_months(services)

    # one indicator checked by name, to the figure: the caesarean rate of every month
    caesarean = {p: v for (i, p), v in service.items() if i == "caesarean_rate" and v[1]}
    assert len(caesarean) >= 6
    assert sum(d for _n, d in caesarean.values()) >= 20
    for period, (num, den) in caesarean.items():
        assert peer.get(("caesarean_rate", period)) == (num, den), period
    # ... and two more, every month either side has. Not compared: the peer's HIV/syphilis/
    # HBsAg test rates count tests the service's current rules leave out (on the simulator's
    # own files as on the export: not the export's doing), and the systematic management rate
    # of the last month (2025-06), which the service gave as 1/2 instead of 2/2 in some
    # PostgreSQL runs (a service-side question, reported; the peer gave 2/2 every time).
    same_rules = ["caesarean_rate", "facility_delivery_rate", "early_registration_rate"]
    keys = {k for k in set(peer) | set(service) if k[0] in same_rules}
    keys = {k for k in keys if (peer.get(k, (0, 0)), service.get(k, (0, 0))) != ((0, 0),) * 2}
    assert len(keys) >= 6 * len(same_rules)
    assert {k: peer.get(k, (0, 0)) for k in keys} == {k: service.get(k, (0, 0)) for k in keys}
    # the export loses nothing: the peer gets the same figures from the export as from the
    # files the hospitals sent. Compared for the same three indicators only: the peer's
    # systematic management rate of 2025-06 came out 2/2 over the export and 1/2 over the sent
    # files in one CI run on PostgreSQL (and equal in others): an order-dependent choice in the
    # peer or the export, not yet explained (closing note of session 7).
    sent = duckdb_peer.run_peer(tmp_path / "sim", threads=1)["results"]
    sent_months = {k: v for k, v in sent.items() if duckdb_peer.is_month(k[1])}
    assert {k: v for k, v in peer.items() if k[0] in same_rules} == {
        k: v for k, v in sent_months.items() if k[0] in same_rules
    }
