"""Staff pages: sign-in, sign-out, the home page and the served docs. Server-rendered, offline."""

from __future__ import annotations

import secrets
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markdown_it import MarkdownIt
from starlette.concurrency import run_in_threadpool

from mch_service.audit.service import feed_activity
from mch_service.auth.dependencies import SESSION_COOKIE, client_ip, current_staff
from mch_service.auth.permissions import Permission
from mch_service.deps import ServicesDep, in_reading, in_transaction
from mch_service.errors import MchError, NotFound, TooManyRequests
from mch_service.institutions.service import institutions_for_staff
from mch_service.scheduling import service as scheduling
from mch_service.web import review_pages
from mch_service.web.i18n import labels, language
from mch_service.web.monitor_pages import monitor_home
from mch_service.web.rendering import Viewer, local_time, render, secure_cookies, viewer

router = APIRouter(include_in_schema=False)
LOGIN_CSRF_COOKIE = "mch_login_csrf"
# The docs of a source checkout, else ./docs of the working directory (the image copies them).
DOCS_DIRS = (Path(__file__).resolve().parents[2] / "docs", Path.cwd() / "docs")
PUBLIC_DOCS = (
    "interface-guide",
    "code-tables",
    "indicator-rules",
    "indicators",
    "domain",
    "bulk-export",
    "monitoring-guide",
)


def _safe_next(raw: str | None) -> str:
    # Only our own paths: never redirect a signed-in user to another site.
    return raw if raw and raw.startswith("/") and not raw.startswith("//") else "/"


@router.get("/login")
async def login_page(request: Request, next: str = "/") -> Response:
    token = secrets.token_urlsafe(24)
    response = render(
        request, "login.html", {"csrf_token": token, "next": _safe_next(next), "error": None}
    )
    response.set_cookie(
        LOGIN_CSRF_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=secure_cookies(request),
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
        response = render(
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
            secure=secure_cookies(request),
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
        secure=secure_cookies(request),
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
    who = await viewer(request, services)
    if not isinstance(who, Viewer):
        return who
    context: dict[str, Any] = await review_pages.reviewer_home(services, who)
    context.update(await monitor_home(request, services, who) or {})
    if who.principal.can(Permission.MANAGE_INSTITUTIONS):
        context["feeds"] = await _feeds(services, who)
    if who.principal.can(Permission.RUN_JOBS):
        overview = await run_in_threadpool(
            scheduling.overview,
            services.db,
            services.jobs,
            services.settings.job_schedules,
            None,
            50,
        )
        latest: dict[str, Any] = {}
        for run in overview.runs:  # newest first
            latest.setdefault(run.job, run)
        context["job_runs"] = [latest[j] for j in overview.jobs if j in latest]
        context["scheduler"] = overview.scheduler
    return render(request, "home.html", context, who=who)


async def _feeds(services: ServicesDep, who: Viewer) -> list[dict[str, Any]]:
    """Each institution with its last FHIR write of the past 30 days and today's accepted
    and refused writes (today in the district's time zone)."""
    zone = ZoneInfo(services.settings.timezone)
    now = datetime.now(zone)
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    directory = await in_transaction(services, institutions_for_staff, who.principal)
    month = {
        inst: last
        for inst, last, _, _ in await in_reading(services, feed_activity, now - timedelta(days=30))
    }
    today = {
        inst: (ok, bad) for inst, _, ok, bad in await in_reading(services, feed_activity, midnight)
    }
    return [
        {
            "id": i.id,
            "name": i.name,
            "active": i.active,
            "last": local_time(month[i.id], zone)[:16] if i.id in month else None,
            "accepted": today.get(i.id, (0, 0))[0],
            "refused": today.get(i.id, (0, 0))[1],
        }
        for i in directory
    ]


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
