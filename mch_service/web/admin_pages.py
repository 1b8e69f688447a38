"""Administration pages: institutions and their keys, the street register, staff accounts, jobs
and the audit log. Each calls the service function its JSON API route calls, so permissions and
audit are the same; a refusal is shown on the page with the API's status."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import ValidationError
from starlette.concurrency import run_in_threadpool

from mch_service.audit.service import AuditQuery, read_page
from mch_service.auth.permissions import Permission, Role
from mch_service.auth.schemas import JurisdictionUpdate, UserCreate
from mch_service.auth.service import actor_of
from mch_service.deps import ServicesDep, in_transaction
from mch_service.domain import code_tables_api, site_code_tables
from mch_service.errors import MchError, NotFound
from mch_service.institutions import service as institutions
from mch_service.institutions.schemas import InstitutionCreate, StreetWrite
from mch_service.scheduling import service as scheduling
from mch_service.web.rendering import Viewer, refused, render, viewer

router = APIRouter(prefix="/admin", include_in_schema=False)

INSTITUTION_KINDS = ("hospital", "mch_hospital", "chc", "other")
ROLES = tuple(r.value for r in Role)


def _text(form: Any, name: str, limit: int = 200) -> str:
    return str(form.get(name) or "").strip()[:limit]


def _codes(raw: str) -> list[str]:
    """A list typed as 'a, b c' (commas, spaces or the Chinese comma)."""
    return [c for c in raw.replace("，", ",").replace(" ", ",").split(",") if c]


def _invalid(exc: ValidationError) -> MchError:
    first = exc.errors()[0]
    where = ".".join(str(p) for p in first.get("loc", ()))
    return MchError(f"{where}: {first.get('msg', 'invalid')}", 422)


def _done(path: str, key: str) -> Response:
    """After a change: back to the page (a reload does not repeat the change), with a notice."""
    return RedirectResponse(f"{path}?{urlencode({'done': key})}", status_code=303)


async def _page_viewer(
    request: Request, services: ServicesDep, need: Permission
) -> Viewer | Response:
    who = await viewer(request, services)
    if isinstance(who, Viewer) and not who.principal.can(need):
        return refused(request, who, MchError("This page is for administrators", 403))
    return who


# -- institutions -------------------------------------------------------------------------------


async def _institutions_page(
    request: Request,
    services: ServicesDep,
    who: Viewer,
    issued: Any = None,
    error: str | None = None,
    status: int = 200,
) -> Response:
    rows = await in_transaction(services, institutions.institutions_for_staff, who.principal)
    response = render(
        request,
        "admin_institutions.html",
        {
            "institutions": rows,
            "kinds": INSTITUTION_KINDS,
            "issued": issued,
            "error": error,
            "done": request.query_params.get("done"),
        },
        status=status,
        who=who,
    )
    if issued is not None:
        response.headers["Cache-Control"] = "no-store"  # the key is shown once
    return response


@router.get("/institutions")
async def institutions_page(request: Request, services: ServicesDep) -> Response:
    who = await _page_viewer(request, services, Permission.MANAGE_INSTITUTIONS)
    if not isinstance(who, Viewer):
        return who
    return await _institutions_page(request, services, who)


@router.post("/institutions")
async def add_institution(request: Request, services: ServicesDep) -> Response:
    who = await _page_viewer(request, services, Permission.MANAGE_INSTITUTIONS)
    if not isinstance(who, Viewer):
        return who
    form = await request.form()
    try:
        body = InstitutionCreate.model_validate(
            {"id": _text(form, "id", 64), "name": _text(form, "name"), "kind": _text(form, "kind")}
        )
        issued = await in_transaction(services, institutions.add_for_staff, who.principal, body)
    except ValidationError as exc:
        err = _invalid(exc)
        return await _institutions_page(request, services, who, None, err.message, 422)
    except MchError as exc:
        return await _institutions_page(request, services, who, None, exc.message, exc.status_code)
    return await _institutions_page(request, services, who, issued, None, 201)


@router.post("/institutions/{institution_id}/rotate-key")
async def rotate_key(institution_id: str, request: Request, services: ServicesDep) -> Response:
    who = await _page_viewer(request, services, Permission.MANAGE_INSTITUTIONS)
    if not isinstance(who, Viewer):
        return who
    form = await request.form()
    try:
        issued = await in_transaction(
            services,
            institutions.rotate_key_for_staff,
            who.principal,
            institution_id,
            form.get("revoke_old") == "on",
        )
    except MchError as exc:
        return await _institutions_page(request, services, who, None, exc.message, exc.status_code)
    return await _institutions_page(request, services, who, issued, None, 201)


@router.post("/institutions/{institution_id}/revoke-keys")
async def revoke_keys(institution_id: str, request: Request, services: ServicesDep) -> Response:
    who = await _page_viewer(request, services, Permission.MANAGE_INSTITUTIONS)
    if not isinstance(who, Viewer):
        return who
    try:
        await in_transaction(
            services, institutions.revoke_keys_for_staff, who.principal, institution_id, None
        )
    except MchError as exc:
        return await _institutions_page(request, services, who, None, exc.message, exc.status_code)
    return _done("/admin/institutions", "keys_revoked")


# -- streets ------------------------------------------------------------------------------------


async def _streets_page(
    request: Request,
    services: ServicesDep,
    who: Viewer,
    error: str | None = None,
    status: int = 200,
) -> Response:
    streets = await in_transaction(services, institutions.streets_for_staff, who.principal)
    directory = await in_transaction(services, institutions.institutions_for_staff, who.principal)
    return render(
        request,
        "admin_streets.html",
        {
            "streets": streets,
            "centres": [i for i in directory if i.kind == "chc"] or directory,
            "error": error,
            "done": request.query_params.get("done"),
        },
        status=status,
        who=who,
    )


@router.get("/streets")
async def streets_page(request: Request, services: ServicesDep) -> Response:
    who = await _page_viewer(request, services, Permission.MANAGE_INSTITUTIONS)
    if not isinstance(who, Viewer):
        return who
    return await _streets_page(request, services, who)


@router.post("/streets")
async def set_street(request: Request, services: ServicesDep) -> Response:
    who = await _page_viewer(request, services, Permission.MANAGE_INSTITUTIONS)
    if not isinstance(who, Viewer):
        return who
    form = await request.form()
    try:
        body = StreetWrite(
            name=_text(form, "name", 100),
            name_en=_text(form, "name_en", 100) or None,
            centre_id=_text(form, "centre_id", 64) or None,
        )
        await in_transaction(
            services,
            institutions.set_street_for_staff,
            who.principal,
            _text(form, "code", 64),
            body,
            tuple(services.settings.streets),
        )
    except ValidationError as exc:
        return await _streets_page(request, services, who, _invalid(exc).message, 422)
    except MchError as exc:
        return await _streets_page(request, services, who, exc.message, exc.status_code)
    return _done("/admin/streets", "street_saved")


# -- staff accounts -----------------------------------------------------------------------------


async def _users_page(
    request: Request,
    services: ServicesDep,
    who: Viewer,
    error: str | None = None,
    status: int = 200,
) -> Response:
    users = await in_transaction(services, services.accounts.list_users, who.principal)
    return render(
        request,
        "admin_users.html",
        {
            "users": users,
            "roles": ROLES,
            "error": error,
            "done": request.query_params.get("done"),
        },
        status=status,
        who=who,
    )


@router.get("/users")
async def users_page(request: Request, services: ServicesDep) -> Response:
    who = await _page_viewer(request, services, Permission.MANAGE_USERS)
    if not isinstance(who, Viewer):
        return who
    return await _users_page(request, services, who)


@router.post("/users")
async def add_user(request: Request, services: ServicesDep) -> Response:
    who = await _page_viewer(request, services, Permission.MANAGE_USERS)
    if not isinstance(who, Viewer):
        return who
    form = await request.form()
    try:
        body = UserCreate(
            username=_text(form, "username", 64),
            display_name=_text(form, "display_name", 100),
            role=_text(form, "role", 16),
            password=str(form.get("password") or ""),
            streets=_codes(_text(form, "streets", 2000)),
            institutions=_codes(_text(form, "institutions", 2000)),
        )
        await in_transaction(services, services.accounts.add_user, who.principal, body)
    except ValidationError as exc:
        return await _users_page(request, services, who, _invalid(exc).message, 422)
    except MchError as exc:
        return await _users_page(request, services, who, exc.message, exc.status_code)
    return _done("/admin/users", "user_added")


@router.post("/users/{username}/{action}")
async def user_action(
    username: str, action: str, request: Request, services: ServicesDep
) -> Response:
    who = await _page_viewer(request, services, Permission.MANAGE_USERS)
    if not isinstance(who, Viewer):
        return who
    form = await request.form()
    accounts = services.accounts
    try:
        if action in ("disable", "enable"):
            await in_transaction(
                services, accounts.set_active, who.principal, username, action == "enable"
            )
        elif action == "reset-password":
            await in_transaction(
                services,
                accounts.reset_password,
                who.principal,
                username,
                str(form.get("password") or ""),
            )
        elif action == "jurisdiction":
            body = JurisdictionUpdate(
                streets=_codes(_text(form, "streets", 2000)),
                institutions=_codes(_text(form, "institutions", 2000)),
            )
            await in_transaction(
                services, accounts.update_jurisdiction, who.principal, username, body
            )
        elif action == "revoke-tokens":
            await in_transaction(services, accounts.revoke_user_tokens, who.principal, username)
        else:
            raise NotFound(f"No action {action!r}")
    except ValidationError as exc:
        return await _users_page(request, services, who, _invalid(exc).message, 422)
    except MchError as exc:
        return await _users_page(request, services, who, exc.message, exc.status_code)
    return _done("/admin/users", f"user_{action.replace('-', '_')}")


# -- jobs ---------------------------------------------------------------------------------------


async def _jobs_page(
    request: Request,
    services: ServicesDep,
    who: Viewer,
    error: str | None = None,
    status: int = 200,
) -> Response:
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
    return render(
        request,
        "admin_jobs.html",
        {
            "overview": overview,
            "latest": latest,
            "error": error,
            "done": request.query_params.get("done"),
        },
        status=status,
        who=who,
    )


@router.get("/jobs")
async def jobs_page(request: Request, services: ServicesDep) -> Response:
    who = await _page_viewer(request, services, Permission.RUN_JOBS)
    if not isinstance(who, Viewer):
        return who
    return await _jobs_page(request, services, who)


@router.post("/jobs/{name}/run")
async def run_job(name: str, request: Request, services: ServicesDep) -> Response:
    who = await _page_viewer(request, services, Permission.RUN_JOBS)
    if not isinstance(who, Viewer):
        return who
    form = await request.form()
    if name not in services.jobs.names():
        return await _jobs_page(request, services, who, f"No job {name!r}", 404)
    raw = _text(form, "as_of", 10)
    try:
        as_of = date.fromisoformat(raw) if raw else None
    except ValueError:
        return await _jobs_page(request, services, who, "as_of: YYYY-MM-DD", 422)
    run = await run_in_threadpool(services.jobs.run, name, as_of, "manual")
    return _done("/admin/jobs", "job_failed" if run.status == "failed" else "job_ran")


# -- audit log ----------------------------------------------------------------------------------

AUDIT_FILTERS = (
    "actor",
    "action",
    "outcome",
    "target_type",
    "target_id",
    "since",
    "until",
    "request_id",
)


def _instant(raw: str) -> datetime | None:
    if not raw:
        return None
    value = datetime.fromisoformat(raw)  # ValueError: refused by the caller
    if value.tzinfo is None:
        raise ValueError("no offset")
    return value


@router.get("/audit")
async def audit_page(request: Request, services: ServicesDep) -> Response:
    who = await _page_viewer(request, services, Permission.READ_AUDIT)
    if not isinstance(who, Viewer):
        return who
    params = request.query_params
    filters = {k: params.get(k, "").strip()[:128] for k in AUDIT_FILTERS}
    before = params.get("before_id", "")
    error, page = None, None
    try:
        query = AuditQuery(
            filters["actor"] or None,
            filters["action"] or None,
            filters["outcome"] or None,
            filters["target_type"] or None,
            filters["target_id"] or None,
            _instant(filters["since"]),
            _instant(filters["until"]),
            filters["request_id"] or None,
        )
        before_id = int(before) if before else None
        page = await in_transaction(
            services, read_page, actor_of(who.principal), query, 100, before_id
        )
    except ValueError:
        error = "since/until: 2025-06-30T00:00:00+08:00; before_id: a number"
    shown = {k: v for k, v in filters.items() if v}
    return render(
        request,
        "admin_audit.html",
        {
            "page": page,
            "filters": filters,
            "error": error,
            "csv_url": "/api/v1/audit.csv" + (f"?{urlencode(shown)}" if shown else ""),
            "next_url": (
                "/admin/audit?" + urlencode({**shown, "before_id": page.next_before_id})
                if page and page.next_before_id
                else None
            ),
        },
        status=422 if error else 200,
        who=who,
    )


# -- site code tables ---------------------------------------------------------------------------

CODE_ROWS_SHOWN = 1000


async def _code_tables_page(
    request: Request,
    services: ServicesDep,
    who: Viewer,
    error: str | None = None,
    status: int = 200,
    saved: Any = None,
) -> Response:
    settings = services.settings
    in_force = await run_in_threadpool(site_code_tables.codes_in_force, settings)
    q = request.query_params.get("q", "").strip()[:64]
    rows = [
        r
        for r in in_force.codes
        if not q or q in r.concept or q in r.code or q in r.display or q in r.source
    ]
    folder = settings.code_tables_dir
    site_files = (
        sorted(p.name for p in Path(folder).glob("*.csv"))
        if folder and Path(folder).is_dir()
        else []
    )
    return render(
        request,
        "admin_code_tables.html",
        {
            "rows": rows[:CODE_ROWS_SHOWN],
            "total": len(rows),
            "shown_max": CODE_ROWS_SHOWN,
            "q": q,
            "site_files": site_files,
            "folder_set": bool(folder),
            "saved": saved,
            "error": error,
            "done": request.query_params.get("done"),
        },
        status=status,
        who=who,
    )


@router.get("/code-tables")
async def code_tables_page(request: Request, services: ServicesDep) -> Response:
    who = await _page_viewer(request, services, Permission.MANAGE_CODE_TABLES)
    if not isinstance(who, Viewer):
        return who
    return await _code_tables_page(request, services, who)


@router.post("/code-tables")
async def upload_code_table(request: Request, services: ServicesDep) -> Response:
    """A site table uploaded from the page: checked with the others, saved only if all load
    (the same function as PUT /api/v1/code-tables/{name})."""
    who = await _page_viewer(request, services, Permission.MANAGE_CODE_TABLES)
    if not isinstance(who, Viewer):
        return who
    form = await request.form(max_part_size=code_tables_api.MAX_BYTES)
    upload = form.get("file")
    name = _text(form, "name", 64)
    if not name and upload is not None and not isinstance(upload, str):
        name = Path(upload.filename or "").stem
    try:
        site_code_tables.check_name(name)
        if upload is None or isinstance(upload, str):
            raise MchError("Choose a CSV file", 422)
        body = await upload.read()
        saved = await run_in_threadpool(site_code_tables.save_table, services.settings, name, body)
        await in_transaction(
            services, site_code_tables.audit_change, who.principal, "code_table.put", name
        )
    except MchError as exc:
        return await _code_tables_page(request, services, who, exc.message, exc.status_code)
    return await _code_tables_page(request, services, who, saved=saved)


@router.get("/code-tables/{name}.csv")
async def download_code_table(name: str, request: Request, services: ServicesDep) -> Response:
    who = await _page_viewer(request, services, Permission.MANAGE_CODE_TABLES)
    if not isinstance(who, Viewer):
        return who
    try:
        site_code_tables.check_name(name)
        path = site_code_tables.site_folder(services.settings) / f"{name}.csv"
        if not path.is_file():
            raise NotFound(f"No site code table {name}")
    except MchError as exc:
        return refused(request, who, exc)
    return Response(
        path.read_bytes(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}.csv"'},
    )


@router.post("/code-tables/{name}/delete")
async def delete_code_table(name: str, request: Request, services: ServicesDep) -> Response:
    who = await _page_viewer(request, services, Permission.MANAGE_CODE_TABLES)
    if not isinstance(who, Viewer):
        return who
    try:
        site_code_tables.delete_table(services.settings, name)
        await in_transaction(
            services, site_code_tables.audit_change, who.principal, "code_table.delete", name
        )
    except MchError as exc:
        return await _code_tables_page(request, services, who, exc.message, exc.status_code)
    return _done("/admin/code-tables", "code_table_deleted")
