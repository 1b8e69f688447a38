"""The read-only brief's data (``../shared/data`` beside the clone: the official R4 examples and
the reference validator's cases). It is never copied into the repository, so a fresh clone may
not have it: tests that read it are marked ``needs_shared_data`` and skip with this reason when
it is absent, or fail when ``CI`` is set (CI must run them, so a missing folder there is an
error, not a quiet skip). Module-level data is loaded through ``read_json``/``params`` so that
collecting a test file never fails on the missing folder.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_DATA = (ROOT.parent / "shared" / "data").resolve()
PRESENT = SHARED_DATA.is_dir()
REASON = (
    f"needs the brief's shared data at {SHARED_DATA} (../shared/data beside the clone), "
    "which is not on this machine"
)

needs_shared_data = pytest.mark.needs_shared_data


def in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() not in ("", "0", "false", "no")


def require() -> None:
    """Skip the running test when the data is absent; fail instead under CI."""
    if PRESENT:
        return
    if in_ci():
        pytest.fail(f"{REASON}; CI is set, so this is a failure, not a skip", pytrace=False)
    pytest.skip(REASON)


def read_json(path: Path, absent: Any) -> Any:
    """The file's JSON, or ``absent`` when the shared data is not there."""
    return json.loads(path.read_text(encoding="utf-8")) if PRESENT else absent


def params(values: Iterable[Any], ids: Callable[[Any], str] | None = None) -> list[Any]:
    """Parameters for a data-driven test; without the data, one placeholder that skips (or
    fails under CI) with the reason, rather than pytest's unexplained empty parameter set."""
    if PRESENT:
        return [pytest.param(v, id=ids(v) if ids else None) for v in values]
    return [pytest.param(None, id="shared-data-absent", marks=needs_shared_data)]
