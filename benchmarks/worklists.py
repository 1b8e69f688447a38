"""Work-list page latency: filtered, sorted pages of ``GET /api/v1/cases`` on PostgreSQL, timed
in-process (``CaseService.list_items`` in a transaction, as the endpoint runs it) and over real
HTTP against ``mch-service serve`` with bearer tokens of an admin and a street reviewer.

Goal (issue): with 100,000 active pregnancies of which 15,000 are cases, a page returns in
< 50 ms at p95 on PostgreSQL.

The database is a simulated district loaded through the service (``--reuse-db`` takes the one
``indicators --keep`` left, else one is built here), its work lists recomputed as of the
simulation's end day. Loading 100,000 pregnancies through the service takes hours here, so by
default the ``pregnancy``, ``case_record`` and ``work_item`` tables are then topped up to
``--target-pregnancies`` / ``--target-cases`` with SYNTHETIC rows: copies of the real rows with
new ids (work items scaled by the same factor as pregnancies; their ``woman_key`` points at real
women, so the masked-name look-up in ``patient_record`` does real work). The page query reads
only those tables plus ``patient_record``. ``--no-synthetic`` measures the real rows only.
"""

from __future__ import annotations

import argparse
import itertools
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import orjson
import psycopg

from benchmarks import procstats
from benchmarks.indicators import (
    DEFAULT_PREGNANCIES,
    RESULTS_DIR,
    SIM_END,
    make_services,
    setup_database,
    sim_dir,
    simulate_once,
)
from benchmarks.ingest import (
    DATABASE_PREFIX,
    DEFAULT_PG,
    BenchmarkError,
    Server,
    _free_port,
    _mch_service_cli,
    analyze_database,
    drop_database,
)

GOAL_P95_MS = 50.0
PASSWORD = "bench-" + "x" * 12  # throw-away accounts in a throw-away database


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--reuse-db",
        action="store_true",
        help="Use the database `indicators --keep` left (--database) as it is",
    )
    parser.add_argument(
        "--database",
        default=None,
        help="Database (default: mch_bench_indicators with --reuse-db, else "
        "mch_bench_worklists, created and dropped unless --keep); must "
        f"start with {DATABASE_PREFIX!r}",
    )
    parser.add_argument(
        "--pregnancies",
        type=int,
        default=None,
        help=f"Simulated pregnancies when building the database (default "
        f"{DEFAULT_PREGNANCIES}; 200 with --quick)",
    )
    parser.add_argument("--seed", type=int, default=20240601)
    parser.add_argument("--quick", action="store_true", help="Smoke run")
    parser.add_argument(
        "--requests",
        type=int,
        default=240,
        help="Timed requests per mode (in-process, HTTP); default 240",
    )
    parser.add_argument("--target-pregnancies", type=int, default=100_000)
    parser.add_argument("--target-cases", type=int, default=15_000)
    parser.add_argument(
        "--target-items",
        type=int,
        default=30_000,
        help="Work items after topping up (default 30,000: two per case)",
    )
    parser.add_argument(
        "--no-synthetic",
        dest="synthetic",
        action="store_false",
        help="Do not add synthetic rows; measure the loaded rows only",
    )
    parser.add_argument(
        "--no-http", dest="http", action="store_false", help="Skip the HTTP measurement"
    )
    parser.add_argument("--workers", type=int, default=1, help="Server workers (default 1)")
    parser.add_argument("--pg-url", default=DEFAULT_PG)
    parser.add_argument("--keep", action="store_true", help="Keep the database")
    parser.add_argument("--results-dir", type=Path, default=RESULTS_DIR)


def run(args: argparse.Namespace) -> int:
    try:
        return _run(args)
    except BenchmarkError as exc:
        print(f"\nworklists benchmark FAILED: {exc}", file=sys.stderr)
        return 2


def _pct(values: list[float], q: float) -> float:
    s = sorted(values)
    if not s:
        return float("nan")
    k = (len(s) - 1) * q
    lo, hi = int(k), min(int(k) + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def _summary(ms: list[float]) -> dict[str, float]:
    return {
        "n": len(ms),
        "p50_ms": round(_pct(ms, 0.5), 2),
        "p95_ms": round(_pct(ms, 0.95), 2),
        "p99_ms": round(_pct(ms, 0.99), 2),
        "max_ms": round(max(ms), 2),
        "mean_ms": round(sum(ms) / len(ms), 2),
    }


def _run(args: argparse.Namespace) -> int:
    if args.database is None:
        args.database = "mch_bench_indicators" if args.reuse_db else "mch_bench_worklists"
    if not args.database.startswith(DATABASE_PREFIX):
        raise BenchmarkError(f"--database must start with {DATABASE_PREFIX!r}")
    if args.quick:
        args.requests = min(args.requests, 60)
        if args.target_pregnancies == 100_000:
            args.target_pregnancies, args.target_cases = 10_000, 1_500
            args.target_items = 3_000
    pg_url = args.pg_url.rstrip("/")
    db_url = f"{pg_url}/{args.database}"
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    args.results_dir.mkdir(parents=True, exist_ok=True)
    busy = procstats.machine_utilisation(1.0)
    print(f"worklists benchmark; machine busy before start: {busy:.0%} of all cores")
    result: dict[str, Any] = {
        "benchmark": "worklists",
        "timestamp": stamp,
        "database": args.database,
        "reused_db": args.reuse_db,
        "machine_busy_before_start": round(busy, 3),
        "goal_p95_ms": GOAL_P95_MS,
    }
    services = None
    server: Server | None = None
    try:
        if args.reuse_db:
            services = make_services(db_url, None)
        else:
            n = args.pregnancies or (200 if args.quick else DEFAULT_PREGNANCIES)
            out = sim_dir(args.results_dir, n, args.seed)
            simulate_once(out, n, args.seed)
            print(f"loading {n} simulated pregnancies into {args.database} ...")
            services, _, info = setup_database(pg_url, args.database, out, 0.0, log=lambda *_: None)
            result["load"] = info
        _drop_synthetic(db_url)  # a previous run's, before the work lists are recomputed
        t0 = time.perf_counter()
        with services.db.transaction() as session:
            items = services.cases.refresh(session, None, SIM_END)
        refresh_s = time.perf_counter() - t0
        real = _counts(db_url)
        result["worklist_refresh"] = {
            "as_of": SIM_END.isoformat(),
            "seconds": round(refresh_s, 2),
            "items": items,
        }
        result["real_rows"] = real
        print(
            f"work lists recomputed as of {SIM_END} in {refresh_s:.2f} s: {items} items; "
            f"loaded (real) rows: {real}"
        )
        if args.synthetic:
            t0 = time.perf_counter()
            syn = _synthesize(
                db_url, args.target_pregnancies, args.target_cases, args.target_items, SIM_END
            )
            result["synthetic"] = {**syn, "seconds": round(time.perf_counter() - t0, 1)}
            print(f"SYNTHETIC rows added: {syn}")
        analyze_database(db_url)
        sizes = _counts(db_url)
        result["rows_measured"] = sizes
        print(
            f"measured on: {sizes['pregnancy']} pregnancies ({sizes['active_pregnancies']} "
            f"active), {sizes['case_record']} cases ({sizes['open_cases']} open), "
            f"{sizes['work_item']} work items"
            + (" — INCLUDING SYNTHETIC ROWS" if args.synthetic else "")
        )
        streets = _streets(db_url)
        queries = _queries(streets)
        # -- in-process
        from mch_service.auth.permissions import Principal, Role
        from mch_service.cases.service import CaseQuery

        admin = Principal(user_id=1, username="bench-admin", role=Role.ADMIN)
        reviewer = Principal(
            user_id=2,
            username="bench-reviewer",
            role=Role.REVIEWER,
            streets=frozenset({streets[0]}),
        )
        principals = {"admin": admin, "reviewer": reviewer}
        timed = _plan(queries, args.requests)
        by_kind: dict[str, list[float]] = {}
        all_ms: list[float] = []
        totals: dict[str, int] = {}
        for i, (who, name, params) in enumerate(itertools.chain(timed[:20], timed)):
            q = CaseQuery(
                list_name=params.get("list"),
                colour=params.get("colour"),
                street=params.get("street"),
                overdue=params.get("overdue"),
                sort=params.get("sort", "since"),
                page=params.get("page", 1),
            )
            t0 = time.perf_counter()
            with services.db.transaction() as session:
                page = services.cases.list_items(session, principals[who], q)
            ms = (time.perf_counter() - t0) * 1000
            if i >= 20:  # the first 20 are warm-up
                all_ms.append(ms)
                by_kind.setdefault(name, []).append(ms)
                totals[name] = page.total
        result["in_process"] = {
            **_summary(all_ms),
            "by_query": {k: {**_summary(v), "total_items": totals[k]} for k, v in by_kind.items()},
        }
        print(_render("in-process (CaseService.list_items + commit)", result["in_process"]))
        # -- HTTP
        if args.http:
            cli = _mch_service_cli()
            env = {
                **os.environ,
                "MCH_DATABASE_URL": db_url,
                "MCH_LOG_LEVEL": "WARNING",
                "MCH_SCHEDULER_IN_SERVER": "false",
                "MCH_ENV": "development",
            }
            _add_user(cli, env, "bench-admin", "admin", [])
            _add_user(cli, env, "bench-reviewer", "reviewer", [streets[0]])
            log_path = args.results_dir / f"worklists-{stamp}.server.log"
            server = Server(cli, env, _free_port(), args.workers, log_path)
            server.start()
            server.wait_ready(timeout=120)
            result["http"] = _http(server.base_url, timed, args.workers)
            print(
                _render(
                    f"HTTP (mch-service serve --workers {args.workers}, sequential "
                    f"keep-alive client)",
                    result["http"],
                )
            )
    finally:
        if server is not None:
            server.stop()
        if services is not None:
            services.db.dispose()
        if not args.keep and not args.reuse_db:
            drop_database(pg_url, args.database)
    p95 = max(result["in_process"]["p95_ms"], result.get("http", {}).get("p95_ms", 0))
    result["goal_met"] = p95 < GOAL_P95_MS
    print(
        f"\ngoal p95 < {GOAL_P95_MS:.0f} ms: {'MET' if result['goal_met'] else 'NOT MET'} "
        f"(worst p95 {p95:.1f} ms)"
    )
    path = args.results_dir / f"worklists-{stamp}.json"
    path.write_bytes(orjson.dumps(result, option=orjson.OPT_INDENT_2))
    print(f"result written to {path}")
    return 0


def _render(title: str, s: dict[str, Any]) -> str:
    lines = [
        f"{title}: {s['n']} requests, p50 {s['p50_ms']:.1f} ms, p95 {s['p95_ms']:.1f} ms, "
        f"p99 {s['p99_ms']:.1f} ms, max {s['max_ms']:.1f} ms"
    ]
    for k, v in s["by_query"].items():
        lines.append(
            f"    {k:58s} total {v['total_items']:6d}  p50 {v['p50_ms']:6.1f}  "
            f"p95 {v['p95_ms']:6.1f} ms"
        )
    return "\n".join(lines)


def _queries(streets: list[str]) -> list[tuple[str, str, dict[str, Any]]]:
    s0, s1 = streets[0], streets[min(1, len(streets) - 1)]
    out: list[tuple[str, str, dict[str, Any]]] = []
    for page in (1, 2, 3):
        out.append(
            (
                "admin",
                f"admin list=follow_up_due street={s1} sort=since page={page}",
                {"list": "follow_up_due", "street": s1, "sort": "since", "page": page},
            )
        )
    for page in (1, 2):
        out.append(
            (
                "admin",
                f"admin list=outcome_unknown colour=red page={page}",
                {"list": "outcome_unknown", "colour": "red", "page": page},
            )
        )
    out += [
        ("admin", "admin overdue=true sort=colour page=1", {"overdue": True, "sort": "colour"}),
        ("admin", "admin overdue=true page=3", {"overdue": True, "page": 3}),
        ("admin", "admin (no filter) sort=street page=2", {"sort": "street", "page": 2}),
        ("admin", "admin list=missing_tests sort=since page=1", {"list": "missing_tests"}),
        (
            "admin",
            "admin list=report_late colour=orange page=1",
            {"list": "report_late", "colour": "orange"},
        ),
        ("reviewer", f"reviewer[{s0}] (no filter) page=1", {}),
        (
            "reviewer",
            f"reviewer[{s0}] list=follow_up_due overdue=true",
            {"list": "follow_up_due", "overdue": True},
        ),
        (
            "reviewer",
            f"reviewer[{s0}] list=postpartum_visit_due page=2",
            {"list": "postpartum_visit_due", "page": 2},
        ),
    ]
    return out


def _plan(queries: list[Any], n: int) -> list[Any]:
    return [queries[i % len(queries)] for i in range(n)]


def _http(base: str, timed: list[Any], workers: int) -> dict[str, Any]:
    tokens = {}
    with httpx.Client(base_url=base, timeout=30) as client:
        for who in ("admin", "reviewer"):
            r = client.post(
                "/api/v1/token", json={"username": f"bench-{who}", "password": PASSWORD}
            )
            if r.status_code != 200:
                raise BenchmarkError(f"token for bench-{who}: {r.status_code} {r.text[:300]}")
            tokens[who] = r.json()["access_token"]
        by_kind: dict[str, list[float]] = {}
        totals: dict[str, int] = {}
        all_ms: list[float] = []
        errors = 0
        for i, (who, name, params) in enumerate(itertools.chain(timed[:20], timed)):
            qp = {k: (str(v).lower() if isinstance(v, bool) else v) for k, v in params.items()}
            t0 = time.perf_counter()
            r = client.get(
                "/api/v1/cases", params=qp, headers={"Authorization": f"Bearer {tokens[who]}"}
            )
            body = r.content
            ms = (time.perf_counter() - t0) * 1000
            if r.status_code != 200:
                errors += 1
                if errors == 1:
                    print(f"HTTP error {r.status_code}: {body[:300]!r}", file=sys.stderr)
                continue
            if i >= 20:
                all_ms.append(ms)
                by_kind.setdefault(name, []).append(ms)
                totals[name] = orjson.loads(body)["total"]
    if not all_ms:
        raise BenchmarkError("no HTTP request succeeded")
    return {
        **_summary(all_ms),
        "errors": errors,
        "workers": workers,
        "by_query": {k: {**_summary(v), "total_items": totals[k]} for k, v in by_kind.items()},
    }


def _add_user(cli: Path, env: dict[str, str], username: str, role: str, streets: list[str]) -> None:
    argv = [str(cli), "users", "add", "--username", username, "--role", role, "--password-stdin"]
    for s in streets:
        argv += ["--jurisdiction", s]
    done = subprocess.run(
        argv, env=env, input=PASSWORD + "\n", capture_output=True, text=True, check=False
    )
    if done.returncode != 0 and "exist" not in (done.stderr + done.stdout).lower():
        raise BenchmarkError(f"users add {username}: {done.stderr[-800:]}")


def _counts(db_url: str) -> dict[str, int]:
    with psycopg.connect(db_url) as conn:

        def one(q: str) -> int:
            row = conn.execute(q).fetchone()
            return int(row[0]) if row else 0

        return {
            "pregnancy": one("select count(*) from pregnancy"),
            "active_pregnancies": one("select count(*) from pregnancy where end_date is null"),
            "case_record": one("select count(*) from case_record"),
            "open_cases": one("select count(*) from case_record where status = 'open'"),
            "work_item": one("select count(*) from work_item"),
            "patient_record": one("select count(*) from patient_record"),
        }


def _streets(db_url: str) -> list[str]:
    with psycopg.connect(db_url) as conn:
        rows = conn.execute(
            "select street, count(*) from work_item where street is not null "
            "group by 1 order by 2 desc"
        ).fetchall()
    if not rows:
        raise BenchmarkError("no work items with a street: nothing to page through")
    return [str(r[0]) for r in rows]


def _columns(conn: psycopg.Connection[Any], table: str) -> list[str]:
    rows = conn.execute(
        "select column_name from information_schema.columns where table_name "
        "= %s order by ordinal_position",
        (table,),
    ).fetchall()
    return [str(r[0]) for r in rows]


def _drop_synthetic(db_url: str) -> None:
    with psycopg.connect(db_url) as conn:
        conn.execute("delete from work_item where reason = 'synthetic'")
        conn.execute("delete from case_record where pregnancy_id like '%~syn%'")
        conn.execute("delete from pregnancy where id like '%~syn%'")
        conn.commit()


def _synthesize(
    db_url: str, target_pregnancies: int, target_cases: int, target_items: int, as_of: Any
) -> dict[str, int]:
    """Copies of the real pregnancies and cases with new ids (suffix ``~synN``) until the
    targets are reached; synthetic pregnancies are active (no end), synthetic cases open. Then
    work items up to ``target_items``, made from the cases (see below)."""
    with psycopg.connect(db_url) as conn:
        real_p = conn.execute(
            "select count(*) from pregnancy where id not like '%~syn%'"
        ).fetchone()[0]  # type: ignore[index]
        real_c = conn.execute(
            "select count(*) from case_record where pregnancy_id not like '%~syn%'"
        ).fetchone()[0]  # type: ignore[index]
        real_w = conn.execute("select count(*) from work_item").fetchone()[0]  # type: ignore[index]
        if real_p == 0 or real_c == 0:
            raise BenchmarkError("no real pregnancies/cases to copy")
        add_p = max(0, target_pregnancies - real_p)
        add_c = max(0, target_cases - real_c)
        add_w = max(0, target_items - real_w)

        def copy(table: str, key: str, n: int, extra: dict[str, str]) -> None:
            if n <= 0:
                return
            cols = [c for c in _columns(conn, table) if not (table == "work_item" and c == "id")]
            exprs = [
                f"r.{key} || '~syn' || g.i" if c == key else extra.get(c, f"r.{c}") for c in cols
            ]
            real = conn.execute(
                f"select count(*) from {table} where {key} not like '%~syn%'"
            ).fetchone()[0]  # type: ignore[index]
            reps = -(-n // real)
            conn.execute(
                f"insert into {table} ({', '.join(cols)}) "
                f"select {', '.join(exprs)} from generate_series(1, {reps}) g(i) "
                f"cross join lateral (select * from {table} where {key} not like '%~syn%') r "
                f"order by g.i, r.{key} limit {n}"
            )

        copy("pregnancy", "id", add_p, {"end_date": "null", "end_kind": "null"})
        copy("case_record", "pregnancy_id", add_c, {"status": "'open'"})
        # Work items: one per (synthetic or real) case in turn, over the six lists, with the
        # case's street, colour, institutions and woman; a third overdue; `since` spread over
        # 120 days.
        if add_w:
            conn.execute(
                "insert into work_item (list_name, pregnancy_id, woman_key, as_of, since, "
                "overdue, colour, purple, street, institutions, reason, clears) "
                "select (array['follow_up_due','report_late','outcome_unknown',"
                "'positive_untreated','missing_tests','postpartum_visit_due'])[1 + g.i %% 6], "
                "c.pregnancy_id, c.woman_key, %(as_of)s, %(as_of)s - (g.i %% 120), g.i %% 3 = 0, "
                "c.colour, c.purple, c.street, c.institutions, 'synthetic', 'synthetic' "
                "from generate_series(1, %(n)s) g(i) join (select *, row_number() over "
                "(order by pregnancy_id) - 1 as rn from case_record) c "
                "on c.rn = g.i %% %(cases)s",
                {"as_of": as_of, "n": add_w, "cases": target_cases if add_c else real_c},
            )
        conn.commit()
    return {"pregnancies_added": add_p, "cases_added": add_c, "work_items_added": add_w}
