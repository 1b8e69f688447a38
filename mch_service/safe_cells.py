"""Cells for exported spreadsheets (CSV and XLSX) that a spreadsheet program cannot run.

Exports carry strings that senders, reviewers and even anonymous callers chose (a street code
in a FHIR address, a close reason, a username typed at sign-in): written raw, ``=HYPERLINK(..)``
or ``=cmd|'/C calc'!A0`` becomes a live formula in the administrator's spreadsheet (CSV or
formula injection). Every export writes its cells through this module:

* CSV (OWASP "CSV Injection"): a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or
  a carriage return (or their full-width forms, which some CJK spreadsheet setups accept as
  the same) is prefixed with a single quote, so it is read as text; fields are quoted.
  Numbers that are Python numbers stay unquoted numbers (a number is never a formula), written
  as ``number_text`` gives them.
* XLSX: every cell is a text cell written with ``write_string`` (never evaluated, shown exactly
  as sent; the standard: "every export writes cells as text"): numbers as ``number_text``
  (the same text as in the CSV and the JSON API), dates as ``YYYY-MM-DD``, timestamps as ISO
  8601 with their offset. Nothing goes through xlsxwriter's guessing ``write`` (which turns a
  string starting with ``=`` into a formula).
"""

from __future__ import annotations

import csv
import math
import numbers
from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import IO, Any

# What a spreadsheet takes as the start of a formula (OWASP), with the full-width forms.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")

# Workbook options for every export: even a stray write() cannot make a formula or a link.
XLSX_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False}


def number_text(value: float | numbers.Integral) -> str:
    """A number as plain decimal text: an integer without ``.0``; a float with the digits of
    its ``repr`` (what the JSON API and Python's csv write), spelled out without an exponent so
    ``1e-05`` reads ``0.00001`` in a spreadsheet cell as in the CSV."""
    if isinstance(value, numbers.Integral):
        return str(int(value))
    value = float(value)
    text = repr(value)
    if math.isfinite(value) and "e" in text:
        text = format(Decimal(text), "f")
    return text


class _CsvNumber(float):
    """A float the csv module writes unquoted (QUOTE_NONNUMERIC) but as ``number_text``."""

    def __str__(self) -> str:
        return number_text(float(self))


def timestamp_text(value: datetime) -> str:
    """ISO 8601; an aware timestamp keeps its offset (``+08:00``, UTC as ``+00:00``)."""
    return value.isoformat()


def csv_text(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_cell(value: Any) -> Any:
    """One CSV field: numbers as they are, everything else as neutralised text."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, numbers.Integral):
        return int(value)
    if isinstance(value, float):
        return _CsvNumber(value)
    if isinstance(value, datetime):
        return timestamp_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return csv_text(str(value))


def csv_writer(stream: IO[str], lineterminator: str = "\r\n") -> Any:
    """A csv.writer quoting every text field (OWASP: quote each cell)."""
    return csv.writer(stream, lineterminator=lineterminator, quoting=csv.QUOTE_NONNUMERIC)


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_cell(v) for v in values]


def xlsx_cell(sheet: Any, row: int, col: int, value: Any, fmt: Any = None) -> None:
    """One XLSX cell, always a text cell (None blank): the text ``xlsx_text`` gives."""
    if value is None:
        sheet.write_blank(row, col, None, fmt)
    else:
        sheet.write_string(row, col, xlsx_text(value), fmt)


def xlsx_text(value: Any) -> str:
    """The text of one XLSX cell: numbers as ``number_text``, dates ``YYYY-MM-DD``,
    timestamps ISO 8601 with offset, booleans ``true``/``false``."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (numbers.Integral, float)):
        return number_text(value)
    if isinstance(value, datetime):
        return timestamp_text(value)
    if isinstance(value, date):
        return value.isoformat()
    return value if isinstance(value, str) else str(value)


# How the export routes describe their answers in the OpenAPI document (they stream a file).
CSV_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "A UTF-8 CSV file (with BOM); cells are text, formula starts neutralised",
        "content": {"text/csv": {"schema": {"type": "string"}}},
    }
}
XLSX_RESPONSE: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "An Excel workbook; every cell is written as text",
        "content": {
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                "schema": {"type": "string", "format": "binary"}
            }
        },
    }
}
