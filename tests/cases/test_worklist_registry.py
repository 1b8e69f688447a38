"""Every work list in the registry (``worklists.LISTS``) is complete: the tests below name what a
new list still lacks (docs/add-a-work-list.md walks through each)."""

from __future__ import annotations

from pathlib import Path

import pytest

from mch_service.cases.models import WorkItem
from mch_service.cases.worklists import LISTS
from mch_service.web.i18n import LABELS

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", list(LISTS))
def test_the_list_has_labels_in_both_languages(name: str) -> None:
    label = LABELS.get(f"list_{name}", {})
    for lang in ("zh", "en"):
        assert label.get(lang), f'web/i18n.py LABELS lacks "list_{name}" in {lang}'


@pytest.mark.parametrize("name", list(LISTS))
def test_the_list_has_its_rule_row_in_the_docs(name: str) -> None:
    rules = (ROOT / "docs" / "indicator-rules.md").read_text(encoding="utf-8")
    assert f"| `{name}` |" in rules, f"docs/indicator-rules.md: no row for `{name}`"


@pytest.mark.parametrize("name", list(LISTS))
def test_the_list_has_edge_tests(name: str) -> None:
    edges = (ROOT / "tests" / "cases" / "test_worklist_edges.py").read_text(encoding="utf-8")
    assert f'"{name}"' in edges, f"tests/cases/test_worklist_edges.py: no edge test of {name}"


@pytest.mark.parametrize("name", list(LISTS))
def test_the_rule_says_what_it_checks_and_what_clears_it(name: str) -> None:
    work_list = LISTS[name]
    assert work_list.rule.__doc__, f"the rule of {name} needs a docstring (what puts her on it)"
    assert work_list.clears.strip(), f"{name} needs its clears text"


@pytest.mark.parametrize("name", list(LISTS))
def test_the_name_fits_the_stored_column(name: str) -> None:
    width = getattr(WorkItem.__table__.c.list_name.type, "length", None)
    assert width is not None
    assert len(name) <= width, f"{name} is longer than work_item.list_name ({width})"
    assert name.isidentifier()
    assert name == name.lower()


def test_no_label_for_a_list_that_does_not_exist() -> None:
    listed = {key.removeprefix("list_") for key in LABELS if key.startswith("list_")}
    assert listed - set(LISTS) == set()
