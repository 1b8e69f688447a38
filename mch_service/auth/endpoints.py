"""Staff API: tokens for scripts, the signed-in user, and account administration."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import orjson
from fastapi import APIRouter, Request, Response
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from mch_service.auth.dependencies import CurrentStaff, client_ip
from mch_service.errors import MchError, Unauthorized

router = APIRouter(prefix="/api/v1", tags=["staff accounts"])
FAILED_SIGN_IN = "Wrong username or password, or the account is locked or disabled"


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime


class NewUser(BaseModel):
    username: str
    role: str
    password: str = Field(repr=False)
    display_name: str = ""
    streets: list[str] = []
    institutions: list[str] = []


class PasswordIn(BaseModel):
    password: str = Field(repr=False)


class JurisdictionIn(BaseModel):
    streets: list[str] = []
    institutions: list[str] = []


async def _credentials(request: Request) -> tuple[str, str]:
    ctype = request.headers.get("content-type", "")
    if ctype.startswith("application/json"):
        try:
            # orjson, as for FHIR: it refuses lone surrogates, which the json module lets
            # through to fail later in the database driver
            body = orjson.loads(await request.body())
        except orjson.JSONDecodeError:
            raise MchError("The body is not valid JSON", 400, [], "invalid") from None
        if not isinstance(body, dict):
            body = {}
    else:  # the OAuth2 password form most clients send
        body = dict(await request.form())
    username, password = body.get("username"), body.get("password")
    # Only strings count (a form's file field or a JSON object is no username). A NUL can be in
    # no username, and PostgreSQL refuses it in a query: it becomes U+FFFD, so the attempt is
    # refused (and audited) like any unknown name, at the same cost.
    return (
        username.replace("\x00", "\ufffd") if isinstance(username, str) else "",
        password if isinstance(password, str) else "",
    )


@router.post("/token", response_model=TokenOut)
async def token(request: Request) -> TokenOut:
    """Sign in a script: username and password (JSON or form) -> a bearer token."""
    username, password = await _credentials(request)
    services = request.app.state.services
    ip = client_ip(request)

    result = await run_in_threadpool(
        services.accounts.sign_in, services.db, username, password, "bearer", ip
    )
    if result is None:
        raise Unauthorized(FAILED_SIGN_IN)
    issued, _ = result
    return TokenOut(access_token=issued.token, expires_at=issued.expires_at)


@router.post("/token/revoke", status_code=204)
async def revoke_token(request: Request, principal: CurrentStaff) -> Response:
    services = request.app.state.services

    def _revoke() -> None:
        with services.db.transaction() as session:
            services.accounts.revoke(session, principal)

    await run_in_threadpool(_revoke)
    return Response(status_code=204)


@router.get("/me")
async def me(principal: CurrentStaff) -> dict[str, Any]:
    return {
        "username": principal.username,
        "role": principal.role,
        "streets": sorted(principal.streets),
        "institutions": sorted(principal.institutions),
    }


def _in_tx(request: Request, fn: Any, *args: Any) -> Any:
    services = request.app.state.services

    def _run() -> Any:
        with services.db.transaction() as session:
            return fn(session, *args)

    return run_in_threadpool(_run)


@router.get("/users")
async def list_users(request: Request, principal: CurrentStaff) -> list[dict[str, Any]]:
    users = await _in_tx(request, request.app.state.services.accounts.list_users, principal)
    return [u.__dict__ for u in users]


@router.post("/users", status_code=201)
async def add_user(body: NewUser, request: Request, principal: CurrentStaff) -> dict[str, Any]:
    accounts = request.app.state.services.accounts
    user = await _in_tx(
        request,
        accounts.add_user,
        principal,
        body.username,
        body.role,
        body.password,
        body.streets,
        body.institutions,
        body.display_name,
    )
    return user.__dict__  # type: ignore[no-any-return]


@router.post("/users/{username}/disable", status_code=204)
async def disable_user(username: str, request: Request, principal: CurrentStaff) -> Response:
    await _in_tx(
        request, request.app.state.services.accounts.set_active, principal, username, False
    )
    return Response(status_code=204)


@router.post("/users/{username}/enable", status_code=204)
async def enable_user(username: str, request: Request, principal: CurrentStaff) -> Response:
    await _in_tx(request, request.app.state.services.accounts.set_active, principal, username, True)
    return Response(status_code=204)


@router.post("/users/{username}/reset-password", status_code=204)
async def reset_password(
    username: str, body: PasswordIn, request: Request, principal: CurrentStaff
) -> Response:
    await _in_tx(
        request,
        request.app.state.services.accounts.reset_password,
        principal,
        username,
        body.password,
    )
    return Response(status_code=204)


@router.put("/users/{username}/jurisdiction")
async def set_jurisdiction(
    username: str, body: JurisdictionIn, request: Request, principal: CurrentStaff
) -> dict[str, Any]:
    user = await _in_tx(
        request,
        request.app.state.services.accounts.update_jurisdiction,
        principal,
        username,
        body.streets,
        body.institutions,
    )
    return user.__dict__  # type: ignore[no-any-return]


@router.post("/users/{username}/revoke-tokens", status_code=204)
async def revoke_user_tokens(username: str, request: Request, principal: CurrentStaff) -> Response:
    await _in_tx(
        request, request.app.state.services.accounts.revoke_user_tokens, principal, username
    )
    return Response(status_code=204)
