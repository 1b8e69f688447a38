"""Administrators manage the site's code tables over HTTP (the same CSV files as
MCH_CODE_TABLES_DIR; docs/code-tables.md). The rules are in ``site_code_tables``."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from mch_service.auth.dependencies import CurrentStaff
from mch_service.auth.permissions import Permission
from mch_service.deps import ServicesDep, in_transaction
from mch_service.domain import site_code_tables
from mch_service.domain.schemas import CodeTableSaved, CodeTablesRead
from mch_service.errors import TooLarge

router = APIRouter(prefix="/api/v1/code-tables", tags=["code tables"])
MAX_BYTES = 5 * 1024 * 1024


@router.get("", response_model=CodeTablesRead)
async def list_tables(services: ServicesDep, principal: CurrentStaff) -> CodeTablesRead:
    """Every code in force: the shipped defaults and the site's files, with where each is."""
    principal.require(Permission.MANAGE_CODE_TABLES)
    return site_code_tables.codes_in_force(services.settings)


@router.put("/{name}", response_model=CodeTableSaved)
async def put_table(
    name: str, request: Request, services: ServicesDep, principal: CurrentStaff
) -> CodeTableSaved:
    """Add or replace the site's table NAME.csv (text/csv). It is checked with the others
    before it is saved; a bad file names its line and problem and changes nothing."""
    principal.require(Permission.MANAGE_CODE_TABLES)
    site_code_tables.check_name(name)
    body = await request.body()  # the CSV text itself, not JSON
    if len(body) > MAX_BYTES:
        raise TooLarge(f"A code table is at most {MAX_BYTES} bytes")
    saved = site_code_tables.save_table(services.settings, name, body)
    await in_transaction(services, site_code_tables.audit_change, principal, "code_table.put", name)
    return saved


@router.delete("/{name}", status_code=204)
async def delete_table(name: str, services: ServicesDep, principal: CurrentStaff) -> Response:
    principal.require(Permission.MANAGE_CODE_TABLES)
    site_code_tables.delete_table(services.settings, name)
    await in_transaction(
        services, site_code_tables.audit_change, principal, "code_table.delete", name
    )
    return Response(status_code=204)
