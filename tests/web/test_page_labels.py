"""Every label a staff page uses exists in both languages (docs/add-a-page.md): a template that
names ``t.some_key`` without its entry in web/i18n.py LABELS fails here, not in front of a user."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from mch_service.web.i18n import LABELS

TEMPLATES = Path(__file__).resolve().parents[2] / "mch_service" / "web" / "templates"
# t.key, t['key'] and t["key"]; a computed key (t['role_' ~ ...]) is checked by its own test
_USED = re.compile(r"""\bt(?:\.([a-z_][a-z0-9_]*)|\[['"]([a-z_][a-z0-9_]*)['"]\])""")


def _used_labels(template: Path) -> set[str]:
    return {a or b for a, b in _USED.findall(template.read_text(encoding="utf-8"))}


@pytest.mark.parametrize("template", sorted(TEMPLATES.glob("*.html")), ids=lambda p: p.name)
def test_every_label_a_template_uses_exists(template: Path) -> None:
    missing = sorted(_used_labels(template) - set(LABELS))
    assert missing == [], f"{template.name}: add these to web/i18n.py LABELS"


def test_every_label_has_both_languages() -> None:
    incomplete = [key for key, texts in LABELS.items() if not (texts.get("zh") and texts.get("en"))]
    assert incomplete == []


def test_every_role_has_a_label() -> None:
    from mch_service.auth.permissions import Role

    assert [r.value for r in Role if f"role_{r.value}" not in LABELS] == []


def test_every_data_quality_records_label_exists() -> None:
    """The records page's computed labels: each kind, each column, the flags' two parts."""
    from mch_service.quality.records import KINDS
    from mch_service.web.quality_pages import COLUMNS

    assert set(COLUMNS) == set(KINDS)
    wanted = {f"dqr_kind_{k}" for k in KINDS}
    wanted |= {f"dqr_col_{c}" for columns in COLUMNS.values() for c in columns}
    wanted |= {"dq_split_warnings", "dq_split_flags"}
    missing = sorted(k for k in wanted if k not in LABELS)
    assert missing == []
    assert all(set(LABELS[k]) == {"zh", "en"} for k in wanted)
