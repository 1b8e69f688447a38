"""Sampling the server with py-spy during a timed phase, and reading the samples back.

py-spy is optional (``.venv/bin/pip install py-spy``); it attaches to the running server
from outside, so the server runs unmodified. Samples are kept in py-spy's "raw" format
(collapsed stacks, one ``frame;frame;... count`` per line) and summarised here as the share
of the samples per function (self and inclusive) and per component. Only threads holding
the GIL are sampled, which approximates the server's Python CPU time; C code that releases
the GIL (libpq I/O, zlib on large buffers) is not seen.
"""

from __future__ import annotations

import re
import shutil
import signal
import subprocess
import sys
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Component of a frame, by the first of these path fragments found in its file name. Order
# matters: more specific fragments first. A sample is charged to the component of its
# innermost frame that has one, so a stdlib call (re, hmac, json...) counts for the library
# or module that made it.
_COMPONENTS: tuple[tuple[str, str], ...] = (
    ("mch_service/fhir_api/structural_rules", "validation: structural rules"),
    ("mch_service/fhir_api/validation", "validation: glue"),
    ("fhir/resources", "validation: fhir.resources models"),
    ("fhir_core", "validation: fhir.resources models"),
    ("pydantic", "validation: fhir.resources models"),
    ("mch_service/crypto", "crypto (seal, keyed hash)"),
    ("cryptography", "crypto (seal, keyed hash)"),
    ("mch_service/store/repository", "store: repository (SQL building)"),
    ("mch_service/store", "store: service/indexing"),
    ("mch_service/audit", "audit"),
    ("mch_service/institutions", "auth (API key lookup)"),
    ("mch_service/fhir_api/interactions", "fhir_api: interactions (planning)"),
    ("mch_service/fhir_api", "fhir_api: service/endpoints"),
    ("mch_service", "mch_service: other"),
    ("sqlalchemy", "SQLAlchemy (ORM/core)"),
    ("psycopg", "psycopg (driver)"),
    ("starlette", "HTTP: starlette/fastapi/uvicorn/anyio"),
    ("fastapi", "HTTP: starlette/fastapi/uvicorn/anyio"),
    ("uvicorn", "HTTP: starlette/fastapi/uvicorn/anyio"),
    ("anyio", "HTTP: starlette/fastapi/uvicorn/anyio"),
    ("httptools", "HTTP: starlette/fastapi/uvicorn/anyio"),
    ("h11", "HTTP: starlette/fastapi/uvicorn/anyio"),
)


_FRAME = re.compile(r"^\S.* \([^()]*\)$")


def _component(frame: str) -> str | None:
    for fragment, name in _COMPONENTS:
        if fragment in frame:
            return name
    return None


def _function(frame: str) -> str:
    """'execute (sqlalchemy/orm/session.py:2262)' -> 'execute (sqlalchemy/orm/session.py)':
    one row per function, not per line."""
    head, sep, tail = frame.rpartition(":")
    return f"{head})" if sep and tail.rstrip(")").isdigit() else frame


class PySpy:
    """``py-spy record`` on a process and its children (the server's workers) until stopped."""

    def __init__(self, pid: int, output: Path, rate: int = 100) -> None:
        exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
        if not Path(exe).exists():
            raise RuntimeError("--profile needs py-spy: .venv/bin/pip install py-spy")
        self.output = output
        self.proc = subprocess.Popen(
            # --gil: only samples of threads holding the GIL, i.e. running Python code.
            # Without it, threads blocked in psycopg's wait for PostgreSQL or in the event
            # loop's poll count as busy and hide where the CPU goes.
            [
                exe,
                "record",
                "--pid",
                str(pid),
                "--subprocesses",
                "--gil",
                "--rate",
                str(rate),
                "--format",
                "raw",
                "--output",
                str(output),
                "--nonblocking",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def stop(self) -> None:
        # SIGINT makes py-spy write what it has and exit, like Ctrl-C.
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
        try:
            _, err = self.proc.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
        if not self.output.exists():
            raise RuntimeError(f"py-spy wrote no profile: {err.decode(errors='replace')[-500:]}")


@dataclass
class ProfileSummary:
    samples: int
    by_component: list[tuple[str, float]]
    top_self: list[tuple[str, float]]
    top_inclusive: list[tuple[str, float]]

    def as_dict(self) -> dict[str, Any]:
        return {
            "samples": self.samples,
            "by_component": self.by_component,
            "top_self": self.top_self,
            "top_inclusive": self.top_inclusive,
        }

    def render(self) -> str:
        lines = [f"server profile: {self.samples} samples holding the GIL (shares of them)"]
        for title, rows in (
            ("by component", self.by_component),
            ("top functions, self", self.top_self),
            ("top mch_service functions, inclusive", self.top_inclusive),
        ):
            lines.append(f"  {title}:")
            lines += [f"    {share:5.1f}%  {name}" for name, share in rows]
        return "\n".join(lines)


def summarise(raw: Path, top: int = 20) -> ProfileSummary:
    self_counts: Counter[str] = Counter()
    incl_counts: Counter[str] = Counter()
    comp_counts: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        # With --subprocesses py-spy puts the process first ('process 123:"cmdline"'), and a
        # command line may itself contain ';': keep only real frames, "name (file:line)".
        frames = [f for f in stack.split(";") if _FRAME.match(f)]
        if not frames:
            continue
        total += count
        self_counts[_function(frames[-1])] += count
        # Inclusive shares of the service's own functions: where in the request path the
        # time goes (library frames above them would all be ~100%).
        for name in {_function(f) for f in frames if "mch_service/" in f}:
            incl_counts[name] += count
        comp = next(
            (c for f in reversed(frames) if (c := _component(f))),
            "other (stdlib, C extensions, interpreter)",
        )
        comp_counts[comp] += count

    def shares(counter: Counter[str], n: int) -> list[tuple[str, float]]:
        return [(name, round(100 * c / total, 1)) for name, c in counter.most_common(n)]

    if total == 0:
        return ProfileSummary(0, [], [], [])
    return ProfileSummary(
        total,
        shares(comp_counts, len(comp_counts)),
        shares(self_counts, top),
        shares(incl_counts, top),
    )


def finish_inproc(
    services: Any, profile: str | None, top: int, drop: Callable[[], None] | None
) -> None:
    """The end of an in-process benchmark: the profile's summary (when sampled), the services'
    connections closed, its database dropped (``drop``; None keeps it)."""
    if profile:
        print(summarise(Path(profile), top).render())
    services.db.dispose()
    if drop is not None:
        drop()
