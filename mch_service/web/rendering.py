"""What every staff page shares: the signed-in member with the session's CSRF token, and the
rendering of a template with the labels of the page's language."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote
from zoneinfo import ZoneInfo

from fastapi import Request
from fastapi.responses import RedirectResponse, Response
from fastapi.templating import Jinja2Templates

from mch_service.auth.dependencies import SESSION_COOKIE, current_staff, signed_in
from mch_service.auth.permissions import Permission, Principal, Role
from mch_service.deps import get_services, in_transaction
from mch_service.errors import MchError
from mch_service.middleware import over_https
from mch_service.web.i18n import LANG_COOKIE, labels, language

if TYPE_CHECKING:
    from mch_service.services import Services

templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))

# The navigation: (path, label key, permission needed), shown to whoever holds the permission.
NAV: tuple[tuple[str, str, Permission | None], ...] = (
    ("/", "nav_home", None),
    ("/indicators", "nav_indicators", Permission.READ_INDICATORS),
    ("/data-quality", "nav_data_quality", Permission.READ_INDICATORS),
    ("/worklists", "nav_worklists", Permission.WORK_CASES),
    ("/pregnancies/search", "nav_search", Permission.WORK_CASES),
    ("/admin/institutions", "nav_institutions", Permission.MANAGE_INSTITUTIONS),
    ("/admin/streets", "nav_streets", Permission.MANAGE_INSTITUTIONS),
    ("/admin/users", "nav_users", Permission.MANAGE_USERS),
    ("/admin/code-tables", "nav_code_tables", Permission.MANAGE_CODE_TABLES),
    ("/admin/jobs", "nav_jobs", Permission.RUN_JOBS),
    ("/admin/audit", "nav_audit", Permission.READ_AUDIT),
)


@dataclass(frozen=True)
class Viewer:
    """Who is looking at a page, and the token their forms must carry."""

    principal: Principal
    csrf_token: str | None

    @property
    def role(self) -> Role:
        return self.principal.role


def secure_cookies(request: Request) -> bool:
    mode = get_services(request).settings.cookie_secure
    if mode != "auto":
        return mode == "always"
    return over_https(request.scope)


async def viewer(request: Request, services: Services) -> Viewer | Response:
    """The signed-in staff member (with the session's CSRF token), or the redirect to the
    sign-in page that brings them back here."""
    try:
        principal = await current_staff(request)
    except MchError:
        here = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?next={quote(here)}", status_code=303)
    token = request.cookies.get(SESSION_COOKIE)
    csrf = (
        (await in_transaction(services, signed_in, services.accounts, token, "session"))[1]
        if token
        else None
    )
    return Viewer(principal, csrf)


def local_time(value: str | datetime | None, zone: ZoneInfo) -> str:
    """An instant (ISO 8601 text, as the services give it, or a datetime) in the district's
    time zone to the second, as staff read times; a stored time without an offset is UTC."""
    if not value:
        return ""
    instant = datetime.fromisoformat(value) if isinstance(value, str) else value
    aware = instant if instant.tzinfo else instant.replace(tzinfo=UTC)
    return aware.astimezone(zone).strftime("%Y-%m-%d %H:%M:%S")


def render(
    request: Request,
    name: str,
    context: dict[str, Any],
    status: int = 200,
    who: Viewer | None = None,
) -> Response:
    lang = language(request)
    zone = ZoneInfo(get_services(request).settings.timezone)
    nav = (
        [(path, key) for path, key, need in NAV if need is None or who.principal.can(need)]
        if who
        else []
    )
    response = templates.TemplateResponse(
        request,
        name,
        {
            "lang": lang,
            "t": labels(lang),
            "principal": who.principal if who else None,
            "csrf_token": who.csrf_token if who else None,
            "nav": nav,
            "here": request.url.path,
            "local": lambda value: local_time(value, zone),
            **context,
        },
        status_code=status,
    )
    if request.query_params.get("lang") in ("zh", "en"):
        response.set_cookie(
            LANG_COOKIE,
            lang,
            max_age=365 * 86400,
            samesite="lax",
            httponly=True,
            secure=secure_cookies(request),
        )
    return response


def refused(request: Request, who: Viewer, error: MchError) -> Response:
    """A page the member may not see, or a form the service refused: the page frame with the
    message, and the status the API would give."""
    return render(
        request, "refused.html", {"error": error.message}, status=error.status_code, who=who
    )
