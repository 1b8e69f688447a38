"""Bundles: fullUrl absolute (bdl: validator), not version specific (bdl-8), unique unless a
history or a different meta.versionId (bdl-7), and ``urn:uuid:`` / relative / fragment
references resolvable in document, message, transaction and batch bundles."""

from __future__ import annotations

import re
from typing import Any

from mch_service.fhir_api.structural_rules.extensions import NARRATIVE_LINK_EXTENSIONS
from mch_service.fhir_api.structural_rules.narrative import narrative_anchors
from mch_service.fhir_api.structural_rules.shared import (
    ABSOLUTE_URI_RE,
    IssueCollector,
    element_name,
)

_RELATIVE_REF_RE = re.compile(
    r"([A-Z][A-Za-z]+)/([A-Za-z0-9\-\.]{1,64})(?:/_history/([A-Za-z0-9\-\.]{1,64}))?"
)
# A RESTful fullUrl: [base]/[Type]/[id] (optionally /_history/[vid], which bdl-8 rejects).
_RESTFUL_URL_RE = re.compile(
    r"(.+)/([A-Z][A-Za-z]+)/([A-Za-z0-9\-\.]{1,64})(?:/_history/[A-Za-z0-9\-\.]{1,64})?"
)

# Bundle types whose references must resolve inside the bundle (bundle.html, "Resolving
# references in Bundles"; the validator reports unresolvable urn:uuid references as errors).
_RESOLVING_BUNDLE_TYPES = frozenset({"document", "message", "transaction", "batch"})


def check_bundle_structure(collector: IssueCollector, bundle: dict[str, Any], path: str) -> None:
    """fullUrls (absolute, bdl-8, bdl-7) and, where they must resolve, references."""
    entries = bundle.get("entry")
    if type(entries) is not list:
        return
    btype = bundle.get("type")
    is_history = btype == "history"
    first_seen: dict[tuple[str, Any], int] = {}
    full_urls: dict[str, list[int]] = {}
    for i, entry in enumerate(entries):
        if type(entry) is not dict:
            continue
        full_url = entry.get("fullUrl")
        if type(full_url) is not str or not full_url.strip():
            continue
        full_urls.setdefault(full_url, []).append(i)
        fpath = f"{path}.entry[{i}].fullUrl"
        if not ABSOLUTE_URI_RE.match(full_url):
            collector.add(
                fpath,
                f"fullUrl '{full_url}' must be an absolute URI, e.g. "
                f"'https://server/fhir/{full_url}' or 'urn:uuid:<uuid>'; a relative "
                "reference is not allowed here",
                "invalid",
            )
        elif "/_history/" in full_url:
            collector.add(
                fpath,
                f"fullUrl '{full_url}' must not be version specific (bdl-8); drop "
                "'/_history/...' and put the version in resource.meta.versionId",
                "invariant",
            )
        if not is_history:
            key = (full_url, _version_id(entry.get("resource")))
            if key in first_seen:
                collector.add(
                    fpath,
                    f"entry[{i}] has the same fullUrl '{full_url}' as "
                    f"entry[{first_seen[key]}] (bdl-7): fullUrls must be unique in a "
                    f"'{btype}' bundle unless the entries carry different "
                    "meta.versionId",
                    "invariant",
                )
            else:
                first_seen[key] = i
    if type(btype) is str and btype in _RESOLVING_BUNDLE_TYPES:
        _BundleReferences(collector, path, entries, full_urls, btype == "document").check()


def _version_id(resource: Any) -> Any:
    if type(resource) is dict:
        meta = resource.get("meta")
        if type(meta) is dict:
            vid = meta.get("versionId")
            return vid if type(vid) is str else None
    return None


class _BundleReferences:
    """Reference resolution inside one document / message / transaction / batch bundle."""

    def __init__(
        self,
        collector: IssueCollector,
        path: str,
        entries: list[Any],
        full_urls: dict[str, list[int]],
        is_document: bool,
    ) -> None:
        self.collector = collector
        self.path = path
        self.entries = entries
        self.full_urls = full_urls
        self.is_document = is_document
        self.by_type_id: dict[tuple[str, str], list[int]] = {}
        for i, entry in enumerate(entries):
            res = entry.get("resource") if type(entry) is dict else None
            if (
                type(res) is dict
                and type(res.get("resourceType")) is str
                and type(res.get("id")) is str
            ):
                self.by_type_id.setdefault((res["resourceType"], res["id"]), []).append(i)
        self.anchors: dict[int, dict[str, int]] = {}

    def check(self) -> None:
        for i, entry in enumerate(self.entries):
            res = entry.get("resource") if type(entry) is dict else None
            if type(res) is not dict or res.get("resourceType") == "Bundle":
                continue  # a nested Bundle's references resolve inside that Bundle
            full_url = entry.get("fullUrl")
            base = None
            if type(full_url) is str:
                m = _RESTFUL_URL_RE.fullmatch(full_url)
                base = m.group(1) if m else None
            refs: list[tuple[str, str]] = []
            _collect_references(res, f"{self.path}.entry[{i}].resource", refs)
            for where, ref in refs:
                self.resolve(ref, where, base)

    def resolve(self, ref: str, where: str, base: str | None) -> None:
        target, _, fragment = ref.partition("#")
        if not target:
            return  # "#id": a contained resource in the same entry, not a bundle lookup
        if target.startswith("urn:uuid:"):
            found = self.full_urls.get(target)
            if not found:
                self.collector.add(
                    where,
                    f"Can't find {target} in the bundle: no entry has this fullUrl",
                    "not-found",
                )
                return
            if fragment:
                self.fragment(target, fragment, found, where)
            return
        if fragment and target in self.full_urls:
            self.fragment(target, fragment, self.full_urls[target], where)
            return
        if not self.is_document:
            return
        m = _RELATIVE_REF_RE.fullmatch(target)
        if m is None:
            # Absolute reference: ambiguous if several entries share that fullUrl.
            found = self.full_urls.get(target, [])
            if len(found) > 1:
                self.collector.add(
                    where,
                    f"Found {len(found)} matches for '{target}' in the bundle "
                    f"(entries {_entry_list(found)}); the reference must identify "
                    "exactly one entry (add /_history/<versionId>)",
                    "invalid",
                )
            return
        rtype, rid, version = m.groups()
        if base is not None:
            # bundle.html: a relative reference resolves against the base of the entry's fullUrl.
            candidates = self.full_urls.get(f"{base}/{rtype}/{rid}", [])
        else:
            candidates = self.by_type_id.get((rtype, rid), [])
        if version is not None:
            matches = [
                c for c in candidates if _version_id(self.entries[c].get("resource")) == version
            ]
        else:
            matches = candidates
        if len(matches) > 1:
            self.collector.add(
                where,
                f"Found {len(matches)} matches for '{target}' in the bundle (entries "
                f"{_entry_list(matches)}); a document reference must identify "
                "exactly one entry (add /_history/<versionId> or remove the "
                "duplicate)",
                "invalid",
            )
        elif not matches and candidates:
            versions = sorted(
                {str(_version_id(self.entries[c].get("resource"))) for c in candidates}
            )
            self.collector.add(
                where,
                f"Can't find '{target}' in the bundle: the entries for "
                f"{rtype}/{rid} have meta.versionId {', '.join(versions)}",
                "not-found",
            )

    def fragment(self, target: str, fragment: str, found: list[int], where: str) -> None:
        index = found[0]
        anchors = self.anchors.get(index)
        if anchors is None:
            anchors = (
                narrative_anchors(self.entries[index]["resource"])
                if type(self.entries[index].get("resource")) is dict
                else {}
            )
            self.anchors[index] = anchors
        count = anchors.get(fragment, 0)
        if count == 0:
            self.collector.add(
                where,
                f"Can't find '#{fragment}' in {target}: its narrative has no element "
                "with that id and it has no contained resource with that id",
                "not-found",
            )
        elif count > 1:
            self.collector.add(
                where,
                f"Found {count} matches for '#{fragment}' in {target}: narrative ids "
                "must be unique within the resource",
                "invalid",
            )


def _entry_list(indexes: list[int]) -> str:
    return ", ".join(str(i) for i in indexes)


def _collect_references(node: dict[str, Any], path: str, out: list[tuple[str, str]]) -> None:
    """(expression, target) of every Reference.reference and narrative link under node,
    without entering nested Bundles (their references resolve inside themselves)."""
    ref = node.get("reference")
    if type(ref) is str and ref:
        out.append((path, ref))
    url = node.get("url")
    if type(url) is str and url in NARRATIVE_LINK_EXTENSIONS:
        for key in ("valueUrl", "valueUri"):
            link = node.get(key)
            if type(link) is str and "#" in link:
                out.append((f"{path}.{key}", link))
    for key, val in node.items():
        if type(val) is dict:
            if val.get("resourceType") != "Bundle":
                _collect_references(val, f"{path}.{element_name(key)}", out)
        elif type(val) is list:
            name = element_name(key)
            for i, item in enumerate(val):
                if type(item) is dict and item.get("resourceType") != "Bundle":
                    _collect_references(item, f"{path}.{name}[{i}]", out)
