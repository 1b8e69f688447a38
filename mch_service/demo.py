"""`mch-service demo`: a living demo district in one command.

Simulates about 2,000 pregnancies over two years (docs/simulator.md), loads them through the
FHIR service layer as the institutions' backfills, creates staff accounts (printed once, and
kept in the demo folder), runs the jobs, and serves it. A second run reuses the demo database.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

from mch_service.auth.permissions import system_principal
from mch_service.auth.schemas import UserCreate
from mch_service.config import Settings
from mch_service.institutions.service import set_street
from mch_service.migrate import upgrade
from mch_service.services import build_services
from mch_service.simulator import SimulationParams, simulate
from mch_service.simulator.load import load, register_institutions, site_code_tables

START, END = date(2024, 1, 1), date(2025, 12, 31)
# The default jurisdiction of the demo: the district MCH hospital's team, a "street" of the
# register whose responsible centre is the MCH hospital; the demo reviewer has it too.
DEFAULT_TEAM_STREET = "mch-team"


def demo_settings(folder: Path, base: Settings) -> Settings:
    folder.mkdir(parents=True, exist_ok=True)
    return base.model_copy(
        update={
            "database_url": f"sqlite:///{(folder / 'mch-demo.db').resolve()}",
            "code_tables_dir": str((folder / "code-tables").resolve()),
            "import_spool_dir": str((folder / "import-spool").resolve()),
            "domain_assembly": "queued",
            # The demo's data ends on 31 Dec 2025: the daily work-list job would list them as of
            # today, so the demo keeps its lists as of the data's end (see prepare()).
            "job_schedules": {"indicators": "*/5 * * * *", "data_quality": "17 * * * *"},
            # Women with no street on their records (the simulator's no_street_share) are
            # listed under the district MCH hospital's team (issue 16: no orphan women).
            "default_jurisdiction_street": DEFAULT_TEAM_STREET,
        }
    )


def prepare(
    folder: Path,
    settings: Settings,
    pregnancies: int,
    seed: int,
    say: Callable[[str], None],
    progress: Callable[[int], None] | None = None,
) -> dict[str, Any]:
    accounts_file = folder / "accounts.json"
    if accounts_file.exists():
        say(f"using the demo in {folder} (delete the folder for a new one)")
        return json.loads(accounts_file.read_text(encoding="utf-8"))  # type: ignore[no-any-return]
    sim = folder / "simulation"
    say(f"simulating {pregnancies} pregnancies, {START} to {END} ...")
    simulate(
        SimulationParams(
            pregnancies=pregnancies, seed=seed, start=START, end=END, history_share=1.0
        ),
        sim,
    )
    site_code_tables(sim, Path(settings.code_tables_dir or folder / "code-tables"))
    upgrade(settings.database_url)
    services = build_services(settings)
    try:
        keys = register_institutions(services, sim)
        with services.db.transaction() as session:
            set_street(
                session,
                DEFAULT_TEAM_STREET,
                "区妇幼保健院高危管理团队",
                "mch-hosp",
                "District MCH hospital high-risk team",
            )
        say(f"loading the records of {len(keys)} institutions through the FHIR service ...")
        load(services, sim, progress)
        services.domain.process_queue(services.db)
        streets = json.loads((sim / "streets.json").read_text(encoding="utf-8"))
        codes = [s["code"] if isinstance(s, dict) else s for s in streets]
        accounts = {}
        # the district MCH hospital's high-risk team works every street (and the women with
        # none); a community health centre's reviewer works her own street only
        for username, role, scope, shown in (
            ("admin", "admin", None, "系统管理员"),
            ("reviewer", "reviewer", [*codes, DEFAULT_TEAM_STREET], "李医生（高危管理）"),
            ("reviewer2", "reviewer", [codes[0]], "王护士（社区）"),
            ("monitor", "monitor", None, "陈科长（监测组）"),
        ):
            password = secrets.token_urlsafe(9) + "-Aa1"
            with services.db.transaction() as session:
                services.accounts.add_user(
                    session,
                    system_principal(),
                    UserCreate(
                        username=username,
                        role=role,
                        password=password,
                        display_name=shown,
                        streets=scope or [],
                    ),
                )
            accounts[username] = {"password": password, "role": role, "streets": scope or []}
        say("computing indicators and work lists ...")
        services.indicators.refresh(full=True)
        with services.db.transaction() as session:
            services.cases.refresh(session, None, END)
        from mch_service.quality import service as quality

        with services.db.transaction() as session:
            quality.refresh(session)
        accounts_file.write_text(
            json.dumps(accounts, ensure_ascii=False, indent=1), encoding="utf-8"
        )
        (folder / "api-keys.json").write_text(json.dumps(keys, indent=1), encoding="utf-8")
        return accounts
    finally:
        services.db.dispose()
