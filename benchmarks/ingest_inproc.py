"""In-process ingest profile: the same Bundles as the HTTP benchmark, pushed straight into
``FhirService.bundle`` on PostgreSQL, one thread, no HTTP. It prints the CPU time per resource
of each part of the request (and of the queued assembly after it), so a change to the ingest
path can be measured in seconds instead of a full HTTP run.

    .venv/bin/python -m benchmarks.ingest_inproc [--bundles 300] [--profile out.prof]

It creates (and drops) the database ``mch_bench_inproc``. The HTTP benchmark
(``python -m benchmarks ingest``) stays the figure of record; this one is for finding where the
time goes.
"""

from __future__ import annotations

import argparse
import os
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import orjson

from benchmarks import procstats
from benchmarks.ingest import (
    analyze_database,
    drop_database,
    recreate_database,
    reference_loop_ms,
)
from benchmarks.mch_bundles import BundleGenerator, hospitals
from benchmarks.profiling import PySpy, finish_inproc

PG = "postgresql://postgres@127.0.0.1:5432"
DB = "mch_bench_inproc"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.ingest_inproc")
    parser.add_argument("--bundles", type=int, default=500)
    parser.add_argument(
        "--rounds",
        type=int,
        default=5,
        help="the timed bundles are pushed in this many rounds; the least CPU "
        "per resource of a round is the steadiest figure on a shared "
        "machine",
    )
    parser.add_argument("--warmup", type=int, default=60)
    parser.add_argument("--senders", type=int, default=4)
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--profile", help="sample the timed phase with py-spy into this file")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="push from this many threads at once (as a server worker does)",
    )
    parser.add_argument("--pg", default=PG)
    parser.add_argument("--keep", action="store_true")
    args = parser.parse_args(argv)

    recreate_database(args.pg, DB)
    url = f"{args.pg}/{DB}".replace("postgresql://", "postgresql+psycopg://")
    os.environ["MCH_DATABASE_URL"] = url
    os.environ["MCH_DOMAIN_ASSEMBLY"] = "queued"
    os.environ.setdefault("MCH_SECRET_KEY", "in-process-benchmark-secret-0123456789abcdef")
    from mch_service.app import build_services
    from mch_service.audit.service import Actor
    from mch_service.config import Settings
    from mch_service.fhir_api.bundle_responses import Prefer
    from mch_service.institutions.service import add_institution
    from mch_service.migrate import upgrade

    upgrade(url)
    settings = Settings()
    services = build_services(settings)
    hosp = hospitals(args.senders)
    with services.db.transaction() as session:
        for h in hosp:
            add_institution(session, h.institution_id, h.name)
    gen = BundleGenerator(args.seed, hosp)
    payloads = [
        (hosp[i].institution_id, orjson.dumps(b))
        for i, b in gen.bundles(args.warmup + args.bundles)
    ]
    prefer = Prefer(None)
    fhir = services.fhir

    def push_one(item: tuple[str, bytes]) -> int:
        inst, raw = item
        out = fhir.bundle(Actor("institution", inst, "127.0.0.1"), orjson.loads(raw), prefer)
        return len(out["entry"])

    def push(batch: list[tuple[str, bytes]]) -> int:
        if args.threads == 1:
            return sum(push_one(item) for item in batch)
        with ThreadPoolExecutor(args.threads) as pool:
            return sum(pool.map(push_one, batch))

    push(payloads[: args.warmup])
    services.domain.process_queue(services.db)
    analyze_database(f"{args.pg}/{DB}")
    timed = payloads[args.warmup :]
    spy = PySpy(os.getpid(), Path(args.profile), rate=250) if args.profile else None
    if spy:
        time.sleep(1.0)  # py-spy attaches
    pg0 = procstats.cpu_seconds(procstats.postgres_pids(DB))
    t0, c0 = time.perf_counter(), time.process_time()
    per_round = []
    size = max(1, len(timed) // args.rounds)
    n = 0
    for start in range(0, len(timed), size):
        r0, k = time.process_time(), push(timed[start : start + size])
        per_round.append(1000 * (time.process_time() - r0) / k)
        n += k
    t1, c1 = time.perf_counter(), time.process_time()
    pg1 = procstats.cpu_seconds(procstats.postgres_pids(DB))
    services.domain.process_queue(services.db)
    t2, c2 = time.perf_counter(), time.process_time()
    if spy:
        spy.stop()
    ms = lambda s: 1000 * s / n  # noqa: E731
    print(
        f"resources          {n} in {len(timed)} bundles; machine speed: reference loop "
        f"{reference_loop_ms():.0f} ms (see benchmarks/README.md)"
    )
    print(
        f"request CPU        {ms(c1 - c0):.3f} ms/resource (wall {ms(t1 - t0):.3f}); "
        f"rounds: best {min(per_round):.3f}, "
        f"median {sorted(per_round)[len(per_round) // 2]:.3f}"
    )
    print(f"PostgreSQL CPU     {ms(procstats.cpu_delta(pg0, pg1)):.3f} ms/resource (requests)")
    print(f"assembly CPU       {ms(c2 - c1):.3f} ms/resource (wall {ms(t2 - t1):.3f})")
    print(f"total client CPU   {ms(c2 - c0):.3f} ms/resource")
    finish_inproc(
        services, args.profile, args.top, None if args.keep else lambda: drop_database(args.pg, DB)
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
