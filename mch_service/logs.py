"""Logging: one JSON object per line on standard error, for the server and the worker.

Why JSON: a log line is parsed by machines (log shippers, grep with jq), and JSON encoding
escapes every control character, so nothing a client sends (a path with ``%0A`` or ``%00``)
can split a line or forge one. Personal data never reaches the log: the access log names the
route template, a sanitised path and the query's parameter names only (their values carry
identifiers), and an unexpected error is logged as its type and the request id, with its
traceback only outside production (a traceback's messages may quote request content).
"""

from __future__ import annotations

import logging
import re
import sys
import traceback
from datetime import UTC, datetime
from typing import Any

import orjson

# C0 and C1 controls, DEL, and the Unicode line and paragraph separators some viewers break on.
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


def escape_controls(text: str) -> str:
    """``text`` with every control character written as a visible escape (``\\x0a``)."""
    return _CONTROL.sub(
        lambda m: (
            f"\\x{ord(m.group()):02x}" if ord(m.group()) < 0x100 else f"\\u{ord(m.group()):04x}"
        ),
        text,
    )


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", ...fields}``: the record's ``fields`` extra
    (a dict) is merged in, so a structured line needs no format string."""

    def __init__(self, tracebacks: bool = True) -> None:
        super().__init__()
        self.tracebacks = tracebacks

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            line.update(fields)
        if record.exc_info and record.exc_info[0] is not None:
            line["error"] = record.exc_info[0].__name__
            if self.tracebacks:
                line["traceback"] = "".join(traceback.format_exception(*record.exc_info))
        return orjson.dumps(line, default=str).decode()


def configure_logging(level: str = "INFO", production: bool = False) -> None:
    """One handler on the root logger (ours, uvicorn's and the libraries' records all go
    through it; uvicorn is started with ``log_config=None`` so it adds none of its own)."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(tracebacks=not production))
    root = logging.getLogger()
    for old in list(root.handlers):
        if isinstance(old.formatter, JsonFormatter):
            root.removeHandler(old)  # configured twice (serve, then the ASGI module): once
    root.addHandler(handler)
    root.setLevel(level.upper())
    # The access log is ours; uvicorn's would repeat every request with the query string.
    logging.getLogger("uvicorn.access").disabled = True
