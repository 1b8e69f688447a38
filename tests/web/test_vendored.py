"""The vendored front-end libraries are the npm registry's files, unmodified: each file's
SHA-256 equals the one VENDORED.md records, and each has its licence beside it."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[2] / "mch_service" / "web" / "static" / "vendor"


def test_every_vendored_file_matches_its_recorded_digest() -> None:
    table = (VENDOR / "VENDORED.md").read_text(encoding="utf-8")
    rows = re.findall(r"\| `([^`]+\.js)`.*\| `([0-9a-f]{64})` \|", table)
    assert len(rows) == 2
    for name, digest in rows:
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == digest, name
        assert (VENDOR / name).parent.joinpath("LICENSE").exists(), name
    on_disk = {p.relative_to(VENDOR).as_posix() for p in VENDOR.rglob("*.js")}
    assert on_disk == {name for name, _ in rows}
