"""The ``mch-service`` command."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mch_service.config import Settings, get_settings
from mch_service.simulator.cli import simulate_command

app = typer.Typer(help="Maternal and child health information service", no_args_is_help=True)
db_app = typer.Typer(help="Database schema", no_args_is_help=True)
inst_app = typer.Typer(help="Sending institutions and their API keys", no_args_is_help=True)
app.add_typer(db_app, name="db")
app.add_typer(inst_app, name="institutions")
app.command("simulate")(simulate_command)
users_app = typer.Typer(help="Staff accounts (admin, reviewer, monitor)", no_args_is_help=True)
keys_app = typer.Typer(help="Encryption keys", no_args_is_help=True)
domain_app = typer.Typer(
    help="The pregnancy record derived from the stored resources", no_args_is_help=True
)
app.add_typer(domain_app, name="domain")
jobs_app = typer.Typer(help="Scheduled jobs: run now, list runs", no_args_is_help=True)
app.add_typer(jobs_app, name="jobs")
app.add_typer(users_app, name="users")
app.add_typer(keys_app, name="keys")
err = Console(stderr=True)


def _fail(message: str, code: int = 1) -> None:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def _configure_logging(settings: Settings) -> None:
    from mch_service.logs import configure_logging

    configure_logging(settings.log_level, production=settings.env == "production")


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
        _fail("several workers need PostgreSQL; SQLite serves one process")
    _configure_logging(settings)
    uvicorn.run(
        "mch_service.asgi:app",
        host=host,
        port=port,
        workers=workers,
        log_level=settings.log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=int(settings.shutdown_timeout_seconds) or None,
        log_config=None,  # ours (mch_service.logs); each worker process sets it up in asgi.py
    )


@app.command()
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

    from mch_service.app import create_app
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
    typer.echo(f"\ndemo ready: http://{host}:{port}/ (sign in), API at /api/v1, FHIR at /fhir")
    for username, info in accounts.items():
        scope = f" (streets {', '.join(info['streets'])})" if info["streets"] else ""
        typer.echo(f"  {info['role']:9} {username:9} password: {info['password']}{scope}")
    typer.echo(f"  institutions' API keys: {folder / 'api-keys.json'}")
    if serve_it:
        _configure_logging(settings)
        uvicorn.run(
            create_app(settings),
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
    # one resource per line, at most MCH_MAX_RESOURCE_BYTES: a longer line is that line's
    # error, skipped without being held whole (as for POST /fhir/$import)
    cap = services.settings.max_resource_bytes
    total = 0
    for f in files:
        with f.open("rb") as fh:
            total += sum(1 for _ in iter_lines(str(f), fh, cap))
    actor = Actor("institution", institution, "cli")

    def lines():  # type: ignore[no-untyped-def]
        for f in files:
            with f.open("rb") as fh:
                yield from iter_lines(str(f), fh, cap)

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


def _read_password(password_stdin: bool) -> tuple[str, bool]:
    """The password from standard input, or a generated one (then printed once)."""
    if password_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    import secrets

    return secrets.token_urlsafe(12) + "-Aa1", True


def _jurisdiction(services, values: list[str]) -> tuple[list[str], list[str]]:  # type: ignore[no-untyped-def]
    """'street:CODE', 'institution:ID', or a bare value: an institution id when one is
    registered under it, else a street code. Commas separate several."""
    from mch_service.institutions.service import list_institutions

    with services.db.reading() as session:
        known = {i.id for i in list_institutions(session)}
    streets: list[str] = []
    institutions: list[str] = []
    for value in (v.strip() for raw in values for v in raw.split(",")):
        if not value:
            continue
        kind, _, rest = value.partition(":")
        if rest and kind in ("street", "institution"):
            (streets if kind == "street" else institutions).append(rest)
        elif value in known:
            institutions.append(value)
        else:
            streets.append(value)
    unknown = [i for i in institutions if i not in known]
    if unknown:
        _fail(f"no institution {', '.join(unknown)}")
    return streets, institutions


@users_app.command("add")
def users_add(
    username: Annotated[str, typer.Option("--username")],
    role: Annotated[str, typer.Option("--role", help="admin | reviewer | monitor")],
    jurisdiction: Annotated[
        list[str] | None,
        typer.Option(
            "--jurisdiction", help="Street codes and/or institution ids (reviewers); repeatable"
        ),
    ] = None,
    display_name: Annotated[str, typer.Option("--display-name")] = "",
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the password from standard input")
    ] = False,
) -> None:
    """Create a staff account. Without --password-stdin a password is generated and shown once."""
    from mch_service.auth.permissions import system_principal
    from mch_service.auth.schemas import UserCreate
    from mch_service.errors import MchError

    services = _services()
    streets, institutions = _jurisdiction(services, jurisdiction or [])
    password, generated = _read_password(password_stdin)
    try:
        with services.db.transaction() as session:
            user = services.accounts.add_user(
                session,
                system_principal(),
                UserCreate(
                    username=username,
                    role=role,
                    password=password,
                    streets=streets,
                    institutions=institutions,
                    display_name=display_name,
                ),
            )
    except MchError as exc:
        _fail("; ".join(i.message for i in exc.all_issues()))
    typer.echo(
        f"user {user.username} ({user.role}) created"
        + (f"; streets {', '.join(user.streets)}" if user.streets else "")
        + (f"; institutions {', '.join(user.institutions)}" if user.institutions else "")
    )
    if generated:
        typer.echo(f"password (shown once): {password}")


@users_app.command("list")
def users_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List staff accounts."""
    from mch_service.auth.permissions import system_principal

    services = _services()
    with services.db.reading() as session:
        users = services.accounts.list_users(session, system_principal())
    if as_json:
        typer.echo(
            json.dumps(
                [{**u.__dict__, "created_at": u.created_at.isoformat()} for u in users],
                ensure_ascii=False,
            )
        )
        return
    for u in users:
        state = "disabled" if not u.active else "locked" if u.locked else "active"
        scope = ",".join(u.streets + u.institutions) or "-"
        typer.echo(f"{u.username}\t{u.role}\t{state}\t{scope}")


def _user_action(action: str, username: str, *args: object) -> None:
    from mch_service.auth.permissions import system_principal
    from mch_service.errors import MchError

    services = _services()
    try:
        with services.db.transaction() as session:
            getattr(services.accounts, action)(session, system_principal(), username, *args)
    except MchError as exc:
        _fail("; ".join(i.message for i in exc.all_issues()))


@users_app.command("disable")
def users_disable(username: Annotated[str, typer.Option("--username")]) -> None:
    """Disable an account and sign it out everywhere."""
    _user_action("set_active", username, False)
    typer.echo(f"user {username} disabled")


@users_app.command("enable")
def users_enable(username: Annotated[str, typer.Option("--username")]) -> None:
    """Enable a disabled account."""
    _user_action("set_active", username, True)
    typer.echo(f"user {username} enabled")


@users_app.command("reset-password")
def users_reset_password(
    username: Annotated[str, typer.Option("--username")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
) -> None:
    """Set a new password (generated unless --password-stdin); signs the account out."""
    password, generated = _read_password(password_stdin)
    _user_action("reset_password", username, password)
    typer.echo(
        f"password of {username} reset" + (f" to (shown once): {password}" if generated else "")
    )


@users_app.command("revoke-tokens")
def users_revoke_tokens(username: Annotated[str, typer.Option("--username")]) -> None:
    """Sign an account out of every session and token."""
    _user_action("revoke_user_tokens", username)
    typer.echo(f"tokens of {username} revoked")


@keys_app.command("rotate")
def keys_rotate() -> None:
    """After moving the old MCH_SECRET_KEY into MCH_PREVIOUS_SECRET_KEYS and setting a new one:
    re-seal everything sealed (stored versions, patients' personal data, reviewers' notes,
    outcomes and reasons) under the new key and recompute every keyed hash (identifier index,
    resident-ID hashes and the woman keys made from them). Resumable: run it again if it
    stopped."""
    from mch_service.store.rotation import rotate_keys

    services = _services()
    counts = rotate_keys(services.db, services.store, services.domain)
    typer.echo(
        f"re-sealed {counts['versions']} versions, re-hashed {counts['identifiers']} "
        f"identifiers of {counts['resources']} resources; re-sealed "
        f"{counts['patient_records']} patient records and {counts['case_texts']} case rows; "
        f"re-keyed {counts['women']} women"
    )


@domain_app.command("rebuild")
def domain_rebuild() -> None:
    """Derive every domain row again from the stored resources (e.g. after a code table
    changed). Gives the same rows as the incremental derivation."""
    services = _services()
    counts = services.domain.rebuild(services.db, services.store)
    typer.echo(f"rebuilt from {counts['resources']} resources: {counts['women']} women")


@domain_app.command("process")
def domain_process() -> None:
    """Assemble the women waiting in the queue (MCH_DOMAIN_ASSEMBLY=queued) now."""
    services = _services()
    n = services.domain.process_queue(services.db)
    typer.echo(f"assembled {n} women")


@domain_app.command("unmapped")
def domain_unmapped(
    institution: Annotated[str | None, typer.Option("--institution")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Codes no code table recognises, per sender (what a site should map)."""
    from mch_service.domain.service import unmapped_report

    services = _services()
    with services.db.reading() as session:
        rows = unmapped_report(session, institution)
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        typer.echo(
            f"{r['institution']}\t{r['resource_type']}.{r['element']}\t{r['system']}|"
            f"{r['code']}\t{r['display'] or ''}\t{r['count']}\t{r['first_seen'][:10]}"
            f"..{r['last_seen'][:10]}"
        )


@app.command("codes-check")
def codes_check(
    folder: Annotated[Path | None, typer.Argument(help="A folder of code-table CSV files")] = None,
) -> None:
    """Load the code tables (defaults plus FOLDER or MCH_CODE_TABLES_DIR) and report problems."""
    from fhir_mappings import CodeTableError, load_code_tables

    settings = get_settings()
    try:
        tables = load_code_tables(folder or settings.code_tables_dir, settings.canonical_base)
    except CodeTableError as exc:
        _fail(str(exc))
    typer.echo(f"{len(tables.all_rows())} codes from {', '.join(tables.files)}")


@jobs_app.command("run")
def jobs_run(
    name: Annotated[str, typer.Argument(help="A job name, or 'all'")],
    as_of: Annotated[str | None, typer.Option("--as-of", help="YYYY-MM-DD")] = None,
) -> None:
    """Run a job now (recorded like a scheduled run)."""
    from datetime import date

    from jobs.runner import job_names, run_job

    day = None
    if as_of:
        try:
            day = date.fromisoformat(as_of)
        except ValueError:
            _fail(f"--as-of {as_of!r} is not a date (YYYY-MM-DD)")
    names = [n for n in job_names() if n != "indicators_full"] if name == "all" else [name]
    unknown = [n for n in names if n not in job_names()]
    if unknown:
        _fail(f"no job {unknown[0]!r} (jobs: {', '.join(job_names())})")
    services = _services()
    failed = False
    for n in names:
        run = run_job(services, n, day, "manual")
        typer.echo(
            f"{n}: {run.status}, {run.rows_touched} rows" + (f" ({run.error})" if run.error else "")
        )
        failed |= run.status != "succeeded"
    if failed:
        raise typer.Exit(1)


@jobs_app.command("list")
def jobs_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """The jobs, their schedules and the latest runs."""
    from jobs.runner import job_names, recent_runs
    from jobs.scheduler import lease_holder

    services = _services()
    with services.db.reading() as session:
        runs = recent_runs(session, None, 20)
    if as_json:
        typer.echo(json.dumps({"jobs": job_names(), "runs": runs}, ensure_ascii=False))
        return
    schedules = services.settings.job_schedules
    for n in job_names():
        typer.echo(f"{n}\t{schedules.get(n) or 'not scheduled'}")
    typer.echo(f"scheduler held by: {lease_holder(services.db) or 'nobody'}")
    for r in runs:
        typer.echo(
            f"  {r['started_at'][:19]} {r['job']} {r['status']} {r['rows_touched']} "
            f"{r['error'] or ''}"
        )


@app.command()
def worker() -> None:
    """Run the job scheduler (production: next to `serve` with MCH_SCHEDULER_IN_SERVER=false).
    Only one scheduler runs at a time; a second worker waits and takes over if the first
    stops."""
    import signal
    import threading

    from jobs.scheduler import Scheduler

    _configure_logging(get_settings())
    services = _services()
    scheduler = Scheduler(services, services.settings.job_schedules)
    assembly = None
    if services.settings.domain_assembly == "queued":
        from jobs.assembly import AssemblyLoop

        assembly = AssemblyLoop(services)
        assembly.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    scheduler.start()
    typer.echo("worker started; waiting for the scheduler lease")
    stop.wait()
    scheduler.stop()
    if assembly is not None:
        assembly.stop()


@app.command()
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
        _fail(str(exc))
    typer.echo(f"backed up the {result.kind} database to {result.path} ({result.size} bytes)")
    typer.echo("it is readable only with this MCH_SECRET_KEY: keep the key too, elsewhere")


@app.command()
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
        _fail(str(exc))
    typer.echo(f"restored {path} into the {kind} database")
    opens = key_opens_backup(
        settings.database_url, Crypto(settings.secret_key, settings.previous_secret_keys)
    )
    if opens is False:
        _fail(
            "the configured MCH_SECRET_KEY (and MCH_PREVIOUS_SECRET_KEYS) cannot open the "
            "restored records: set the key that was in use when the backup was taken",
            3,
        )
    typer.echo("next: 'mch-service db upgrade' if this backup is from an older version")


@app.command("settings")
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
            _fail(str(exc))
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


def main() -> None:
    app()
