"""The read side of the interface: read and vread, history, and search, answered from one
sender's records as FHIR JSON (a resource, or a Bundle page with its links)."""

from __future__ import annotations

import uuid
from contextvars import ContextVar
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

import orjson
from sqlalchemy.orm import Session

from mch_service.errors import Gone, NotFound
from mch_service.fhir_api.entries import EntryResult
from mch_service.fhir_api.request_urls import RequestUrl, check_id, parse_url
from mch_service.fhir_api.search import parse_search
from mch_service.store.service import ResourceStore

MAX_VERSION = 2**31 - 1  # version ids are 32-bit in the store

# The base of the links and fullUrls we return, as the client reached this server (set per
# request by the routes). Clients such as fhirpy follow a 'next' link only when it starts with
# the base they were given, so the canonical base (an identifier, not an address) will not do.
# A ContextVar because transactions, batches and searches all build them deep below the route;
# the thread pool the routes use copies the context into the worker thread.
public_base: ContextVar[str | None] = ContextVar("fhir_public_base", default=None)


class Reads:
    def __init__(
        self,
        store: ResourceStore,
        zone: ZoneInfo,
        default_count: int,
        max_count: int,
        base: str = "",
        max_page_bytes: int | None = None,
    ) -> None:
        self.store = store
        self.zone = zone
        self.default_count = default_count
        self.max_count = max_count
        self.base = base  # fallback base of fullUrls when no request set public_base
        self.max_page_bytes = max_page_bytes

    def read_or_search(self, session: Session, inst: str, url: str, expr: str = "") -> EntryResult:
        request_url = parse_url(url, expr or "url")
        if request_url.fhir_id is None:
            return EntryResult(
                200,
                request_url.resource_type,
                bundle=self.search(session, inst, request_url),
                action="search",
            )
        return self.read(
            session, inst, request_url.resource_type, request_url.fhir_id, request_url.version_id
        )

    def read(
        self, session: Session, inst: str, rtype: str, fhir_id: str, version: str | None = None
    ) -> EntryResult:
        check_id(fhir_id, None)
        # Ids are scoped per sender: another sender's record is not found, the same answer
        # as for an id nobody used, so reads cannot probe which ids exist.
        row = self.store.current(session, inst, rtype, fhir_id)
        if row is None:
            raise NotFound(f"{rtype}/{fhir_id} does not exist")
        if version is not None:
            if not (version.isascii() and version.isdigit()) or int(version) > MAX_VERSION:
                raise NotFound(f"{rtype}/{fhir_id} has no version {version!r}")
            stored = self.store.content_of(session, row, int(version))
            if stored is None:
                raise NotFound(f"{rtype}/{fhir_id} has no version {version}")
            if stored.content is None:
                raise Gone(f"Version {version} of {rtype}/{fhir_id} is its deletion")
            return EntryResult(
                200, rtype, fhir_id, int(version), stored.recorded_at, stored.content, action="read"
            )
        if row.deleted:
            raise Gone(
                f"{rtype}/{fhir_id} was deleted (its history is kept: {rtype}/{fhir_id}/_history)"
            )
        stored = self.store.content_of(session, row)
        assert stored is not None
        return EntryResult(
            200, rtype, fhir_id, row.version_id, row.last_updated, stored.content, action="read"
        )

    def history(
        self, session: Session, inst: str, rtype: str, fhir_id: str, before: int | None = None
    ) -> dict[str, Any]:
        """Newest first, one page: at most max_count versions and max_page_bytes of content;
        a 'next' link (?_cursor=<version>) gives the older ones."""
        check_id(fhir_id, None)
        base = public_base.get() or self.base
        row = self.store.current(session, inst, rtype, fhir_id)
        if row is None:
            raise NotFound(f"{rtype}/{fhir_id} does not exist")
        entries: list[dict[str, Any]] = []
        size = 0
        more = last = None
        versions = self.store.versions(session, row.pk)
        for vid, blob, operation, recorded in versions:
            if before is not None and vid >= before:
                continue
            raw = self.store.unseal(rtype, fhir_id, vid, blob) if blob else None
            if entries and (
                len(entries) >= self.max_count
                or (
                    self.max_page_bytes is not None and size + len(raw or b"") > self.max_page_bytes
                )
            ):
                more = last
                break
            last = vid
            size += len(raw or b"")
            entry: dict[str, Any] = {"fullUrl": f"{base}/{rtype}/{fhir_id}"}
            if raw:
                entry["resource"] = orjson.loads(raw)
            method = {"create": "POST", "update": "PUT", "delete": "DELETE"}[operation]
            entry["request"] = {
                "method": method,
                "url": rtype if method == "POST" else f"{rtype}/{fhir_id}",
            }
            entry["response"] = {
                "status": {"create": "201 Created", "update": "200 OK", "delete": "204 No Content"}[
                    operation
                ],
                "etag": f'W/"{vid}"',
                "lastModified": recorded.isoformat().replace("+00:00", "Z"),
            }
            entries.append(entry)
        page: dict[str, Any] = {
            "resourceType": "Bundle",
            "id": str(uuid.uuid4()),
            "type": "history",
            "total": len(versions),
            "entry": entries,
        }
        if more is not None:
            page["link"] = [
                {"relation": "next", "url": f"{base}/{rtype}/{fhir_id}/_history?_cursor={more}"}
            ]
        return page

    def search(self, session: Session, inst: str, request_url: RequestUrl) -> dict[str, Any]:
        base = public_base.get() or self.base
        parsed = parse_search(
            request_url.resource_type,
            request_url.query,
            inst,
            self.store,
            self.zone,
            self.default_count,
            self.max_count,
        )
        total = self.store.count(session, parsed.query)
        rows = self.store.search(session, parsed.query) if parsed.count > 0 else []
        entries: list[dict[str, Any]] = []
        size = 0
        full = False
        for row, blob in rows:
            raw = (
                self.store.unseal(row.resource_type, row.fhir_id, row.version_id, blob)
                if blob is not None
                else b""
            )
            # A page is bounded in bytes too: the rest follows through the 'next' link.
            if entries and self.max_page_bytes is not None:
                if size + len(raw) > self.max_page_bytes:
                    full = True
                    break
            size += len(raw)
            entries.append(
                {
                    "fullUrl": f"{base}/{row.resource_type}/{row.fhir_id}",
                    "resource": orjson.loads(raw) if raw else None,
                    "search": {"mode": "match"},
                }
            )
        rows = rows[: len(entries)]
        echo = urlencode(parsed.echo)
        links = [
            {
                "relation": "self",
                "url": f"{base}/{request_url.resource_type}?{echo}"
                + (f"&_cursor={parsed.cursor}" if parsed.cursor is not None else ""),
            }
        ]
        if (full or len(rows) == parsed.count) and rows:
            links.append(
                {
                    "relation": "next",
                    "url": f"{base}/{request_url.resource_type}?{echo}&_cursor={rows[-1][0].pk}",
                }
            )
        return {
            "resourceType": "Bundle",
            "id": str(uuid.uuid4()),
            "type": "searchset",
            "total": total,
            "link": links,
            "entry": entries,
        }
