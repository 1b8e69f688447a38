"""Administrators manage the site's code tables over HTTP (the same CSV files as
MCH_CODE_TABLES_DIR; docs/code-tables.md)."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import Response
from starlette.concurrency import run_in_threadpool

from fhir_mappings import CodeTableError, load_code_tables
from mch_service.audit.service import AuditRecord, record
from mch_service.auth.dependencies import CurrentStaff
from mch_service.auth.permissions import Permission
from mch_service.auth.service import actor_of
from mch_service.errors import Conflict, InvalidResource, Issue, NotFound, TooLarge

router = APIRouter(prefix="/api/v1/code-tables", tags=["code tables"])
_NAME = re.compile(r"[A-Za-z0-9_\-]{1,64}")  # fullmatch: `$` lets "name\n" by
MAX_BYTES = 5 * 1024 * 1024


def _folder(request: Request) -> Path:
    folder = request.app.state.settings.code_tables_dir
    if not folder:
        raise Conflict("Set MCH_CODE_TABLES_DIR (a folder for the site's code tables) first")
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


@router.get("")
async def list_tables(request: Request, principal: CurrentStaff) -> dict[str, Any]:
    """Every code in force: the shipped defaults and the site's files, with where each is."""
    principal.require(Permission.MANAGE_CODE_TABLES)
    settings = request.app.state.settings
    tables = load_code_tables(settings.code_tables_dir, settings.canonical_base)
    return {"files": tables.files, "codes": [r.__dict__ for r in tables.all_rows()]}


@router.put("/{name}")
async def put_table(name: str, request: Request, principal: CurrentStaff) -> dict[str, Any]:
    """Add or replace the site's table NAME.csv (text/csv). It is checked with the others
    before it is saved; a bad file names its line and problem and changes nothing."""
    principal.require(Permission.MANAGE_CODE_TABLES)
    if not _NAME.fullmatch(name):
        raise InvalidResource([Issue("Name: letters, digits, '-' or '_'", "name", "value")])
    body = await request.body()
    if len(body) > MAX_BYTES:
        raise TooLarge(f"A code table is at most {MAX_BYTES} bytes")
    folder = _folder(request)
    settings = request.app.state.settings
    with tempfile.TemporaryDirectory() as tmp:
        for existing in folder.glob("*.csv"):
            if existing.name != f"{name}.csv":
                shutil.copy(existing, tmp)
        (Path(tmp) / f"{name}.csv").write_bytes(body)
        try:
            tables = load_code_tables(tmp, settings.canonical_base)
        except CodeTableError as exc:
            raise InvalidResource([Issue(str(exc), "body", "invalid")], str(exc)) from None
    (folder / f"{name}.csv").write_bytes(body)
    services = request.app.state.services
    await run_in_threadpool(_audit, services, principal, "code_table.put", name)
    return {
        "file": f"{name}.csv",
        "codes_in_force": len(tables.all_rows()),
        "next": "records already stored keep their old reading until "
        "`mch-service domain rebuild` (or POST /api/v1/jobs/domain_rebuild/run)",
    }


@router.delete("/{name}", status_code=204)
async def delete_table(name: str, request: Request, principal: CurrentStaff) -> Response:
    principal.require(Permission.MANAGE_CODE_TABLES)
    path = _folder(request) / f"{name}.csv"
    if not _NAME.fullmatch(name) or not path.exists():
        raise NotFound(f"No site code table {name}")
    path.unlink()
    await run_in_threadpool(
        _audit, request.app.state.services, principal, "code_table.delete", name
    )
    return Response(status_code=204)


def _audit(services: Any, principal: Any, action: str, name: str) -> None:
    with services.db.transaction() as session:
        record(session, actor_of(principal), [AuditRecord(action, "success", "CodeTable", name)])
