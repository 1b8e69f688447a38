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
from collections import Counter, deque
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


def run_import(
    fhir: FhirService,
    actor: Actor,
    lines: Iterable[tuple[str, int, bytes | LineTooLong]],
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    report = ImportReport()
    chunk: list[tuple[str, int, Entry]] = []
    in_chunk: set[str] = set()  # the records (PUT urls) and the types created (POST) in it
    # A later version of a record already in the chunk waits for the next chunk (two versions
    # in one transaction would touch the record twice), and so does every version after it, in
    # their order; records in between go on filling the chunk. A history file that lists each
    # record's versions together no longer cuts a transaction at every second version.
    deferred: deque[tuple[str, int, Entry]] = deque()
    waiting: Counter[str] = Counter()
    sources: dict[str, int] = {}

    def flush() -> None:
        if not chunk:
            return
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
        chunk.clear()
        in_chunk.clear()

    def add(item: tuple[str, int, Entry]) -> None:
        in_chunk.add(item[2].url)
        chunk.append(item)

    def cut() -> None:
        """Write the chunk, then start the next one with the versions that waited."""
        flush()
        still: deque[tuple[str, int, Entry]] = deque()
        while deferred:
            item = deferred.popleft()
            url = item[2].url
            if url in in_chunk or len(chunk) >= CHUNK:
                still.append(item)
            else:
                waiting[url] -= 1
                if not waiting[url]:
                    del waiting[url]
                add(item)
        deferred.extend(still)

    def reject(source: str, line: int, reason: str) -> None:
        report.rejected.append(Rejection(source, line, reason))
        if progress:
            progress(1)

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
        if entry.method == "PUT" and (entry.url in in_chunk or entry.url in waiting):
            deferred.append((source, line, entry))
            waiting[entry.url] += 1
        else:
            if entry.url in in_chunk:  # creates are matched on content: one per type per chunk
                cut()
            add((source, line, entry))
        if len(chunk) >= CHUNK or len(deferred) >= WAITING:
            cut()
    while chunk or deferred:
        cut()
    # Waiting versions are written after lines that came later: report in the file's order.
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
