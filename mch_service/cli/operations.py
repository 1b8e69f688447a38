"""Commands that run and keep an instance: serve, worker, demo, the database schema, backup and
restore, the settings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mch_service.cli.common import configure_logging, err, fail, load_services, wiring
from mch_service.config import get_settings

db_app = typer.Typer(help="Database schema", no_args_is_help=True)
# The staff pages the demo opens on, printed with its accounts.
DEMO_PAGES = (
    ("/login", "登录 sign in"),
    ("/worklists", "工作清单 work lists (reviewer, admin)"),
    ("/pregnancies/search", "孕产妇查询 find a pregnancy (reviewer, admin)"),
    ("/indicators", "指标监测 indicator dashboard (monitor, admin)"),
    ("/data-quality", "数据质量 data quality (monitor, admin)"),
    ("/admin/institutions", "机构与密钥 administration (admin)"),
)


def serve(
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    workers: Annotated[int, typer.Option(help="Worker processes (PostgreSQL only)")] = 1,
    upgrade: Annotated[bool, typer.Option(help="Apply database migrations first")] = True,
) -> None:
    """Run the HTTP service (FHIR interface at /fhir). SIGTERM stops it gracefully: no new
    connections, requests in flight finish (up to MCH_SHUTDOWN_TIMEOUT_SECONDS), background
    loops stop between rounds."""
    # Before anything imports prometheus-client: the workers' metric files go there, and files
    # of an earlier run must not be counted again (docs/operations.md).
    from mch_service.ops.multiproc import prepare_multiprocess_dir

    prepare_multiprocess_dir()
    import uvicorn

    settings = get_settings()
    if upgrade:
        from mch_service.migrate import upgrade as do_upgrade

        do_upgrade(settings.database_url)
    if workers > 1 and settings.database_url.startswith("sqlite"):
        fail("several workers need PostgreSQL; SQLite serves one process")
    configure_logging(settings)
    uvicorn.run(
        wiring().asgi_target,
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_timeout_seconds) or None,
        log_config=None,  # ours (mch_service.logs); each worker process sets it up (jobs/asgi.py)
    )


def demo(
    folder: Annotated[Path, typer.Option("--dir", help="Where the demo keeps its files")] = Path(
        "demo"
    ),
    pregnancies: Annotated[int, typer.Option(help="Pregnancies to simulate")] = 2000,
    seed: Annotated[int, typer.Option(help="Random seed")] = 7,
    host: Annotated[str, typer.Option(help="Interface to listen on")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="TCP port")] = 8000,
    serve_it: Annotated[bool, typer.Option("--serve/--no-serve", help="Serve it")] = True,
) -> None:
    """A demo district: simulated hospitals' records, staff accounts, indicators and work
    lists, served at http://HOST:PORT (its own SQLite database in --dir)."""
    import uvicorn

    from mch_service.demo import demo_settings, prepare

    settings = demo_settings(folder, get_settings())
    with Progress(
        TextColumn("loading"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), console=err
    ) as bar:
        task = bar.add_task("load", total=None)
        accounts = prepare(
            folder,
            settings,
            pregnancies,
            seed,
            lambda m: err.print(m),
            lambda n: bar.advance(task, n),
        )
    url = f"http://{host}:{port}"
    typer.echo(f"\ndemo ready: {url}/ (sign in), API at /api/v1, FHIR at /fhir")
    typer.echo("staff accounts (sign in at the pages):")
    for username, info in accounts.items():
        streets = info["streets"]
        scope = f" (streets {', '.join(streets)})" if 0 < len(streets) <= 3 else ""
        scope = scope or (f" ({len(streets)} streets)" if streets else " (whole district)")
        typer.echo(f"  {info['role']:9} {username:9} password: {info['password']}{scope}")
    typer.echo(f"institutions' API keys: {folder / 'api-keys.json'}")
    typer.echo("pages:")
    for path, what in DEMO_PAGES:
        typer.echo(f"  {url}{path:24} {what}")
    if serve_it:
        configure_logging(settings)
        uvicorn.run(
            wiring().create_app(settings),
            host=host,
            port=port,
            log_level=settings.log_level.lower(),
            access_log=False,
            log_config=None,
        )


@db_app.command("upgrade")
def db_upgrade(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply the Alembic migrations up to REVISION (default: the newest)."""
    from mch_service.migrate import current_revision, upgrade

    url = get_settings().database_url
    upgrade(url, revision)
    typer.echo(f"database at revision {current_revision(url)}")


def worker() -> None:
    """Run the job scheduler (production: next to `serve` with MCH_SCHEDULER_IN_SERVER=false).
    Only one scheduler runs at a time; a second worker waits and takes over if the first
    stops."""
    import signal
    import threading

    configure_logging(get_settings())
    services = load_services()
    loops = wiring().background(services, True)  # the assembly loop (if queued), the scheduler
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    for loop in loops:
        loop.start()
    typer.echo("worker started; waiting for the scheduler lease")
    stop.wait()
    for loop in reversed(loops):
        loop.stop()


def backup(
    path: Annotated[Path, typer.Argument(help="The backup file to write")],
) -> None:
    """Back up the database while the service runs (PostgreSQL: pg_dump; SQLite: the online
    backup API). The file cannot be read without MCH_SECRET_KEY: keep the key, separately."""
    from mch_service.ops.backup import BackupError
    from mch_service.ops.backup import backup as do_backup

    try:
        result = do_backup(get_settings().database_url, path)
    except BackupError as exc:
        fail(str(exc))
    typer.echo(f"backed up the {result.kind} database to {result.path} ({result.size} bytes)")
    typer.echo("it is readable only with this MCH_SECRET_KEY: keep the key too, elsewhere")


def restore(
    path: Annotated[Path, typer.Argument(help="A file written by 'mch-service backup'")],
    replace: Annotated[
        bool, typer.Option("--replace", help="Overwrite a database that is not empty")
    ] = False,
) -> None:
    """Restore a backup into the configured database (empty, unless --replace). Stop the
    servers and workers first. Exit code 3: restored, but MCH_SECRET_KEY cannot read it."""
    from mch_service.crypto import Crypto
    from mch_service.ops.backup import BackupError, key_opens_backup
    from mch_service.ops.backup import restore as do_restore

    settings = get_settings()
    try:
        kind = do_restore(settings.database_url, path, replace)
    except BackupError as exc:
        fail(str(exc))
    typer.echo(f"restored {path} into the {kind} database")
    opens = key_opens_backup(
        settings.database_url, Crypto(settings.secret_key, settings.previous_secret_keys)
    )
    if opens is False:
        fail(
            "the configured MCH_SECRET_KEY (and MCH_PREVIOUS_SECRET_KEYS) cannot open the "
            "restored records: set the key that was in use when the backup was taken",
            3,
        )
    typer.echo("next: 'mch-service db upgrade' if this backup is from an older version")


def settings_command(
    markdown: Annotated[
        bool, typer.Option("--markdown", help="Print the reference table of every setting")
    ] = False,
    write_doc: Annotated[
        Path | None,
        typer.Option("--write-doc", help="Replace the generated table in this file"),
    ] = None,
) -> None:
    """The settings in force (secrets hidden), or the reference table of every setting with
    its type, default and effect (docs/operations.md is generated with --write-doc)."""
    from mch_service.ops.settings_doc import settings_markdown, with_table

    if write_doc is not None:
        try:
            doc = write_doc.read_text(encoding="utf-8")
            write_doc.write_text(with_table(doc, settings_markdown()), encoding="utf-8")
        except (OSError, ValueError) as exc:
            fail(str(exc))
        typer.echo(f"settings table written to {write_doc}")
        return
    if markdown:
        typer.echo(settings_markdown(), nl=False)
        return
    secret = {"secret_key", "previous_secret_keys", "metrics_token", "database_url"}
    for name, value in get_settings().model_dump().items():
        if name in secret and value:
            value = "(set)" if name != "database_url" else _hide_password(str(value))
        typer.echo(f"MCH_{name.upper()}={json.dumps(value, ensure_ascii=False)}")


def _hide_password(url: str) -> str:
    from sqlalchemy import make_url

    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - not a URL: show nothing of it
        return "(set)"
