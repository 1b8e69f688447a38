"""Every rule about the envelope of a transaction or batch Bundle: its type, entry count and
reads per Bundle; the R4 model of ``Bundle`` and of each entry's envelope; the structural rules
of the Bundle (fullUrl absolute, not versioned and unique: bdl-7, bdl-8; ``urn:uuid``
references resolvable; see ``structural_rules``); a request on each entry, a resource on each
POST and PUT, validated and within the size limit.

``check_bundle`` is the one entry point, run before any database work. Two rules need what only
planning knows and run there, from here: ``check_entry_request`` (an entry's method, URL and
resource agree; a plain request is checked by it too) once its URL is parsed, and
``check_no_double_targets`` (two entries writing one record, or one business key on two
records) once each entry's record is resolved."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from mch_service.errors import InvalidResource, Issue, MchError, TooLarge
from mch_service.fhir_api.entries import Entry
from mch_service.fhir_api.fhir_models import Bundle, BundleEntry
from mch_service.fhir_api.plans import Plan
from mch_service.fhir_api.request_urls import RequestUrl
from mch_service.fhir_api.structural_rules import check_structure
from mch_service.fhir_api.validation import model_input, pydantic_issues, validate_resource

# An issue not located at an entry is about the Bundle itself.
BUNDLE_ITSELF = -1
ENTRY_METHODS = ("DELETE", "POST", "PUT", "GET")


@dataclass(frozen=True)
class BundleLimits:
    max_entries: int
    max_gets: int | None = None
    max_resource_bytes: int | None = None
    reject_example_urls: bool = False
    reject_active_content: bool = True


@dataclass
class CheckedBundle:
    type: str  # transaction | batch
    entries: list[Entry]
    issues: list[Issue]  # every problem found, located at the Bundle or at an entry

    def issues_by_entry(self) -> dict[int, list[Issue]]:
        """The issues by entry index; those about the Bundle itself under BUNDLE_ITSELF."""
        by_entry: dict[int, list[Issue]] = {}
        for issue in self.issues:
            index = _entry_index(issue.expression)
            by_entry.setdefault(index if index is not None else BUNDLE_ITSELF, []).append(issue)
        return by_entry


def check_bundle(
    bundle: Any, limits: BundleLimits, reject: Callable[[str, MchError], None]
) -> CheckedBundle:
    """The Bundle POSTed to the base, checked whole; its entries as ``Entry``s.

    A body that is not a transaction or batch Bundle, or has more entries than the server
    takes, is refused here. Once it is one, a refusal (too many reads) is first handed to
    ``reject`` with the Bundle type (the caller audits it); the problems of the envelope and
    the entries are returned, for the caller to refuse the transaction or the entries."""
    bundle_type, raw_entries = _transaction_or_batch(bundle, limits.max_entries)
    try:
        _check_reads(raw_entries, limits.max_gets)
        issues = [
            Issue(i.message, i.expression, i.code)
            for i in check_structure(
                bundle,
                reject_example_urls=limits.reject_example_urls,
                reject_active_content=limits.reject_active_content,
            )
        ]
        issues += _envelope_issues(bundle, limits.reject_example_urls)
        issues += _size_issues(raw_entries, limits.max_resource_bytes)
        entries = [_entry_of(i, e) for i, e in enumerate(raw_entries)]
    except MchError as exc:
        reject(bundle_type, exc)
        raise
    return CheckedBundle(bundle_type, entries, issues)


def _transaction_or_batch(bundle: Any, max_entries: int) -> tuple[str, list[Any]]:
    if not isinstance(bundle, dict) or bundle.get("resourceType") != "Bundle":
        raise InvalidResource(
            [
                Issue(
                    "POST to the base URL takes a Bundle of type transaction or batch",
                    "resourceType",
                    "value",
                )
            ]
        )
    bundle_type = bundle.get("type")
    if bundle_type not in ("transaction", "batch"):
        raise InvalidResource(
            [
                Issue(
                    f"Bundle type {bundle_type!r} cannot be processed at the base URL: send a "
                    "'transaction' or 'batch' Bundle (to store a document or collection "
                    "Bundle as "
                    "it is, POST it to /fhir/Bundle)",
                    "Bundle.type",
                    "value",
                )
            ]
        )
    raw_entries = bundle.get("entry") or []
    if not isinstance(raw_entries, list):
        raise InvalidResource([Issue("Bundle.entry must be an array", "Bundle.entry", "structure")])
    if len(raw_entries) > max_entries:
        raise TooLarge(
            f"The Bundle has {len(raw_entries)} entries; this server takes at most "
            f"{max_entries} per Bundle (see /fhir/metadata). Split it."
        )
    return bundle_type, raw_entries


def _check_reads(raw_entries: list[Any], max_gets: int | None) -> None:
    gets = sum(
        1
        for e in raw_entries
        if isinstance(e, dict)
        and isinstance(e.get("request"), dict)
        and e["request"].get("method") == "GET"
    )
    if max_gets is not None and gets > max_gets:
        raise TooLarge(
            f"The Bundle has {gets} GET entries; this server answers at most "
            f"{max_gets} reads and searches per Bundle (see /fhir/metadata). "
            "Split it."
        )


def _size_issues(entries: list[Any], limit: int | None) -> list[Issue]:
    """Entries whose resource is over MCH_MAX_RESOURCE_BYTES, serialised."""
    if limit is None:
        return []
    issues = []
    for i, e in enumerate(entries):
        resource = e.get("resource") if isinstance(e, dict) else None
        if resource is None:
            continue
        try:
            size = len(orjson.dumps(resource))
        except orjson.JSONEncodeError:
            continue  # not serialisable as it is: validation says why
        if size > limit:
            issues.append(
                Issue(
                    f"The resource is {size} bytes; one resource may have at most {limit} "
                    "(see /fhir/metadata)",
                    f"Bundle.entry[{i}].resource",
                    "too-costly",
                )
            )
    return issues


def _entry_index(expression: str | None) -> int | None:
    if expression and expression.startswith("Bundle.entry["):
        return int(expression[len("Bundle.entry[") :].split("]")[0])
    return None


def _envelope_issues(bundle: dict[str, Any], reject_example_urls: bool) -> list[Issue]:
    """The Bundle's own elements (type, entry.request, ...) against the R4 model, without
    validating each entry's resource twice (entries are validated one by one, located)."""
    entries = bundle.get("entry") or []
    issues = _envelope_model_issues(bundle, entries)
    if issues:
        return issues
    issues = []
    for i, e in enumerate(entries):
        request = e.get("request") if isinstance(e, dict) else None
        if not isinstance(request, dict):
            issues.append(
                Issue(
                    "Each entry of a transaction or batch needs a request (method and url)",
                    f"Bundle.entry[{i}].request",
                    "required",
                )
            )
            continue
        resource = e.get("resource")
        if request.get("method") in ("POST", "PUT"):
            if resource is None:
                issues.append(
                    Issue(
                        f"A {request.get('method')} entry needs a resource",
                        f"Bundle.entry[{i}].resource",
                        "required",
                    )
                )
            else:
                issues.extend(
                    validate_resource(
                        resource,
                        f"Bundle.entry[{i}].resource",
                        structure_checked=True,
                        reject_example_urls=reject_example_urls,
                    )
                )
    return issues


# Entry envelopes (request, fullUrl, search, response) of real Bundles come in a few shapes
# ({"method": "POST", "url": "Observation"} over and over): the model's verdict on a shape is
# kept, so that a Bundle of 25 entries costs about one model validation, not 25.
_ENTRY_VERDICTS: dict[bytes, list[Issue]] = {}
_MAX_VERDICTS = 4096
_NO_SPACE = re.compile(r"\S*")


def _envelope_model_issues(bundle: dict[str, Any], entries: Any) -> list[Issue]:
    """The Bundle's own elements and each entry's envelope against the R4 model (resources are
    validated one by one elsewhere)."""
    if not isinstance(entries, list):
        entries = []
    top = {k: v for k, v in bundle.items() if k != "entry"}
    if "entry" in bundle and not isinstance(bundle["entry"], list):
        top["entry"] = bundle["entry"]
    try:
        Bundle.model_validate(model_input(top))
    except ValidationError as exc:
        return pydantic_issues("Bundle", exc)
    issues: list[Issue] = []
    for i, e in enumerate(entries):
        if not isinstance(e, dict):
            try:
                BundleEntry.model_validate(e)
            except ValidationError as exc:
                issues += pydantic_issues(f"Bundle.entry[{i}]", exc)
            continue
        envelope = {k: v for k, v in e.items() if k != "resource"}
        full_url = envelope.get("fullUrl")
        if isinstance(full_url, str) and _NO_SPACE.fullmatch(full_url):
            envelope["fullUrl"] = "urn:x"  # any valid uri: the shape is what the model judges
        key = orjson.dumps(envelope, option=orjson.OPT_SORT_KEYS)
        verdict = _ENTRY_VERDICTS.get(key)
        if verdict is None:
            try:
                BundleEntry.model_validate(model_input(envelope))
                verdict = []
            except ValidationError as exc:
                verdict = pydantic_issues("", exc)
            if len(_ENTRY_VERDICTS) >= _MAX_VERDICTS:
                _ENTRY_VERDICTS.clear()
            _ENTRY_VERDICTS[key] = verdict
        issues += [
            Issue(x.message, f"Bundle.entry[{i}]{x.expression or ''}", x.code, x.severity)
            for x in verdict
        ]
    return issues


def _entry_of(i: int, e: Any) -> Entry:
    request = e.get("request") if isinstance(e, dict) else None
    request = request if isinstance(request, dict) else {}
    return Entry(
        method=str(request.get("method") or ""),
        url=str(request.get("url") or ""),
        resource=e.get("resource") if isinstance(e, dict) else None,
        full_url=e.get("fullUrl") if isinstance(e, dict) else None,
        if_match=request.get("ifMatch"),
        if_none_exist=request.get("ifNoneExist"),
        index=i,
        root=f"Bundle.entry[{i}].resource",
        request_expr=f"Bundle.entry[{i}].request",
    )


# -- rules that run during planning ----------------------------------------------------------


def check_entry_request(entry: Entry, url: RequestUrl) -> None:
    """The method, the URL and the resource of one entry (or plain request) agree."""
    expr = entry.request_expr or entry.root
    if entry.method not in ENTRY_METHODS:
        raise InvalidResource(
            [
                Issue(
                    f"Method {entry.method!r} is not supported; use GET, POST, PUT or DELETE",
                    expr,
                    "not-supported",
                )
            ]
        )
    if entry.method in ("POST", "PUT"):
        assert entry.resource is not None
        rtype = entry.resource.get("resourceType")
        if rtype != url.resource_type:
            raise InvalidResource(
                [
                    Issue(
                        f"The resource is a {rtype} but the request URL names {url.resource_type}",
                        f"{entry.root}.resourceType" if entry.index is not None else "resourceType",
                        "value",
                    )
                ]
            )
    if entry.method == "POST" and (url.fhir_id or url.query):
        raise InvalidResource(
            [
                Issue(
                    "POST creates at the type URL (e.g. 'Patient'); use PUT to write a given id",
                    expr,
                    "value",
                )
            ]
        )
    if entry.method in ("PUT", "DELETE") and not url.fhir_id and not url.query:
        raise InvalidResource(
            [
                Issue(
                    f"{entry.method} needs an id ('{url.resource_type}/123') or a "
                    "condition ('?identifier=system|value')",
                    expr,
                    "required",
                )
            ]
        )
    if entry.method == "PUT" and url.fhir_id:
        assert entry.resource is not None
        body_id = entry.resource.get("id")
        if body_id is not None and body_id != url.fhir_id:
            raise InvalidResource(
                [
                    Issue(
                        f"The resource id {body_id!r} differs from the id in the URL "
                        f"{url.fhir_id!r}",
                        f"{entry.root}.id",
                        "value",
                    )
                ]
            )


def check_no_double_targets(writes: list[Plan]) -> None:
    """A transaction touches a record once, and gives a business key to one record: two
    entries that would store one key on two records are refused here, by entry, since
    the unique key would stop them on every attempt."""
    seen: dict[tuple[str, str], Plan] = {}
    holder: dict[tuple[str, str], Plan] = {}
    for plan in writes:
        if plan.kind in ("create", "update", "noop") and plan.fhir_id is not None:
            for token in plan.key_tokens:
                other = holder.setdefault(token, plan)
                if other is not plan and other.fhir_id != plan.fhir_id:
                    raise InvalidResource(
                        [
                            Issue(
                                f"Entries {other.entry.index} and {plan.entry.index} carry "
                                f"the same business identifier but are different "
                                f"{token[0]} records; a key identifies one record (send "
                                "it once)",
                                f"{q.entry.root}.identifier",
                                "duplicate",
                            )
                            for q in (other, plan)
                        ]
                    )
        if plan.kind in ("noop", "alias") or plan.fhir_id is None:
            continue
        key = (plan.url.resource_type, plan.fhir_id)
        if key in seen:
            raise InvalidResource(
                [
                    Issue(
                        f"Two entries of this bundle write {key[0]}/{key[1]} (entries "
                        f"{seen[key].entry.index} and {plan.entry.index}); a transaction may "
                        "touch a "
                        "record once",
                        plan.entry.request_expr or plan.entry.root,
                        "duplicate",
                    )
                ]
            )
        seen[key] = plan
