"""Cells for exported spreadsheets (CSV and XLSX) that a spreadsheet program cannot run.

Exports carry strings that senders, reviewers and even anonymous callers chose (a street code
in a FHIR address, a close reason, a username typed at sign-in): written raw, ``=HYPERLINK(..)``
or ``=cmd|'/C calc'!A0`` becomes a live formula in the administrator's spreadsheet (CSV or
formula injection). Every export writes its cells through this module:

* CSV (OWASP "CSV Injection"): a text cell starting with ``=``, ``+``, ``-``, ``@``, a tab or
  a carriage return (or their full-width forms, which some CJK spreadsheet setups accept as
  the same) is prefixed with a single quote, so it is read as text; fields are quoted.
  Numbers that are Python numbers stay numbers (a number is never a formula).
* XLSX: text goes in with ``write_string`` (a text cell, never evaluated, shown exactly as
  sent); numbers with ``write_number``, dates with ``write_datetime``; nothing goes through
  xlsxwriter's guessing ``write`` (which turns a string starting with ``=`` into a formula).
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from datetime import date, datetime
from typing import IO, Any

# What a spreadsheet takes as the start of a formula (OWASP), with the full-width forms.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", "＝", "＋", "－", "＠")

# Workbook options for every export: even a stray write() cannot make a formula or a link.
XLSX_OPTIONS = {"strings_to_formulas": False, "strings_to_urls": False}


def csv_text(value: str) -> str:
    return "'" + value if value.startswith(FORMULA_STARTS) else value


def csv_cell(value: Any) -> Any:
    """One CSV field: numbers as they are, everything else as neutralised text."""
    if value is None:
        return ""
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (date, datetime)):
        return value.isoformat()
    return csv_text(str(value))


def csv_writer(stream: IO[str], lineterminator: str = "\r\n") -> Any:
    """A csv.writer quoting every text field (OWASP: quote each cell)."""
    return csv.writer(stream, lineterminator=lineterminator, quoting=csv.QUOTE_NONNUMERIC)


def csv_row(values: Iterable[Any]) -> list[Any]:
    return [csv_cell(v) for v in values]


def xlsx_cell(sheet: Any, row: int, col: int, value: Any, fmt: Any = None) -> None:
    """One XLSX cell: text as a text cell, numbers as numbers, None blank."""
    if value is None:
        sheet.write_blank(row, col, None, fmt)
    elif isinstance(value, bool):
        sheet.write_string(row, col, "true" if value else "false", fmt)
    elif isinstance(value, (int, float)):
        sheet.write_number(row, col, value, fmt)
    elif isinstance(value, datetime):
        sheet.write_datetime(row, col, value, fmt)
    else:
        sheet.write_string(row, col, value if isinstance(value, str) else str(value), fmt)
