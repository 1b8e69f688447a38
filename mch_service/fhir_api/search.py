"""Search parameters the interface supports, parsed into a store query."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import parse_qsl
from zoneinfo import ZoneInfo

from mch_service.errors import InvalidResource, Issue
from mch_service.fhir_api.validation import ID_RE
from mch_service.store.indexing import DATE_ELEMENTS, Token, date_range
from mch_service.store.service import DateFilter, ResourceStore, SearchQuery

# Parameters accepted for every type; `date` only for the types in DATE_ELEMENTS.
COMMON_PARAMS = ("_id", "identifier", "patient", "subject", "_lastUpdated")
CONTROL_PARAMS = ("_count", "_cursor")
# _totalMethod: fhirpy's count() asks for it; every search page carries total anyway
IGNORED_PARAMS = ("_format", "_pretty", "_total", "_totalMethod")
PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb")
# The store's keys are 64-bit: a larger cursor is none we handed out (and would overflow the
# database's integer, a 500 rather than a 400).
MAX_CURSOR = 2**63 - 1
# What `patient` and `subject` can match: the store indexes references as 'Type/id'.
_TARGET_RE = re.compile(r"[A-Z][A-Za-z]+/[A-Za-z0-9\-\.]{1,64}")
_CONTROL_CHAR = re.compile(r"[\x00-\x1f\x7f]")


def supported_params(resource_type: str) -> tuple[str, ...]:
    return COMMON_PARAMS + (("date",) if resource_type in DATE_ELEMENTS else ())


@dataclass
class ParsedSearch:
    query: SearchQuery
    count: int
    cursor: int | None
    echo: list[tuple[str, str]]  # the parameters used, for the self/next links


def _whole_number(raw: str) -> bool:
    # str.isdigit() is also true of '²' and other scripts' digits, which int() refuses
    return raw.isascii() and raw.isdigit()


def parse_token(raw: str) -> tuple[str | None, str]:
    """'sys|val' -> ('sys', 'val'); '|val' -> ('', 'val'); 'val' -> (None, 'val')."""
    if "|" in raw:
        system, value = raw.split("|", 1)
        return system, value
    return None, raw


def _date_filter(
    element: Literal["clinical", "last_updated"], raw: str, zone: ZoneInfo, name: str
) -> DateFilter:
    prefix = raw[:2] if raw[:2] in PREFIXES else "eq"
    value = raw[2:] if raw[:2] in PREFIXES else raw
    rng = date_range(value, zone)
    if rng is None:
        raise InvalidResource(
            [
                Issue(
                    f"Search parameter {name}={raw!r}: expected an optional prefix "
                    f"({', '.join(PREFIXES)}) "
                    "and a FHIR date such as 2025-03 or 2025-03-01T08:00:00+08:00",
                    name,
                    "value",
                )
            ]
        )
    return DateFilter(element, prefix, rng[0], rng[1])


def parse_search(
    resource_type: str,
    params: list[tuple[str, str]],
    institution_id: str,
    store: ResourceStore,
    zone: ZoneInfo,
    default_count: int,
    max_count: int,
) -> ParsedSearch:
    q = SearchQuery(institution_id=institution_id, resource_type=resource_type)
    allowed = supported_params(resource_type)
    count = default_count
    cursor = None
    echo: list[tuple[str, str]] = []
    dates: list[DateFilter] = []
    for name, raw in params:
        base = name.split(":", 1)[0]
        if base in IGNORED_PARAMS:
            continue
        if _CONTROL_CHAR.search(raw):
            # No stored value holds one (PostgreSQL refuses NUL outright): say so, precisely.
            raise InvalidResource(
                [Issue(f"Search parameter {name!r} contains a control character", name, "value")]
            )
        if base == "_count":
            if not _whole_number(raw):
                raise InvalidResource([Issue("_count must be a whole number", "_count", "value")])
            count = min(int(raw), max_count)
            echo.append((name, str(count)))
            continue
        if base == "_cursor":
            if not _whole_number(raw) or int(raw) > MAX_CURSOR:
                raise InvalidResource(
                    [Issue("_cursor is not valid; follow the 'next' link", "_cursor", "value")]
                )
            cursor = int(raw)
            continue
        if base not in allowed or ":" in name:
            raise InvalidResource(
                [
                    Issue(
                        f"Search parameter {name!r} is not supported for {resource_type}; "
                        "supported: "
                        f"{', '.join(allowed)} (see /fhir/metadata)",
                        name,
                        "not-supported",
                    )
                ]
            )
        echo.append((name, raw))
        values = [v for v in raw.split(",") if v]
        if base == "_id":
            bad = [v for v in values if not ID_RE.fullmatch(v)]
            if bad:
                raise InvalidResource(
                    [Issue(f"_id {bad[0]!r} is not a valid resource id", name, "value")]
                )
            q.ids = (q.ids or []) + values if q.ids is not None else values
        elif base == "identifier":
            tokens, plain = [], []
            for v in values:
                system, value = parse_token(v)
                if system is None:
                    plain.append(store.value_hash(value))
                else:
                    tokens.append(store.token_hash(Token(system, value)))
            q.token_hashes = (q.token_hashes or []) + tokens
            q.value_hashes = (q.value_hashes or []) + plain
        elif base in ("patient", "subject"):
            targets = [
                v if "/" in v else f"Patient/{v}" if base == "patient" else v for v in values
            ]
            bad = [t for t in targets if not _TARGET_RE.fullmatch(t)]
            if bad:
                raise InvalidResource(
                    [
                        Issue(
                            f"{name}={bad[0]!r}: expected a resource id or 'Type/id'",
                            name,
                            "value",
                        )
                    ]
                )
            names = ("subject", "patient") if base == "patient" else ("subject",)
            q.references = (q.references or []) + [(names, targets)]
        elif base == "date":
            for v in values[:1]:
                dates.append(_date_filter("clinical", v, zone, name))
        elif base == "_lastUpdated":
            for v in values[:1]:
                dates.append(
                    _date_filter("last_updated", v, zone, name)
                    if v[:2] not in ("eq", "ne") and v[:2] in PREFIXES
                    else _last_updated_eq(v, zone, name)
                )
    q.date_filters = dates
    q.limit = count
    q.after_pk = cursor
    return ParsedSearch(q, count, cursor, echo)


def _last_updated_eq(raw: str, zone: ZoneInfo, name: str) -> DateFilter:
    # A point in time "equals" a value when it lies within the value's range.
    prefix = "ne" if raw[:2] == "ne" else "eq"
    value = raw[2:] if raw[:2] in ("eq", "ne") else raw
    rng = date_range(value, zone)
    if rng is None:
        raise InvalidResource(
            [Issue(f"Search parameter {name}={raw!r} is not a FHIR date", name, "value")]
        )
    return DateFilter("last_updated", prefix, rng[0], rng[1], point=True)


def split_query(query: str) -> list[tuple[str, str]]:
    return parse_qsl(query, keep_blank_values=True)
