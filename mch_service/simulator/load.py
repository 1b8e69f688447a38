"""Loading a simulated district into this service in-process (the demo, and tests that compare
the service with truth.json). Same code path as HTTP below the routes: FhirService."""

from __future__ import annotations

import json
import shutil
from collections.abc import Callable
from contextlib import AbstractContextManager
from datetime import datetime
from pathlib import Path
from typing import Any

from mch_service.audit.service import Actor
from mch_service.fhir_api.bulk import iter_lines, run_import
from mch_service.fhir_api.bundle_responses import Prefer
from mch_service.institutions.models import Institution
from mch_service.institutions.service import add_institution, set_street
from mch_service.simulator.district import STREETS


def register_institutions(services: Any, out_dir: Path) -> dict[str, str]:
    """Each simulated institution, with a fresh API key (returned); existing ones are kept."""
    keys: dict[str, str] = {}
    with services.db.transaction() as session:
        for inst in json.loads((out_dir / "institutions.json").read_text(encoding="utf-8")):
            if session.get(Institution, inst["id"]) is None:
                keys[inst["id"]] = add_institution(
                    session, inst["id"], inst["name"], inst.get("kind", "other")
                ).api_key
        register_streets(session)
    return keys


def register_streets(session: Any) -> None:
    """The simulated district's streets and towns with their names and centres."""
    for street in STREETS:
        set_street(session, street.code, street.name, street.chc)


def site_code_tables(out_dir: Path, target: Path) -> Path:
    """Copy the simulated sites' code tables (hosp-c's local laboratory codes) into one folder
    for MCH_CODE_TABLES_DIR."""
    target.mkdir(parents=True, exist_ok=True)
    for table in out_dir.glob("*/code-table.csv"):
        shutil.copy(table, target / f"{table.parent.name}.csv")
    return target


def load(
    services: Any,
    out_dir: Path,
    progress: Callable[[int], None] | None = None,
    clock: Callable[[datetime], AbstractContextManager[Any]] | None = None,
) -> dict[str, int]:
    """Every institution's history, then its bundles in send order. With a ``clock`` (a
    context manager that sets the service's clock, e.g. ``time_machine.travel``), each Bundle
    is received at its planned time (the manifest's ``bundle_times``): the histories first, on
    the real clock (a backfill carries no receipt time), then every institution's bundles
    together in time order."""
    manifest = json.loads((out_dir / "manifest.json").read_text(encoding="utf-8"))
    counts = {"lines": 0, "bundles": 0, "rejected_entries": 0}
    timed: list[tuple[datetime, int, str, Actor]] = []
    for inst in manifest["institutions"]:
        actor = Actor("institution", inst["id"], "simulator")
        history = out_dir / inst["history"] if inst.get("history") else None
        if history and history.exists():
            with history.open("rb") as fh:
                report = run_import(services.fhir, actor, iter_lines(str(history), fh))
            counts["lines"] += report.lines
            counts["rejected_entries"] += len(report.rejected)
        if clock is None:
            for name in inst["bundles"]:
                _send(services, out_dir, name, actor, counts, progress)
        else:
            times = inst["bundle_times"]
            timed += [
                (datetime.fromisoformat(at), len(timed) + i, name, actor)
                for i, (name, at) in enumerate(zip(inst["bundles"], times, strict=True))
            ]
    for at, _order, name, actor in sorted(timed, key=lambda t: (t[0], t[1])):
        assert clock is not None
        with clock(at):
            _send(services, out_dir, name, actor, counts, progress)
    return counts


def _send(
    services: Any,
    out_dir: Path,
    name: str,
    actor: Actor,
    counts: dict[str, int],
    progress: Callable[[int], None] | None,
) -> None:
    bundle = json.loads((out_dir / name).read_text(encoding="utf-8"))
    try:
        result = services.fhir.bundle(actor, bundle, Prefer(None))
    except Exception:  # noqa: BLE001 - a rejected transaction is counted, not fatal
        counts["rejected_entries"] += len(bundle.get("entry", []))
    else:
        counts["rejected_entries"] += sum(
            1
            for e in result.get("entry", [])
            if not str(e.get("response", {}).get("status", "")).startswith("2")
        )
    counts["bundles"] += 1
    if progress:
        progress(1)
