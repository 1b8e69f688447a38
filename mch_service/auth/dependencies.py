"""Who is asking: FastAPI dependencies for staff routes (bearer token or session cookie)."""

from __future__ import annotations

import secrets
from dataclasses import replace
from typing import Annotated

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from mch_service.auth.permissions import Principal
from mch_service.auth.service import StaffAccounts
from mch_service.deps import get_services, in_transaction
from mch_service.errors import Forbidden, Unauthorized

SESSION_COOKIE = "mch_session"
CSRF_HEADER = "x-csrf-token"
_SAFE_METHODS = ("GET", "HEAD", "OPTIONS")


def signed_in(
    session: Session, accounts: StaffAccounts, token: str, kind: str | None
) -> tuple[Principal, str | None]:
    """The staff member behind a token and the CSRF token of its session (None for a bearer
    token), or 401."""
    principal, row = accounts.resolve(session, token, kind)
    return principal, row.csrf_token


async def current_staff(request: Request) -> Principal:
    """The signed-in staff member (FastAPI dependency; pages and the metrics route also call it
    with their request)."""
    services = get_services(request)
    header = request.headers.get("authorization", "")
    scheme, _, token = header.partition(" ")
    via_cookie = False
    if scheme.lower() == "bearer" and token.strip():
        token = token.strip()
    else:
        token = request.cookies.get(SESSION_COOKIE, "")
        via_cookie = True
    if not token:
        raise Unauthorized("Sign in first (POST /api/v1/token, or the sign-in page)")

    principal, csrf = await in_transaction(
        services, signed_in, services.accounts, token, "session" if via_cookie else None
    )
    principal = replace(principal, client_ip=client_ip(request))
    if via_cookie and request.method not in _SAFE_METHODS:
        # A browser sends the cookie with any request, also one forged by another site:
        # changes through a cookie session must prove they come from our own page.
        sent = request.headers.get(CSRF_HEADER)
        if sent is None:
            form = (
                await request.form()
                if request.headers.get("content-type", "").startswith(
                    ("application/x-www-form-urlencoded", "multipart/form-data")
                )
                else None
            )
            sent = str(form.get("csrf_token") or "") if form is not None else ""
        if not csrf or not secrets.compare_digest(sent or "", csrf):
            raise Forbidden(
                "The form is stale or came from elsewhere (CSRF check); reload the "
                "page and try again"
            )
    request.state.principal = principal
    return principal


CurrentStaff = Annotated[Principal, Depends(current_staff)]


def client_ip(request: Request) -> str | None:
    return request.client.host if request.client else None
