"""The interface guide's worked example (issue 15) run as written: the requests are parsed out
of docs/interface-guide.md and sent in order to a real server, each answer checked against
what the guide says (status, the warning named, no warning otherwise), and the result read
back through the staff API against the guide's closing paragraph (hand-worked: LMP
2025-01-06, caesarean on 2025-10-10 at 277 days = 39+4 weeks, one boy of 3350 g, Apgar 8 and
9)."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import httpx
import orjson
import pytest

from mch_service.app import Services
from mch_service.config import Settings
from mch_service.simulator.district import STREETS
from tests.auth.test_accounts import add_user, bearer, token_for
from tests.conftest import make_sender

GUIDE = Path(__file__).parents[2] / "docs" / "interface-guide.md"
REQUEST = re.compile(
    r"Request (\d+) — `(GET|PUT|POST|DELETE) ([^`]+)`,\s+(hospital|community centre|administrator)"
    r"\s+key,\s+answer\s+`(\d{3})`(?:,\s+warning\s+`(\w+)`)?"
)
BLOCK = re.compile(r"```(json|csv)\n(.*?)\n```", re.S)


@dataclass
class Step:
    number: int
    method: str
    path: str
    who: str
    status: int
    warning: str | None
    kind: str | None
    body: str | None


def steps() -> list[Step]:
    text = GUIDE.read_text(encoding="utf-8")
    section = text[text.index("## Worked example") : text.index("## Error reference")]
    out = []
    for m in REQUEST.finditer(section):
        kind = body = None
        if m.group(2) in ("PUT", "POST"):
            block = BLOCK.search(section, m.end())
            assert block is not None, f"request {m.group(1)} has no body"
            kind, body = block.group(1), block.group(2)
        out.append(
            Step(
                int(m.group(1)),
                m.group(2),
                m.group(3),
                m.group(4),
                int(m.group(5)),
                m.group(6),
                kind,
                body,
            )
        )
    return out


def test_the_guide_has_the_example_in_order() -> None:
    found = steps()
    assert [s.number for s in found] == list(range(1, 10))
    # every JSON body is JSON
    for s in found:
        if s.kind == "json":
            orjson.loads(s.body or "")


@pytest.fixture
def settings(settings: Settings, tmp_path: Path) -> Settings:
    # set-up step 1: the code-table folder (it must exist) and the district's streets, before
    # the server starts
    (tmp_path / "code-tables").mkdir()
    return settings.model_copy(
        update={
            "code_tables_dir": str(tmp_path / "code-tables"),
            "streets": [s.code for s in STREETS],
        }
    )


def test_the_worked_example_runs_as_written(http: httpx.Client, services: Services) -> None:
    keys = {
        "hospital": make_sender(services, "nsfy").headers,
        "community centre": make_sender(services, "chc-07").headers,
    }
    add_user(services, "admin1", "admin")
    keys["administrator"] = bearer(token_for(http, "admin1"))
    for step in steps():
        headers = dict(keys[step.who])
        if step.kind == "csv":
            headers["Content-Type"] = "text/csv"
        elif step.kind == "json":
            headers["Content-Type"] = "application/fhir+json"
        r = http.request(
            step.method,
            step.path,
            content=(step.body or "").encode() if step.body else None,
            headers=headers,
        )
        assert r.status_code == step.status, (step.number, r.text)
        warning = r.headers.get("Warning")
        if step.warning:
            assert warning is not None, step.number
            assert warning.startswith(f'199 mch-service "{step.warning} at '), warning
        else:
            assert warning is None, (step.number, warning)
        if step.method == "POST" and step.path == "/fhir":
            outcomes = [e["response"].get("outcome") for e in r.json()["entry"]]
            assert outcomes == [None] * len(outcomes), (step.number, outcomes)
        if "$data-quality" in step.path:
            assert r.json()["summary"]["warnings"] == 0

    # the closing paragraph, read back by the district's staff
    staff = keys["administrator"]
    found = http.post(
        "/api/v1/pregnancies/lookup", json={"resident_id": "440115199203151224"}, headers=staff
    )
    [match] = found.json()["matches"]
    record = http.get(f"/api/v1/pregnancies/{match['pregnancy_id']}", headers=staff).json()
    assert record["dating"] == {"lmp": "2025-01-06", "edd": "2025-10-13", "source": "lmp"}
    assert record["institutions"] == ["chc-07", "nsfy"]
    delivery = record["delivery"]
    assert (delivery["date"], delivery["mode"], delivery["ga_days"]) == (
        "2025-10-10",
        "caesarean",
        277,
    )
    assert (delivery["live_births"], delivery["stillbirths"]) == (1, 0)
    [birth] = record["births"]
    assert (birth["sex"], birth["weight_g"], birth["apgar_1"], birth["apgar_5"]) == (
        "male",
        3350.0,
        8.0,
        9.0,
    )
    labs = sorted(
        (t["concept"], t["result"], t["method"], t["value"])
        for t in record["timeline"]
        if t["kind"] == "lab_result"
    )
    assert labs == [
        ("haemoglobin", None, None, 118.0),
        ("hbsag_test", "negative", None, None),
        ("hiv_test", "negative", None, None),
        ("hiv_test", "negative", None, None),
        ("syphilis_test", "negative", "non_treponemal", None),
        ("syphilis_test", "negative", "treponemal", None),
    ]
    colours = [t["colour"] for t in record["timeline"] if t["kind"] == "risk_assessment"]
    assert colours == ["orange"]
    visits = [
        (t["date"], t["type"], t["institution"])
        for t in record["timeline"]
        if t["kind"] == "postpartum_visit"
    ]
    assert visits == [("2025-10-20", "visit", "chc-07")]
    assert record["data_quality"] == []
