"""The request line of an interaction: its URL ('Patient', 'Patient/1/_history/2',
'Patient?identifier=s|v') parsed into a ``RequestUrl``, and the condition of a conditional
update, delete or create parsed into a ``Condition``. Refused with a 400 before any look-up."""

from __future__ import annotations

from dataclasses import dataclass, field

from mch_service.errors import InvalidResource, Issue
from mch_service.fhir_api.resource_types import R4_RESOURCE_TYPES
from mch_service.fhir_api.search import parse_token, split_query
from mch_service.fhir_api.validation import ID_RE
from mch_service.store.indexing import Token


@dataclass
class RequestUrl:
    resource_type: str
    fhir_id: str | None = None
    version_id: str | None = None
    query: list[tuple[str, str]] = field(default_factory=list)


def check_id(fhir_id: str, expr: str | None) -> None:
    """A resource id in a URL or a condition: R4's id shape, or a 400 before any look-up (an
    id with a NUL would be a database error on PostgreSQL, one ending in a newline would break
    the Location header of the answer)."""
    if not ID_RE.fullmatch(fhir_id):
        raise InvalidResource(
            [
                Issue(
                    f"{fhir_id!r} is not a valid resource id (1-64 letters, digits, '-' or '.')",
                    expr,
                    "value",
                )
            ]
        )


def parse_url(raw: str, expr: str) -> RequestUrl:
    path, _, query = raw.partition("?")
    parts = [p for p in path.strip("/").split("/") if p]
    if "://" in path:
        # An absolute URL (a base of its own, as in bundles built elsewhere): the request is
        # about the resource named by its last "Type/id" segments.
        starts = [i for i, part in enumerate(parts) if part in R4_RESOURCE_TYPES]
        parts = parts[starts[-1] :] if starts else []
    if not parts or parts[0] not in R4_RESOURCE_TYPES:
        raise InvalidResource(
            [Issue(f"Request URL {raw!r} does not start with an R4 resource type", expr, "value")]
        )
    url = RequestUrl(parts[0], query=split_query(query))
    if len(parts) >= 2:
        if not ID_RE.fullmatch(parts[1]):
            raise InvalidResource(
                [Issue(f"{parts[1]!r} is not a valid resource id", expr, "value")]
            )
        url.fhir_id = parts[1]
    if len(parts) == 4 and parts[2] == "_history":
        url.version_id = parts[3]
    elif len(parts) > 2:
        raise InvalidResource(
            [Issue(f"Request URL {raw!r} is not supported here", expr, "not-supported")]
        )
    return url


@dataclass
class Condition:
    tokens: list[Token]  # identifier=system|value
    values: list[str]  # identifier=value (any system)
    ids: list[str]  # _id


def parse_condition(query: list[tuple[str, str]], expr: str) -> Condition:
    """Conditional operations match by business identifier (``identifier=system|value``, or
    ``identifier=value`` for any system) or ``_id``. Anything else is refused rather than
    half-understood."""
    condition = Condition([], [], [])
    for name, value in query:
        if name == "identifier":
            system, identifier_value = parse_token(value)
            if not identifier_value:
                raise InvalidResource([Issue("identifier needs a value", expr, "value")])
            if system is None:
                condition.values.append(identifier_value)
            else:
                condition.tokens.append(Token(system, identifier_value))
        elif name == "_id":
            check_id(value, expr)
            condition.ids.append(value)
        elif name not in ("_format",):
            raise InvalidResource(
                [
                    Issue(
                        f"Conditional operations match on identifier or _id only, not {name!r}",
                        expr,
                        "not-supported",
                    )
                ]
            )
    if not (condition.tokens or condition.values or condition.ids):
        raise InvalidResource(
            [Issue("A conditional operation needs identifier=system|value", expr, "required")]
        )
    return condition


def if_none_exist_query(raw: str, resource_type: str) -> list[tuple[str, str]]:
    """The search of an If-None-Exist header or ``request.ifNoneExist``."""
    # Some senders write If-None-Exist as a full search URL ("Patient?identifier=...").
    if raw.startswith(resource_type + "?"):
        raw = raw[len(resource_type) + 1 :]
    return split_query(raw.lstrip("?"))
