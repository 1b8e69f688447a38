"""The settings reference of docs/operations.md, generated from the Settings class: name,
type, default from the class; the effect from the README's configuration table (the one place
its wording is kept, and a test keeps every setting there), else from the comment above the
setting in config.py. ``mch-service settings --markdown`` prints it; ``--write-doc PATH``
replaces the table between the markers in PATH. A test fails when the doc is out of date."""

from __future__ import annotations

import inspect
import json
import re
import types
import typing
from pathlib import Path
from typing import Any, Literal

from pydantic.fields import FieldInfo

from mch_service.config import DEV_SECRET_KEY, Settings

START = "<!-- settings:start (generated: mch-service settings --write-doc docs/operations.md) -->"
END = "<!-- settings:end -->"
README = Path(__file__).resolve().parents[2] / "README.md"


def _type_name(annotation: Any) -> str:
    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is Literal:
        return " \\| ".join(f"`{a}`" for a in args)
    if origin in (typing.Union, types.UnionType):
        inner = [a for a in args if a is not type(None)]
        return " \\| ".join(_type_name(a) for a in inner) + (
            " or none" if len(inner) < len(args) else ""
        )
    if origin is not None:
        return f"{origin.__name__}[{', '.join(_type_name(a) for a in args)}]"
    return getattr(annotation, "__name__", str(annotation))


def _default(name: str, field: FieldInfo) -> str:
    value = field.get_default(call_default_factory=True)
    if name == "secret_key" and value == DEV_SECRET_KEY:
        return "a development key (refused with `MCH_ENV=production`)"
    if value is None:
        return "none"
    if isinstance(value, (list, dict)):
        return f"`{json.dumps(value, ensure_ascii=False, separators=(',', ':'))}`"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{int(value)}`"
    return f"`{value}`"


def _bounds(field: FieldInfo) -> str:
    parts = []
    for m in field.metadata:
        for attr, sign in (("ge", "≥"), ("gt", ">"), ("le", "≤"), ("lt", "<")):
            bound = getattr(m, attr, None)
            if bound is not None:
                parts.append(f"{sign} {bound}")
    return f" ({', '.join(parts)})" if parts else ""


def _readme_meanings(readme: Path) -> dict[str, str]:
    out = {}
    if readme.exists():
        for line in readme.read_text(encoding="utf-8").splitlines():
            m = re.match(r"^\| `(MCH_\w+)` \| .*? \| (.*) \|$", line)
            if m:
                out[m.group(1)] = m.group(2).strip()
    return out


def _source_comments() -> dict[str, str]:
    """The comment block above each field in config.py (a block above several fields belongs
    to each of them, until a blank line)."""
    out: dict[str, str] = {}
    comment: list[str] = []
    after_field = False
    for line in inspect.getsource(Settings).splitlines()[1:]:
        stripped = line.strip()
        indent = len(line) - len(line.lstrip())
        if not stripped or stripped.startswith("@"):
            comment, after_field = [], False
        elif stripped.startswith("#") and indent == 4:
            if after_field:
                comment, after_field = [], False
            comment.append(stripped.lstrip("#").strip())
        elif indent == 4:
            m = re.match(r"(\w+)\s*:", stripped)
            if m and m.group(1) in Settings.model_fields:
                out[m.group(1)] = " ".join(comment)
                after_field = True
    return out


def settings_rows(readme: Path = README) -> list[tuple[str, str, str, str]]:
    meanings = _readme_meanings(readme)
    comments = _source_comments()
    rows = []
    for name, field in Settings.model_fields.items():
        env = f"MCH_{name.upper()}"
        effect = meanings.get(env) or comments.get(name) or field.description or ""
        rows.append(
            (
                f"`{env}`",
                _type_name(field.annotation) + _bounds(field),
                _default(name, field),
                effect,
            )
        )
    return rows


def settings_markdown(readme: Path = README) -> str:
    lines = ["| Variable | Type | Default | Effect |", "|---|---|---|---|"]
    lines += [f"| {a} | {b} | {c} | {d} |" for a, b, c, d in settings_rows(readme)]
    # The README's links are relative to the top folder; the table lives in docs/.
    return "\n".join(lines).replace("](docs/", "](") + "\n"


def with_table(doc: str, table: str) -> str:
    """The document with its generated table replaced (markers kept)."""
    if START not in doc or END not in doc:
        raise ValueError(f"the document has no markers {START!r} ... {END!r}")
    head, rest = doc.split(START, 1)
    _, tail = rest.split(END, 1)
    return f"{head}{START}\n{table}{END}{tail}"
