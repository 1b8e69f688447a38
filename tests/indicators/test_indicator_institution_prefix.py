"""The per-institution staff views for institutions whose ids are prefixes of one another (hosp,
hosp-a, hosp-ab): the indicator figures, the drill-down (JSON and CSV) and the data-quality
figures filtered by institution each hold exactly that institution's records. A filter that
compared ids by prefix or substring would give hosp the women of all three.

Hand count: on 6 August 2025 hosp delivers 1 woman, hosp-a 2, hosp-ab 3 (one live baby each,
LMP 1 November 2024: GA 278 days, Nansha residents), and each sends as many refused writes as
it has women (1, 2, 3)."""

from __future__ import annotations

import csv
import io
from typing import Any

import httpx
import openpyxl
import pytest

from jobs.runner import run_job
from mch_service.app import Services
from mch_service.indicators.exports import DRILL_HEADERS
from tests.auth.test_accounts import add_user, bearer, token_for
from tests.conftest import make_sender
from tests.domain.fixtures import bundle, delivery, entry, obs, patient, uid
from tests.domain.test_pregnancy_record import post
from tests.indicators.test_indicator_service import _valid_rid

WOMEN = {"hosp": 1, "hosp-a": 2, "hosp-ab": 3}
PERIOD = "2025-08"


@pytest.fixture
def monitor(http: httpx.Client, services: Services) -> dict[str, str]:
    n = 0
    for inst, women in WOMEN.items():
        sender = make_sender(services, inst)
        for _ in range(women):
            n += 1
            p = uid()
            post(
                http,
                sender,
                bundle(
                    entry(patient(inst, f"M{n}", rid=_valid_rid(f"44011519900101{n:03d}")), p),
                    entry(obs(p, "8665-2", "2025-03-01", valueDateTime="2024-11-01")),
                    *delivery(p, "2025-08-06", "2025-08-06", "2025-08-08"),
                ),
            )
            refused = http.post(
                "/fhir/Observation",
                json={"resourceType": "Observation", "code": {"text": "no status"}},
                headers=sender.headers,
            )
            assert refused.status_code == 400
    assert run_job(services, "indicators").status == "succeeded"
    assert run_job(services, "data_quality").status == "succeeded"
    add_user(services, "mon1", "monitor")
    return bearer(token_for(http, "mon1"))


def test_indicator_figures_and_drilldown_hold_only_that_institution(
    http: httpx.Client, monitor: dict[str, str]
) -> None:
    def figure(query: str) -> tuple[int, int]:
        r = http.get(f"/api/v1/indicators?period={PERIOD}{query}", headers=monitor)
        assert r.status_code == 200, r.text
        [row] = [x for x in r.json()["results"] if x["id"] == "hiv_test_rate"]
        return row["numerator"], row["denominator"]

    assert figure("")[1] == 6  # 产妇数 of the district: all six women
    for inst, women in WOMEN.items():
        query = f"&institution={inst}"
        assert figure(query)[1] == women, inst
        r = http.get(
            f"/api/v1/indicators/hiv_test_rate/records?period={PERIOD}{query}", headers=monitor
        )
        assert r.status_code == 200, r.text
        rows = r.json()["rows"]
        assert len(rows) == women, inst
        assert {x["institution"] for x in rows} == {inst}
        assert sum(x["units"] for x in rows) == women
        r = http.get(
            f"/api/v1/indicators/hiv_test_rate/records.csv?period={PERIOD}{query}",
            headers=monitor,
        )
        assert r.status_code == 200, r.text
        lines = list(csv.reader(io.StringIO(r.text.lstrip("\ufeff"))))
        # a title line, the header, then one line per record, each of this institution
        title, header, *records = lines
        assert title[0].endswith(f" {inst}"), title
        assert len(records) == women, (inst, lines)
        column = next(i for i, name in enumerate(header) if name.endswith(" institution"))
        assert {line[column] for line in records} == {inst}, (inst, header)
        # the workbook, cell by cell against the API's rows, titled with the institution
        r = http.get(
            f"/api/v1/indicators/hiv_test_rate/records.xlsx?period={PERIOD}{query}",
            headers=monitor,
        )
        assert r.status_code == 200, r.text
        sheet = openpyxl.load_workbook(io.BytesIO(r.content), read_only=True)["明细"]
        title, header, *cells = [list(x) for x in sheet.iter_rows(values_only=True)]
        assert title[0].endswith(f" {inst}"), title
        assert header[:14] == list(DRILL_HEADERS)
        api = http.get(
            f"/api/v1/indicators/hiv_test_rate/records?period={PERIOD}{query}", headers=monitor
        ).json()["rows"]
        expected = [
            [
                x["record_id"],
                x["pregnancy_id"],
                "分娩",
                x["name"],
                x["resident_id"],
                x["date"],
                x["street"],
                x["street_name"] or "",
                x["responsible_centre"] or "",
                x["institution"],
                x["institution_name"],
                str(x["units"]),
                str(x["numerator_units"]),
                "是" if x["missed"] else "",
            ]
            for x in api
        ]
        assert [[c or "" for c in row[:14]] for row in cells] == expected, inst
    # a part of an id that no institution has is refused, not read as a prefix
    for part in ("hos", "osp-a", "ab"):
        r = http.get(f"/api/v1/indicators?period={PERIOD}&institution={part}", headers=monitor)
        assert r.status_code == 400, (part, r.text)
        r = http.get(
            f"/api/v1/indicators/hiv_test_rate/records?period={PERIOD}&institution={part}",
            headers=monitor,
        )
        assert r.status_code == 400, (part, r.text)


def test_data_quality_figures_hold_only_that_institution(
    http: httpx.Client, monitor: dict[str, str]
) -> None:
    for inst, refused in WOMEN.items():
        r = http.get(f"/api/v1/data-quality?institution={inst}", headers=monitor)
        assert r.status_code == 200, r.text
        rows: list[dict[str, Any]] = r.json()
        assert [x["institution"] for x in rows] == [inst]
        assert rows[0]["rejected"] == refused, inst
    everyone = http.get("/api/v1/data-quality", headers=monitor).json()
    assert {x["institution"]: x["rejected"] for x in everyone} == WOMEN
    for part in ("hos", "osp-a", "ab"):
        r = http.get(f"/api/v1/data-quality?institution={part}", headers=monitor)
        assert r.status_code in (200, 400), (part, r.text)
        assert r.status_code == 400 or r.json() == [], (part, r.text)
