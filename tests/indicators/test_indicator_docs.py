"""docs/indicators.md is generated from the catalogue and must not drift from it."""

from __future__ import annotations

from mch_service.indicators.catalogue import CATALOGUE, CATALOGUE_VERSION
from mch_service.indicators.docs import DOCS_PATH, main, render


def test_docs_are_up_to_date() -> None:
    assert DOCS_PATH.read_text(encoding="utf-8") == render(), (
        "docs/indicators.md is out of date: run .venv/bin/python -m mch_service.indicators.docs"
    )
    assert main(["--check"]) == 0


def test_docs_name_every_indicator_and_the_version() -> None:
    text = render()
    assert f"**{CATALOGUE_VERSION}**" in text
    for indicator in CATALOGUE:
        assert f"### {indicator.name_zh} — {indicator.name_en}" in text
        assert f"`{indicator.id}`" in text
    assert "(indicator-rules.md)" in text
    assert "`MCH_INDICATOR_CAESAREAN_BASIS`" in text
