"""The scale benchmark's autovacuum stand-in analyzes and vacuums a table when PostgreSQL's
default thresholds say autovacuum would, and not before."""

from __future__ import annotations

import psycopg
import pytest

from benchmarks.autovacuum import AutovacuumStandIn


def _stats(conn: psycopg.Connection, table: str) -> tuple[int, int]:
    row = conn.execute(
        "SELECT analyze_count, vacuum_count FROM pg_stat_user_tables "
        "WHERE relname = %s AND schemaname = current_schema()",
        (table,),
    ).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


def _insert(conn: psycopg.Connection, n: int) -> None:
    conn.execute("INSERT INTO av_probe SELECT generate_series(1, %s)", (n,))
    conn.execute("SELECT pg_stat_force_next_flush()")  # the counters, now (PostgreSQL 15)


def test_the_stand_in_acts_at_autovacuums_default_thresholds(database_url: str) -> None:
    if not database_url.startswith("postgresql"):
        pytest.skip("autovacuum is PostgreSQL's")
    stand_in = AutovacuumStandIn(database_url)
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute("DROP TABLE IF EXISTS av_probe")
        conn.execute("CREATE TABLE av_probe (x integer)")
        try:
            _insert(conn, 40)  # 40 changed rows: under the analyze threshold of 50
            stand_in.round(conn)
            assert _stats(conn, "av_probe") == (0, 0)
            _insert(conn, 160)  # 200 > 50 + 0.1 * 0: analyze; 200 inserted < 1,000: no vacuum
            stand_in.round(conn)
            assert _stats(conn, "av_probe") == (1, 0)
            stand_in.round(conn)  # nothing changed since: nothing to do
            assert _stats(conn, "av_probe") == (1, 0)
            # 1,100 more inserted since the last vacuum (none): > 1,000 + 0.2 * 200, and
            # 1,100 changed > 50 + 0.1 * 200: vacuum with analyze
            _insert(conn, 1100)
            stand_in.round(conn)
            assert _stats(conn, "av_probe") == (2, 1)
        finally:
            conn.execute("DROP TABLE IF EXISTS av_probe")
