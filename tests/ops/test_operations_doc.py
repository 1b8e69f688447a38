"""docs/operations.md is current: its settings table is what the Settings class generates now,
and it names every metric the service exports and every readiness check."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mch_service import process_metrics
from mch_service.config import Settings
from mch_service.ops import metrics
from mch_service.ops.settings_doc import END, START, settings_markdown, with_table

ROOT = Path(__file__).resolve().parents[2]
DOC = ROOT / "docs" / "operations.md"


def test_the_settings_table_is_current() -> None:
    doc = DOC.read_text(encoding="utf-8")
    assert with_table(doc, settings_markdown()) == doc, (
        "regenerate: mch-service settings --write-doc docs/operations.md"
    )


def test_the_table_has_every_setting_with_its_default() -> None:
    table = settings_markdown()
    for name, field in Settings.model_fields.items():
        row = next(r for r in table.splitlines() if r.startswith(f"| `MCH_{name.upper()}` |"))
        effect = row.rsplit("|", 2)[-2].strip()
        assert effect, f"MCH_{name.upper()} has no effect described"
        default = field.get_default(call_default_factory=True)
        if (
            isinstance(default, int | str)
            and not isinstance(default, bool)
            and name != "secret_key"
        ):
            assert f"`{default}`" in row


def test_a_new_setting_makes_the_doc_stale(monkeypatch: pytest.MonkeyPatch) -> None:
    """The check above can fail: a setting added to the class changes the table."""
    from pydantic.fields import FieldInfo

    fields = dict(Settings.model_fields)
    fields["brand_new"] = FieldInfo(annotation=int, default=7)
    monkeypatch.setattr(Settings, "model_fields", fields)
    doc = DOC.read_text(encoding="utf-8")
    assert with_table(doc, settings_markdown()) != doc
    assert "| `MCH_BRAND_NEW` | int | `7` |" in settings_markdown()


def test_the_cli_writes_the_table(tmp_path: Path) -> None:
    import subprocess
    import sys

    target = tmp_path / "ops.md"
    target.write_text(f"# x\n\n{START}\nOLD-TABLE-LINE\n{END}\nafter\n", encoding="utf-8")
    done = subprocess.run(
        [sys.executable, "-m", "mch_service", "settings", "--write-doc", str(target)],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    text = target.read_text(encoding="utf-8")
    assert "OLD-TABLE-LINE" not in text
    assert text.endswith(f"{END}\nafter\n")
    assert "| `MCH_SECRET_KEY` |" in text


def test_every_metric_and_readiness_check_is_documented() -> None:
    doc = DOC.read_text(encoding="utf-8")
    exported = {
        f"{m._name}_total" if isinstance(m, process_metrics.Counter) else m._name  # noqa: SLF001
        for m in (
            process_metrics.REQUESTS,
            process_metrics.LATENCY,
            process_metrics.INGESTED,
            process_metrics.REJECTED,
            process_metrics.LOGIN_FAILURES,
            process_metrics.LOCKOUTS,
        )
    }
    source = Path(metrics.__file__).read_text(encoding="utf-8")
    exported |= {
        f"{n}_total" if n == "mch_job_runs" else n
        for n in re.findall(r'(?:Gauge|Counter)MetricFamily\(\s*"(\w+)"', source)
    }
    assert len(exported) >= 14
    assert sorted(n for n in exported if f"`{n}`" not in doc) == []
    for check in ("database", "migrations", "code_tables", "assembly_queue", "scheduler"):
        assert f"| `{check}` |" in doc
