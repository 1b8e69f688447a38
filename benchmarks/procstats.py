"""What the benchmarks read from /proc: process trees, resident memory and CPU time.

Linux only. Reads are cheap (a few small files) because the sampler runs in the client
process, which shares the machine's cores with the server it measures.
"""

from __future__ import annotations

import os
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

PAGE_SIZE = os.sysconf("SC_PAGE_SIZE")
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
_PROC = Path("/proc")


def _stat_fields(pid: int) -> list[str] | None:
    """Fields of /proc/PID/stat after the command name (which may contain spaces)."""
    try:
        raw = (_PROC / str(pid) / "stat").read_text()
    except OSError:
        return None
    return raw[raw.rfind(")") + 2 :].split()


def _comm(pid: int) -> str | None:
    try:
        return (_PROC / str(pid) / "comm").read_text().strip()
    except OSError:
        return None


def _all_pids() -> list[int]:
    return [int(p.name) for p in _PROC.iterdir() if p.name.isdigit()]


def process_tree(root: int) -> list[int]:
    """``root`` and all its descendants (this kernel has no /proc/PID/task/TID/children, so
    the tree is rebuilt from every process's parent id)."""
    children: dict[int, list[int]] = {}
    for pid in _all_pids():
        fields = _stat_fields(pid)
        if fields is not None:
            children.setdefault(int(fields[1]), []).append(pid)
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, ()))
    return out


def pids_named(name: str) -> list[int]:
    return [pid for pid in _all_pids() if _comm(pid) == name]


def _cmdline(pid: int) -> str:
    try:
        return (
            (_PROC / str(pid) / "cmdline")
            .read_bytes()
            .replace(b"\0", b" ")
            .decode(errors="replace")
        )
    except OSError:
        return ""


def postgres_pids(database: str) -> list[int]:
    """PostgreSQL processes working for ``database``: its backends (whose title names the
    database, e.g. "postgres: 15/main: postgres mch_bench_ingest 127.0.0.1(5123) idle") and the
    shared ones (WAL writer, checkpointer...), but not backends of other databases, which
    other work on the same machine may be using."""
    out = []
    for pid in pids_named("postgres"):
        title = _cmdline(pid)
        words = title.split()
        # A backend's title: "postgres: [cluster:] user database host(port) state".
        is_backend = len(words) >= 4 and ("(" in title or "[local]" in title)
        if not is_backend or f" {database} " in f" {title} ":
            out.append(pid)
    return out


def rss_bytes(pid: int) -> int:
    try:
        return int((_PROC / str(pid) / "statm").read_text().split()[1]) * PAGE_SIZE
    except (OSError, IndexError, ValueError):
        return 0


def cpu_seconds(pids: list[int]) -> dict[int, float]:
    """User + system CPU time of each live process, in seconds."""
    out = {}
    for pid in pids:
        fields = _stat_fields(pid)
        if fields is not None:
            out[pid] = (int(fields[11]) + int(fields[12])) / CLOCK_TICKS
    return out


def cpu_delta(before: dict[int, float], after: dict[int, float]) -> float:
    """CPU seconds spent between two readings by the processes alive at the second one (a
    process started in between counts from zero)."""
    return sum(t - before.get(pid, 0.0) for pid, t in after.items())


def machine_utilisation(seconds: float) -> float:
    """Share of all CPUs busy over the next ``seconds``."""
    busy0, total0 = machine_busy()
    time.sleep(seconds)
    busy1, total1 = machine_busy()
    return (busy1 - busy0) / max(total1 - total0, 1e-9)


def machine_busy() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, from /proc/stat."""
    parts = (_PROC / "stat").read_text().split("\n", 1)[0].split()[1:]
    ticks = [int(p) for p in parts[:8]]
    idle = ticks[3] + ticks[4]  # idle + iowait
    return (sum(ticks) - idle) / CLOCK_TICKS, sum(ticks) / CLOCK_TICKS


@dataclass
class MemorySampler:
    """Samples the summed resident memory of a process tree every ``interval`` seconds in a
    background thread and keeps the peak. The tree is rediscovered once a second only: the
    server's workers live for the whole run, and scanning /proc costs more than reading RSS."""

    root: int
    interval: float = 0.1
    rediscover_every: int = 10
    peak_total: int = 0
    peak_by_pid: dict[int, int] = field(default_factory=dict)
    samples: int = 0
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None

    def start(self) -> MemorySampler:
        self._thread = threading.Thread(target=self._run, name="rss-sampler", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()

    def _run(self) -> None:
        pids: list[int] = []
        n = 0
        while not self._stop.is_set():
            if n % self.rediscover_every == 0:
                pids = process_tree(self.root)
            n += 1
            total = 0
            for pid in pids:
                rss = rss_bytes(pid)
                total += rss
                if rss > self.peak_by_pid.get(pid, 0):
                    self.peak_by_pid[pid] = rss
            self.peak_total = max(self.peak_total, total)
            self.samples += 1
            self._stop.wait(self.interval)


# -- PostgreSQL's statement statistics (pg_stat_statements, a profiling set-up) -------------


def statements_reset(db_url: str) -> bool:
    """Reset PostgreSQL's statement statistics when the server collects them
    (``shared_preload_libraries = 'pg_stat_statements'``, not the default): False when it
    does not."""
    import psycopg

    try:
        with psycopg.connect(db_url, autocommit=True) as conn:
            conn.execute("CREATE EXTENSION IF NOT EXISTS pg_stat_statements")
            conn.execute("SELECT pg_stat_statements_reset()")
        return True
    except psycopg.Error:
        return False


def statements_top(db_url: str, n: int, width: int = 160) -> list[tuple[int, float, int, str]]:
    """The database's ``n`` most expensive statements since the reset: (calls, total ms, rows,
    the statement's first ``width`` characters on one line)."""
    import psycopg

    with psycopg.connect(db_url, autocommit=True) as conn:
        return [
            (int(calls), float(ms), int(rows), str(query))
            for calls, ms, rows, query in conn.execute(
                "SELECT calls, total_exec_time, rows, left(regexp_replace(query, '\\s+', ' ', "
                "'g'), %s) FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database "
                "WHERE datname = current_database()) ORDER BY total_exec_time DESC LIMIT %s",
                (width, n),
            )
        ]
