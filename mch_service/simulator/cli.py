"""``mch-service simulate``: write a simulated district (and optionally push it).

Registered in ``mch_service/cli.py`` with ``app.command("simulate")(simulate_command)``.
"""

from __future__ import annotations

import json
import sys
import time
from datetime import date
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TextColumn,
    TimeElapsedColumn,
    TimeRemainingColumn,
)

from mch_service.simulator.generate import simulate
from mch_service.simulator.params import SimulationParams
from mch_service.simulator.push import push

_err = Console(stderr=True)


def _day(value: str, option: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise typer.BadParameter(
            f"{value!r} is not a date (YYYY-MM-DD)", param_hint=option
        ) from None


def _bar(label: str) -> Progress:
    return Progress(
        TextColumn(label),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TimeRemainingColumn(),
        console=_err,
        disable=not sys.stderr.isatty(),
    )


def simulate_command(
    pregnancies: Annotated[
        int | None, typer.Option(help="Pregnancies to simulate [default: 2000]")
    ] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed (same seed, same files)")] = None,
    start: Annotated[
        str | None, typer.Option(help="First day of the span, YYYY-MM-DD [default: 2024-01-01]")
    ] = None,
    end: Annotated[
        str | None, typer.Option(help="Last day of the span, YYYY-MM-DD [default: 2025-12-31]")
    ] = None,
    out: Annotated[Path, typer.Option(help="Output folder")] = Path("simulation"),
    as_of: Annotated[
        list[str] | None,
        typer.Option("--as-of", help="Work-list day in truth.json (repeatable; default: --end)"),
    ] = None,
    params_file: Annotated[
        Path | None,
        typer.Option(
            "--params", help="JSON of parameters (e.g. a run's params.json); options win over it"
        ),
    ] = None,
    push_url: Annotated[
        str | None, typer.Option("--push", help="Push to this service (e.g. http://host:8000)")
    ] = None,
    senders: Annotated[int, typer.Option(help="Institutions pushing at the same time")] = 4,
    keys: Annotated[
        Path | None, typer.Option(help="JSON file {institution_id: api_key} (with --push)")
    ] = None,
) -> None:
    """Write a simulated district with known ground truth: each institution's history backfill
    and Bundles, truth.json (expected indicators and work lists), params.json. With --push, send
    it to a running service the way the institutions would."""
    overrides: dict[str, Any] = {}
    if params_file is not None:
        try:
            overrides = json.loads(params_file.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise typer.BadParameter(str(exc), param_hint="--params") from None
    given: dict[str, Any] = {
        "pregnancies": pregnancies,
        "seed": seed,
        "start": _day(start, "--start") if start else None,
        "end": _day(end, "--end") if end else None,
        "as_of": tuple(_day(a, "--as-of") for a in as_of) if as_of else None,
    }
    overrides.update({k: v for k, v in given.items() if v is not None})
    try:
        params = SimulationParams.from_dict(overrides)
    except (TypeError, ValueError) as exc:
        raise typer.BadParameter(str(exc)) from None
    api_keys: dict[str, str] = {}
    if push_url is not None:
        if keys is None:
            raise typer.BadParameter("--push needs --keys KEYS.json", param_hint="--keys")
        try:
            api_keys = json.loads(keys.read_text(encoding="utf-8"))
        except (OSError, ValueError) as exc:
            raise typer.BadParameter(str(exc), param_hint="--keys") from None

    started = time.perf_counter()
    with _bar("simulating") as bar:
        task = bar.add_task("simulate", total=params.pregnancies)
        summary = simulate(params, out, lambda n: bar.advance(task, n))
    seconds = time.perf_counter() - started
    typer.echo(
        f"{summary.pregnancies} pregnancies ({summary.women} women), {summary.resources} "
        f"resources: {summary.history_lines} history lines, {summary.bundles} bundles "
        f"({summary.batch_bundles} batch bundles with {summary.invalid_resources} invalid "
        f"resources) in {out}"
    )
    typer.echo(
        f"{seconds:.1f} s: {summary.pregnancies / seconds:.0f} pregnancies/s, "
        f"{summary.resources / seconds:.0f} resources/s"
    )
    if push_url is None:
        return
    total = summary.resources + summary.deletions
    started = time.perf_counter()
    try:
        with _bar("pushing") as bar:
            task = bar.add_task("push", total=total)
            report = push(out, push_url, api_keys, senders, lambda n: bar.advance(task, n))
    except ValueError as exc:
        raise typer.BadParameter(str(exc), param_hint="--keys") from None
    seconds = time.perf_counter() - started
    typer.echo(
        f"pushed {report.sent} in {seconds:.1f} s: accepted {report.accepted}, rejected "
        f"{report.rejected} (expected {report.expected_rejections}: the deliberately invalid "
        f"resources)"
    )
    for problem in report.unexpected[:20]:
        typer.echo(f"  unexpected: {problem}")
    if not report.ok:
        raise typer.Exit(2)
