"""Bulk backfill from NDJSON (one resource per line), for the CLI and the HTTP $import.

A line with an id is written as an update-or-create of that id, a line without one as a
create (de-duplicated by identifier or content), so running the same import twice changes
nothing. Lines are written in chunks, one transaction each; a chunk that fails as a whole is
retried line by line, so one bad line never holds back the others.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

import orjson

from mch_service.audit.service import Actor
from mch_service.errors import InvalidResource, Issue, MchError
from mch_service.fhir_api.interactions import Entry
from mch_service.fhir_api.service import FhirService

CHUNK = 200
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


def _reason(exc: MchError) -> str:
    return "; ".join(
        f"{i.expression}: {i.message}" if i.expression else i.message for i in exc.all_issues()
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


def iter_lines(source: str, lines: Iterable[bytes]) -> Iterator[tuple[str, int, bytes]]:
    for n, raw in enumerate(lines, start=1):
        if raw.strip():
            yield source, n, raw


def run_import(
    fhir: FhirService,
    actor: Actor,
    lines: Iterable[tuple[str, int, bytes]],
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    report = ImportReport()
    chunk: list[tuple[str, int, Entry]] = []

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
                    report.rejected.append(Rejection(source, line, _reason(exc)))
                except Exception as exc:  # noqa: BLE001
                    name = type(exc).__name__
                    log.error("unexpected %s importing %s line %d", name, source, line)
                    report.rejected.append(Rejection(source, line, INTERNAL_ERROR))
        if progress:
            progress(len(chunk))
        chunk.clear()

    seen: set[str] = set()
    for source, line, raw in lines:
        report.lines += 1
        try:
            resource = orjson.loads(raw)
            entry = _entry_for(resource, line)
            fhir.interactions.validate_entries([entry])
        except orjson.JSONDecodeError as exc:
            report.rejected.append(Rejection(source, line, f"not valid JSON: {exc.msg}"))
            if progress:
                progress(1)
            continue
        except MchError as exc:
            report.rejected.append(Rejection(source, line, _reason(exc)))
            if progress:
                progress(1)
            continue
        except Exception as exc:  # noqa: BLE001 - see INTERNAL_ERROR
            log.error("unexpected %s validating %s line %d", type(exc).__name__, source, line)
            report.rejected.append(Rejection(source, line, INTERNAL_ERROR))
            if progress:
                progress(1)
            continue
        # Two versions of one record in a chunk would be one transaction touching it twice.
        if entry.url in seen:
            flush()
            seen.clear()
        seen.add(entry.url)
        chunk.append((source, line, entry))
        if len(chunk) >= CHUNK:
            flush()
            seen.clear()
    flush()
    return report


def _count(report: ImportReport, results: list[Any]) -> None:
    for r in results:
        if r.action == "created":
            report.created += 1
        elif r.action == "updated":
            report.updated += 1
        else:
            report.unchanged += 1
