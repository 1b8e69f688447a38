"""The docs say what the code does: every setting is documented, the guide names every search
parameter and limit the CapabilityStatement publishes."""

from __future__ import annotations

from pathlib import Path

from mch_service.config import Settings
from mch_service.fhir_api.capability import capability_statement

ROOT = Path(__file__).resolve().parents[1]


def test_every_setting_is_in_the_readme() -> None:
    readme = (ROOT / "README.md").read_text()
    missing = [
        f"MCH_{name.upper()}"
        for name in Settings.model_fields
        if f"`MCH_{name.upper()}`" not in readme
    ]
    assert missing == []


def test_interface_guide_covers_the_capability_statement() -> None:
    guide = (ROOT / "docs" / "interface-guide.md").read_text()
    cap = capability_statement(Settings())
    params = {p["name"] for r in cap["rest"][0]["resource"] for p in r["searchParam"]}
    assert [p for p in sorted(params) if f"`{p}`" not in guide] == []
    date_types = [
        r["type"]
        for r in cap["rest"][0]["resource"]
        if any(p["name"] == "date" for p in r["searchParam"])
    ]
    date_row = next(line for line in guide.splitlines() if line.startswith("| `date` |"))
    assert [t for t in date_types if t not in date_row] == []
    s = Settings()
    assert f"| Entries per Bundle | {s.max_bundle_entries} " in guide
    assert f"{s.max_body_bytes // (1024 * 1024)} MiB" in guide
