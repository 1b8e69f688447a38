"""Ingest benchmark: how many FHIR resources per second the service stores, end to end.

It runs the real thing: a fresh PostgreSQL database migrated with ``mch-service db upgrade``,
K sending institutions registered with the CLI, and ``mch-service serve`` as a subprocess
with its uvicorn workers. A client in this process pushes pre-generated pregnancy Bundles
(``mch_bundles``) as transactions from all K senders at once, with a fixed number of requests
in flight, and measures:

* resources/s sustained: resources stored (entries answered "201 Created") divided by the wall
  time of the timed phase (a warm-up phase before it is excluded: first requests pay for
  imports, connection pools and caches);
* bundles/s and bundle latency percentiles (one request = one Bundle);
* peak resident memory of the server (main process and its workers, sampled every 100 ms);
* errors (non-200 answers, or entries not "201 Created"): must be 0;
* CPU seconds of the client, the server and PostgreSQL in the timed phase, because client,
  server and database share the same cores.

Afterwards it checks that the database holds exactly what was acknowledged ("no acknowledged
write may be lost"), stops the server and drops the database (unless ``--keep``).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, TextIO

import aiohttp
import httpx
import orjson
import psycopg
import uvloop
from psycopg import sql

from benchmarks import procstats
from benchmarks.mch_bundles import BundleGenerator, Hospital, hospitals

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = Path(__file__).resolve().parent / "results"
GOAL_RESOURCES_PER_S = 2000  # the target on the 2-core reference machine
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432"
DATABASE_PREFIX = "mch_bench"  # only databases with this prefix are ever created or dropped


class BenchmarkError(Exception):
    """The run cannot give a trustworthy figure; the message says why."""


@dataclass(frozen=True)
class Payload:
    """A Bundle serialised once, before timing, so the client spends no CPU building it."""

    sender: int
    body: bytes
    entries: int
    types: Counter[str]


@dataclass
class Outcome:
    latency: float  # seconds from sending the request to having read the whole answer
    status: int  # HTTP status, 0 when no answer came
    created: int  # entries answered "201 Created"
    entries: int
    error: str | None = None


@dataclass
class Phase:
    name: str
    outcomes: list[Outcome]
    wall: float

    @property
    def created(self) -> int:
        return sum(o.created for o in self.outcomes)

    @property
    def errors(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.error is not None]


@dataclass
class CpuReading:
    client: float
    server: dict[int, float]
    postgres: dict[int, float]
    machine_busy: float
    machine_total: float
    profiler: float = 0.0  # CPU seconds of py-spy, when profiling


# -- command line ----------------------------------------------------------------------------


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--bundles",
        type=int,
        default=None,
        help="Bundles in the timed phase (default 2000, ~52k resources; 100 with --quick)",
    )
    parser.add_argument(
        "--warmup",
        type=int,
        default=None,
        help="Bundles sent before timing and left out of the figures "
        "(default: a tenth of --bundles, at least 2 x --concurrency)",
    )
    parser.add_argument("--quick", action="store_true", help="Smoke run: 100 timed bundles")
    parser.add_argument(
        "--concurrency",
        type=int,
        default=8,
        help="Requests in flight at once, over all senders (default 8)",
    )
    parser.add_argument(
        "--senders",
        type=int,
        default=4,
        help="Sending institutions, each with its own API key (default 4)",
    )
    parser.add_argument(
        "--workers",
        type=int,
        default=2,
        help="Server worker processes (mch-service serve --workers; default 2)",
    )
    parser.add_argument("--seed", type=int, default=20240601, help="Seed of the Bundle generator")
    parser.add_argument(
        "--pg-url",
        default=DEFAULT_PG,
        help=f"PostgreSQL server, without a database name (default {DEFAULT_PG})",
    )
    parser.add_argument(
        "--database",
        default="mch_bench_ingest",
        help="Database to create (dropped first if it exists); must start with "
        f"{DATABASE_PREFIX!r}",
    )
    parser.add_argument("--port", type=int, default=0, help="Server port (default: a free one)")
    parser.add_argument(
        "--timeout",
        type=float,
        default=300.0,
        help="Seconds one request may take before it counts as an error",
    )
    parser.add_argument(
        "--no-analyze",
        dest="analyze",
        action="store_false",
        help="Do not ANALYZE the database after the warm-up. By default it is "
        "analyzed there, as autovacuum would have done by then in "
        "production: without statistics PostgreSQL may pick a wrong index "
        "for the identifier and content-key lookups, and this machine's "
        "cluster runs with autovacuum off",
    )
    parser.add_argument(
        "--keep",
        action="store_true",
        help="Keep the database afterwards (the server is always stopped)",
    )
    parser.add_argument(
        "--profile",
        action="store_true",
        help="Sample the server with py-spy during the timed phase and print "
        "where its CPU goes (needs: .venv/bin/pip install py-spy; "
        "sampling costs some throughput)",
    )
    parser.add_argument(
        "--assembly",
        choices=("queued", "inline"),
        default="queued",
        help="MCH_DOMAIN_ASSEMBLY of the server: queued (ingest writes the "
        "store and facts, a loop assembles women; the drain time is "
        "reported) or inline (all in the ingest transaction)",
    )
    parser.add_argument(
        "--results-dir",
        type=Path,
        default=RESULTS_DIR,
        help="Where the JSON result (and server log) go",
    )


@dataclass(frozen=True)
class Settings:
    bundles: int
    warmup: int
    concurrency: int
    senders: int
    workers: int
    seed: int
    pg_url: str
    database: str
    port: int
    timeout: float
    analyze: bool
    keep: bool
    profile: bool
    quick: bool
    results_dir: Path
    assembly: str = "queued"

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Settings:
        bundles = args.bundles if args.bundles is not None else (100 if args.quick else 2000)
        warmup = (
            args.warmup if args.warmup is not None else max(bundles // 10, 2 * args.concurrency)
        )
        if not args.database.startswith(DATABASE_PREFIX):
            raise BenchmarkError(
                f"--database must start with {DATABASE_PREFIX!r}: the benchmark "
                "drops it, so it must be one of its own"
            )
        if bundles < 1 or warmup < 0 or args.concurrency < 1 or args.senders < 1:
            raise BenchmarkError("--bundles, --concurrency and --senders must be positive")
        return cls(
            bundles,
            warmup,
            args.concurrency,
            args.senders,
            args.workers,
            args.seed,
            args.pg_url.rstrip("/"),
            args.database,
            args.port,
            args.timeout,
            args.analyze,
            args.keep,
            args.profile,
            args.quick,
            args.results_dir,
            args.assembly,
        )

    def public(self) -> dict[str, Any]:
        return {
            "bundles": self.bundles,
            "warmup_bundles": self.warmup,
            "concurrency": self.concurrency,
            "senders": self.senders,
            "server_workers": self.workers,
            "seed": self.seed,
            "database": self.database,
            "quick": self.quick,
            "profile": self.profile,
            "analyze_after_warmup": self.analyze,
            "assembly": self.assembly,
        }


def run(args: argparse.Namespace) -> int:
    # SIGTERM (a CI timeout, kill) unwinds like Ctrl-C, so the server is stopped and the
    # database dropped instead of left behind.
    previous = signal.signal(signal.SIGTERM, _interrupt)
    try:
        settings = Settings.from_args(args)
        return IngestBenchmark(settings).run()
    except BenchmarkError as exc:
        print(f"\ningest benchmark FAILED: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\ningest benchmark interrupted (server stopped; database dropped unless --keep)",
            file=sys.stderr,
        )
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)


def _interrupt(_signum: int, _frame: Any) -> None:
    raise KeyboardInterrupt


# -- the run ---------------------------------------------------------------------------------


class IngestBenchmark:
    def __init__(self, settings: Settings) -> None:
        self.s = settings
        self.stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        self.db_url = f"{settings.pg_url}/{settings.database}"
        self.cli = _mch_service_cli()
        # Bundles the server answered 200 with every entry created: what must be stored.
        self.acknowledged: list[Payload] = []
        self.env = {
            **os.environ,
            "MCH_DATABASE_URL": self.db_url,
            # Production mode, as deployed: it refuses the development secret, so use a fresh
            # one (the database is thrown away with it).
            "MCH_ENV": "production",
            "MCH_SECRET_KEY": secrets.token_urlsafe(48),
            "MCH_LOG_LEVEL": "WARNING",
            "MCH_DOMAIN_ASSEMBLY": settings.assembly,
            # the scheduler's jobs would compete with the ingest being measured
            "MCH_SCHEDULER_IN_SERVER": "false",
        }

    def run(self) -> int:
        s = self.s
        s.results_dir.mkdir(parents=True, exist_ok=True)
        log_path = s.results_dir / f"ingest-{self.stamp}.server.log"
        print(
            f"ingest benchmark: {s.bundles} timed bundles (+{s.warmup} warm-up), "
            f"{s.senders} senders, {s.concurrency} in flight, {s.workers} server workers"
        )

        t0 = time.perf_counter()
        senders = hospitals(s.senders)
        gen = BundleGenerator(s.seed, senders)
        # Sample (one per sender, checked entry by entry before anything is timed), warm-up
        # and timed Bundles come from one stream, so no identifier repeats: every entry is a
        # create.
        sample = [_payload(*gen.next_bundle()) for _ in range(s.senders)]
        warmup = [_payload(*gen.next_bundle()) for _ in range(s.warmup)]
        timed = [_payload(*gen.next_bundle()) for _ in range(s.bundles)]
        gen_seconds = time.perf_counter() - t0
        timed_resources = sum(p.entries for p in timed)
        print(
            f"generated {len(sample) + len(warmup) + len(timed)} bundles in {gen_seconds:.1f} s "
            f"({timed_resources / len(timed):.1f} resources and "
            f"{sum(len(p.body) for p in timed) / len(timed) / 1024:.1f} KiB per bundle)"
        )

        # Other work on the machine takes cores from the server; measure it to warn about it.
        quiet = procstats.machine_utilisation(1.0)
        recreate_database(s.pg_url, s.database)
        server: Server | None = None
        result: dict[str, Any] | None = None
        try:
            self._cli("db", "upgrade")
            keys = [self._register(h) for h in senders]
            server = Server(self.cli, self.env, s.port or _free_port(), s.workers, log_path)
            server.start()
            server.wait_ready(timeout=120)
            print(f"server up at {server.base_url} (pids {server.pids()})")
            result = uvloop.run(self._drive(server, keys, sample, warmup, timed))
            result["assembly_drain_s"] = self._drain()
            result["verification"] = self._verify(self.acknowledged)
        finally:
            stop_code = server.stop() if server is not None else None
            if not s.keep:
                drop_database(s.pg_url, s.database)
        assert result is not None
        result["server"]["exit_code"] = stop_code
        result["server"]["log"] = (
            str(log_path.relative_to(ROOT)) if log_path.is_relative_to(ROOT) else str(log_path)
        )
        result["server"]["log_error_lines"] = _error_lines(log_path)
        result["database_kept"] = s.keep
        result["machine_busy_before_start"] = round(quiet, 3)
        result["generation_seconds"] = round(gen_seconds, 2)
        out = s.results_dir / f"ingest-{self.stamp}.json"
        out.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
        print(_report(result))
        print(f"\nresult written to {out}")
        ok = result["results"]["errors"] == 0 and result["verification"]["ok"]
        return 0 if ok else 1

    # -- setup ---------------------------------------------------------------------------

    def _cli(self, *argv: str) -> str:
        done = subprocess.run(
            [str(self.cli), *argv],
            env=self.env,
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        if done.returncode != 0:
            raise BenchmarkError(
                f"mch-service {' '.join(argv)} failed ({done.returncode}):\n{done.stderr[-2000:]}"
            )
        return done.stdout

    def _register(self, hospital: Hospital) -> str:
        out = self._cli(
            "institutions",
            "add",
            "--id",
            hospital.institution_id,
            "--name",
            hospital.name,
            "--json",
        )
        return str(orjson.loads(out.strip().splitlines()[-1])["api_key"])

    # -- pushing -------------------------------------------------------------------------

    async def _drive(
        self,
        server: Server,
        keys: list[str],
        sample: list[Payload],
        warmup: list[Payload],
        timed: list[Payload],
    ) -> dict[str, Any]:
        s = self.s
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
            connector=aiohttp.TCPConnector(limit=s.concurrency),
            timeout=aiohttp.ClientTimeout(total=s.timeout),
        ) as client:
            await self._check_sample(client, headers, sample)
            self.acknowledged += sample
            start_rss = sum(procstats.rss_bytes(p) for p in server.pids())
            sampler = procstats.MemorySampler(server.pid).start()
            try:
                if warmup:
                    warm = await _push(client, headers, warmup, s.concurrency, "warm-up")
                    if warm.errors:
                        raise BenchmarkError(
                            f"{len(warm.errors)} warm-up requests failed, "
                            f"first: {warm.errors[0].error}"
                        )
                else:
                    warm = Phase("warm-up", [], 0.0)
                self.acknowledged += warmup
                if s.analyze:
                    analyze_database(self.db_url)
                spy = None
                if s.profile:
                    from benchmarks.profiling import PySpy

                    spy = PySpy(server.pid, s.results_dir / f"ingest-{self.stamp}.pyspy.txt")
                    await asyncio.sleep(1.0)  # let it attach to every worker
                before = _cpu_reading(server, s.database)
                spy_before = procstats.cpu_seconds([spy.proc.pid]) if spy else {}
                main = await _push(client, headers, timed, s.concurrency, "timed")
                after = _cpu_reading(server, s.database)
                self.acknowledged += [
                    p for p, o in zip(timed, main.outcomes, strict=True) if o.error is None
                ]
                if spy is not None:
                    # py-spy's own CPU is not "other load": count it apart.
                    after.profiler = procstats.cpu_delta(
                        spy_before, procstats.cpu_seconds([spy.proc.pid])
                    )
                    spy.stop()
            finally:
                sampler.stop()
        result = _figures(s, main, warm, before, after, len(sample))
        result["server"] = {
            "pids": server.pids(),
            "rss_before_warmup_mib": round(start_rss / 2**20, 1),
            "peak_rss_mib": round(sampler.peak_total / 2**20, 1),
            "peak_rss_mib_by_process": {
                str(pid): round(v / 2**20, 1) for pid, v in sampler.peak_by_pid.items()
            },
            "rss_samples": sampler.samples,
        }
        if spy is not None:
            from benchmarks.profiling import summarise

            summary = summarise(spy.output)
            result["profile"] = {"raw": str(spy.output), **summary.as_dict()}
            print(summary.render())
        return result

    async def _check_sample(
        self, client: aiohttp.ClientSession, headers: list[dict[str, str]], sample: list[Payload]
    ) -> None:
        """Before timing anything: each sender's first Bundle must be accepted whole, every
        entry created. A benchmark of rejected requests would measure the wrong thing."""
        for p in sample:
            async with client.post("/fhir", data=p.body, headers=headers[p.sender]) as r:
                raw = await r.read()
            if r.status != 200:
                raise BenchmarkError(
                    f"sample bundle of sender {p.sender} answered {r.status}:\n"
                    f"{raw[:3000].decode(errors='replace')}"
                )
            body = orjson.loads(raw)
            statuses = [e.get("response", {}).get("status") for e in body.get("entry", [])]
            if (
                body.get("type") != "transaction-response"
                or len(statuses) != p.entries
                or any(not str(st).startswith("201") for st in statuses)
            ):
                raise BenchmarkError(
                    f"sample bundle of sender {p.sender}: expected "
                    f"{p.entries} x '201 Created', got {Counter(statuses)}"
                )
            if not all(e["response"].get("location") for e in body["entry"]):
                raise BenchmarkError("sample bundle: an entry's response has no location")
        print(f"sample checked: {len(sample)} bundles, every entry 201 Created")

    # -- checking ------------------------------------------------------------------------

    def _drain(self) -> float | None:
        """Seconds until every queued woman is assembled (queued mode): how far the pregnancy
        record lags behind ingest at the end of the run."""
        if self.s.assembly != "queued":
            return None
        start = time.perf_counter()
        with psycopg.connect(self.db_url) as conn:
            while True:
                row = conn.execute("select count(*) from assembly_queue").fetchone()
                if not row or row[0] == 0:
                    break
                if time.perf_counter() - start > self.s.timeout:
                    raise BenchmarkError("the assembly queue did not drain in time")
                time.sleep(0.2)
        elapsed = time.perf_counter() - start
        print(f"assembly queue drained {elapsed:.1f} s after the last bundle")
        return elapsed

    def _verify(self, sent: list[Payload]) -> dict[str, Any]:
        """Every acknowledged resource is in the database, once, with one version, and
        nothing else is (a request that timed out in the client but committed would show)."""
        expected: Counter[str] = Counter()
        for p in sent:
            expected.update(p.types)
        with psycopg.connect(self.db_url) as conn:
            resources = conn.execute("select count(*) from fhir_resource").fetchone()
            versions = conn.execute("select count(*) from fhir_resource_version").fetchone()
            rows = conn.execute(
                "select resource_type, count(*) from fhir_resource group by resource_type"
            ).fetchall()
        by_type: dict[str, int] = {str(r[0]): int(r[1]) for r in rows}
        stored = resources[0] if resources else -1
        stored_versions = versions[0] if versions else -1
        total = sum(expected.values())
        ok = stored == total and stored_versions == total and by_type == dict(expected)
        return {
            "ok": ok,
            "acknowledged": total,
            "stored_resources": stored,
            "stored_versions": stored_versions,
            "by_type": by_type,
            "expected_by_type": dict(expected),
        }


# -- client ----------------------------------------------------------------------------------


def _payload(sender: int, bundle: dict[str, Any]) -> Payload:
    entries = bundle["entry"]
    return Payload(
        sender,
        orjson.dumps(bundle),
        len(entries),
        Counter(e["resource"]["resourceType"] for e in entries),
    )


def _judge(status: int, body: bytes, entries: int, latency: float) -> Outcome:
    if status != 200:
        return Outcome(
            latency, status, 0, entries, f"HTTP {status}: {body[:500].decode(errors='replace')}"
        )
    try:
        answer = orjson.loads(body)
        created = sum(1 for e in answer["entry"] if e["response"]["status"].startswith("201"))
    except (orjson.JSONDecodeError, KeyError, TypeError) as exc:
        return Outcome(latency, status, 0, entries, f"unreadable answer: {exc!r}")
    error = None if created == entries else f"{created} of {entries} entries created"
    return Outcome(latency, status, created, entries, error)


async def _push(
    client: aiohttp.ClientSession,
    headers: list[dict[str, str]],
    payloads: Sequence[Payload],
    concurrency: int,
    label: str,
) -> Phase:
    """Send every payload, ``concurrency`` at a time (each worker takes the next payload as
    soon as its previous answer is in: a closed loop, as senders that wait for an answer)."""
    outcomes: list[Outcome | None] = [None] * len(payloads)
    cursor = 0
    done = 0

    async def worker() -> None:
        nonlocal cursor, done
        while cursor < len(payloads):
            i = cursor
            cursor += 1
            p = payloads[i]
            start = time.perf_counter()
            try:
                async with client.post("/fhir", data=p.body, headers=headers[p.sender]) as r:
                    body = await r.read()
                outcomes[i] = _judge(r.status, body, p.entries, time.perf_counter() - start)
            except (aiohttp.ClientError, TimeoutError) as exc:
                outcomes[i] = Outcome(
                    time.perf_counter() - start, 0, 0, p.entries, f"{type(exc).__name__}: {exc}"
                )
            done += 1

    async def progress(started: float) -> None:
        while True:
            await asyncio.sleep(10)
            elapsed = time.perf_counter() - started
            print(
                f"  {label}: {done}/{len(payloads)} bundles, {elapsed:.0f} s, "
                f"{done / elapsed:.1f} bundles/s",
                flush=True,
            )

    started = time.perf_counter()
    reporter = asyncio.create_task(progress(started))
    try:
        await asyncio.gather(*(worker() for _ in range(min(concurrency, len(payloads)))))
    finally:
        reporter.cancel()
    wall = time.perf_counter() - started
    if any(o is None for o in outcomes):
        raise BenchmarkError(f"{label}: some requests were never sent")
    return Phase(label, [o for o in outcomes if o is not None], wall)


def _cpu_reading(server: Server, database: str) -> CpuReading:
    busy, total = procstats.machine_busy()
    return CpuReading(
        time.process_time(),
        procstats.cpu_seconds(server.pids()),
        procstats.cpu_seconds(procstats.postgres_pids(database)),
        busy,
        total,
    )


def _percentile(sorted_values: list[float], q: float) -> float:
    """Nearest-rank percentile."""
    if not sorted_values:
        return float("nan")
    rank = max(1, -(-len(sorted_values) * q // 100))
    return sorted_values[int(rank) - 1]


def _figures(
    s: Settings, main: Phase, warm: Phase, before: CpuReading, after: CpuReading, sample_count: int
) -> dict[str, Any]:
    latencies = sorted(o.latency * 1000 for o in main.outcomes)
    wall = main.wall
    cpus = os.cpu_count() or 1
    client_cpu = after.client - before.client
    server_cpu = procstats.cpu_delta(before.server, after.server)
    postgres_cpu = procstats.cpu_delta(before.postgres, after.postgres)
    machine_busy = after.machine_busy - before.machine_busy
    # What neither the client, the server nor our database backends used: the kernel, other
    # services, and anything else running on the machine (which lowers the figures).
    other = max(0.0, machine_busy - client_cpu - server_cpu - postgres_cpu - after.profiler)
    total_cpu = client_cpu + server_cpu + postgres_cpu
    errors = main.errors + warm.errors
    return {
        "benchmark": "ingest",
        "timestamp": datetime.now(UTC).isoformat(timespec="seconds"),
        "settings": s.public(),
        "machine": _machine(s.pg_url),
        "results": {
            "resources_per_s": round(main.created / wall, 1),
            "bundles_per_s": round(len(main.outcomes) / wall, 2),
            "latency_ms": {
                "p50": round(_percentile(latencies, 50), 1),
                "p90": round(_percentile(latencies, 90), 1),
                "p99": round(_percentile(latencies, 99), 1),
                "max": round(latencies[-1], 1) if latencies else None,
            },
            "timed_wall_s": round(wall, 2),
            "timed_bundles": len(main.outcomes),
            "timed_resources_created": main.created,
            "warmup_bundles": len(warm.outcomes),
            "warmup_wall_s": round(warm.wall, 2),
            "sample_bundles": sample_count,
            "errors": len(errors),
            "error_examples": [o.error for o in errors[:5]],
            "goal_resources_per_s": GOAL_RESOURCES_PER_S,
            "goal_met": main.created / wall >= GOAL_RESOURCES_PER_S,
        },
        "cpu_timed_phase": {
            "client_s": round(client_cpu, 2),
            "client_share_of_one_core": round(client_cpu / wall, 3),
            "server_s": round(server_cpu, 2),
            "postgres_s": round(postgres_cpu, 2),
            "machine_busy_s": round(machine_busy, 2),
            "machine_utilisation": round(machine_busy / (wall * cpus), 3),
            "profiler_s": round(after.profiler, 2),
            "other_s": round(other, 2),
            "other_share_of_machine": round(other / (wall * cpus), 3),
            "server_ms_per_resource": round(1000 * server_cpu / max(main.created, 1), 3),
            "postgres_ms_per_resource": round(1000 * postgres_cpu / max(main.created, 1), 3),
            "total_ms_per_resource": round(1000 * total_cpu / max(main.created, 1), 3),
            # Less noisy than the rate when the machine is shared: what the cores could do if
            # the client, server and database used all of them and nothing else ran.
            "cpu_bound_resources_per_s": round(cpus * main.created / max(total_cpu, 1e-9)),
        },
    }


def _machine(pg_url: str) -> dict[str, Any]:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {
        "cpus": os.cpu_count(),
        "cpu_model": model,
        "reference_loop_ms": reference_loop_ms(),
        "python": platform.python_version(),
        "postgres": _postgres_version(pg_url),
        "postgres_autovacuum": autovacuum_setting(pg_url),
        "commit": _git_commit(),
    }


def reference_loop_ms() -> float:
    """Best of three timings of a fixed pure-Python loop (5 million additions): how fast this
    machine runs Python today. Virtual machines differ by half or more from day to day; compare
    the figures of two runs only together with this one."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        total = 0
        for i in range(5_000_000):
            total += i
        best = min(best, time.perf_counter() - start)
    return round(best * 1000, 1)


def _postgres_version(pg_url: str) -> str | None:
    try:
        with psycopg.connect(f"{pg_url}/postgres", connect_timeout=5) as conn:
            row = conn.execute("show server_version").fetchone()
            return str(row[0]) if row else None
    except psycopg.Error:
        return None


def _git_commit() -> str | None:
    try:
        head = subprocess.run(
            ["git", "-C", str(ROOT), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "-C", str(ROOT), "status", "--porcelain", "--untracked-files=no"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return None
    return head + ("+dirty" if dirty else "")


def _report(r: dict[str, Any]) -> str:
    res, cpu, srv, st = r["results"], r["cpu_timed_phase"], r["server"], r["settings"]
    ver = r["verification"]
    lat = res["latency_ms"]
    goal = "met" if res["goal_met"] else "NOT met"
    lines = [
        "",
        "== ingest benchmark ==",
        f"settings           {st['bundles']} timed bundles (+{st['warmup_bundles']} warm-up, "
        f"+{res['sample_bundles']} sample), {st['senders']} senders, {st['concurrency']} in "
        f"flight, {st['server_workers']} server workers, seed {st['seed']}",
        f"machine            {r['machine']['cpus']} CPUs ({r['machine']['cpu_model']}), Python "
        f"{r['machine']['python']}, PostgreSQL {r['machine']['postgres']} (autovacuum "
        f"{r['machine']['postgres_autovacuum']}; ANALYZE after warm-up: "
        f"{'yes' if st['analyze_after_warmup'] else 'no'}), commit {r['machine']['commit']}",
        f"machine speed      reference loop {r['machine'].get('reference_loop_ms', 0):.0f} ms "
        "(5 M pure-Python additions, best of 3; lower is faster)",
        f"resources/s        {res['resources_per_s']:.0f}  (goal {GOAL_RESOURCES_PER_S}: {goal})",
        f"bundles/s          {res['bundles_per_s']:.1f}",
        f"latency per bundle p50 {lat['p50']:.0f} ms, p90 {lat['p90']:.0f} ms, p99 "
        f"{lat['p99']:.0f} ms, max {lat['max']:.0f} ms",
        f"timed phase        {res['timed_resources_created']} resources in "
        f"{res['timed_bundles']} bundles, {res['timed_wall_s']:.1f} s",
        f"errors             {res['errors']}"
        + (f"  first: {res['error_examples'][0]}" if res["errors"] else ""),
        f"server memory      peak {srv['peak_rss_mib']:.0f} MiB RSS over {len(srv['pids'])} "
        f"processes ({srv['rss_before_warmup_mib']:.0f} MiB before the warm-up)",
        f"CPU in timed phase client {cpu['client_s']:.1f} s "
        f"({100 * cpu['client_share_of_one_core']:.0f}% of a core), server "
        f"{cpu['server_s']:.1f} s ({cpu['server_ms_per_resource']:.2f} ms/"
        f"resource), PostgreSQL {cpu['postgres_s']:.1f} s ({cpu['postgres_ms_per_resource']:.2f} "
        f"ms/resource), "
        + (f"py-spy {cpu['profiler_s']:.1f} s, " if st["profile"] else "")
        + f"other {cpu['other_s']:.1f} s; machine {100 * cpu['machine_utilisation']:.0f}% busy",
        f"CPU per resource   {cpu['total_ms_per_resource']:.2f} ms (client + server + "
        f"PostgreSQL): the {r['machine']['cpus']} cores could do at most "
        f"{cpu['cpu_bound_resources_per_s']} resources/s",
        f"verification       {'OK' if ver['ok'] else 'FAILED'}: {ver['stored_resources']} "
        f"resources and {ver['stored_versions']} versions stored, {ver['acknowledged']} "
        "acknowledged",
    ]
    if cpu["other_share_of_machine"] > 0.05 or r["machine_busy_before_start"] > 0.10:
        before = 100 * r["machine_busy_before_start"]
        lines.append(
            f"WARNING            the machine was not quiet ({before:.0f}% busy before the "
            f"start, {cpu['other_s']:.1f} CPU s used by other processes in the timed "
            "phase): the figures are lower than this code can do"
        )
    if srv.get("log_error_lines"):
        lines.append(
            f"server log         {srv['log_error_lines']} error/traceback lines: see {srv['log']}"
        )
    return "\n".join(lines)


# -- server and database ---------------------------------------------------------------------


class Server:
    """``mch-service serve`` in its own session (process group), so that a stop reaches its
    workers even if the supervisor dies first."""

    def __init__(
        self, cli: Path, env: dict[str, str], port: int, workers: int, log_path: Path
    ) -> None:
        self.argv = [
            str(cli),
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--workers",
            str(workers),
            "--no-upgrade",
        ]
        self.env = env
        self.base_url = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self._log: TextIO | None = None
        self._proc: subprocess.Popen[bytes] | None = None

    @property
    def pid(self) -> int:
        assert self._proc is not None
        return self._proc.pid

    def pids(self) -> list[int]:
        return procstats.process_tree(self.pid)

    def start(self) -> None:
        self._log = self.log_path.open("w")
        self._proc = subprocess.Popen(
            self.argv,
            env=self.env,
            cwd=ROOT,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def wait_ready(self, timeout: float) -> None:
        assert self._proc is not None
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._proc.poll() is not None:
                raise BenchmarkError(
                    f"the server exited ({self._proc.returncode}) before it "
                    f"was ready:\n{_tail(self.log_path)}"
                )
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=2).status_code == 200:
                    # uvicorn answers as soon as the first worker is up; give the others a
                    # moment so the warm-up reaches all of them.
                    time.sleep(1.0)
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise BenchmarkError(
            f"the server did not answer /healthz within {timeout:.0f} s:\n{_tail(self.log_path)}"
        )

    def stop(self, timeout: float = 30.0) -> int | None:
        """SIGTERM, as a service manager would stop it (uvicorn shuts its workers down); kill
        the process group only if that does not work in time. Returns the exit code."""
        proc = self._proc
        if proc is None:
            return None
        code: int | None
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                code = proc.wait(timeout)
            except subprocess.TimeoutExpired:
                print(
                    "server did not stop within 30 s of SIGTERM; killing its process group",
                    file=sys.stderr,
                )
                os.killpg(proc.pid, signal.SIGKILL)
                code = proc.wait()
        else:
            code = proc.returncode
        if self._log is not None:
            self._log.close()
        return code


def _admin_connect(pg_url: str) -> psycopg.Connection[Any]:
    return psycopg.connect(f"{pg_url}/postgres", autocommit=True)


def recreate_database(pg_url: str, name: str) -> None:
    assert name.startswith(DATABASE_PREFIX)
    try:
        with _admin_connect(pg_url) as conn:
            conn.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    except psycopg.Error as exc:
        raise BenchmarkError(f"cannot create database {name} at {pg_url}: {exc}") from exc


def analyze_database(db_url: str) -> None:
    with psycopg.connect(db_url, autocommit=True) as conn:
        conn.execute("ANALYZE")


def autovacuum_setting(pg_url: str) -> str | None:
    try:
        with _admin_connect(pg_url) as conn:
            row = conn.execute("show autovacuum").fetchone()
            return str(row[0]) if row else None
    except psycopg.Error:
        return None


def drop_database(pg_url: str, name: str) -> None:
    assert name.startswith(DATABASE_PREFIX)
    with _admin_connect(pg_url) as conn:
        conn.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )


def _mch_service_cli() -> Path:
    # The CLI of the interpreter running the benchmark (the project's venv), not whatever
    # `mch-service` comes first on PATH.
    beside = Path(sys.executable).with_name("mch-service")
    if beside.exists():
        return beside
    found = shutil.which("mch-service")
    if found is None:
        raise BenchmarkError("mch-service is not installed: make install (or pip install -e .)")
    return Path(found)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _tail(path: Path, lines: int = 40) -> str:
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no server log)"


def _error_lines(path: Path) -> int:
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return 0
    return sum(1 for line in text.splitlines() if "ERROR" in line or "Traceback" in line)
