"""Hypothesis strategies for FHIR R4 resources and Bundles: valid ones (with valid but extreme
values: the year 9999, offsets of 14 hours, long ids) and mutated ones (an element replaced
by a wrong type, a control character, active content, an impossible date, a huge number...)."""

from __future__ import annotations

import copy
import uuid
from typing import Any

import hypothesis.strategies as st

# Strings that have broken things before, or could: NUL and other controls, a trailing
# newline (`$` in re.match), digits that are not ASCII, lone surrogates, active content,
# dates at and past the edges, numbers past 64 bits.
NASTY_STRINGS = [
    "",
    " ",
    "\x00",
    "a\x00b",
    "abc\n",
    "\x7f",
    "²",
    "٢٠٢٥",
    "\ud800",
    "<script>alert(1)</script>",
    '<img src=x onerror="alert(1)">',
    "javascript:alert(1)",
    "9999",
    "0000-01-01",
    "2025-02-30",
    "0001-01-01T00:00:00+14:00",
    "9999-12-31T23:59:59-14:00",
    "9223372036854775808",
    "12345678901234567890123",
    "-1",
    "Patient/a\x00b",
    "Patient?identifier=x|\x00",
    "urn:uuid:00000000-0000-0000-0000-00000000000",
    "%00",
    "../../etc/passwd",
    "a" * 300,
]
NASTY_VALUES: list[Any] = [
    None,
    {},
    [],
    [None],
    True,
    0,
    -1,
    2**63,
    2**64 + 1,
    -(2**63) - 1,
    1e308,
    -0.0,
    0.1,
    {"resourceType": "Patient"},
    [[[[[[[[[[[[[[[[[[[["deep"]]]]]]]]]]]]]]]]]]]],
]

nasty_text = st.one_of(st.sampled_from(NASTY_STRINGS), st.text(max_size=40))
ids = st.one_of(
    st.from_regex(r"[A-Za-z0-9\-\.]{1,64}", fullmatch=True),
    st.sampled_from(["a\x00b", "abc\n", "a" * 65, "a/b", "", "²"]),
)


@st.composite
def fhir_dates(draw: st.DrawFn) -> str:
    """A valid R4 date or dateTime, often at the edges of what can be represented."""
    year = draw(st.one_of(st.sampled_from([1, 2, 1970, 2025, 9998, 9999]), st.integers(1, 9999)))
    precision = draw(st.sampled_from(["y", "m", "d", "t"]))
    if precision == "y":
        return f"{year:04d}"
    month = draw(st.sampled_from([1, 2, 12]) | st.integers(1, 12))
    if precision == "m":
        return f"{year:04d}-{month:02d}"
    day = draw(st.sampled_from([1, 28, 31]) | st.integers(1, 31))
    if month == 2:
        day = min(day, 28)
    elif month in (4, 6, 9, 11):
        day = min(day, 30)
    if precision == "d":
        return f"{year:04d}-{month:02d}-{day:02d}"
    hour, minute, second = draw(
        st.tuples(st.integers(0, 23), st.integers(0, 59), st.integers(0, 59))
    )
    tz = draw(st.sampled_from(["Z", "+14:00", "-14:00", "+08:00", "-12:30", "+00:00"]))
    return f"{year:04d}-{month:02d}-{day:02d}T{hour:02d}:{minute:02d}:{second:02d}{tz}"


dates = st.one_of(fhir_dates(), st.sampled_from(NASTY_STRINGS))


@st.composite
def patients(draw: st.DrawFn) -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [
            {
                "system": "urn:oid:1.2.156.1.mrn",
                "value": draw(st.from_regex(r"[A-Z0-9]{1,12}", fullmatch=True)),
            }
        ],
        "gender": draw(st.sampled_from(["female", "male", "unknown"])),
        "birthDate": draw(fhir_dates().filter(lambda d: "T" not in d)),
        "name": [{"text": draw(st.text(max_size=20))}],
    }


@st.composite
def observations(draw: st.DrawFn, subject: str = "Patient/p1") -> dict[str, Any]:
    value = draw(
        st.one_of(
            st.floats(allow_nan=False, allow_infinity=False, width=64),
            st.integers(-(2**70), 2**70),
        )
    )
    return {
        "resourceType": "Observation",
        "status": draw(st.sampled_from(["final", "amended", "preliminary"])),
        "code": {
            "coding": [
                {
                    "system": "http://loinc.org",
                    "code": draw(st.sampled_from(["718-7", "8480-6", "11884-4"])),
                }
            ]
        },
        "subject": {"reference": subject},
        "effectiveDateTime": draw(fhir_dates()),
        "valueQuantity": {"value": value, "unit": "g/L"},
    }


@st.composite
def encounters(draw: st.DrawFn, subject: str = "Patient/p1") -> dict[str, Any]:
    period: dict[str, Any] = {"start": draw(fhir_dates())}
    if draw(st.booleans()):
        period["end"] = draw(fhir_dates())
    return {
        "resourceType": "Encounter",
        "status": "finished",
        "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
        "subject": {"reference": subject},
        "period": period,
    }


def valid_resources(subject: str = "Patient/p1") -> st.SearchStrategy[dict[str, Any]]:
    return st.one_of(patients(), observations(subject), encounters(subject))


def _paths(node: Any, prefix: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    out = [prefix] if prefix else []
    if isinstance(node, dict):
        for k, v in node.items():
            out += _paths(v, (*prefix, k))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            out += _paths(v, (*prefix, i))
    return out


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[dict[str, Any]]) -> dict[str, Any]:
    """A resource with one to three elements replaced, removed or added."""
    resource = copy.deepcopy(draw(base))
    for _ in range(draw(st.integers(1, 3))):
        paths = _paths(resource)
        if not paths:
            break
        path = draw(st.sampled_from(paths))
        parent: Any = resource
        for part in path[:-1]:
            parent = parent[part]
        key = path[-1]
        action = draw(st.sampled_from(["replace", "replace", "delete", "add"]))
        new: Any = draw(st.one_of(st.sampled_from(NASTY_VALUES), nasty_text))
        if action == "delete" and isinstance(parent, dict):
            parent.pop(key, None)
        elif action == "add" and isinstance(parent, dict):
            parent[
                draw(st.sampled_from(["extra", "_status", "id", "meta", "contained", "text"]))
            ] = new
        else:
            parent[key] = new
    return resource


def resources(subject: str = "Patient/p1") -> st.SearchStrategy[dict[str, Any]]:
    """Valid or mutated resources, about half each."""
    return st.one_of(valid_resources(subject), mutated(valid_resources(subject)))


@st.composite
def bundles(draw: st.DrawFn) -> dict[str, Any]:
    """A transaction or batch of a Patient and things about it, by urn:uuid or conditional
    reference, with GETs, PUTs and DELETEs among the POSTs; sometimes mutated."""
    patient_url = f"urn:uuid:{uuid.UUID(int=draw(st.integers(0, 2**128 - 1)))}"
    subject = draw(
        st.sampled_from([patient_url, "Patient?identifier=urn:oid:1.2.156.1.mrn|M1", "Patient/p1"])
    )
    entries: list[dict[str, Any]] = [
        {
            "fullUrl": patient_url,
            "request": {"method": "POST", "url": "Patient"},
            "resource": draw(patients()),
        }
    ]
    for _ in range(draw(st.integers(0, 4))):
        kind = draw(st.sampled_from(["POST", "POST", "PUT", "GET", "DELETE"]))
        if kind == "POST":
            entries.append(
                {
                    "request": {"method": "POST", "url": "Observation"},
                    "resource": draw(resources(subject)),
                }
            )
        elif kind == "PUT":
            rid = draw(ids)
            resource = draw(resources(subject))
            entries.append(
                {
                    "request": {
                        "method": "PUT",
                        "url": f"{resource.get('resourceType', 'Basic')}/{rid}",
                    },
                    "resource": resource,
                }
            )
        elif kind == "GET":
            query = draw(
                st.sampled_from(
                    ["date=ge", "_id=", "patient=", "_cursor=", "_count=", "identifier="]
                )
            )
            entries.append(
                {"request": {"method": "GET", "url": f"Observation?{query}{draw(nasty_text)}"}}
            )
        else:
            entries.append({"request": {"method": "DELETE", "url": f"Observation/{draw(ids)}"}})
    bundle = {
        "resourceType": "Bundle",
        "type": draw(st.sampled_from(["transaction", "batch"])),
        "entry": entries,
    }
    if draw(st.booleans()):
        return draw(mutated(st.just(bundle)))
    return bundle


SEARCH_PARAMS = [
    "_id",
    "identifier",
    "patient",
    "subject",
    "date",
    "_lastUpdated",
    "_count",
    "_cursor",
    "_format",
    "unknown",
]


@st.composite
def search_queries(draw: st.DrawFn) -> list[tuple[str, str]]:
    params = []
    for _ in range(draw(st.integers(0, 3))):
        name = draw(st.sampled_from(SEARCH_PARAMS))
        prefix = (
            draw(st.sampled_from(["", "ge", "lt", "eq", "ne", "sa", "eb"]))
            if name in ("date", "_lastUpdated")
            else ""
        )
        value = draw(st.one_of(nasty_text, fhir_dates(), ids))
        params.append((name, prefix + value))
    return params
