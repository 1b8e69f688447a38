"""The site's code tables as files in MCH_CODE_TABLES_DIR (docs/code-tables.md): list what is
in force, check a new table with the others and save it, delete one; each change audited."""

from __future__ import annotations

import re
import shutil
import tempfile
from pathlib import Path

from sqlalchemy.orm import Session

from fhir_mappings import CodeTableError, load_code_tables
from mch_service.audit.service import AuditRecord, record
from mch_service.auth.permissions import Principal
from mch_service.auth.service import actor_of
from mch_service.config import Settings
from mch_service.domain.schemas import CodeRowRead, CodeTableSaved, CodeTablesRead
from mch_service.errors import Conflict, InvalidResource, Issue, NotFound

TABLE_NAME = re.compile(r"[A-Za-z0-9_\-]{1,64}")  # fullmatch: `$` lets "name\n" by
REBUILD_HINT = (
    "records already stored keep their old reading until "
    "`mch-service domain rebuild` (or POST /api/v1/jobs/domain_rebuild/run)"
)


def codes_in_force(settings: Settings) -> CodeTablesRead:
    tables = load_code_tables(settings.code_tables_dir, settings.canonical_base)
    return CodeTablesRead(
        files=tables.files, codes=[CodeRowRead(**r.__dict__) for r in tables.all_rows()]
    )


def site_folder(settings: Settings) -> Path:
    folder = settings.code_tables_dir
    if not folder:
        raise Conflict(
            "Set MCH_CODE_TABLES_DIR (a folder for the site's code tables) and restart the "
            "service first: the setting is read when it starts (files in the folder are then "
            "picked up without a restart)"
        )
    path = Path(folder)
    path.mkdir(parents=True, exist_ok=True)
    return path


def save_table(settings: Settings, name: str, body: bytes) -> CodeTableSaved:
    """Check NAME.csv with the site's other tables; save it only if all load."""
    folder = site_folder(settings)
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
    return CodeTableSaved(
        file=f"{name}.csv", codes_in_force=len(tables.all_rows()), next=REBUILD_HINT
    )


def check_name(name: str) -> None:
    if not TABLE_NAME.fullmatch(name):
        raise InvalidResource([Issue("Name: letters, digits, '-' or '_'", "name", "value")])


def delete_table(settings: Settings, name: str) -> None:
    path = site_folder(settings) / f"{name}.csv"
    if not TABLE_NAME.fullmatch(name) or not path.exists():
        raise NotFound(f"No site code table {name}")
    path.unlink()


def audit_change(session: Session, principal: Principal, action: str, name: str) -> None:
    record(session, actor_of(principal), [AuditRecord(action, "success", "CodeTable", name)])
