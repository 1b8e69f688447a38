"""Liveness and readiness.

``/healthz`` answers while the process runs. ``/readyz`` says whether this process can do its
work now: the database answers, its schema is at the migrations' head (a server started on a
database that was not upgraded must not take traffic), the code tables are loaded, the assembly
queue moves, and some process holds the scheduler lease (else no indicator is computed).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from alembic.script import ScriptDirectory

from mch_service.domain.service import assembly_queue_state
from mch_service.migrate import alembic_config
from mch_service.ops import repository
from mch_service.scheduling.service import lease_holder
from mch_service.timeutil import to_utc, utcnow

if TYPE_CHECKING:
    from mch_service.services import Services


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@lru_cache(maxsize=1)
def migration_heads() -> frozenset[str]:
    """The revisions this code expects (read once: the files do not change under a process)."""
    return frozenset(ScriptDirectory.from_config(alembic_config("sqlite://")).get_heads())


def _database_and_schema(services: Services) -> list[Check]:
    try:
        # A read session: on SQLite a plain connection would begin with BEGIN IMMEDIATE and
        # queue behind writers for a probe that only reads.
        with services.db.reading() as session:
            current = repository.schema_heads(session)
    except Exception as exc:  # noqa: BLE001 - any failure to reach the database is "not ready"
        # The class only: a driver's message can quote the URL (with its password).
        return [
            Check("database", False, f"unreachable ({type(exc).__name__})"),
            Check("migrations", False, "unknown: the database is unreachable"),
        ]
    heads = migration_heads()
    if current == heads:
        schema = Check("migrations", True, f"at head {', '.join(sorted(heads))}")
    else:
        schema = Check(
            "migrations",
            False,
            f"database at {', '.join(sorted(current)) or 'no revision'}, code expects "
            f"{', '.join(sorted(heads))}: run 'mch-service db upgrade'",
        )
    return [Check("database", True, "reachable"), schema]


def _code_tables(services: Services) -> Check:
    codes = services.domain.extractor.codes
    n = len(codes.exact) + len(codes.prefixes)
    if n == 0:
        return Check("code_tables", False, "no code table is loaded")
    return Check("code_tables", True, f"{n} codes from {len(codes.files)} file(s)")


def _assembly_queue(services: Services) -> Check:
    with services.db.reading() as session:
        depth, oldest = assembly_queue_state(session)
    if not depth or oldest is None:
        return Check("assembly_queue", True, "empty")
    age = (utcnow() - to_utc(oldest)).total_seconds()
    limit = services.settings.ready_queue_max_age_seconds
    if age > limit:
        return Check(
            "assembly_queue",
            False,
            f"stuck: {depth} women waiting, the oldest for {age:.0f} s (limit {limit:.0f} s); "
            "is a server or worker with MCH_DOMAIN_ASSEMBLY=queued running?",
        )
    return Check("assembly_queue", True, f"{depth} waiting, oldest {age:.0f} s")


def _scheduler(services: Services) -> Check:
    if not any(services.settings.job_schedules.values()):
        return Check("scheduler", True, "no job is scheduled")
    holder = lease_holder(services.db)
    if holder is None:
        return Check(
            "scheduler",
            False,
            "no process holds the scheduler lease: start 'mch-service worker' (or serve with "
            "MCH_SCHEDULER_IN_SERVER=true)",
        )
    return Check("scheduler", True, f"lease held by {holder}")


def readiness(services: Services) -> list[Check]:
    checks = _database_and_schema(services)
    checks.append(_code_tables(services))
    if not checks[0].ok or not checks[1].ok:
        # The remaining checks read tables that may not exist yet.
        return [
            *checks,
            Check("assembly_queue", False, "not checked"),
            Check("scheduler", False, "not checked"),
        ]
    for probe in (_assembly_queue, _scheduler):
        try:
            checks.append(probe(services))
        except Exception as exc:  # noqa: BLE001 - a failing probe makes the process not ready
            checks.append(Check(probe.__name__.strip("_"), False, f"failed ({type(exc).__name__})"))
    return checks
