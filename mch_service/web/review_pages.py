"""Reviewers' pages (issue 18, pages 1, 2 and 4): the work lists with their tabs, filters and
exports, the printable call sheet, the pregnancy search (by resident ID, MRN or name), and the
reviewer's panel of the home page. Each calls the service function its JSON API route calls
(``services.cases.list_items``, ``list_counts``, ``domain.pregnancy_record.lookup_pregnancies``),
so roles, jurisdiction, masking and audit are the API's."""

from __future__ import annotations

import re
from math import ceil
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Request
from fastapi.responses import Response
from pydantic import ValidationError

from mch_service.auth.permissions import Permission
from mch_service.cases import worklists
from mch_service.cases.endpoints import case_filters
from mch_service.cases.service import SORTS, CaseQuery
from mch_service.deps import ServicesDep, in_transaction
from mch_service.domain.pregnancy_record import lookup_pregnancies
from mch_service.domain.schemas import PregnancyLookup
from mch_service.errors import MchError
from mch_service.institutions import service as institutions
from mch_service.streets import street_problem
from mch_service.web.i18n import labels, language
from mch_service.web.rendering import Viewer, refused, render, viewer

router = APIRouter(include_in_schema=False)

COLOURS = worklists.COLOURS  # the filter's order: most urgent first
PAGE_SIZES = (25, 50, 100)
FILTERS = ("colour", "street", "institution", "assignee", "overdue")
# The lists a reviewer works; closed_out (transferred, lost, moved away) has nothing to do
# unless she comes back, so the home panel leaves it out.
OPEN_LISTS = tuple(k for k in worklists.LISTS if k != "closed_out")
CALL_SHEET_MAX = 500  # one printed call sheet: the API's largest page


_FACTOR = re.compile(r"^(\d{4}-\d{2}-\d{2}) ([a-z/]*): (.*)$")
NO_FACTORS = "no factors recorded 未记录因素"


def risk_factors(text: str) -> list[tuple[str, list[str], str]]:
    """The list service's risk factors ("2025-03-01 red: <basis>; ...", cases/service.py
    _call_sheet) as (day, colours, basis) to show one a line with the colours' badges; the
    basis "" when none was recorded (the page says so in its language)."""
    out: list[tuple[str, list[str], str]] = []
    for part in (p for p in text.split("; ") if p):
        m = _FACTOR.match(part)
        if m is None:
            out.append(("", [], part))
            continue
        basis = "" if m.group(3) == NO_FACTORS else m.group(3)
        out.append((m.group(1), [c for c in m.group(2).split("/") if c], basis))
    return out


def _why(exc: MchError) -> str:
    """The service's message with its first issue (the field it is about)."""
    if exc.issues and exc.issues[0].message != exc.message:
        return f"{exc.message}: {exc.issues[0].message}"
    return exc.message


def _int(raw: str | None, default: int) -> int:
    try:
        return int(raw or default)
    except ValueError:
        return default


def _form_values(
    request: Request, streets: frozenset[str]
) -> tuple[dict[str, str], dict[str, str]]:
    """The work-list form as sent (GET): list, the filters, sort and paging (strings); and the
    values the lists do not take (name -> value as sent), each left out of the form values so
    that the others still apply. The checks are the list service's (``_check_query``)."""
    q = request.query_params
    values = {k: (q.get(k) or "").strip()[:64] for k in ("list", *FILTERS, "sort")}
    values["descending"] = "true" if q.get("descending") in ("true", "on", "1") else ""
    takes = {
        "list": lambda v: v in worklists.LISTS,
        "colour": lambda v: v in worklists.COLOURS,
        "street": lambda v: street_problem(v, streets) is None,
        "overdue": lambda v: v in ("true", "false"),
        "sort": lambda v: v in SORTS,
    }
    bad = {k: values[k] for k, ok in takes.items() if values[k] and not ok(values[k])}
    values.update(dict.fromkeys(bad, ""))
    values["sort"] = values["sort"] or "urgency"
    # bounded: the form offers PAGE_SIZES; an address may ask 1 to the largest of them
    for key, default, top in (("page_size", 50, max(PAGE_SIZES)), ("page", 1, None)):
        raw = (q.get(key) or "").strip()
        n = int(raw) if raw.isdigit() else 0
        if raw and not (1 <= n and (top is None or n <= top)):
            bad[key] = raw[:64]
        values[key] = str(n if key not in bad and n else default)
    return values, bad


def _bad_filters(
    t: dict[str, str], bad: dict[str, str], streets: list[tuple[str, str]]
) -> list[tuple[str, str]]:
    """(filter, message) for each value the lists do not take: the filter's name, the value as
    sent and the values it takes, in the page's language."""
    sep = t["wl_sep"]
    choices = {
        "list": sep.join(f"{t['list_' + k]} ({k})" for k in worklists.LISTS),
        "colour": sep.join(f"{t['wl_colour_' + c]} ({c})" for c in worklists.COLOURS),
        "street": sep.join(f"{name} ({code})" for code, name in streets) or t["wl_no_streets"],
        "overdue": f"{t['wl_overdue_yes']} (true){sep}{t['wl_overdue_no']} (false)",
        "sort": sep.join(f"{t['wl_sort_' + s]} ({s})" for s in SORTS),
        "page_size": t["wl_page_size_range"].format(n=max(PAGE_SIZES)),
        "page": t["wl_page_whole"],
    }
    names = {"list": "wl_list", "page": "wl_page", "page_size": "wl_page_size"}
    return [
        (
            key,
            t["wl_bad_filter"].format(
                name=t[names.get(key, f"wl_{key}")], value=value, choices=choices[key]
            ),
        )
        for key, value in bad.items()
    ]


def _query(values: dict[str, str], **override: str) -> str:
    """The query string of these form values (empty ones left out)."""
    merged = {**values, **override}
    return urlencode({k: v for k, v in merged.items() if v and k != "lang"})


def _case_query(values: dict[str, str], page_size: int | None = None) -> CaseQuery:
    """The API's own filters (``case_filters`` of cases/endpoints.py) from the form values."""
    overdue = {"true": True, "false": False}.get(values["overdue"])
    return case_filters(
        list=values["list"] or None,
        colour=values["colour"] or None,
        street=values["street"] or None,
        institution=values["institution"] or None,
        assignee=values["assignee"] or None,
        overdue=overdue,
        sort=values["sort"],
        descending=values["descending"] == "true",
        page=int(values["page"]),
        page_size=page_size or int(values["page_size"]),
    )


async def _reviewer(request: Request, services: ServicesDep) -> Viewer | Response:
    who = await viewer(request, services)
    if isinstance(who, Viewer) and not who.principal.can(Permission.WORK_CASES):
        t = labels(language(request))
        return refused(request, who, MchError(t["wl_for_reviewers"], 403))
    return who


async def _choices(services: ServicesDep, who: Viewer) -> dict[str, Any]:
    """The streets and institutions of the filters, by name (the register, the directory). A
    reviewer whose jurisdiction is streets only is offered her streets."""
    streets = await in_transaction(services, institutions.streets_for_staff, who.principal)
    directory = await in_transaction(services, institutions.institutions_for_staff, who.principal)
    p = who.principal
    if not p.sees_everything and not p.institutions:
        streets = [s for s in streets if s.code in p.streets]
    return {
        "streets": [(s.code, s.name) for s in streets],
        "institution_choices": [(i.id, i.name) for i in directory],
    }


@router.get("/worklists")
async def worklists_page(request: Request, services: ServicesDep) -> Response:
    who = await _reviewer(request, services)
    if not isinstance(who, Viewer):
        return who
    values, bad = _form_values(request, services.cases.streets)
    try:
        counts = await in_transaction(
            services, services.cases.list_counts, who.principal, _case_query(values)
        )
        by_list = {c.list_name: c for c in counts.lists}
        total = (
            by_list[values["list"]].total if values["list"] else sum(c.total for c in counts.lists)
        )
        size = int(values["page_size"])
        last = max(ceil(total / size), 1)
        values["page"] = str(min(int(values["page"]), last))
        page = await in_transaction(
            services, services.cases.list_items, who.principal, _case_query(values)
        )
    except MchError as exc:
        return refused(request, who, MchError(_why(exc), exc.status_code))
    base = {k: v for k, v in values.items() if k != "page"}
    export = _query({k: v for k, v in base.items() if k != "page_size"})
    tabs = [("", "wl_all", sum(c.total for c in counts.lists), _query(base, list=""))]
    tabs += [
        (c.list_name, f"list_{c.list_name}", c.total, _query(base, list=c.list_name))
        for c in counts.lists
    ]
    choices = await _choices(services, who)
    current = int(values["page"])
    last = max(ceil(page.total / size), current)  # the list as read (a job may have run)
    context = {
        "values": values,
        "tabs": tabs,
        "as_of": counts.as_of,
        "items": page.items,
        "factors": [risk_factors(i.risk_factors) for i in page.items],
        "total": page.total,
        "page_no": current,
        "last_page": last,
        "prev_url": f"/worklists?{_query(base, page=str(current - 1))}" if current > 1 else None,
        "next_url": f"/worklists?{_query(base, page=str(current + 1))}" if current < last else None,
        "export_csv": f"/api/v1/cases/export.csv?{export}",
        "export_xlsx": f"/api/v1/cases/export.xlsx?{export}",
        "call_sheet_url": f"/worklists/call-sheet?{export}",
        "may_call": who.principal.can(Permission.READ_PERSONAL_DATA),
        "colours": COLOURS,
        "sorts": SORTS,
        "page_sizes": PAGE_SIZES,
        **choices,
        "bad_filters": _bad_filters(labels(language(request)), bad, choices["streets"]),
    }
    return render(request, "worklists.html", context, status=400 if bad else 200, who=who)


@router.get("/worklists/call-sheet")
async def call_sheet_page(request: Request, services: ServicesDep) -> Response:
    """The filtered list to print and call: full names and phones, which the list service
    gives (and audits, one record per woman) only to staff allowed to read personal data."""
    who = await _reviewer(request, services)
    if not isinstance(who, Viewer):
        return who
    if not who.principal.can(Permission.READ_PERSONAL_DATA):
        t = labels(language(request))
        return refused(request, who, MchError(t["wl_cs_not_entitled"], 403))
    values, bad = _form_values(request, services.cases.streets)
    if bad:  # a printed sheet with a filter left out would be the wrong women: say which
        t = labels(language(request))
        streets = (await _choices(services, who))["streets"]
        why = " ".join(text for _, text in _bad_filters(t, bad, streets))
        return refused(request, who, MchError(why, 400))
    values["page"] = "1"
    try:
        page = await in_transaction(
            services,
            services.cases.list_items,
            who.principal,
            _case_query(values, page_size=CALL_SHEET_MAX),
        )
    except MchError as exc:
        return refused(request, who, MchError(_why(exc), exc.status_code))
    back = _query({k: v for k, v in values.items() if k not in ("page", "page_size")})
    context = {
        "values": values,
        "items": page.items,
        "total": page.total,
        "as_of": page.items[0].as_of if page.items else None,
        "back_url": f"/worklists?{back}",
        "limit": CALL_SHEET_MAX,
    }
    return render(request, "call_sheet.html", context, who=who)


# -- pregnancy search -------------------------------------------------------------------------


async def _search_page(
    request: Request,
    services: ServicesDep,
    who: Viewer,
    result: dict[str, Any] | None = None,
    error: str | None = None,
    status: int = 200,
    by: str = "resident_id",
    institution: str = "",
) -> Response:
    choices = await _choices(services, who)
    names = dict(choices["institution_choices"])
    streets = dict(choices["streets"])
    if result is not None:
        for m in result["matches"]:
            m["street_name"] = streets.get(m["street"] or "", m["street"])
            m["institution_names"] = [names.get(i, i) for i in m["institutions"]]
    context = {
        "result": result,
        "error": error,
        "by": by,
        "institution": institution,
        **choices,
    }
    # never the searched value: the form comes back empty (no personal data kept in the page)
    return render(request, "pregnancy_search.html", context, status=status, who=who)


@router.get("/pregnancies/search")
async def search_page(request: Request, services: ServicesDep) -> Response:
    who = await _reviewer(request, services)
    if not isinstance(who, Viewer):
        return who
    return await _search_page(request, services, who)


SEARCH_BY = ("resident_id", "mrn", "name")
# what to enter, by the field a refused form got wrong (the rest: the identifier)
_FIELD_HELP = {
    "name": "Enter her full name (at most 100 characters)",
    "birth_date": "Enter the birth date as a date (YYYY-MM-DD)",
}


@router.post("/pregnancies/search")
async def search(request: Request, services: ServicesDep) -> Response:
    """A woman's pregnancies by resident ID, MRN (+ institution) or name (+ birth date,
    institution), posted (personal data never in a URL, so never in a log), through the lookup
    service of POST /api/v1/pregnancies/lookup: exact match by keyed hash, the caller's
    jurisdiction, audited without the value."""
    who = await _reviewer(request, services)  # checks the form's CSRF token
    if not isinstance(who, Viewer):
        return who
    form = await request.form()
    by = str(form.get("by") or "")
    by = by if by in SEARCH_BY else "resident_id"
    value = str(form.get("value") or "").strip()
    institution = str(form.get("institution") or "").strip()
    birth_date = str(form.get("birth_date") or "").strip()
    try:
        query = PregnancyLookup.model_validate(
            {
                by: value or None,
                "institution": (institution or None) if by != "resident_id" else None,
                "birth_date": birth_date or None,
            }
        )
        result = await in_transaction(
            services, lookup_pregnancies, services.store, services.crypto, who.principal, query
        )
    except ValidationError as exc:
        field = str(exc.errors()[0]["loc"][0]) if exc.errors()[0]["loc"] else ""
        message = _FIELD_HELP.get(
            field, "Enter the identifier (at most 32 characters for a resident ID)"
        )
        return await _search_page(request, services, who, None, message, 422, by, institution)
    except MchError as exc:
        return await _search_page(
            request, services, who, None, _why(exc), exc.status_code, by, institution
        )
    return await _search_page(request, services, who, result, None, 200, by, institution)


# -- the reviewer's panel of the home page ----------------------------------------------------


async def reviewer_home(services: ServicesDep, who: Viewer) -> dict[str, Any]:
    """For staff who work cases: her open lists with their counts, those with overdue items
    first (most overdue first), then the others by size; empty lists left out. {} for the
    others."""
    if not who.principal.can(Permission.WORK_CASES):
        return {}
    counts = await in_transaction(services, services.cases.list_counts, who.principal, CaseQuery())
    lists = [c for c in counts.lists if c.list_name in OPEN_LISTS and c.total]
    lists.sort(key=lambda c: (-c.overdue, -c.total, OPEN_LISTS.index(c.list_name)))
    return {"reviewer_panel": {"as_of": counts.as_of, "lists": lists}}
