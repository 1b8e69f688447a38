"""Commands for staff accounts (admin, reviewer, monitor)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING, Annotated

import typer

from mch_service.cli.common import fail, load_services

if TYPE_CHECKING:
    # for types only: a command imports the application when it runs, not when the CLI starts
    from sqlalchemy.orm import Session

    from mch_service.auth.permissions import Principal
    from mch_service.auth.service import StaffAccounts
    from mch_service.services import Services

users_app = typer.Typer(help="Staff accounts (admin, reviewer, monitor)", no_args_is_help=True)


def _read_password(password_stdin: bool) -> tuple[str, bool]:
    """The password from standard input, or a generated one (then printed once)."""
    if password_stdin:
        return sys.stdin.readline().rstrip("\n"), False
    import secrets

    return secrets.token_urlsafe(12) + "-Aa1", True


def _jurisdiction(services: Services, values: list[str]) -> tuple[list[str], list[str]]:
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
        fail(f"no institution {', '.join(unknown)}")
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

    services = load_services()
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
        fail("; ".join(i.message for i in exc.all_issues()))
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

    services = load_services()
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


# What a command does to one account: (accounts, session, acting principal) -> None
AccountAction = Callable[["StaffAccounts", "Session", "Principal"], None]


def _user_action(action: AccountAction) -> None:
    from mch_service.auth.permissions import system_principal
    from mch_service.errors import MchError

    services = load_services()
    try:
        with services.db.transaction() as session:
            action(services.accounts, session, system_principal())
    except MchError as exc:
        fail("; ".join(i.message for i in exc.all_issues()))


@users_app.command("disable")
def users_disable(username: Annotated[str, typer.Option("--username")]) -> None:
    """Disable an account and sign it out everywhere."""
    _user_action(lambda accounts, session, by: accounts.set_active(session, by, username, False))
    typer.echo(f"user {username} disabled")


@users_app.command("enable")
def users_enable(username: Annotated[str, typer.Option("--username")]) -> None:
    """Enable a disabled account."""
    _user_action(lambda accounts, session, by: accounts.set_active(session, by, username, True))
    typer.echo(f"user {username} enabled")


@users_app.command("reset-password")
def users_reset_password(
    username: Annotated[str, typer.Option("--username")],
    password_stdin: Annotated[bool, typer.Option("--password-stdin")] = False,
) -> None:
    """Set a new password (generated unless --password-stdin); signs the account out."""
    password, generated = _read_password(password_stdin)
    _user_action(
        lambda accounts, session, by: accounts.reset_password(session, by, username, password)
    )
    typer.echo(
        f"password of {username} reset" + (f" to (shown once): {password}" if generated else "")
    )


@users_app.command("revoke-tokens")
def users_revoke_tokens(username: Annotated[str, typer.Option("--username")]) -> None:
    """Sign an account out of every session and token."""
    _user_action(lambda accounts, session, by: accounts.revoke_user_tokens(session, by, username))
    typer.echo(f"tokens of {username} revoked")
