"""Commands about what the service holds: sending institutions and their keys, NDJSON
backfills, the derived pregnancy record, code tables, encryption keys."""

from __future__ import annotations

import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Annotated

import typer
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from mch_service.cli.common import err, fail, load_services
from mch_service.config import get_settings

inst_app = typer.Typer(help="Sending institutions and their API keys", no_args_is_help=True)
keys_app = typer.Typer(help="Encryption keys", no_args_is_help=True)
streets_app = typer.Typer(
    help="The street register: names and responsible centres", no_args_is_help=True
)
domain_app = typer.Typer(
    help="The pregnancy record derived from the stored resources", no_args_is_help=True
)
pregnancies_app = typer.Typer(help="Finding pregnancies: the search indexes", no_args_is_help=True)


@inst_app.command("add")
def institutions_add(
    id: Annotated[str, typer.Option("--id", help="Institution id, e.g. its organisation code")],
    name: Annotated[str, typer.Option("--name", help="Display name")],
    kind: Annotated[
        str, typer.Option("--kind", help="hospital, mch_hospital, chc (community centre), other")
    ] = "other",
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Register a sending institution and print its new API key (shown only once)."""
    from mch_service.errors import MchError
    from mch_service.institutions.service import add_institution

    services = load_services()
    try:
        with services.db.transaction() as session:
            issued = add_institution(session, id, name, kind)
    except MchError as exc:
        fail(exc.message)
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

    services = load_services()
    with services.db.reading() as session:
        rows: list[dict[str, object]] = []
        live: list[int] = []  # unrevoked keys per institution, for the text listing
        for inst in list_institutions(session):
            keys = [
                {"key_id": k.id, "prefix": k.key_prefix, "revoked": k.revoked_at is not None}
                for k in list_keys(session, inst.id)
            ]
            rows.append(
                {
                    "id": inst.id,
                    "name": inst.name,
                    "kind": inst.kind,
                    "active": inst.active,
                    "keys": keys,
                }
            )
            live.append(sum(1 for k in keys if not k["revoked"]))
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r, n in zip(rows, live, strict=True):
        typer.echo(
            f"{r['id']}\t{r['name']}\t{r['kind']}\t{'active' if r['active'] else 'disabled'}"
            f"\t{n} live key(s)"
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

    services = load_services()
    try:
        with services.db.transaction() as session:
            issued = rotate_key(session, id, revoke_old)
    except MchError as exc:
        fail(exc.message)
    _print_key(issued.institution_id, issued.api_key, as_json)


@inst_app.command("revoke-keys")
def institutions_revoke(
    id: Annotated[str, typer.Option("--id")],
    key_id: Annotated[int | None, typer.Option(help="Only this key (see list --json)")] = None,
) -> None:
    """Revoke an institution's API keys (all, or one)."""
    from mch_service.errors import MchError
    from mch_service.institutions.service import revoke_keys

    services = load_services()
    try:
        with services.db.transaction() as session:
            n = revoke_keys(session, id, key_id)
    except MchError as exc:
        fail(exc.message)
    typer.echo(f"revoked {n} key(s)")


def import_ndjson(
    paths: Annotated[list[Path], typer.Argument(help="NDJSON files or folders of *.ndjson")],
    institution: Annotated[str, typer.Option("--institution", help="Sending institution id")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON")] = False,
) -> None:
    """Backfill history from NDJSON files (one resource per line). Safe to run again."""
    from mch_service.audit.service import Actor
    from mch_service.fhir_api.bulk import LineTooLong, iter_lines, run_import
    from mch_service.institutions.service import list_institutions

    files: list[Path] = []
    for p in paths:
        if p.is_dir():
            files.extend(sorted(p.rglob("*.ndjson")))
        elif p.exists():
            files.append(p)
        else:
            fail(f"{p} does not exist")
    services = load_services()
    with services.db.reading() as session:
        if institution not in {known.id for known in list_institutions(session)}:
            fail(f"no institution {institution!r} (register it with 'institutions add')")
    # one resource per line, at most MCH_MAX_RESOURCE_BYTES: a longer line is that line's
    # error, skipped without being held whole (as for POST /fhir/$import)
    cap = services.settings.max_resource_bytes
    total = 0
    for f in files:
        with f.open("rb") as fh:
            total += sum(1 for _ in iter_lines(str(f), fh, cap))
    actor = Actor("institution", institution, "cli")

    def lines() -> Iterator[tuple[str, int, bytes | LineTooLong]]:
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


@keys_app.command("rotate")
def keys_rotate() -> None:
    """After moving the old MCH_SECRET_KEY into MCH_PREVIOUS_SECRET_KEYS and setting a new one:
    re-seal everything sealed (stored versions, patients' personal data, reviewers' notes,
    outcomes and reasons) under the new key and recompute every keyed hash (identifier index,
    name hashes, resident-ID hashes and the woman keys made from them). Resumable: run it
    again if it stopped."""
    from mch_service.ops.key_rotation import rotate_keys

    services = load_services()
    counts = rotate_keys(services.db, services.store, services.domain)
    typer.echo(
        f"re-sealed {counts['versions']} versions, re-hashed {counts['identifiers']} "
        f"identifiers of {counts['resources']} resources; re-sealed "
        f"{counts['patient_records']} patient records and {counts['case_texts']} case rows; "
        f"re-hashed {counts['name_hashes']} names; re-keyed {counts['women']} women"
    )


@pregnancies_app.command("reindex-names")
def pregnancies_reindex_names() -> None:
    """Compute the keyed hash of every patient record's name (search by name) from its sealed
    name. Run once after upgrading to the release that brought search by name (records
    stored before it have none); safe to run again, resumable."""
    from mch_service.domain.name_index import reindex_names

    services = load_services()
    counts = reindex_names(services.db, services.crypto)
    typer.echo(
        f"name hashes: {counts['name_hashes']} written of {counts['patient_records']} "
        "patient records"
    )


@domain_app.command("rebuild")
def domain_rebuild() -> None:
    """Derive every domain row again from the stored resources (e.g. after a code table
    changed). Gives the same rows as the incremental derivation."""
    services = load_services()
    counts = services.domain.rebuild(services.db, services.store)
    typer.echo(f"rebuilt from {counts['resources']} resources: {counts['women']} women")


@domain_app.command("process")
def domain_process() -> None:
    """Assemble the women waiting in the queue (MCH_DOMAIN_ASSEMBLY=queued) now."""
    services = load_services()
    n = services.domain.process_queue(services.db)
    typer.echo(f"assembled {n} women")


@domain_app.command("unmapped")
def domain_unmapped(
    institution: Annotated[str | None, typer.Option("--institution")] = None,
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Codes no code table recognises, per sender (what a site should map)."""
    from mch_service.domain.service import unmapped_report

    services = load_services()
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


def codes_check(
    folder: Annotated[Path | None, typer.Argument(help="A folder of code-table CSV files")] = None,
) -> None:
    """Load the code tables (defaults plus FOLDER or MCH_CODE_TABLES_DIR) and report problems."""
    from fhir_mappings import CodeTableError, load_code_tables

    settings = get_settings()
    try:
        tables = load_code_tables(folder or settings.code_tables_dir, settings.canonical_base)
    except CodeTableError as exc:
        fail(str(exc))
    typer.echo(f"{len(tables.all_rows())} codes from {', '.join(tables.files)}")


@streets_app.command("set")
def streets_set(
    code: Annotated[str, typer.Option("--code", help="Street code, e.g. 440115001")],
    name: Annotated[str, typer.Option("--name", help="Name, e.g. 南沙街道")],
    centre: Annotated[
        str | None, typer.Option("--centre", help="Institution id of its community centre")
    ] = None,
    name_en: Annotated[str | None, typer.Option("--name-en")] = None,
) -> None:
    """Register a street or town (or rename it, or change its centre)."""
    from mch_service.errors import MchError
    from mch_service.institutions.service import set_street

    services = load_services()
    try:
        with services.db.transaction() as session:
            set_street(session, code, name, centre, name_en, services.settings.streets)
    except MchError as exc:
        fail(exc.message)
    typer.echo(f"street {code}: {name}")


@streets_app.command("load")
def streets_load(
    path: Annotated[Path, typer.Argument(help="CSV with columns code,name[,centre_id,name_en]")],
) -> None:
    """Register every street of a CSV file (UTF-8, header row), in one transaction."""
    import csv

    from mch_service.errors import MchError
    from mch_service.institutions.service import set_street

    services = load_services()
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    try:
        with services.db.transaction() as session:
            for n, row in enumerate(rows, start=2):
                try:
                    set_street(
                        session,
                        (row.get("code") or "").strip(),
                        (row.get("name") or "").strip(),
                        (row.get("centre_id") or "").strip() or None,
                        (row.get("name_en") or "").strip() or None,
                        services.settings.streets,
                    )
                except MchError as exc:
                    raise MchError(f"line {n}: {exc.message}") from exc
    except MchError as exc:
        fail(exc.message)
    typer.echo(f"{len(rows)} street(s) registered")


@streets_app.command("list")
def streets_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List the street register."""
    from mch_service.institutions.service import list_streets

    services = load_services()
    with services.db.reading() as session:
        rows = [
            {"code": s.code, "name": s.name, "name_en": s.name_en, "centre_id": s.centre_id}
            for s in list_streets(session)
        ]
    if as_json:
        typer.echo(json.dumps(rows, ensure_ascii=False))
        return
    for r in rows:
        typer.echo(f"{r['code']}\t{r['name']}\t{r['centre_id'] or '-'}")
