"""Staff API: tokens for scripts, the signed-in user, and account administration."""

from __future__ import annotations

import orjson
from fastapi import APIRouter, Request, Response
from starlette.concurrency import run_in_threadpool

from mch_service.auth.dependencies import CurrentStaff, client_ip
from mch_service.auth.schemas import (
    CurrentUserRead,
    JurisdictionUpdate,
    PasswordReset,
    TokenRead,
    UserCreate,
    UserRead,
)
from mch_service.deps import ServicesDep, in_transaction
from mch_service.errors import MchError, Unauthorized
from mch_service.timeutil import to_utc

router = APIRouter(prefix="/api/v1", tags=["staff accounts"])
FAILED_SIGN_IN = "Wrong username or password, or the account is locked or disabled"


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


@router.post("/token", response_model=TokenRead)
async def token(request: Request, services: ServicesDep) -> TokenRead:
    """Sign in a script: username and password (JSON or form) -> a bearer token."""
    username, password = await _credentials(request)
    # sign_in opens its own transactions: the password is hashed outside any of them
    result = await run_in_threadpool(
        services.accounts.sign_in, services.db, username, password, "bearer", client_ip(request)
    )
    if result is None:
        raise Unauthorized(FAILED_SIGN_IN)
    issued, _ = result
    return TokenRead(access_token=issued.token, expires_at=to_utc(issued.expires_at))


@router.post("/token/revoke", status_code=204)
async def revoke_token(services: ServicesDep, principal: CurrentStaff) -> Response:
    await in_transaction(services, services.accounts.revoke, principal)
    return Response(status_code=204)


@router.get("/me", response_model=CurrentUserRead)
async def me(principal: CurrentStaff) -> CurrentUserRead:
    return CurrentUserRead(
        username=principal.username,
        role=principal.role.value,
        streets=sorted(principal.streets),
        institutions=sorted(principal.institutions),
    )


@router.get("/users", response_model=list[UserRead])
async def list_users(services: ServicesDep, principal: CurrentStaff) -> list[UserRead]:
    return await in_transaction(services, services.accounts.list_users, principal)


@router.post("/users", status_code=201, response_model=UserRead)
async def add_user(body: UserCreate, services: ServicesDep, principal: CurrentStaff) -> UserRead:
    return await in_transaction(services, services.accounts.add_user, principal, body)


@router.post("/users/{username}/disable", status_code=204)
async def disable_user(username: str, services: ServicesDep, principal: CurrentStaff) -> Response:
    await in_transaction(services, services.accounts.set_active, principal, username, False)
    return Response(status_code=204)


@router.post("/users/{username}/enable", status_code=204)
async def enable_user(username: str, services: ServicesDep, principal: CurrentStaff) -> Response:
    await in_transaction(services, services.accounts.set_active, principal, username, True)
    return Response(status_code=204)


@router.post("/users/{username}/reset-password", status_code=204)
async def reset_password(
    username: str, body: PasswordReset, services: ServicesDep, principal: CurrentStaff
) -> Response:
    await in_transaction(
        services, services.accounts.reset_password, principal, username, body.password
    )
    return Response(status_code=204)


@router.put("/users/{username}/jurisdiction", response_model=UserRead)
async def set_jurisdiction(
    username: str, body: JurisdictionUpdate, services: ServicesDep, principal: CurrentStaff
) -> UserRead:
    return await in_transaction(
        services, services.accounts.update_jurisdiction, principal, username, body
    )


@router.post("/users/{username}/revoke-tokens", status_code=204)
async def revoke_user_tokens(
    username: str, services: ServicesDep, principal: CurrentStaff
) -> Response:
    await in_transaction(services, services.accounts.revoke_user_tokens, principal, username)
    return Response(status_code=204)
