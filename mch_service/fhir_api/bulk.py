"""Bulk backfill from NDJSON (one resource per line), for the CLI and the HTTP $import.

A line with an id is written as an update-or-create of that id, a line without one as a
create (de-duplicated by identifier or content), so running the same import twice changes
nothing. Lines are written in chunks, one transaction each; a chunk that fails as a whole is
retried line by line, so one bad line never holds back the others. A record's later version
waits for the next chunk (never two versions of one record in a transaction) while other lines
go on filling the current one; rejections are reported in the files' order.
"""

from __future__ import annotations

import logging
import re
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, BinaryIO, cast

import orjson

from mch_service.audit.service import Actor
from mch_service.errors import InvalidResource, Issue, MchError
from mch_service.fhir_api.entries import Entry
from mch_service.fhir_api.service import FhirService

CHUNK = 200
# At most this many later versions wait (each holds its parsed resource) before a chunk is cut.
WAITING = 1000
log = logging.getLogger(__name__)
# A line that trips a fault of ours is reported like a bad line (the guide promises one line
# never stops the others); the fault is logged by type, never with the content.
INTERNAL_ERROR = "internal error on this line; it has been logged and the line was not stored"


@dataclass
class Rejection:
    source: str
    line: int
    reason: str


@dataclass
class ImportReport:
    lines: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    @property
    def accepted(self) -> int:
        return self.created + self.updated + self.unchanged

    def as_dict(self) -> dict[str, Any]:
        return {
            "lines": self.lines,
            "accepted": self.accepted,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": len(self.rejected),
            "errors": [r.__dict__ for r in self.rejected],
        }


# The import report is stored (import_job.report) and shown to the sender later: it must not
# keep the personal data a rejected line carried. Messages quote what was sent (a reference,
# a url, a code), so the values are taken out again here, for every message source at once.
_PERSONAL_ELEMENTS = frozenset({"identifier", "name", "telecom", "address", "birthDate"})
_NOT_PERSONAL = frozenset({"system", "use", "url", "code", "type", "period", "extension"})
# A resident ID (18 characters, or the old 15 digits) or a mobile number quoted anywhere, and
# the value of an identifier search in a quoted conditional reference.
_ID_LIKE = re.compile(r"(?<![0-9A-Za-z])(?:\d{17}[\dXx]|\d{15}|1\d{10})(?![0-9A-Za-z])")
_IDENTIFIER_PARAM = re.compile(r"(identifier=)(?!system\|value\b)[^&'\"\s,;)]+")
REDACTED = "***"


def _personal_values(node: Any, inside: bool = False) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if inside and key in _NOT_PERSONAL:
                continue
            yield from _personal_values(value, inside or key in _PERSONAL_ELEMENTS)
    elif isinstance(node, list):
        for item in node:
            yield from _personal_values(item, inside)
    elif inside and isinstance(node, str) and len(node.strip()) >= 2:
        yield node.strip()


def redact(text: str, resource: Any = None) -> str:
    """``text`` without the personal values of ``resource`` (identifiers, names, phones,
    addresses, birth date) nor anything shaped like a resident ID or phone number."""
    for value in sorted(set(_personal_values(resource)), key=len, reverse=True):
        text = text.replace(value, REDACTED)
    text = _IDENTIFIER_PARAM.sub(r"\1" + REDACTED, text)
    return _ID_LIKE.sub(REDACTED, text)


def _reason(exc: MchError, resource: Any = None) -> str:
    return redact(
        "; ".join(
            f"{i.expression}: {i.message}" if i.expression else i.message for i in exc.all_issues()
        ),
        resource,
    )


def _entry_for(resource: Any, line: int) -> Entry:
    rtype = resource.get("resourceType") if isinstance(resource, dict) else None
    if not isinstance(rtype, str):
        raise InvalidResource(
            [Issue("The line holds no FHIR resource (no resourceType)", None, "structure")]
        )
    rid = resource.get("id")
    if isinstance(rid, str) and rid:
        return Entry("PUT", f"{rtype}/{rid}", resource, root=rtype, history_is_noop=True)
    return Entry("POST", rtype, resource, root=rtype, history_is_noop=True)


@dataclass(frozen=True)
class LineTooLong:
    """A line over the limit of one resource, skipped without being held whole."""

    size: int
    limit: int


_SKIP = 64 * 1024


def iter_lines(
    source: str, lines: Iterable[bytes] | BinaryIO, max_bytes: int | None = None
) -> Iterator[tuple[str, int, bytes | LineTooLong]]:
    """Non-blank lines with their numbers. With ``max_bytes``, a file is read line by line
    with that cap: a longer line is skipped in pieces (never held whole in memory) and comes
    out as LineTooLong, to be rejected as that line's error while the import goes on."""
    if max_bytes is None or not hasattr(lines, "readline"):
        for n, raw in enumerate(lines, start=1):
            if raw.strip():
                yield source, n, raw
        return
    fh = cast(BinaryIO, lines)
    n = 0
    while raw := fh.readline(max_bytes + 1):
        n += 1
        if len(raw) > max_bytes and not raw.endswith(b"\n"):
            size = len(raw)
            while (rest := fh.readline(_SKIP)) and not rest.endswith(b"\n"):
                size += len(rest)
            size += len(rest.rstrip(b"\r\n"))
            yield source, n, LineTooLong(size, max_bytes)
        elif raw.strip():
            yield source, n, raw


Item = tuple[str, int, Entry]  # (source, line, entry)


def _identifiers(entry: Entry) -> set[str]:
    """The business identifiers an entry's resource carries, as ``Type|system|value``."""
    resource = entry.resource if isinstance(entry.resource, dict) else {}
    found = resource.get("identifier")
    out: set[str] = set()
    for ident in found if isinstance(found, list) else ():
        if isinstance(ident, dict):
            out.add(f"{entry.root}|{ident.get('system')}|{ident.get('value')}")
    return out


class _Chunks:
    """Lines gathered into chunks of at most CHUNK entries, one transaction each.

    A later version of a record already in the chunk waits for the next chunk (two versions
    in one transaction would touch the record twice), and so does every line that depends on
    the order against a waiting version: the record's further versions, a line that names one
    of the business identifiers of the waiting versions or of their record's version in the
    chunk (an identifier moving from one record to another), and every create (matched on
    identifiers or content). Other lines go on filling the chunk: a history file that lists
    each record's versions together no longer cuts a transaction at every second version, and
    the store ends in the state that writing the lines one by one gives
    (tests/fhir_api/test_import.py checks both)."""

    def __init__(self, write: Callable[[list[Item]], None]) -> None:
        self.write = write
        self.chunk: list[Item] = []
        self.in_chunk: dict[str, Entry] = {}  # url (a record, or a type created) -> its entry
        self.deferred: deque[Item] = deque()
        self.pending: set[str] = set()  # urls and identifiers the waiting lines hold back

    def _tokens(self, entry: Entry) -> set[str]:
        return {entry.url} | _identifiers(entry)

    def _wait(self, item: Item) -> None:
        entry = item[2]
        self.deferred.append(item)
        self.pending |= self._tokens(entry)
        held = self.in_chunk.get(entry.url)
        if held is not None and entry.method == "PUT":
            self.pending |= _identifiers(held)

    def put(self, item: Item) -> None:
        entry = item[2]
        if entry.method != "PUT":
            if self.deferred:
                self._wait(item)
            else:
                if entry.url in self.in_chunk:  # creates are matched on content: one per type
                    self.cut()
                self._add(item)
        elif entry.url in self.in_chunk or self._tokens(entry) & self.pending:
            self._wait(item)
        else:
            self._add(item)
        if len(self.chunk) >= CHUNK or len(self.deferred) >= WAITING:
            self.cut()

    def _add(self, item: Item) -> None:
        self.in_chunk[item[2].url] = item[2]
        self.chunk.append(item)

    def cut(self) -> None:
        """Write the chunk, then start the next one with the lines that waited and may go."""
        if self.chunk:
            self.write(self.chunk)
        self.chunk, self.in_chunk = [], {}
        waiting, self.deferred, self.pending = self.deferred, deque(), set()
        for item in waiting:
            entry = item[2]
            if (
                len(self.chunk) >= CHUNK
                or entry.url in self.in_chunk
                or (entry.method != "PUT" and self.deferred)
                or self._tokens(entry) & self.pending
            ):
                self._wait(item)
            else:
                self._add(item)

    def finish(self) -> None:
        while self.chunk or self.deferred:
            self.cut()


def run_import(
    fhir: FhirService,
    actor: Actor,
    lines: Iterable[tuple[str, int, bytes | LineTooLong]],
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    report = ImportReport()
    sources: dict[str, int] = {}

    def write(chunk: list[Item]) -> None:
        entries = [e for _, _, e in chunk]
        try:
            _count(report, fhir.write_entries(actor, entries, "import"))
        except Exception:  # noqa: BLE001 - the chunk rolled back; find the culprit(s)
            for source, line, entry in chunk:  # find the culprit(s), keep the rest
                try:
                    _count(report, fhir.write_entries(actor, [entry], "import"))
                except MchError as exc:
                    report.rejected.append(Rejection(source, line, _reason(exc, entry.resource)))
                except Exception as exc:  # noqa: BLE001
                    name = type(exc).__name__
                    log.error("unexpected %s importing %s line %d", name, source, line)
                    report.rejected.append(Rejection(source, line, INTERNAL_ERROR))
        if progress:
            progress(len(chunk))

    def reject(source: str, line: int, reason: str) -> None:
        report.rejected.append(Rejection(source, line, reason))
        if progress:
            progress(1)

    chunks = _Chunks(write)
    for source, line, raw in lines:
        report.lines += 1
        sources.setdefault(source, len(sources))
        if isinstance(raw, LineTooLong):
            reject(
                source,
                line,
                f"the line is over {raw.limit} bytes, the most one resource may have "
                "(MCH_MAX_RESOURCE_BYTES); it was skipped",
            )
            continue
        try:
            resource = orjson.loads(raw)
            entry = _entry_for(resource, line)
            fhir.interactions.validate_entries([entry])
        except orjson.JSONDecodeError as exc:
            reject(source, line, redact(f"not valid JSON: {exc.msg}"))
            continue
        except MchError as exc:
            reject(source, line, _reason(exc, resource))
            continue
        except Exception as exc:  # noqa: BLE001 - see INTERNAL_ERROR
            log.error("unexpected %s validating %s line %d", type(exc).__name__, source, line)
            reject(source, line, INTERNAL_ERROR)
            continue
        chunks.put((source, line, entry))
    chunks.finish()
    # Waiting lines are written after lines that came later: report in the files' order.
    report.rejected.sort(key=lambda r: (sources.get(r.source, len(sources)), r.line))
    return report


def _count(report: ImportReport, results: list[Any]) -> None:
    for r in results:
        if r.action == "created":
            report.created += 1
        elif r.action == "updated":
            report.updated += 1
        else:
            report.unchanged += 1
