"""Indicator job benchmark: full and incremental runs of the indicator job on PostgreSQL, its peak
memory, and a DuckDB peer computing a subset of the same indicators from the simulator's files.

One run:

1. simulates N pregnancies (seeded, ``mch_service.simulator``) into benchmarks/results/sim-N-seed;
2. creates a fresh PostgreSQL database, migrates it, registers the ten simulated institutions and
   loads everything *except the last ~1 % of each institution's Bundles* through the real FHIR
   service layer with ``MCH_DOMAIN_ASSEMBLY=queued``, then ``process_queue``;
3. starts a fresh job process (``python -m benchmarks.indicators --child``: nothing cached) that
   times ``indicators.refresh(full=True)`` (build frames from the database, compute_all, store)
   and reports its peak RSS (VmHWM);
4. loads the held-back Bundles (the "~1 % new data"), ``process_queue``, and has the same job
   process time the incremental ``refresh()``;
5. runs the DuckDB peer (``duckdb_peer.py``) over the simulator's NDJSON / Bundle files and
   compares its district-by-month numbers with the service's stored results.

The database is kept with ``--keep`` so that ``python -m benchmarks worklists --reuse-db`` can
use it.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import time
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import orjson

from benchmarks import procstats
from benchmarks.ingest import (
    DATABASE_PREFIX,
    DEFAULT_PG,
    ROOT,
    BenchmarkError,
    analyze_database,
    drop_database,
    recreate_database,
)

RESULTS_DIR = Path(__file__).resolve().parent / "results"
TARGET_PREGNANCIES = 100_000  # the target size
DEFAULT_PREGNANCIES = 1500
SIM_START, SIM_END = date(2024, 1, 1), date(2025, 12, 31)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pregnancies",
        type=int,
        default=None,
        help=f"Simulated pregnancies (default {DEFAULT_PREGNANCIES}, 200 with "
        f"--quick; the issue's target is {TARGET_PREGNANCIES:,})",
    )
    parser.add_argument("--quick", action="store_true", help="Smoke run: 200 pregnancies")
    parser.add_argument("--seed", type=int, default=20240601, help="Simulator seed")
    parser.add_argument(
        "--holdback",
        type=float,
        default=0.01,
        help="Share of each institution's last Bundles loaded only before the "
        "incremental run (default 0.01)",
    )
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument(
        "--database",
        default="mch_bench_indicators",
        help=f"Database to create (dropped first); must start with {DATABASE_PREFIX!r}",
    )
    parser.add_argument(
        "--keep", action="store_true", help="Keep the database (for `worklists --reuse-db`)"
    )
    parser.add_argument(
        "--no-duckdb", dest="duckdb", action="store_false", help="Skip the DuckDB peer"
    )
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except BenchmarkError as exc:
        print(f"\nindicators benchmark FAILED: {exc}", file=sys.stderr)
        return 2


# -- shared setup (also used by worklists) ---------------------------------------------------


def sim_dir(results_dir: Path, pregnancies: int, seed: int) -> Path:
    """The simulation's folder, named by its parameters and the simulator's code: a simulator
    change (another district, new records) never reuses an older run's files."""
    import hashlib

    import mch_service.simulator as simulator

    digest = hashlib.sha256()
    for source in sorted(Path(simulator.__file__).parent.glob("*.py")):
        digest.update(source.read_bytes())
    return results_dir / f"sim-{pregnancies}-{seed}-{digest.hexdigest()[:10]}"


def simulate_once(out: Path, pregnancies: int, seed: int) -> float:
    """Simulate into ``out`` unless a complete run with these parameters is already there."""
    from mch_service.simulator import SimulationParams, simulate

    if (out / "truth.json").exists() and (out / "manifest.json").exists():
        return 0.0
    t0 = time.perf_counter()
    simulate(
        SimulationParams(pregnancies=pregnancies, seed=seed, start=SIM_START, end=SIM_END), out
    )
    return time.perf_counter() - t0


def make_services(db_url: str, out: Path | None) -> Any:
    from mch_service.app import build_services
    from mch_service.config import Settings
    from mch_service.simulator.load import site_code_tables

    tables = str(site_code_tables(out, out / "_code_tables")) if out is not None else None
    settings = Settings(
        database_url=db_url, domain_assembly="queued", code_tables_dir=tables, log_level="WARNING"
    )
    return build_services(settings)


def split_manifest(
    out: Path, holdback: float
) -> tuple[list[tuple[str, str | None, list[str]]], list[tuple[str, list[str]]]]:
    """(institution, history, first bundles) to load now; (institution, last bundles) later."""
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    now, later = [], []
    for inst in manifest["institutions"]:
        bundles = list(inst["bundles"])
        k = math.ceil(len(bundles) * holdback) if holdback > 0 else 0
        cut = len(bundles) - k
        now.append((inst["id"], inst.get("history"), bundles[:cut]))
        later.append((inst["id"], bundles[cut:]))
    return now, later


def load_part(
    services: Any,
    out: Path,
    history: str | None,
    institution: str,
    bundles: list[str],
    counts: dict[str, int],
) -> None:
    """simulator.load.load for one institution and a slice of its Bundles (same code path)."""
    from mch_service.audit.service import Actor
    from mch_service.fhir_api.bulk import iter_lines, run_import
    from mch_service.fhir_api.bundle_responses import Prefer

    actor = Actor("institution", institution, "simulator")
    if history and (out / history).exists():
        with (out / history).open("rb") as fh:
            report = run_import(services.fhir, actor, iter_lines(str(out / history), fh))
        counts["history_lines"] += report.lines
        counts["rejected_entries"] += len(report.rejected)
    for name in bundles:
        bundle = json.loads((out / name).read_text(encoding="utf-8"))
        counts["bundle_entries"] += len(bundle.get("entry", []))
        try:
            result = services.fhir.bundle(actor, bundle, Prefer(None))
        except Exception:  # noqa: BLE001 - a rejected transaction is counted, not fatal
            counts["rejected_entries"] += len(bundle.get("entry", []))
        else:
            counts["rejected_entries"] += sum(
                1
                for e in result.get("entry", [])
                if not str(e.get("response", {}).get("status", "")).startswith("2")
            )
        counts["bundles"] += 1


def new_counts() -> dict[str, int]:
    return {"history_lines": 0, "bundles": 0, "bundle_entries": 0, "rejected_entries": 0}


def setup_database(
    pg_url: str, database: str, out: Path, holdback: float, log: Any = print
) -> tuple[Any, list[tuple[str, list[str]]], dict[str, Any]]:
    """Fresh database with everything but the held-back Bundles loaded and assembled."""
    from mch_service.migrate import upgrade
    from mch_service.simulator.load import register_institutions

    if not database.startswith(DATABASE_PREFIX):
        raise BenchmarkError(f"--database must start with {DATABASE_PREFIX!r}")
    db_url = f"{pg_url}/{database}"
    recreate_database(pg_url, database)
    sa_url = db_url
    upgrade(sa_url)
    services = make_services(sa_url, out)
    register_institutions(services, out)
    now, later = split_manifest(out, holdback)
    counts = new_counts()
    t0 = time.perf_counter()
    for inst, history, bundles in now:
        load_part(services, out, history, inst, bundles, counts)
        log(
            f"  loaded {inst}: {counts['history_lines']} history lines, "
            f"{counts['bundles']} bundles so far ({time.perf_counter() - t0:.0f} s)"
        )
    load_s = time.perf_counter() - t0
    t1 = time.perf_counter()
    assembled = services.domain.process_queue(services.db)
    assemble_s = time.perf_counter() - t1
    analyze_database(db_url)
    resources = counts["history_lines"] + counts["bundle_entries"]
    info = {
        "load_seconds": round(load_s, 1),
        "resources_sent": resources,
        "resources_per_s": round(resources / load_s, 1) if load_s else None,
        "process_queue_seconds": round(assemble_s, 1),
        "women_assembled": assembled,
        **counts,
    }
    return services, later, info


def db_counts(services: Any) -> dict[str, int]:
    from sqlalchemy import text

    out = {}
    with services.db.reading() as session:
        for table in (
            "fhir_resource",
            "woman",
            "pregnancy",
            "case_record",
            "work_item",
            "indicator_result",
        ):
            out[table] = int(session.execute(text(f"select count(*) from {table}")).scalar() or 0)
    return out


# -- the run -------------------------------------------------------------------------------


def _run(args: argparse.Namespace) -> int:
    n = args.pregnancies or (200 if args.quick else DEFAULT_PREGNANCIES)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    out = sim_dir(args.results_dir, n, args.seed)
    busy = procstats.machine_utilisation(1.0)
    print(
        f"indicators benchmark: {n} pregnancies (seed {args.seed}; issue target "
        f"{TARGET_PREGNANCIES:,}); machine busy before start: {busy:.0%} of all cores"
    )
    sim_s = simulate_once(out, n, args.seed)
    print(f"simulated into {out} ({sim_s:.1f} s)")
    db_url = f"{args.pg_url.rstrip('/')}/{args.database}"
    result: dict[str, Any] = {
        "benchmark": "indicators",
        "timestamp": stamp,
        "pregnancies": n,
        "seed": args.seed,
        "target_pregnancies": TARGET_PREGNANCIES,
        "machine_busy_before_start": round(busy, 3),
        "cpu_count": os.cpu_count(),
        "simulation_dir": str(out),
    }
    services = None
    child: subprocess.Popen[str] | None = None
    try:
        services, later, info = setup_database(
            args.pg_url.rstrip("/"), args.database, out, args.holdback
        )
        result["load"] = info
        print(
            f"loaded {info['resources_sent']} resources in {info['load_seconds']} s "
            f"({info['resources_per_s']}/s); process_queue {info['process_queue_seconds']} s "
            f"({info['women_assembled']} women)"
        )
        # (a) full job in a fresh process
        child = subprocess.Popen(
            [sys.executable, "-m", "benchmarks.indicators", "--child", db_url, str(out)],
            cwd=ROOT,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )
        full = _read_child(child)
        result["full"] = full
        print(
            f"(a) full refresh: {full['seconds']:.2f} s, {full['rows']} result rows "
            f"(build_frames+compute_all+store); job process peak RSS "
            f"{full['vm_hwm_mib']:.0f} MiB (before: {full['rss_before_mib']:.0f} MiB)"
        )
        # (b) incremental after ~1 % new data
        counts = new_counts()
        for inst, bundles in later:
            load_part(services, out, None, inst, bundles, counts)
        t0 = time.perf_counter()
        requeued = services.domain.process_queue(services.db)
        pq = time.perf_counter() - t0
        assert child.stdin is not None
        child.stdin.write("incremental\n")
        child.stdin.flush()
        inc = _read_child(child)
        inc.update(
            {
                "new_bundles": counts["bundles"],
                "new_entries": counts["bundle_entries"],
                "women_reassembled": requeued,
                "process_queue_seconds": round(pq, 2),
            }
        )
        result["incremental"] = inc
        print(
            f"(b) incremental refresh after {counts['bundles']} held-back bundles "
            f"({counts['bundle_entries']} entries, {requeued} women re-assembled): "
            f"{inc['seconds']:.2f} s, {inc['rows']} rows rewritten"
        )
        child.stdin.write("parts\n")
        child.stdin.flush()
        parts = _read_child(child)
        result["full_breakdown"] = parts
        result["job_peak_rss_mib"] = parts["vm_hwm_mib"]
        print(
            f"    full job parts (warm process): build_frames {parts['build_frames']:.2f} s, "
            f"compute_all {parts['compute_all']:.2f} s ({parts['periods']} periods); "
            f"(c) job peak RSS over all phases {parts['vm_hwm_mib']:.0f} MiB"
        )
        child.stdin.close()
        child.wait(timeout=60)
        result["database"] = db_counts(services)
        print(f"database: {result['database']}")
        # (d) DuckDB peer
        if args.duckdb:
            from benchmarks import duckdb_peer

            peer = duckdb_peer.run_peer(out)
            service_rows = _service_district_months(services, peer["indicators"])
            agreement = duckdb_peer.compare(peer["results"], service_rows)
            peer_out = {k: v for k, v in peer.items() if k != "results"}
            result["duckdb"] = {**peer_out, "agreement": agreement}
            print(duckdb_peer.render(peer_out, agreement, full["seconds"]))
    finally:
        if child is not None and child.poll() is None:
            child.kill()
        if services is not None:
            services.db.dispose()
        if not args.keep:
            drop_database(args.pg_url.rstrip("/"), args.database)
    result["database_kept"] = args.keep
    path = args.results_dir / f"indicators-{stamp}.json"
    path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print(f"\nresult written to {path}")
    ok = "duckdb" not in result or result["duckdb"]["agreement"]["mismatches"] == 0
    return 0 if ok else 1


def _read_child(child: subprocess.Popen[str]) -> dict[str, Any]:
    assert child.stdout is not None
    line = child.stdout.readline()
    if not line:
        raise BenchmarkError(f"job process ended early (exit {child.wait()})")
    return dict(json.loads(line))


def _service_district_months(
    services: Any, indicators: list[str]
) -> dict[tuple[str, str], tuple[int, int]]:
    from sqlalchemy import select

    from mch_service.indicators.results import IndicatorResult

    R = IndicatorResult
    with services.db.reading() as session:
        rows = session.execute(
            select(R.indicator_id, R.period, R.numerator, R.denominator).where(
                R.area == "district", R.institution == "all", R.indicator_id.in_(indicators)
            )
        ).all()
    return {(i, p): (int(nu), int(de)) for i, p, nu, de in rows}


# -- the job process ---------------------------------------------------------------------


def _vm_hwm_mib() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def _child(db_url: str, out: Path) -> None:
    sa_url = db_url
    services = make_services(sa_url, out)
    rss_before = procstats.rss_bytes(os.getpid()) / 2**20

    def emit(obj: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(obj) + "\n")
        sys.stdout.flush()

    t0 = time.perf_counter()
    rows = services.indicators.refresh(full=True)
    emit(
        {
            "seconds": time.perf_counter() - t0,
            "rows": rows,
            "vm_hwm_mib": _vm_hwm_mib(),
            "rss_before_mib": rss_before,
        }
    )
    for command in sys.stdin:
        command = command.strip()
        if command == "incremental":
            t0 = time.perf_counter()
            rows = services.indicators.refresh()
            emit({"seconds": time.perf_counter() - t0, "rows": rows, "vm_hwm_mib": _vm_hwm_mib()})
        elif command == "parts":
            from mch_service.indicators.calculations import compute_all
            from mch_service.indicators.loaders import build_frames
            from mch_service.indicators.service import _event_days, periods_of

            ind = services.indicators
            with services.db.reading() as session:
                t0 = time.perf_counter()
                frames = build_frames(session, ind.settings.case_managed_colours)
                t1 = time.perf_counter()
            periods = periods_of(_event_days(frames))
            t2 = time.perf_counter()
            compute_all(frames, periods, ind.settings)
            t3 = time.perf_counter()
            emit(
                {
                    "build_frames": t1 - t0,
                    "compute_all": t3 - t2,
                    "periods": len(periods),
                    "pregnancy_rows": len(frames.pregnancies),
                    "vm_hwm_mib": _vm_hwm_mib(),
                }
            )
    services.db.dispose()


if __name__ == "__main__":
    if len(sys.argv) == 4 and sys.argv[1] == "--child":
        _child(sys.argv[2], Path(sys.argv[3]))
    else:
        sys.exit("usage: python -m benchmarks indicators (this module's --child is internal)")
