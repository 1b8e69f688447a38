"""``python -m benchmarks scale`` runs its whole chain at a tiny size and writes the figures the
issue asks for. Never a timing check: the machine's speed is not the suite's business."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from benchmarks.scale import KEYS

ROOT = Path(__file__).resolve().parents[1]
PG_URL = os.environ.get("MCH_TEST_DATABASE_URL")

# The issue's list, written out again (not imported) so that a key dropped from KEYS fails.
ISSUE_KEYS = [
    "pregnancies",
    "resources",
    "import_rps",
    "bundles_rps",
    "createonly_rps",
    "drain_s",
    "freshness_p95_s",
    "indicators_full_s",
    "indicators_incremental_s",
    "peak_rss_mib",
    "duckdb_s",
    "agreement",
    "worklist_p95_ms",
    "case_page_p95_ms",
    "db_bytes",
]


def test_the_keys_are_the_issues() -> None:
    assert list(KEYS) == ISSUE_KEYS


@pytest.mark.skipif(PG_URL is None, reason="MCH_TEST_DATABASE_URL is not set (CI sets it)")
def test_scale_chain_runs_at_a_tiny_size(tmp_path: Path) -> None:
    assert PG_URL is not None
    parts = urlsplit(PG_URL)
    server = f"{parts.scheme}://{parts.netloc}"
    out = tmp_path / "scale.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCH_")}
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "benchmarks",
            "scale",
            "--pregnancies",
            "12",
            "--workers",
            "1",
            "--senders",
            "3",
            "--createonly-bundles",
            "4",
            "--requests",
            "3",
            "--pg-url",
            server,
            # its own database: other runs of the suite may be at the same step
            "--database",
            f"mch_bench_scale_test_{os.getpid()}",
            "--results-dir",
            str(tmp_path),
            "--json",
            str(out),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,  # a generous bound: shared CI machines can be slow (never a timing check)
        check=False,
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    figures = json.loads(out.read_text())
    assert list(figures)[: len(ISSUE_KEYS)] == ISSUE_KEYS
    assert figures["pregnancies"] == 12
    # every figure was measured (none left empty), and the counts are what was sent
    for key in ISSUE_KEYS:
        assert figures[key] is not None, key
    details = figures["details"]
    load = details["load"]
    assert figures["resources"] == (
        load["history_lines"]
        + load["bundle_entries"]
        + details["indicators"]["incremental"]["new_entries"]
    )
    manifest = json.loads(next(tmp_path.glob("sim-12-*/manifest.json")).read_text())
    assert load["history_lines"] == sum(i["history_lines"] for i in manifest["institutions"])
    assert load["bundles"] + details["indicators"]["incremental"]["new_bundles"] == sum(
        len(i["bundles"]) for i in manifest["institutions"]
    )
    # the end to end is the import, its queue's drain, the Bundles and the last drain
    assert load["end_to_end_s"] == pytest.approx(
        load["import_s"] + load["import_drain_s"] + load["bundles_s"] + load["drain_s"], abs=0.25
    )
    assert load["import_report"]["unexpected"] == []
    assert load["bundles_report"]["unexpected"] == []
    assert figures["agreement"] == 1.0
    assert details["createonly"]["resources"] > 0
    assert figures["db_bytes"] == details["database"]["db_bytes"] > 0
    for kind in ("worklist", "case_page", "pregnancy_page", "indicator_table"):
        assert details["pages"][kind]["errors"] == 0, details["pages"][kind]
    assert "== scale benchmark" in done.stdout
    # the database is dropped afterwards
    import psycopg

    with psycopg.connect(f"{server}/postgres") as conn:
        row = conn.execute(
            "select count(*) from pg_database where datname = %s",
            (f"mch_bench_scale_test_{os.getpid()}",),
        ).fetchone()
    assert row is not None
    assert row[0] == 0
