"""Scale benchmark: a simulated district end to end through a real server, in one run.

One run (``python -m benchmarks scale --pregnancies N [--json PATH]``):

1. simulates N pregnancies (``mch_service.simulator``, seeded; reused when already there);
2. creates a fresh PostgreSQL database, migrates it, registers the simulated institutions (and
   the create-only benchmark's senders) and starts ``mch-service serve`` (production mode,
   queued assembly, the assembly loop in the server, no scheduler);
3. **import**: every institution's history NDJSON through ``POST /fhir/$import``, several
   senders at once, each waiting for its job's report (``mch_service.simulator.push``), then
   the assembly queue drained (the backfill's women assembled: a district goes live after
   its backfill, so the live feed's freshness is not measured behind the backfill's queue);
4. **Bundles**: every institution's Bundles but the last ``--holdback`` share, pushed over
   HTTP by ``--senders`` senders at once; meanwhile the assembly queue is watched to measure
   the freshness (a woman's queued change until her pregnancy record and work lists are
   rebuilt);
5. **drain**: the time from the last Bundle until the assembly queue is empty (the end to
   end is the import, its drain, the Bundles and this drain);
6. **indicators**: a fresh job process times the full job, then the held-back Bundles are
   pushed (about 1 % more data), the queue drained, and the same process times the
   incremental job; its peak RSS (VmHWM);
7. **DuckDB peer** over the simulator's files, and its agreement with the service's stored
   district figures (fraction of (indicator, period) pairs whose numerator and denominator
   are equal);
8. **pages**: work lists recomputed as of the simulation's last day, then p95 latencies over
   HTTP of ``GET /api/v1/cases`` (work lists, the worklists benchmark's query shapes), the
   case page's data (``GET /api/v1/cases/{id}``), the pregnancy page's data
   (``GET /api/v1/pregnancies/{id}``) and the indicator table of a period
   (``GET /api/v1/indicators?period=...``);
9. **database size** (``pg_database_size``), per 10,000 pregnancies and per stored version;
10. **create-only**: the ingest benchmark's Bundles (every entry a create) pushed to the same
    server, so that the realistic rates can be read as ratios of this one on a noisy machine.

It prints one table and, with ``--json PATH``, writes the same figures as one JSON object
(the keys issue 20 lists, then details under ``"details"``).
"""

from __future__ import annotations

import argparse
import itertools
import os
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg
import uvloop

from benchmarks import procstats
from benchmarks.autovacuum import NAPTIME_S, AutovacuumStandIn
from benchmarks.indicators import (
    RESULTS_DIR,
    SIM_END,
    _read_child,
    _service_district_months,
    make_services,
    sim_dir,
    simulate_once,
)
from benchmarks.ingest import (
    DATABASE_PREFIX,
    DEFAULT_PG,
    ROOT,
    BenchmarkError,
    Server,
    _free_port,
    _interrupt,
    _mch_service_cli,
    _payload,
    _push,
    analyze_database,
    drop_database,
    recreate_database,
    reference_loop_ms,
)

DEFAULT_PREGNANCIES = 10_000
QUICK_PREGNANCIES = 200
PASSWORD = "bench-" + "y" * 12  # a throw-away account in a throw-away database
# The keys issue 20 asks for, in its order (the JSON object starts with exactly these).
KEYS = (
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
)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--pregnancies",
        type=int,
        default=None,
        help=f"Simulated pregnancies (default {DEFAULT_PREGNANCIES:,}; {QUICK_PREGNANCIES} "
        "with --quick; the issue's target is 100,000)",
    )
    parser.add_argument("--quick", action="store_true", help=f"{QUICK_PREGNANCIES} pregnancies")
    parser.add_argument("--seed", type=int, default=20240601, help="Simulator seed")
    parser.add_argument("--senders", type=int, default=4, help="Institutions pushing at once")
    parser.add_argument("--workers", type=int, default=2, help="Server worker processes")
    parser.add_argument(
        "--holdback",
        type=float,
        default=0.01,
        help="Share of each institution's last Bundles sent only before the incremental "
        "indicator job (default 0.01)",
    )
    parser.add_argument(
        "--createonly-bundles",
        type=int,
        default=None,
        help="Create-only Bundles (26 resources each) timed in the same run "
        "(default: N/10 between 20 and 1,000)",
    )
    parser.add_argument(
        "--requests", type=int, default=100, help="Timed requests per page kind (default 100)"
    )
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument(
        "--database",
        default="mch_bench_scale",
        help=f"Database to create (dropped first); must start with {DATABASE_PREFIX!r}",
    )
    parser.add_argument("--keep", action="store_true", help="Keep the database afterwards")
    parser.add_argument(
        "--naptime",
        type=float,
        default=NAPTIME_S,
        help="Seconds between the autovacuum stand-in's rounds when the server has "
        "autovacuum off (default 60, autovacuum_naptime's default)",
    )
    parser.add_argument("--no-duckdb", dest="duckdb", action="store_false")
    parser.add_argument("--json", type=Path, default=None, help="Write the figures here")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)


def run(args: argparse.Namespace) -> int:
    # SIGTERM unwinds like Ctrl-C: the server is stopped and the database dropped
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        return ScaleRun(args).run()
    except BenchmarkError as exc:
        print(f"\nscale benchmark FAILED: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("\nscale benchmark interrupted (server stopped)", file=sys.stderr)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)


# The server settings that shape a load's database CPU (docs/operations.md, *PostgreSQL*):
# recorded with every run, so that its figures say which server they were measured on.
PG_SETTINGS = (
    "shared_buffers",
    "max_wal_size",
    "checkpoint_timeout",
    "autovacuum",
    "synchronous_commit",
    "wal_compression",
)


def postgres_settings(pg_url: str) -> dict[str, str]:
    with psycopg.connect(f"{pg_url}/postgres", autocommit=True) as conn:
        return {
            name: str(conn.execute(f"SHOW {name}").fetchone()[0])  # type: ignore[index]
            for name in PG_SETTINGS
        }


def _pct(values: list[float], q: float) -> float | None:
    """Linear-interpolated percentile (q in 0..1); None without values."""
    s = sorted(values)
    if not s:
        return None
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def _r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


class TimingTransport(httpx.BaseTransport):
    """Times each request (send to headers and body read) on a real transport of its own per
    thread: the simulator's senders each have a client (and close it when done), so they must
    not share a connection pool."""

    def __init__(self, record: Callable[[str, str, float], None]) -> None:
        self.record = record
        self._local = threading.local()
        self._made: list[httpx.HTTPTransport] = []
        self._lock = threading.Lock()

    def _inner(self) -> httpx.HTTPTransport:
        inner = getattr(self._local, "transport", None)
        if inner is None:
            inner = self._local.transport = httpx.HTTPTransport()
            with self._lock:
                self._made.append(inner)
        return inner  # type: ignore[no-any-return]

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        t0 = time.perf_counter()
        response = self._inner().handle_request(request)
        response.read()
        self.record(request.method, request.url.path, time.perf_counter() - t0)
        return response

    def close(self) -> None:
        """A sender's client closing: the pools stay for the others (``close_all`` ends)."""

    def close_all(self) -> None:
        for inner in self._made:
            inner.close()


class QueueWatch:
    """Polls the assembly queue: a row's freshness is from its ``enqueued_at`` (set in the
    ingest transaction) until a poll finds it gone (assembled, work lists updated,
    committed). Polling every ``interval`` seconds overstates it by at most that.

    A poll reads only the rows queued since the last one, and which of the rows it knows are
    gone: exactly while it knows at most ``EXACT`` rows, and beyond that (a backlog) from the
    oldest row still queued, everything before it being gone. A row assembled out of order
    during a backlog (two workers take batches side by side) then counts until the rows
    before it are gone too: an overestimate, never an underestimate. (Reading the whole
    queue at every poll cost the database a core once the backlog reached 400,000 rows.)
    A row whose transaction commits after a later-numbered one was already read is not
    sampled (its seq is below the last one seen): a few rows of a sample of thousands."""

    EXACT = 5000

    def __init__(self, db_url: str, interval: float = 0.25, stall_s: float = 300.0) -> None:
        self.db_url = db_url
        self.interval = interval
        self.stall_s = stall_s
        self.lags: list[float] = []
        self.max_depth = 0
        self.stalled = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="queue-watch", daemon=True)

    def start(self) -> QueueWatch:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _gone(self, conn: psycopg.Connection, pending: dict[int, datetime]) -> set[int]:
        if len(pending) <= self.EXACT:
            rows = conn.execute(
                "SELECT seq FROM assembly_queue WHERE seq = ANY(%s)", (list(pending),)
            ).fetchall()
            return set(pending) - {int(r[0]) for r in rows}
        row = conn.execute("SELECT min(seq) FROM assembly_queue").fetchone()
        if not row or row[0] is None:
            return set(pending)
        # ``pending`` is in seq order (rows are added by ascending seq): take from its front
        gone: set[int] = set()
        for seq in pending:
            if seq >= row[0]:
                break
            gone.add(seq)
        return gone

    def _run(self) -> None:
        pending: dict[int, datetime] = {}
        last = 0
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            while True:
                for seq, enqueued in conn.execute(
                    "SELECT seq, enqueued_at FROM assembly_queue WHERE seq > %s ORDER BY seq",
                    (last,),
                ).fetchall():
                    pending[int(seq)] = enqueued
                    last = max(last, int(seq))
                now = datetime.now(UTC)
                for seq in self._gone(conn, pending):
                    self.lags.append((now - pending.pop(seq)).total_seconds())
                self.max_depth = max(self.max_depth, len(pending))
                if pending and not self.stalled:
                    # the front row is the oldest (seq order; enqueued_at follows it to within
                    # a transaction's length)
                    waited = (now - next(iter(pending.values()))).total_seconds()
                    if waited > self.stall_s:
                        self.stalled = True
                        print(
                            f"  WARNING: a woman has waited {waited:.0f} s in the assembly "
                            "queue: is the assembly failing? (see the server log)",
                            file=sys.stderr,
                            flush=True,
                        )
                if self._stop.is_set() and not pending:
                    return
                if self._stop.wait(self.interval) and not pending:
                    return


class ScaleRun:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.n = args.pregnancies or (QUICK_PREGNANCIES if args.quick else DEFAULT_PREGNANCIES)
        if not args.database.startswith(DATABASE_PREFIX):
            raise BenchmarkError(f"--database must start with {DATABASE_PREFIX!r}")
        self.pg_url = args.pg_url.rstrip("/")
        self.db_url = f"{self.pg_url}/{args.database}"
        self.stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.cli = _mch_service_cli()
        self.createonly_bundles = (
            args.createonly_bundles
            if args.createonly_bundles is not None
            else max(20, min(1000, self.n // 10))
        )
        self.latencies: list[tuple[str, str, float]] = []
        self.steps: dict[str, float] = {}  # wall seconds of each step, for the curious
        self._last = time.perf_counter()
        self._lock = threading.Lock()

    # -- the run -------------------------------------------------------------------------

    def run(self) -> int:
        a = self.args
        a.results_dir.mkdir(parents=True, exist_ok=True)
        out = sim_dir(a.results_dir, self.n, a.seed)
        busy = procstats.machine_utilisation(1.0)
        loop_ms = reference_loop_ms()
        print(
            f"scale benchmark: {self.n:,} pregnancies (seed {a.seed}), {a.senders} senders, "
            f"{a.workers} server workers; machine busy before start {busy:.0%} of all cores, "
            f"reference loop {loop_ms:.0f} ms",
            flush=True,
        )
        t0 = time.perf_counter()
        sim_s = simulate_once(out, self.n, a.seed)
        manifest = orjson.loads((out / "manifest.json").read_bytes())
        print(f"simulated into {out} ({sim_s:.1f} s)", flush=True)
        # One secret for this process, its job child and the server: the keyed hashes and
        # sealed records must read the same everywhere.
        os.environ["MCH_SECRET_KEY"] = secrets.token_urlsafe(48)
        os.environ["MCH_ENV"] = "production"
        details: dict[str, Any] = {
            "benchmark": "scale",
            "timestamp": self.stamp,
            "seed": a.seed,
            "senders": a.senders,
            "server_workers": a.workers,
            "machine": {
                "cpus": os.cpu_count(),
                "reference_loop_ms": loop_ms,
                "busy_before_start": round(busy, 3),
            },
            "simulation_dir": str(out),
            "simulation_s": round(sim_s, 1),
            "postgresql": postgres_settings(self.pg_url),
        }
        print(
            "PostgreSQL: " + ", ".join(f"{k} {v}" for k, v in details["postgresql"].items()),
            flush=True,
        )
        figures: dict[str, Any] = dict.fromkeys(KEYS)
        figures["pregnancies"] = self.n
        services = None
        server: Server | None = None
        child: subprocess.Popen[str] | None = None
        try:
            recreate_database(self.pg_url, a.database)
            from benchmarks.mch_bundles import BundleGenerator, hospitals
            from mch_service.institutions.service import add_institution
            from mch_service.migrate import upgrade
            from mch_service.simulator.load import register_institutions

            upgrade(self.db_url)
            services = make_services(self.db_url, out)
            keys = register_institutions(services, out)
            senders = hospitals(4)
            with services.db.transaction() as session:
                co_keys = [
                    add_institution(session, h.institution_id, h.name).api_key for h in senders
                ]
            env = {
                **os.environ,
                "MCH_DATABASE_URL": self.db_url,
                "MCH_LOG_LEVEL": "WARNING",
                "MCH_DOMAIN_ASSEMBLY": "queued",
                "MCH_SCHEDULER_IN_SERVER": "false",
                "MCH_CODE_TABLES_DIR": str(out / "_code_tables"),
            }
            log_path = a.results_dir / f"scale-{self.stamp}.server.log"
            server = Server(self.cli, env, _free_port(), a.workers, log_path)
            server.start()
            server.wait_ready(timeout=120)
            print(f"server up at {server.base_url}", flush=True)

            # -- import, Bundles, drain ------------------------------------------------
            self._step("setup")
            vacuum = AutovacuumStandIn(self.db_url, a.naptime).start()
            if vacuum.active:
                print(
                    f"autovacuum is off on this server: a stand-in analyzes and vacuums as its "
                    f"defaults would, every {a.naptime:g} s, until the queue is drained",
                    flush=True,
                )
            cut = self._cuts(manifest, a.holdback)
            history_lines = sum(int(i["history_lines"] or 0) for i in manifest["institutions"])
            imp = self._push(server, out, keys, history=True, bundles=lambda i, b: [])
            import_s = imp["wall_s"]
            figures["import_rps"] = _r(history_lines / import_s, 1)
            print(
                f"import: {history_lines:,} lines in {import_s:.1f} s "
                f"({figures['import_rps']:,.0f}/s)",
                flush=True,
            )
            import_drain_s = self._drain()
            print(f"import's assembly queue drained in {import_drain_s:.1f} s", flush=True)
            watch = QueueWatch(self.db_url).start()
            bun = self._push(server, out, keys, history=False, bundles=lambda i, b: b[: cut[i]])
            bundles_s = bun["wall_s"]
            drain_s = self._drain()
            watch.stop()
            vacuum.stop()
            details["autovacuum"] = vacuum.summary()
            figures["bundles_rps"] = _r(bun["sent"] / bundles_s, 1)
            figures["drain_s"] = _r(drain_s, 1)
            bundle_ms = [1000 * t for m, p, t in self.latencies if m == "POST" and p == "/fhir"]
            lag_p95 = _pct(watch.lags, 0.95)
            latency_p95 = (_pct(bundle_ms, 0.95) or 0.0) / 1000
            figures["freshness_p95_s"] = _r((lag_p95 or 0.0) + latency_p95, 2)
            details["load"] = {
                "history_lines": history_lines,
                "import_s": round(import_s, 1),
                "import_drain_s": round(import_drain_s, 1),
                "import_report": imp["report"],
                "import_cpu_s": imp["cpu_s"],
                "import_cpu_per_entry": imp["cpu_per_entry"],
                "import_pg_statements": imp.get("pg_statements"),
                "bundle_entries": bun["sent"],
                "bundles": bun["bundles"],
                "bundles_s": round(bundles_s, 1),
                "bundle_latency_ms": {
                    "p50": _r(_pct(bundle_ms, 0.5), 1),
                    "p95": _r(_pct(bundle_ms, 0.95), 1),
                    "max": _r(max(bundle_ms, default=0.0), 1),
                },
                "bundles_report": bun["report"],
                "bundles_cpu_s": bun["cpu_s"],
                "bundles_cpu_per_entry": bun["cpu_per_entry"],
                "bundles_pg_statements": bun.get("pg_statements"),
                "queue_lag_s": {
                    "rows": len(watch.lags),
                    "p50": _r(_pct(watch.lags, 0.5)),
                    "p95": _r(lag_p95),
                    "max": _r(max(watch.lags, default=0.0)),
                    "max_depth": watch.max_depth,
                    "stalled": watch.stalled,
                },
                "drain_s": round(drain_s, 1),
                "end_to_end_s": round(import_s + import_drain_s + bundles_s + drain_s, 1),
            }
            print(
                f"bundles: {bun['sent']:,} entries in {bun['bundles']:,} bundles, "
                f"{bundles_s:.1f} s ({figures['bundles_rps']:,.0f}/s); queue drained "
                f"{drain_s:.1f} s after the last; freshness p95 {figures['freshness_p95_s']} s",
                flush=True,
            )
            analyze_database(self.db_url)

            # -- indicators -------------------------------------------------------------
            self._step("load")
            child = subprocess.Popen(
                [sys.executable, "-m", "benchmarks.indicators", "--child", self.db_url, str(out)],
                cwd=ROOT,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                text=True,
            )
            full = _read_child(child)
            later = self._push(server, out, keys, history=False, bundles=lambda i, b: b[cut[i] :])
            self._drain()
            assert child.stdin is not None
            child.stdin.write("incremental\n")
            child.stdin.flush()
            inc = _read_child(child)
            child.stdin.close()
            child.wait(timeout=120)
            figures["indicators_full_s"] = _r(full["seconds"])
            figures["indicators_incremental_s"] = _r(inc["seconds"])
            figures["peak_rss_mib"] = _r(max(full["vm_hwm_mib"], inc["vm_hwm_mib"]), 0)
            details["indicators"] = {
                "full": full,
                "incremental": {
                    **inc,
                    "new_entries": later["sent"],
                    "new_bundles": later["bundles"],
                },
            }
            figures["resources"] = history_lines + bun["sent"] + later["sent"]
            print(
                f"indicators: full {full['seconds']:.2f} s ({full['rows']} rows), incremental "
                f"{inc['seconds']:.2f} s after {later['sent']} more entries; job peak RSS "
                f"{figures['peak_rss_mib']:.0f} MiB",
                flush=True,
            )
            if a.duckdb:
                from benchmarks import duckdb_peer

                peer = duckdb_peer.run_peer(out)
                service_rows = _service_district_months(services, peer["indicators"])
                agreement = duckdb_peer.compare(peer["results"], service_rows)
                compared = agreement["compared"]
                figures["duckdb_s"] = _r(peer["wall_s"])
                figures["agreement"] = (
                    _r((compared - agreement["mismatches"]) / compared, 4) if compared else None
                )
                details["duckdb"] = {
                    **{k: v for k, v in peer.items() if k != "results"},
                    "agreement": agreement,
                }
                print(duckdb_peer.render(details["duckdb"], agreement, full["seconds"]), flush=True)

            # -- pages ------------------------------------------------------------------
            self._step("indicators_and_peer")
            t1 = time.perf_counter()
            with services.db.transaction() as session:
                items = services.cases.refresh(session, None, SIM_END)
            details["worklist_refresh"] = {
                "items": items,
                "seconds": round(time.perf_counter() - t1, 2),
            }
            analyze_database(self.db_url)
            pages = self._pages(server, env)
            details["pages"] = pages
            figures["worklist_p95_ms"] = pages["worklist"]["p95_ms"]
            figures["case_page_p95_ms"] = pages["case_page"]["p95_ms"]
            print(
                "pages p95: "
                + ", ".join(f"{k} {v['p95_ms']} ms" for k, v in pages.items() if v["n"]),
                flush=True,
            )

            # -- size -------------------------------------------------------------------
            self._step("pages")
            figures["db_bytes"], details["database"] = self._size()

            # -- create-only, same server --------------------------------------------------
            self._step("size")
            gen = BundleGenerator(a.seed, senders)
            warm = [
                _payload(*gen.next_bundle()) for _ in range(max(8, self.createonly_bundles // 10))
            ]
            timed = [_payload(*gen.next_bundle()) for _ in range(self.createonly_bundles)]
            co = uvloop.run(self._createonly(server, co_keys, warm, timed))
            figures["createonly_rps"] = co["resources_per_s"]
            details["createonly"] = co
            self._drain()
            self._step("createonly")
        finally:
            if child is not None and child.poll() is None:
                child.kill()
            if server is not None:
                server.stop()
            if services is not None:
                services.db.dispose()
            if not a.keep:
                drop_database(self.pg_url, a.database)
        details["steps_s"] = self.steps
        details["wall_s"] = round(time.perf_counter() - t0, 1)
        details["database_kept"] = a.keep
        result = {**figures, "details": details}
        print(_table(figures, details))
        if a.json is not None:
            a.json.parent.mkdir(parents=True, exist_ok=True)
            a.json.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
            print(f"\nresult written to {a.json}")
        problems = (
            details["load"]["import_report"]["unexpected"]
            + details["load"]["bundles_report"]["unexpected"]
        )
        mismatched = figures["agreement"] is not None and figures["agreement"] < 1.0
        return 1 if problems or mismatched else 0

    # -- pieces --------------------------------------------------------------------------

    @staticmethod
    def _cuts(manifest: dict[str, Any], holdback: float) -> dict[str, int]:
        """Per institution, how many of its Bundles go before the incremental job."""
        import math

        cut = {}
        for inst in manifest["institutions"]:
            n = len(inst["bundles"])
            cut[inst["id"]] = n - (math.ceil(n * holdback) if holdback > 0 else 0)
        return cut

    def _step(self, name: str) -> None:
        now = time.perf_counter()
        self.steps[name] = round(now - self._last, 1)
        self._last = now

    def _record(self, method: str, path: str, seconds: float) -> None:
        with self._lock:
            self.latencies.append((method, path, seconds))

    def _push(
        self,
        server: Server,
        out: Path,
        keys: dict[str, str],
        history: bool,
        bundles: Callable[[str, list[str]], list[str]],
    ) -> dict[str, Any]:
        from mch_service.simulator.push import push

        sent = 0
        count = 0

        def progress(n: int) -> None:
            nonlocal sent
            sent += n

        def chosen(inst: str, names: list[str]) -> list[str]:
            nonlocal count
            picked = bundles(inst, names)
            count += len(picked)
            return picked

        statements = self._statements_reset()
        t0 = time.perf_counter()
        cpu0 = self._cpu(server)
        transport = TimingTransport(self._record)
        try:
            report = push(
                out,
                server.base_url,
                keys,
                self.args.senders,
                progress,
                timeout=600.0,
                poll_interval=0.2,
                transport=transport,
                history=history,
                bundles=chosen,
            )
        finally:
            transport.close_all()
        wall = time.perf_counter() - t0
        cpu1 = self._cpu(server)
        cpu = {
            k: round(procstats.cpu_delta(cpu0[k], cpu1[k]), 1)
            for k in ("server", "postgres", "senders", "machine")
        }
        cpu["machine_busy_share"] = round(cpu.pop("machine") / (wall * (os.cpu_count() or 1)), 3)
        per_entry = {
            f"{k}_ms_per_entry": round(1000 * v / max(report.sent, 1), 3)
            for k, v in cpu.items()
            if k in ("server", "postgres", "senders")
        }
        top = self._statements_top(report.sent) if statements else None
        summary = report.as_dict()
        summary.pop("institutions", None)
        summary.pop("ok", None)  # a part of the district: expected_rejections is the whole's
        if summary["unexpected"]:
            print(f"  UNEXPECTED: {summary['unexpected'][:3]}", file=sys.stderr)
        return {
            "wall_s": wall,
            "sent": report.sent,
            "bundles": count,
            "report": summary,
            "cpu_s": cpu,
            "cpu_per_entry": per_entry,
            **({"pg_statements": top} if top is not None else {}),
        }

    def _statements_reset(self) -> bool:
        """Reset PostgreSQL's statement statistics when the server collects them: the phase
        then reports where the database's time went, statement by statement."""
        return procstats.statements_reset(self.db_url)

    def _statements_top(self, entries: int, n: int = 15) -> list[dict[str, Any]]:
        return [
            {
                "calls_per_entry": round(calls / max(entries, 1), 3),
                "ms_per_entry": round(ms / max(entries, 1), 4),
                "rows": rows_,
                "query": query,
            }
            for calls, ms, rows_, query in procstats.statements_top(self.db_url, n)
        ]

    def _cpu(self, server: Server) -> dict[str, dict[int, float]]:
        """CPU seconds so far, by process, of the server's process tree, the database's
        PostgreSQL processes, this process (the senders) and the whole machine (as pid 0):
        where a phase's CPU went, which its wall time alone does not tell on shared cores."""
        own = os.times()
        return {
            "server": procstats.cpu_seconds(server.pids()),
            "postgres": procstats.cpu_seconds(procstats.postgres_pids(self.args.database)),
            "senders": {os.getpid(): own.user + own.system},
            "machine": {0: procstats.machine_busy()[0]},
        }

    def _drain(self, timeout: float = 3600.0, still_s: float = 300.0) -> float:
        """Seconds until the assembly queue is empty; an error when it has not moved for
        ``still_s`` seconds (the assembly failing: the server log says why) or after
        ``timeout``."""
        start = moved = time.perf_counter()
        head = None
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            while True:
                row = conn.execute("SELECT min(seq) FROM assembly_queue").fetchone()
                now = time.perf_counter()
                if not row or row[0] is None:
                    return now - start
                if row[0] != head:
                    head, moved = row[0], now
                if now - moved > still_s:
                    raise BenchmarkError(
                        f"the assembly queue has not moved for {still_s:.0f} s: the assembly "
                        "is failing (see the server log)"
                    )
                if now - start > timeout:
                    raise BenchmarkError("the assembly queue did not drain in time")
                time.sleep(0.2)

    def _pages(self, server: Server, env: dict[str, str]) -> dict[str, Any]:
        from benchmarks.worklists import _queries

        argv = [str(self.cli), "users", "add", "--username", "bench-admin", "--role", "admin"]
        done = subprocess.run(
            [*argv, "--password-stdin"],
            env=env,
            input=PASSWORD + "\n",
            capture_output=True,
            text=True,
            check=False,
        )
        if done.returncode != 0:
            raise BenchmarkError(f"users add: {done.stderr[-800:]}")
        with psycopg.connect(self.db_url) as conn:
            streets = [
                str(r[0])
                for r in conn.execute(
                    "select street, count(*) from work_item where street is not null "
                    "group by 1 order by 2 desc"
                ).fetchall()
            ] or ["440115001"]
            cases = [
                str(r[0])
                for r in conn.execute(
                    "select pregnancy_id from case_record order by pregnancy_id limit 50"
                ).fetchall()
            ]
            pregnancies = [
                str(r[0])
                for r in conn.execute(
                    "select id from pregnancy order by md5(id) limit 50"
                ).fetchall()
            ]
            periods = [
                str(r[0])
                for r in conn.execute(
                    "select distinct period from indicator_result order by 1"
                ).fetchall()
            ]
        months = [p for p in periods if len(p) == 7 and p[4] == "-"][-12:] or periods[:12]
        n = self.args.requests
        worklist = [
            (
                "/api/v1/cases",
                {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in q.items()},
            )
            for who, _, q in _queries(streets)
            if who == "admin"
        ]
        shapes: dict[str, list[tuple[str, dict[str, Any]]]] = {
            "worklist": worklist,
            "case_page": [(f"/api/v1/cases/{c}", {}) for c in cases],
            "pregnancy_page": [(f"/api/v1/pregnancies/{p}", {}) for p in pregnancies],
            "indicator_table": [("/api/v1/indicators", {"period": p}) for p in months],
        }
        out: dict[str, Any] = {}
        with httpx.Client(base_url=server.base_url, timeout=60) as client:
            r = client.post("/api/v1/token", json={"username": "bench-admin", "password": PASSWORD})
            if r.status_code != 200:
                raise BenchmarkError(f"token: {r.status_code} {r.text[:300]}")
            auth = {"Authorization": f"Bearer {r.json()['access_token']}"}
            for name, requests in shapes.items():
                ms: list[float] = []
                errors: list[str] = []
                if requests:
                    plan = list(itertools.islice(itertools.cycle(requests), n + 10))
                    for i, (path, params) in enumerate(plan):
                        t0 = time.perf_counter()
                        resp = client.get(path, params=params, headers=auth)
                        _ = resp.content
                        elapsed = 1000 * (time.perf_counter() - t0)
                        if resp.status_code != 200:
                            errors.append(f"{path}: {resp.status_code}")
                        elif i >= 10:  # the first ten warm up
                            ms.append(elapsed)
                out[name] = {
                    "n": len(ms),
                    "distinct": len(requests),
                    "p50_ms": _r(_pct(ms, 0.5), 1),
                    "p95_ms": _r(_pct(ms, 0.95), 1),
                    "max_ms": _r(max(ms, default=0.0), 1),
                    "errors": len(errors),
                    "error_examples": errors[:3],
                }
                if errors:
                    print(f"  {name}: {len(errors)} errors, e.g. {errors[0]}", file=sys.stderr)
        return out

    def _size(self) -> tuple[int, dict[str, Any]]:
        with psycopg.connect(self.db_url, autocommit=True) as conn:

            def one(q: str) -> int:
                row = conn.execute(q).fetchone()
                return int(row[0]) if row else 0

            size = one("select pg_database_size(current_database())")
            info = {
                "db_bytes": size,
                "resources": one("select count(*) from fhir_resource"),
                "versions": one("select count(*) from fhir_resource_version"),
                "pregnancies": one("select count(*) from pregnancy"),
                "women": one("select count(*) from woman"),
                "audit_rows": one("select count(*) from audit_event"),
            }
        info["bytes_per_10k_pregnancies"] = round(size * 10_000 / max(self.n, 1))
        info["bytes_per_version"] = round(size / max(info["versions"], 1))
        return size, info

    async def _createonly(
        self, server: Server, keys: list[str], warm: list[Any], timed: list[Any]
    ) -> dict[str, Any]:
        import aiohttp

        headers = [
            {
                "Authorization": f"Bearer {k}",
                "Content-Type": "application/fhir+json",
                "Accept": "application/fhir+json",
            }
            for k in keys
        ]
        async with aiohttp.ClientSession(
            base_url=server.base_url,
            connector=aiohttp.TCPConnector(limit=8),
            timeout=aiohttp.ClientTimeout(total=600),
        ) as client:
            w = await _push(client, headers, warm, 8, "create-only warm-up")
            main = await _push(client, headers, timed, 8, "create-only")
        errors = len(w.errors) + len(main.errors)
        if errors:
            first = (w.errors + main.errors)[0].error
            raise BenchmarkError(f"create-only: {errors} bundles failed, first: {first}")
        return {
            "bundles": len(timed),
            "resources": main.created,
            "wall_s": round(main.wall, 2),
            "resources_per_s": round(main.created / main.wall, 1),
        }


def _fmt(value: Any, unit: str = "", digits: int = 0) -> str:
    if value is None:
        return "-"
    if isinstance(value, float):
        return f"{value:,.{digits}f}{unit}"
    if isinstance(value, int):
        return f"{value:,}{unit}"
    return f"{value}{unit}"


def _table(f: dict[str, Any], d: dict[str, Any]) -> str:
    load = d.get("load", {})
    pages = d.get("pages", {})
    co = f.get("createonly_rps")

    def ratio(v: Any) -> str:
        return f"  ({v / co:.2f} x create-only)" if v and co else ""

    def cpu(phase: str) -> str:
        c = load.get(f"{phase}_cpu_per_entry")
        if not c:
            return "-"
        busy = load.get(f"{phase}_cpu_s", {}).get("machine_busy_share")
        return (
            f"{c['server_ms_per_entry']:.2f} / {c['postgres_ms_per_entry']:.2f} / "
            f"{c['senders_ms_per_entry']:.2f} ms"
            + (f"  (machine {100 * busy:.0f}% busy)" if busy is not None else "")
        )

    rows = [
        ("pregnancies", _fmt(f["pregnancies"])),
        ("resources sent", _fmt(f["resources"])),
        ("$import (history)", _fmt(f["import_rps"], " /s") + ratio(f["import_rps"])),
        ("Bundles over HTTP", _fmt(f["bundles_rps"], " /s") + ratio(f["bundles_rps"])),
        ("create-only Bundles", _fmt(co, " /s")),
        ("CPU an entry, import: server/PG/senders", cpu("import")),
        ("CPU an entry, Bundles: server/PG/senders", cpu("bundles")),
        ("import's queue drain", _fmt(load.get("import_drain_s"), " s", 1)),
        ("assembly queue drain", _fmt(f["drain_s"], " s", 1)),
        ("end to end (import+drain+Bundles+drain)", _fmt(load.get("end_to_end_s"), " s", 1)),
        ("freshness p95", _fmt(f["freshness_p95_s"], " s", 2)),
        ("indicator job, full", _fmt(f["indicators_full_s"], " s", 2)),
        ("indicator job, incremental", _fmt(f["indicators_incremental_s"], " s", 2)),
        ("indicator job peak RSS", _fmt(f["peak_rss_mib"], " MiB")),
        ("DuckDB peer", _fmt(f["duckdb_s"], " s", 2)),
        ("peer agreement", _fmt(f["agreement"], "", 4)),
        ("GET /api/v1/cases p95", _fmt(f["worklist_p95_ms"], " ms", 1)),
        ("case page p95", _fmt(f["case_page_p95_ms"], " ms", 1)),
        ("pregnancy page p95", _fmt(pages.get("pregnancy_page", {}).get("p95_ms"), " ms", 1)),
        ("indicator table p95", _fmt(pages.get("indicator_table", {}).get("p95_ms"), " ms", 1)),
        ("database size", _fmt(f["db_bytes"], " bytes")),
    ]
    db = d.get("database")
    if db:
        rows.append(
            (
                "  per 10k pregnancies / version",
                f"{db['bytes_per_10k_pregnancies'] / 2**20:,.0f} MiB / "
                f"{db['bytes_per_version']:,} bytes ({db['versions']:,} versions)",
            )
        )
    m = d["machine"]
    pg = d.get("postgresql") or {}
    head = (
        f"\n== scale benchmark ({m['cpus']} CPUs, reference loop "
        f"{m['reference_loop_ms']:.0f} ms, machine {100 * m['busy_before_start']:.0f}% busy "
        f"before start; wall {d.get('wall_s')} s; PostgreSQL shared_buffers "
        f"{pg.get('shared_buffers')}, max_wal_size {pg.get('max_wal_size')}) =="
    )
    width = max(len(k) for k, _ in rows)
    return "\n".join([head, *(f"{k:<{width}}  {v}" for k, v in rows)])
