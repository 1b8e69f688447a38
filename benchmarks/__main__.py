"""``python -m benchmarks [all|ingest|indicators|worklists|fuzz|mutation|scale] [options]``: run one
benchmark, or all (the default)."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from types import ModuleType

from benchmarks import fuzz, indicators, ingest, mutation, scale, worklists

# name -> module with add_arguments(parser) and run(args) -> exit code. A new benchmark is
# one more module and one more line here.
BENCHMARKS: dict[str, ModuleType] = {
    "ingest": ingest,
    "indicators": indicators,
    "worklists": worklists,
    "fuzz": fuzz,
    "mutation": mutation,
    "scale": scale,
}
# Too long for `all` (a whole district through a server): run it by name.
NOT_IN_ALL = frozenset({"scale"})


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m benchmarks", description="Benchmarks of mch-service"
    )
    sub = parser.add_subparsers(dest="benchmark", metavar="{all," + ",".join(BENCHMARKS) + "}")
    every = sub.add_parser("all", help="Run every benchmark with its defaults (the default)")
    every.add_argument("--quick", action="store_true", help="Smoke-sized runs")
    every.add_argument("--keep", action="store_true", help="Keep the benchmark databases")
    for name, module in BENCHMARKS.items():
        one = sub.add_parser(
            name,
            help=(module.__doc__ or "").strip().splitlines()[0],
            description=module.__doc__,
            formatter_class=argparse.RawDescriptionHelpFormatter,
        )
        module.add_arguments(one)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if args.benchmark in BENCHMARKS:
        run: Callable[[argparse.Namespace], int] = BENCHMARKS[args.benchmark].run
        return run(args)
    quick = bool(getattr(args, "quick", False))
    keep = bool(getattr(args, "keep", False))
    worst = 0
    for name in BENCHMARKS:
        if name in NOT_IN_ALL:
            continue
        # Each benchmark's own defaults, as if run alone with the same --quick/--keep.
        own = parser.parse_args(
            [name, *(["--quick"] if quick else []), *(["--keep"] if keep else [])]
        )
        worst = max(worst, BENCHMARKS[name].run(own))
    return worst


if __name__ == "__main__":
    sys.exit(main())
