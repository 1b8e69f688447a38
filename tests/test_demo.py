"""`mch-service demo` on a fresh folder: a simulated district loaded, accounts printed, the
jobs run; the accounts work and the numbers are there."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from mch_service.app import build_services
from mch_service.auth.permissions import Principal, Role
from mch_service.cases.models import WorkItem
from mch_service.cases.service import CaseQuery
from mch_service.config import Settings
from mch_service.demo import demo_settings
from mch_service.domain import models as domain_models
from mch_service.indicators.results import IndicatorResult


def test_demo_builds_a_district(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    env = {k: v for k, v in os.environ.items() if not k.startswith("MCH_")}
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "mch_service",
            "demo",
            "--dir",
            str(folder),
            "--pregnancies",
            "40",
            "--no-serve",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        cwd=tmp_path,
    )
    assert r.returncode == 0, r.stderr
    assert "admin" in r.stdout
    assert "password:" in r.stdout
    accounts = json.loads((folder / "accounts.json").read_text())
    assert set(accounts) == {"admin", "reviewer", "reviewer2", "monitor"}
    # the pages it opens on, printed with the accounts
    assert "/worklists" in r.stdout
    assert "/pregnancies/search" in r.stdout
    assert "/indicators" in r.stdout
    assert "/data-quality" in r.stdout
    settings = demo_settings(folder, Settings())
    services = build_services(settings)
    try:
        with services.db.reading() as session:
            assert (
                session.scalar(select(func.count()).select_from(domain_models.Pregnancy)) or 0
            ) >= 30
            assert (session.scalar(select(func.count()).select_from(IndicatorResult)) or 0) > 0
            assert (session.scalar(select(func.count()).select_from(WorkItem)) or 0) > 0
            user = session.scalar(select(func.count()).select_from(domain_models.Woman))
        # the district team's reviewer has the whole district's items on her lists
        team = Principal(
            1, "reviewer", Role.REVIEWER, streets=frozenset(accounts["reviewer"]["streets"])
        )
        with services.db.transaction() as session:
            counts = services.cases.list_counts(session, team, CaseQuery())
            listed = session.scalar(select(func.count()).select_from(WorkItem)) or 0
        assert sum(c.total for c in counts.lists) == listed > 0
        assert user
        assert (
            services.accounts.sign_in(
                services.db, "monitor", accounts["monitor"]["password"], "bearer", None
            )
            is not None
        )
    finally:
        services.db.dispose()
    again = subprocess.run(
        [sys.executable, "-m", "mch_service", "demo", "--dir", str(folder), "--no-serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert again.returncode == 0
    assert "using the demo" in again.stderr
