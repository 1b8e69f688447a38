"""The ``mch-service`` command."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mch_service.config import get_settings

app = typer.Typer(help="Maternal and child health information service", no_args_is_help=True)
db_app = typer.Typer(help="Database schema", no_args_is_help=True)
inst_app = typer.Typer(help="Sending institutions and their API keys", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(inst_app, name="institutions")
err = Console(stderr=True)


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def _services():  # type: ignore[no-untyped-def]
    from mch_service.app import build_services

    return build_services(get_settings())


@app.command()
def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL only)")] = 1,
    upgrade: Annotated[bool, typer.Option(help="Apply database migrations first")] = True,
) -> None:
    """Run the HTTP service (FHIR interface at /fhir)."""
    import uvicorn

    settings = get_settings()
    if upgrade:
        from mch_service.migrate import upgrade as do_upgrade

        do_upgrade(settings.database_url)
    if workers > 1 and settings.database_url.startswith("sqlite"):
        _fail("several workers need PostgreSQL; SQLite serves one process")
    uvicorn.run(
        "mch_service.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        access_log=False,
    )


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply the Alembic migrations up to REVISION (default: the newest)."""
    from mch_service.migrate import current_revision, upgrade

    url = get_settings().database_url
    upgrade(url, revision)
    typer.echo(f"database at revision {current_revision(url)}")


@inst_app.command("add")
def institutions_add(
    id: Annotated[str, typer.Option("--id", help="Institution id, e.g. its organisation code")],
    name: Annotated[str, typer.Option("--name", help="Display name")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Register a sending institution and print its new API key (shown only once)."""
    from mch_service.errors import MchError
    from mch_service.institutions.service import add_institution

    services = _services()
    try:
        with services.db.transaction() as session:
            issued = add_institution(session, id, name)
    except MchError as exc:
        _fail(exc.message)
    _print_key(issued.institution_id, issued.api_key, as_json)


def _print_key(institution_id: str, api_key: str, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"id": institution_id, "api_key": api_key}))
    else:
        typer.echo(f"institution: {institution_id}\napi key (shown once, keep it safe): {api_key}")


@inst_app.command("list")
def institutions_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List institutions and their keys (prefixes only)."""
    from mch_service.institutions.service import list_institutions, list_keys

    services = _services()
    with services.db.reading() as session:
        rows = []
        for inst in list_institutions(session):
            keys = [
                {"key_id": k.id, "prefix": k.key_prefix, "revoked": k.revoked_at is not None}
                for k in list_keys(session, inst.id)
            ]
            rows.append({"id": inst.id, "name": inst.name, "active": inst.active, "keys": keys})
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        live = sum(1 for k in r["keys"] if not k["revoked"])  # type: ignore[attr-defined,misc]
        typer.echo(
            f"{r['id']}\t{r['name']}\t{'active' if r['active'] else 'disabled'}\t{live} live key(s)"
        )


@inst_app.command("rotate-key")
def institutions_rotate_key(
    id: Annotated[str, typer.Option("--id")],
    revoke_old: Annotated[bool, typer.Option(help="Revoke the existing keys now")] = False,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Issue a new API key; old keys keep working until revoked."""
    from mch_service.errors import MchError
    from mch_service.institutions.service import rotate_key

    services = _services()
    try:
        with services.db.transaction() as session:
            issued = rotate_key(session, id, revoke_old)
    except MchError as exc:
        _fail(exc.message)
    _print_key(issued.institution_id, issued.api_key, as_json)


@inst_app.command("revoke-keys")
def institutions_revoke(
    id: Annotated[str, typer.Option("--id")],
    key_id: Annotated[int | None, typer.Option(help="Only this key (see list --json)")] = None,
) -> None:
    """Revoke an institution's API keys (all, or one)."""
    from mch_service.errors import MchError
    from mch_service.institutions.service import revoke_keys

    services = _services()
    try:
        with services.db.transaction() as session:
            n = revoke_keys(session, id, key_id)
    except MchError as exc:
        _fail(exc.message)
    typer.echo(f"revoked {n} key(s)")


@app.command("import")
def import_ndjson(
    paths: Annotated[list[Path], typer.Argument(help="NDJSON files or folders of *.ndjson")],
    institution: Annotated[str, typer.Option("--institution", help="Sending institution id")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Backfill history from NDJSON files (one resource per line). Safe to run again."""
    from sqlalchemy import select

    from mch_service.audit.service import Actor
    from mch_service.fhir_api.bulk import iter_lines, run_import
    from mch_service.institutions.models import Institution

    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(p.rglob("*.ndjson")))
        elif p.exists():
            files.append(p)
        else:
            _fail(f"{p} does not exist")
    services = _services()
    with services.db.reading() as session:
        if session.scalar(select(Institution.id).where(Institution.id == institution)) is None:
            _fail(f"no institution {institution!r} (register it with 'institutions add')")
    total = 0
    for f in files:
        with f.open("rb") as fh:
            total += sum(1 for line in fh if line.strip())
    actor = Actor("institution", institution, "cli")

    def lines():  # type: ignore[no-untyped-def]
        for f in files:
            with f.open("rb") as fh:
                yield from iter_lines(str(f), fh)

    with Progress(
        TextColumn("importing"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=err,
        disable=not sys.stderr.isatty() and as_json,
    ) as bar:
        task = bar.add_task("import", total=total)
        report = run_import(services.fhir, actor, lines(), lambda n: bar.advance(task, n))
    result = report.as_dict()
    if as_json:
        typer.echo(json.dumps(result, ensure_ascii=False))
    else:
        typer.echo(
            f"lines {result['lines']}: accepted {result['accepted']} (created "
            f"{result['created']}, updated {result['updated']}, unchanged "
            f"{result['unchanged']}), rejected {result['rejected']}"
        )
        for e in result["errors"]:
            typer.echo(f"  {e['source']}:{e['line']}: {e['reason']}")
    if report.rejected:
        raise typer.Exit(2)


def main() -> None:
    app()
