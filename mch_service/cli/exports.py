"""Commands about the bulk export's clients: the platforms above the district that pull
``$export`` (docs/bulk-export.md). Whoever has a shell on the server administers them; each
change is audited as the command line's."""

from __future__ import annotations

import json
from typing import Annotated

import typer

from mch_service.cli.common import fail, load_services

clients_app = typer.Typer(
    help="Export clients: the platforms that pull bulk exports ($export)", no_args_is_help=True
)


def _print_key(client_id: str, api_key: str, as_json: bool) -> None:
    if as_json:
        typer.echo(json.dumps({"id": client_id, "api_key": api_key}))
    else:
        typer.echo(f"export client: {client_id}\nkey (shown once, keep it safe): {api_key}")


@clients_app.command("add")
def export_clients_add(
    id: Annotated[str, typer.Option("--id", help="Client id, e.g. gd-province")],
    name: Annotated[str, typer.Option("--name", help="Display name")],
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON")] = False,
) -> None:
    """Register an export client and print its key (shown only once; export-only)."""
    from pydantic import ValidationError

    from mch_service.auth.permissions import system_principal
    from mch_service.bulk_export.schemas import ExportClientCreate
    from mch_service.bulk_export.service import register_client
    from mch_service.errors import MchError

    try:
        body = ExportClientCreate(id=id, name=name)
    except ValidationError:
        fail("the id must be 1-64 letters, digits, '-' or '.', and the name 1-200 characters")
    services = load_services()
    try:
        with services.db.transaction() as session:
            issued = register_client(session, system_principal(), body)
    except MchError as exc:
        fail(exc.message)
    _print_key(issued.id, issued.api_key, as_json)


@clients_app.command("list")
def export_clients_list(as_json: Annotated[bool, typer.Option("--json")] = False) -> None:
    """List export clients (key prefixes only)."""
    from mch_service.auth.permissions import system_principal
    from mch_service.bulk_export.service import list_clients

    services = load_services()
    with services.db.reading() as session:
        rows = list_clients(session, system_principal())
    if as_json:
        typer.echo(json.dumps([r.model_dump() for r in rows], ensure_ascii=False))
        return
    for r in rows:
        state = "active" if r.active else "disabled"
        typer.echo(f"{r.id}\t{r.name}\t{state}\t{r.key_prefix}…\tkey issued {r.key_issued_at}")


@clients_app.command("rotate-key")
def export_clients_rotate_key(
    id: Annotated[str, typer.Option("--id")],
    as_json: Annotated[bool, typer.Option("--json")] = False,
) -> None:
    """Issue a new key; the old one stops working at once."""
    from mch_service.auth.permissions import system_principal
    from mch_service.bulk_export.service import rotate_client_key
    from mch_service.errors import MchError

    services = load_services()
    try:
        with services.db.transaction() as session:
            issued = rotate_client_key(session, system_principal(), id)
    except MchError as exc:
        fail(exc.message)
    _print_key(issued.id, issued.api_key, as_json)


@clients_app.command("disable")
def export_clients_disable(id: Annotated[str, typer.Option("--id")]) -> None:
    """Refuse the client's key from now on (enable it again with 'enable')."""
    _set_active(id, False)


@clients_app.command("enable")
def export_clients_enable(id: Annotated[str, typer.Option("--id")]) -> None:
    """Accept a disabled client's key again."""
    _set_active(id, True)


def _set_active(client_id: str, active: bool) -> None:
    from mch_service.auth.permissions import system_principal
    from mch_service.bulk_export.service import set_client_active
    from mch_service.errors import MchError

    services = load_services()
    try:
        with services.db.transaction() as session:
            set_client_active(session, system_principal(), client_id, active)
    except MchError as exc:
        fail(exc.message)
    typer.echo(f"export client {client_id}: {'active' if active else 'disabled'}")
