"""In-process profile of the simulated district's own Bundles (updates, conditional and literal
references, deletes): the Bundle phase of ``python -m benchmarks scale`` without HTTP, so that a
change to the write path can be measured in a minute. It prints the client and PostgreSQL CPU
per Bundle and the SQL statements each Bundle sends, by statement.

    .venv/bin/python -m benchmarks.district_inproc [--pregnancies 300] [--bundles 1500]
                                                    [--profile out.raw] [--assembly] [--keep]
                                                    [--merge K]

It simulates (or reuses) the district in ``benchmarks/results/``, creates (and drops, unless
``--keep``) the database ``mch_bench_district``, imports every institution's history,
analyzes the tables (as autovacuum would: this machine runs with it off), then times the first
``--bundles`` Bundles in send order, one at a time. With ``--assembly`` it times the queued
assembly instead: the import's queue drained and the Bundles pushed untimed, then the women
they queued assembled in rounds of ``--round`` queued rows (the server's loop under a live
feed), per woman. ``--merge K`` joins each institution's consecutive transaction Bundles K at
a time: what writing several Bundles in one transaction would save, at most. When the cluster
loads ``pg_stat_statements`` (a profiling set-up), the database's time by statement is listed
too. Statements are counted at the driver
(psycopg's ``Cursor.execute``), so the ORM's and the raw ones alike; ``BEGIN`` and ``COMMIT``
are not statements there (psycopg sends them itself), the pool's ping (``;``) is. Counting
costs a little CPU of its own: compare runs made the same way.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import time
from collections import Counter
from pathlib import Path
from typing import Any

from benchmarks import procstats
from benchmarks.indicators import make_services, simulate_once
from benchmarks.ingest import (
    analyze_database,
    drop_database,
    recreate_database,
    reference_loop_ms,
)
from benchmarks.profiling import PySpy, finish_inproc

PG = "postgresql://postgres@127.0.0.1:5432"
DB = "mch_bench_district"
RESULTS = Path(__file__).resolve().parent / "results"


def _shape(sql: str) -> str:
    """A statement's text on one line, its first 110 characters: enough to tell them apart."""
    return re.sub(r"\s+", " ", sql).strip()[:110]


class StatementCount:
    """Every statement psycopg sends while installed, by its shape."""

    def __init__(self) -> None:
        self.shapes: Counter[str] = Counter()
        self._original: Any = None

    def uninstall(self) -> None:
        import psycopg

        psycopg.Cursor.execute = self._original  # type: ignore[method-assign]

    def install(self) -> None:
        import psycopg

        original = self._original = psycopg.Cursor.execute
        shapes = self.shapes

        def execute(cur: Any, query: Any, params: Any = None, **kw: Any) -> Any:
            text = query if isinstance(query, str) else str(query)
            shapes[_shape(text)] += 1
            return original(cur, query, params, **kw)

        psycopg.Cursor.execute = execute  # type: ignore[method-assign,assignment]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.district_inproc")
    parser.add_argument("--pregnancies", type=int, default=300)
    parser.add_argument("--bundles", type=int, default=1500)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--profile", help="sample the timed Bundles with py-spy into this file")
    parser.add_argument("--top", type=int, default=25)
    parser.add_argument("--pg", default=PG)
    parser.add_argument(
        "--merge",
        type=int,
        default=1,
        help="merge each institution's transaction Bundles this many at a time (an upper "
        "bound of what several Bundles a transaction would save)",
    )
    parser.add_argument("--keep", action="store_true", help=f"keep the database {DB}")
    parser.add_argument("--round", type=int, default=600, help="queued rows a round (--assembly)")
    parser.add_argument(
        "--assembly",
        action="store_true",
        help="time the queued assembly instead: the import's queue drained first (untimed), "
        "then the Bundles (untimed), then their queue drained, timed per woman",
    )
    args = parser.parse_args(argv)

    from mch_service.audit.service import Actor
    from mch_service.fhir_api.bulk import iter_lines, run_import
    from mch_service.fhir_api.bundle_responses import Prefer
    from mch_service.migrate import upgrade
    from mch_service.simulator.load import register_institutions

    out = RESULTS / f"sim-district-{args.pregnancies}-{args.seed}"
    simulate_once(out, args.pregnancies, args.seed)
    recreate_database(args.pg, DB)
    url = f"{args.pg}/{DB}".replace("postgresql://", "postgresql+psycopg://")
    upgrade(url)
    services = make_services(url, out)
    register_institutions(services, out)
    manifest = json.loads((out / "manifest.json").read_text(encoding="utf-8"))
    bundles: list[tuple[Any, dict[str, Any]]] = []
    for inst in manifest["institutions"]:
        actor = Actor("institution", inst["id"], "simulator")
        if inst.get("history"):
            path = out / inst["history"]
            with path.open("rb") as fh:
                run_import(services.fhir, actor, iter_lines(str(path), fh))
        mine = [json.loads((out / name).read_text(encoding="utf-8")) for name in inst["bundles"]]
        if args.merge > 1:
            mine = merged(mine, args.merge)
        bundles += [(actor, b) for b in mine]
    bundles = bundles[: args.bundles]
    entries = sum(len(b.get("entry", [])) for _, b in bundles)
    # statistics as autovacuum would have them after a backfill (this machine runs with it
    # off): never-analyzed tables are planned as ten pages, and the look-ups then cost what
    # no production server pays
    analyze_database(f"{args.pg}/{DB}")
    if args.assembly:
        return _time_assembly(args, services, bundles)
    counted = StatementCount()
    counted.install()
    spy = PySpy(os.getpid(), Path(args.profile), rate=200) if args.profile else None
    if spy:
        time.sleep(1.0)  # py-spy attaches
    prefer = Prefer(None)
    statements_on = procstats.statements_reset(f"{args.pg}/{DB}")
    pg0 = procstats.cpu_seconds(procstats.postgres_pids(DB))
    t0, c0 = time.perf_counter(), time.process_time()
    refused = 0
    for actor, bundle in bundles:
        try:
            services.fhir.bundle(actor, bundle, prefer)
        except Exception:  # noqa: BLE001 - the district's invalid Bundles are refused by design
            refused += 1
    t1, c1 = time.perf_counter(), time.process_time()
    pg1 = procstats.cpu_seconds(procstats.postgres_pids(DB))
    if spy:
        spy.stop()
    counted.uninstall()
    n = len(bundles)
    print(
        f"{n} Bundles ({entries} entries, {entries / n:.1f} a Bundle, {refused} refused); "
        f"reference loop {reference_loop_ms():.0f} ms"
    )
    print(
        f"client CPU {1000 * (c1 - c0) / n:.2f} ms a Bundle (wall {1000 * (t1 - t0) / n:.2f}); "
        f"PostgreSQL CPU {1000 * procstats.cpu_delta(pg0, pg1) / n:.2f} ms a Bundle"
    )
    _statements(args, counted, statements_on, n, "a Bundle", entries, "an entry")
    _finish(args, services)
    return 0


def merged(bundles: list[dict[str, Any]], k: int) -> list[dict[str, Any]]:
    """Consecutive transaction Bundles of one sender joined ``k`` at a time, a join stopped
    before a Bundle that names a record (PUT or DELETE URL) or a fullUrl already in it; batch
    Bundles stay alone. What a server writing several Bundles in one transaction would pay,
    at most: a conditional reference to a record the joined Bundle creates earlier resolves
    differently, so this is a measure of cost, not a way to load."""
    out: list[dict[str, Any]] = []
    group: list[dict[str, Any]] = []
    names: set[str] = set()

    def flush() -> None:
        if group:
            entries = [e for b in group for e in b.get("entry", [])]
            out.append({"resourceType": "Bundle", "type": "transaction", "entry": entries})
        group.clear()
        names.clear()

    for b in bundles:
        if b.get("type") != "transaction":
            flush()
            out.append(b)
            continue
        own = {
            e["request"]["url"].split("?")[0]
            for e in b.get("entry", [])
            if e["request"]["method"] in ("PUT", "DELETE")
        } | {e["fullUrl"] for e in b.get("entry", []) if e.get("fullUrl")}
        if len(group) >= k or own & names:
            flush()
        group.append(b)
        names.update(own)
    flush()
    return out


def _time_assembly(args: argparse.Namespace, services: Any, bundles: list[Any]) -> int:
    """The queued assembly of the women the Bundles touched: CPU and statements per woman."""
    from mch_service.fhir_api.bundle_responses import Prefer

    t0 = time.perf_counter()
    imported = services.domain.process_queue(services.db)
    print(f"the import's queue: {imported} women assembled in {time.perf_counter() - t0:.1f} s")
    for actor, bundle in bundles:
        try:
            services.fhir.bundle(actor, bundle, Prefer(None))
        except Exception:  # noqa: BLE001 - the district's invalid Bundles are refused by design
            pass
    queued = services.domain.queue_length(services.db)
    counted = StatementCount()
    counted.install()
    spy = PySpy(os.getpid(), Path(args.profile), rate=200) if args.profile else None
    if spy:
        time.sleep(1.0)
    statements_on = procstats.statements_reset(f"{args.pg}/{DB}")
    pg0 = procstats.cpu_seconds(procstats.postgres_pids(DB))
    t0, c0 = time.perf_counter(), time.process_time()
    # rounds of the size the server's loop sees under a live feed (a few hundred queued rows)
    women = services.domain.process_queue(services.db, batch=args.round)
    t1, c1 = time.perf_counter(), time.process_time()
    pg1 = procstats.cpu_seconds(procstats.postgres_pids(DB))
    if spy:
        spy.stop()
    counted.uninstall()
    w = max(women, 1)
    print(
        f"{len(bundles)} Bundles queued {queued} rows; {women} women assembled; reference loop "
        f"{reference_loop_ms():.0f} ms"
    )
    print(
        f"client CPU {1000 * (c1 - c0) / w:.2f} ms a woman (wall {1000 * (t1 - t0) / w:.2f}); "
        f"PostgreSQL CPU {1000 * procstats.cpu_delta(pg0, pg1) / w:.2f} ms a woman"
    )
    _statements(args, counted, statements_on, w, "a woman", w, "a woman")
    _finish(args, services)
    return 0


def _statements(
    args: argparse.Namespace,
    counted: StatementCount,
    statements_on: bool,
    per: int,
    unit: str,
    per_ms: int,
    unit_ms: str,
) -> None:
    """The statements sent, by shape, per ``unit``; PostgreSQL's time by statement per
    ``unit_ms`` when pg_stat_statements is loaded."""
    total = sum(counted.shapes.values())
    print(f"statements {total / per:.2f} {unit}:")
    for shape, count in counted.shapes.most_common(args.top):
        print(f"  {count / per:6.3f}  {shape}")
    if statements_on:
        print(f"PostgreSQL's time by statement (ms {unit_ms}, calls {unit}):")
        for calls, ms, _rows, query in procstats.statements_top(f"{args.pg}/{DB}", args.top, 110):
            print(f"  {ms / per_ms:7.4f} {calls / per:6.3f}  {query}")


def _finish(args: argparse.Namespace, services: Any) -> None:
    finish_inproc(
        services, args.profile, args.top, None if args.keep else lambda: drop_database(args.pg, DB)
    )


if __name__ == "__main__":
    raise SystemExit(main())
