"""A stand-in for PostgreSQL's autovacuum, for benchmark runs on a cluster that has it off.

The service needs autovacuum on in production (README, "PostgreSQL"): the identifier,
content-key and reference look-ups are planned from the tables' statistics, and a table that
was never analyzed is planned as if it held ten pages, so its look-ups become scans of the
sender's whole range as it grows. This machine's cluster runs with ``autovacuum = off``; a load
benchmark that starts from an empty database would then measure plans no production server
keeps for more than a minute, and per-request costs that grow with the database for that
reason alone.

``AutovacuumStandIn`` does what the autovacuum launcher does with PostgreSQL's default
settings, for one database: every ``naptime`` seconds (``autovacuum_naptime``, 60 s) it reads
``pg_stat_user_tables`` and

- analyzes a table whose rows changed since its last analysis exceed
  ``50 + 0.1 * reltuples`` (``autovacuum_analyze_threshold`` / ``_scale_factor``);
- vacuums a table whose dead rows exceed ``50 + 0.2 * reltuples``
  (``autovacuum_vacuum_threshold`` / ``_scale_factor``) or whose rows inserted since its last
  vacuum exceed ``1000 + 0.2 * reltuples`` (``autovacuum_vacuum_insert_threshold`` /
  ``_scale_factor``, PostgreSQL 13 and later).

Unlike autovacuum it does not throttle its I/O (``autovacuum_vacuum_cost_delay``), so it
costs the load a little more than the real one would. It does nothing when the server has
autovacuum on.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

NAPTIME_S = 60.0

_DUE = """
SELECT s.relname,
       s.n_mod_since_analyze > 50 + 0.1 * greatest(c.reltuples, 0) AS analyze_due,
       (s.n_dead_tup > 50 + 0.2 * greatest(c.reltuples, 0)
        OR s.n_ins_since_vacuum > 1000 + 0.2 * greatest(c.reltuples, 0)) AS vacuum_due
FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid
WHERE s.schemaname = current_schema()
ORDER BY s.relname
"""


def autovacuum_on(db_url: str) -> bool:
    with psycopg.connect(db_url, autocommit=True) as conn:
        row = conn.execute("SHOW autovacuum").fetchone()
    return bool(row and row[0] == "on")


@dataclass
class AutovacuumStandIn:
    """Runs in a daemon thread from ``start()`` to ``stop()``; ``analyzed`` and ``vacuumed``
    count the tables it processed, ``seconds`` the time it spent doing so."""

    db_url: str
    naptime: float = NAPTIME_S
    analyzed: int = 0
    vacuumed: int = 0
    seconds: float = 0.0
    active: bool = False
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> AutovacuumStandIn:
        self.active = not autovacuum_on(self.db_url)
        if self.active:
            self._thread = threading.Thread(target=self._run, name="autovacuum", daemon=True)
            self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def summary(self) -> dict[str, object]:
        return {
            "stand_in": self.active,
            "naptime_s": self.naptime,
            "tables_analyzed": self.analyzed,
            "tables_vacuumed": self.vacuumed,
            "seconds": round(self.seconds, 1),
        }

    def round(self, conn: psycopg.Connection) -> None:
        """One look at the tables, processing those due."""
        start = time.perf_counter()
        for name, analyze_due, vacuum_due in conn.execute(_DUE).fetchall():
            table = sql.Identifier(name)
            if vacuum_due:
                verb = "VACUUM (ANALYZE) {}" if analyze_due else "VACUUM {}"
                conn.execute(sql.SQL(verb).format(table))
                self.vacuumed += 1
                self.analyzed += bool(analyze_due)
            elif analyze_due:
                conn.execute(sql.SQL("ANALYZE {}").format(table))
                self.analyzed += 1
        self.seconds += time.perf_counter() - start

    def _run(self) -> None:
        with psycopg.connect(self.db_url, autocommit=True) as conn:
            while not self._stop.wait(self.naptime):
                try:
                    self.round(conn)
                except psycopg.Error:
                    continue  # a table dropped under us, a lock timeout: next round
