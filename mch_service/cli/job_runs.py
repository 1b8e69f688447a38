"""Commands for scheduled jobs: run one now, list the runs."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from mch_service.cli.common import fail, load_services

jobs_app = typer.Typer(help="Scheduled jobs: run now, list runs", no_args_is_help=True)


@jobs_app.command("run")
def jobs_run(
    name: Annotated[str, typer.Argument(help="A job name, or 'all'")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD")] = None,
) -> None:
    """Run a job now (recorded like a scheduled run)."""
    from datetime import date

    day = None
    if as_of:
        try:
            day = date.fromisoformat(as_of)
        except ValueError:
            fail(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)")
    services = load_services()
    known = services.jobs.names()
    names = [n for n in known if n != "indicators_full"] if name == "all" else [name]
    unknown = [n for n in names if n not in known]
    if unknown:
        fail(f"no job {unknown[0]!r} (jobs: {', '.join(known)})")
    failed = False
    for n in names:
        run = services.jobs.run(n, day, "manual")
        typer.echo(
            f"{n}: {run.status}, {run.rows_touched} rows" + (f" ({run.error})" if run.error else "")
        )
        failed |= run.status != "succeeded"
    if failed:
        raise typer.Exit(1)


@jobs_app.command("list")
def jobs_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The jobs, their schedules and the latest runs."""
    from mch_service.scheduling.service import lease_holder, recent_runs

    services = load_services()
    with services.db.reading() as session:
        runs = recent_runs(session, None, 20)
    if as_json:
        dumped = [run.model_dump() for run in runs]
        typer.echo(json.dumps({"jobs": services.jobs.names(), "runs": dumped}, ensure_ascii=False))
        return
    schedules = services.settings.job_schedules
    for n in services.jobs.names():
        typer.echo(f"{n}\t{schedules.get(n) or 'not scheduled'}")
    typer.echo(f"scheduler held by: {lease_holder(services.db) or 'nobody'}")
    for r in runs:
        typer.echo(f"  {r.started_at[:19]} {r.job} {r.status} {r.rows_touched} {r.error or ''}")
