"""Mutation score of the rule and access modules (mutmut; docs/testing.md).

mutmut makes small wrong changes ("mutants") to the fact builder, the indicator calculations,
the work lists and the access rule, and runs the tests that reach each changed function; a
mutant no test notices has "survived". Configuration: ``[tool.mutmut]`` in pyproject.toml.

Prints the score per module and every survivor, marking those docs/testing.md explains as
equivalent (no test can tell them apart from the real code). Exits 1 when a survivor is not
explained there. Not part of CI: a full run takes about an hour on two cores (the fact builder's
mutants run database tests); ``--module worklists`` takes a minute.
"""

from __future__ import annotations

import argparse
import ast
import re
import shutil
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parents[1]
RESULTS_DIR = ROOT / "benchmarks" / "results"
DOCS = ROOT / "docs" / "testing.md"
MODULES = {
    "worklists": "mch_service.cases.worklists",
    "facts": "mch_service.indicators.loaders",
    "calculations": "mch_service.indicators.calculations",
    "permissions": "mch_service.auth.permissions",
    "counts": "mch_service.indicators.counts",
    "periods": "mch_service.indicators.periods",
    "streets": "mch_service.streets",
}
# mutmut's verdicts that mean a test noticed the mutant
CAUGHT = {"killed", "timeout", "segfault", "suspicious"}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--module",
        action="append",
        choices=sorted(MODULES),
        help="Only this module's mutants (repeatable; default: all four)",
    )
    parser.add_argument("--quick", action="store_true", help="Only the work lists (about a minute)")
    parser.add_argument("--keep", action="store_true", help="Keep ./mutants afterwards")
    parser.add_argument(
        "--every",
        type=int,
        default=1,
        metavar="N",
        help="A sample: every Nth mutant of each module (in name order; default: all)",
    )
    parser.add_argument(
        "--max-children", type=int, default=2, help="Mutants run at once (default 2)"
    )


def documented_equivalents() -> set[str]:
    """Mutant names written in docs/testing.md as `module.x_function__mutmut_N`."""
    if not DOCS.exists():
        return set()
    return set(re.findall(r"`(mch_service\.[\w.]+__mutmut_\d+)`", DOCS.read_text("utf-8")))


def _mutmut() -> str:
    exe = Path(sys.executable).with_name("mutmut")
    return str(exe) if exe.exists() else "mutmut"


def _mutmut_run(args: argparse.Namespace, patterns: list[str]) -> None:
    subprocess.run(
        [_mutmut(), "run", "--max-children", str(args.max_children), *patterns],
        cwd=ROOT,
        check=False,
        stdout=subprocess.DEVNULL,
    )


def _verdicts(chosen: list[str]) -> dict[str, str]:
    """mutmut's verdict of every mutant of the chosen modules (``not checked`` included)."""
    listing = subprocess.run(
        [_mutmut(), "results", "--all", "true"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        text=True,
    ).stdout
    verdicts: dict[str, str] = {}
    for line in listing.splitlines():
        name, _, verdict = line.strip().rpartition(": ")
        if name and any(name.startswith(MODULES[m] + ".") for m in chosen):
            verdicts[name] = verdict
    return verdicts


def _first_mutant(module: str) -> str:
    """The name mutmut gives the first mutant of the module's first top-level function."""
    path = ROOT / Path(*module.split(".")).with_suffix(".py")
    tree = ast.parse(path.read_text("utf-8"))
    first = next(n.name for n in tree.body if isinstance(n, ast.FunctionDef))
    return f"{module}.x_{first}__mutmut_1"


def _every(names: list[str], module: str, n: int) -> list[str]:
    """Every Nth mutant of the module, in mutmut's numbering order within each function."""

    def key(name: str) -> tuple[str, int]:
        stem, _, number = name.rpartition("__mutmut_")
        return stem, int(number)

    mine = sorted((x for x in names if x.startswith(module + ".")), key=key)
    return mine[::n]


def run(args: argparse.Namespace) -> int:
    chosen = ["worklists"] if args.quick else (args.module or list(MODULES))
    shutil.rmtree(ROOT / "mutants", ignore_errors=True)  # stale results hide new tests
    started = time.monotonic()
    patterns = [f"{MODULES[m]}.*" for m in chosen]
    sample: set[str] | None = None
    if args.every > 1:
        # Generate the mutants and the test statistics with one mutant of each module, then
        # run every Nth of the list that mutmut now knows.
        _mutmut_run(args, [_first_mutant(MODULES[m]) for m in chosen])
        names = sorted(_verdicts(chosen))
        sample = {n for m in chosen for n in _every(names, MODULES[m], args.every)}
        patterns = sorted(sample)
    _mutmut_run(args, patterns)
    verdicts = _verdicts(chosen)
    if sample is not None:
        verdicts = {n: v for n, v in verdicts.items() if n in sample}
    equivalent = documented_equivalents()
    report: dict[str, object] = {"seconds": round(time.monotonic() - started), "modules": {}}
    unexplained: list[str] = []
    for m in chosen:
        mine = {n: v for n, v in verdicts.items() if n.startswith(MODULES[m] + ".")}
        counts = Counter(mine.values())
        checked = sum(c for v, c in counts.items() if v not in ("skipped", "not checked"))
        caught = sum(counts[v] for v in CAUGHT)
        survivors = sorted(n for n, v in mine.items() if v in ("survived", "no tests"))
        explained = [n for n in survivors if n in equivalent]
        unexplained += [n for n in survivors if n not in equivalent]
        score = caught / checked if checked else 0.0
        report["modules"][m] = {  # type: ignore[index]
            "mutants": len(mine),
            "checked": checked,
            "caught": caught,
            "survived": len(survivors),
            "equivalent": len(explained),
            "score": round(score, 4),
            "score_without_equivalent": round(caught / (checked - len(explained)), 4)
            if checked > len(explained)
            else 0.0,
            "survivors": survivors,
        }
        print(
            f"{m}: {caught}/{checked} caught ({score:.1%}); {len(survivors)} survived, "
            f"{len(explained)} of them documented as equivalent"
        )
        for n in survivors:
            print(f"  {'equivalent ' if n in equivalent else 'SURVIVED   '} {n}")
    RESULTS_DIR.mkdir(parents=True, exist_ok=True)
    (RESULTS_DIR / f"mutation-{time.strftime('%Y%m%dT%H%M%S')}.json").write_bytes(
        orjson.dumps(report, option=orjson.OPT_INDENT_2)
    )
    if unexplained:
        print(f"{len(unexplained)} survivor(s) neither killed nor documented in {DOCS.name}")
        print("inspect one with: .venv/bin/mutmut show <name>")
    if not args.keep:
        shutil.rmtree(ROOT / "mutants", ignore_errors=True)
    return 1 if unexplained else 0
