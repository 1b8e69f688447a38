"""Fuzzing for 5xx: the suite's fuzz tests (tests/fuzz) with a larger budget.

The suite runs them in CI with a small fixed budget (8 examples per operation and strategy,
derandomised); this runs the same tests, on SQLite and PostgreSQL, with --examples per
operation (default 200; 30 with --quick): still derandomised, so a failure found here is found
again by the same command.
A failure prints the shrunk example and a ``@reproduce_failure`` blob; fix its root, then add
a focused test (tests/fhir_api/test_bad_input.py shows the kind).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PG = "postgresql://postgres@127.0.0.1:5432/postgres"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--examples", type=int, default=None, help="Per operation (default 200)")
    parser.add_argument("--quick", action="store_true", help="Smoke run: 30 examples")
    parser.add_argument("--keep", action="store_true", help=argparse.SUPPRESS)  # for `all`
    parser.add_argument(
        "--pg-url",
        default=os.environ.get("MCH_TEST_DATABASE_URL", DEFAULT_PG),
        help="PostgreSQL for the PostgreSQL half (a schema of its own, dropped after)",
    )
    parser.add_argument("--workers", type=int, default=2, help="pytest-xdist workers")
    parser.add_argument("-k", dest="select", default=None, help="Only tests matching (pytest -k)")


def run(args: argparse.Namespace) -> int:
    examples = args.examples or (30 if args.quick else 200)
    env = {
        **os.environ,
        "MCH_FUZZ_EXAMPLES": str(examples),
        "MCH_TEST_DATABASE_URL": args.pg_url,
    }
    cmd = [sys.executable, "-m", "pytest", "tests/fuzz", "-q", "-p", "no:randomly"]
    cmd += ["-n", str(args.workers)] if args.workers > 1 else ["-p", "no:xdist"]
    if args.select:
        cmd += ["-k", args.select]
    print(f"fuzz: {examples} examples per operation and strategy: {' '.join(cmd[2:])}")
    return subprocess.call(cmd, cwd=ROOT, env=env)
