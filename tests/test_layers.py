"""The import-linter contracts of pyproject.toml (docs/architecture.md): the intended layers
hold. A failure names the broken contracts and the imports that break them."""

from __future__ import annotations

from pathlib import Path

import pytest
from importlinter import configuration
from importlinter.application import use_cases

ROOT = Path(__file__).resolve().parents[1]


def test_the_import_contracts_are_kept(
    capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(ROOT)
    configuration.configure()
    passed = use_cases.lint_imports(
        config_filename=str(ROOT / "pyproject.toml"), cache_dir=None, no_logo=True
    )
    report = capsys.readouterr().out
    broken = [line.strip() for line in report.splitlines() if line.rstrip().endswith("BROKEN")]
    assert passed == use_cases.SUCCESS, "broken contracts:\n" + "\n".join(broken) + "\n" + report
