"""Staff pages: sign-in, sign-out, the home page and the served docs. Server-rendered, offline."""

from __future__ import annotations

import secrets
from pathlib import Path
from typing import Any
from urllib.parse import quote

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markdown_it import MarkdownIt
from starlette.concurrency import run_in_threadpool

from mch_service.auth.dependencies import SESSION_COOKIE, client_ip, current_staff, signed_in
from mch_service.deps import ServicesDep, get_services, in_transaction
from mch_service.errors import MchError, NotFound, TooManyRequests
from mch_service.middleware import over_https
from mch_service.web.i18n import LANG_COOKIE, labels, language

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))
LOGIN_CSRF_COOKIE = "mch_login_csrf"
# The docs of a source checkout, else ./docs of the working directory (the image copies them).
DOCS_DIRS = (Path(__file__).resolve().parents[2] / "docs", Path.cwd() / "docs")
PUBLIC_DOCS = (
    "interface-guide",
    "code-tables",
    "indicator-rules",
    "indicators",
    "domain",
    "monitoring-guide",
)


def _secure(request: Request) -> bool:
    mode = get_services(request).settings.cookie_secure
    if mode != "auto":
        return mode == "always"
    return over_https(request.scope)


def _render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> Response:
    lang = language(request)
    response = templates.TemplateResponse(
        request,
        name,
        {"lang": lang, "t": labels(lang), "principal": None, **context},
        status_code=status,
    )
    if request.query_params.get("lang") in ("zh", "en"):
        response.set_cookie(
            LANG_COOKIE,
            lang,
            max_age=365 * 86400,
            samesite="lax",
            httponly=True,
            secure=_secure(request),
        )
    return response


def _safe_next(raw: str | None) -> str:
    # Only our own paths: never redirect a signed-in user to another site.
    return raw if raw and raw.startswith("/") and not raw.startswith("//") else "/"


@router.get("/login")
async def login_page(request: Request, next: str = "/") -> Response:
    token = secrets.token_urlsafe(24)
    response = _render(
        request, "login.html", {"csrf_token": token, "next": _safe_next(next), "error": None}
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=_secure(request),
        path="/login",
    )
    return response


@router.post("/login")
async def login(request: Request, services: ServicesDep) -> Response:
    form = await request.form()
    sent, cookie = str(form.get("csrf_token") or ""), request.cookies.get(LOGIN_CSRF_COOKIE, "")
    next_url = _safe_next(str(form.get("next") or "/"))
    t = labels(language(request))
    if not cookie or not secrets.compare_digest(sent, cookie):
        return RedirectResponse(f"/login?next={quote(next_url)}", status_code=303)
    ip = client_ip(request)
    username, password = str(form.get("username") or ""), str(form.get("password") or "")

    try:
        result = await run_in_threadpool(
            services.accounts.sign_in, services.db, username, password, "session", ip
        )
        error, status, headers = t["sign_in_failed"], 401, {}
    except TooManyRequests as exc:
        result = None
        error, status = t["sign_in_throttled"].format(seconds=exc.retry_after), 429
        headers = {"Retry-After": str(exc.retry_after)}
    if result is None:
        token = secrets.token_urlsafe(24)
        response = _render(
            request,
            "login.html",
            {"csrf_token": token, "next": next_url, "error": error},
            status,
        )
        response.headers.update(headers)
        response.set_cookie(
            LOGIN_CSRF_COOKIE,
            token,
            httponly=True,
            samesite="strict",
            secure=_secure(request),
            path="/login",
        )
        return response
    issued, _ = result
    response = RedirectResponse(next_url, status_code=303)
    response.set_cookie(
        SESSION_COOKIE,
        issued.token,
        httponly=True,
        samesite="lax",
        secure=_secure(request),
        max_age=services.settings.session_max_hours * 3600,
    )
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/login")
    return response


@router.post("/logout")
async def logout(request: Request, services: ServicesDep) -> Response:
    try:
        principal = await current_staff(request)  # checks the form's CSRF token
    except MchError:
        return RedirectResponse("/login", status_code=303)
    await in_transaction(services, services.accounts.revoke, principal)
    response = RedirectResponse("/login", status_code=303)
    response.delete_cookie(SESSION_COOKIE)
    return response


@router.get("/")
async def home(request: Request, services: ServicesDep) -> Response:
    try:
        principal = await current_staff(request)
    except MchError:
        return RedirectResponse("/login?next=/", status_code=303)
    token = request.cookies.get(SESSION_COOKIE)
    csrf = (
        (await in_transaction(services, signed_in, services.accounts, token, "session"))[1]
        if token
        else None
    )
    return _render(request, "home.html", {"principal": principal, "csrf_token": csrf})


_md = MarkdownIt("commonmark").enable("table")


@router.get("/docs/{name}")
async def doc_page(name: str, request: Request) -> HTMLResponse:
    found = next((d / f"{name}.md" for d in DOCS_DIRS if (d / f"{name}.md").exists()), None)
    if name not in PUBLIC_DOCS or found is None:
        raise NotFound(f"No page {name!r}")
    body = _md.render(found.read_text(encoding="utf-8"))
    lang = language(request)
    html = (
        f'<!doctype html><html lang="{"zh-CN" if lang == "zh" else "en"}"><head>'
        f'<meta charset="utf-8"><title>{name}</title>'
        '<link rel="stylesheet" href="/static/app.css"></head>'
        f'<body><main class="doc">{body}</main></body></html>'
    )
    return HTMLResponse(html)
