"""The case page (issue 18, page 3): one woman's pregnancy for a reviewer, and the forms to work
it. Every read and every change goes through the case service the JSON API calls
(``services.cases``: roles, jurisdiction, audit of the full identifiers, the case version), so
the page can show and do exactly what ``/api/v1/cases/{id}`` can.

A form posts here with the session's CSRF token and the case version it was read at; a change
redirects back (303) with a notice; a version another reviewer moved on re-renders the page with
the current data and a message to check and apply again (409); a refused value re-renders it
with the values typed and the message next to the field."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from mch_service.auth.permissions import Permission, Principal
from mch_service.cases import worklists
from mch_service.cases.schemas import (
    AssignmentUpdate,
    CaseDetail,
    CaseRead,
    CaseVersion,
    FollowUpCreate,
    OutcomeCreate,
    ReasonedChange,
)
from mch_service.deps import ServicesDep, in_reading, in_transaction
from mch_service.errors import InvalidResource, Issue, MchError, PreconditionFailed
from mch_service.institutions.service import ReferenceNames, reference_names
from mch_service.web.i18n import labels, language
from mch_service.web.rendering import Viewer, refused, render, viewer

router = APIRouter(include_in_schema=False)

COLOURS = ("green", "yellow", "orange", "red", "purple")
# the texts a closing stores when its code says it all (the register's 42 days; an outcome)
CODED_REASONS = {
    text.lower()
    for labels_ in (*worklists.CLOSE_REASONS.values(), *worklists.OUTCOME_KINDS.values())
    for text in labels_[:2]
    if isinstance(text, str)
}
# The fields of each form (name -> longest text kept), as the page posts them.
FORMS: dict[str, dict[str, int]] = {
    "follow_up": {"contact_date": 10, "kind": 32, "outcome": 32, "notes": 2000, "next_due": 10},
    "outcome": {"kind": 32, "date": 10, "place": 200, "source": 32, "note": 2000},
    "assign": {"assignee": 64},
    "close": {"code": 32, "reason": 2000},
    "reopen": {"reason": 2000},
    "acknowledge_late": {},
}


class _BadDate(Exception):
    def __init__(self, field: str) -> None:
        self.field = field


def _day(form: dict[str, str], field: str) -> date | None:
    raw = form.get(field, "")
    if not raw:
        return None
    try:
        return date.fromisoformat(raw)
    except ValueError:
        raise _BadDate(field) from None


def _ga(
    day: str | None, lmp: date | None, end: date | None, t: dict[str, str], delivered: bool = False
) -> str:
    """Gestational age at a day, as staff write it (12+6周), or the days after the end."""
    if not day:
        return ""
    at = date.fromisoformat(day[:10])
    if end is not None and at > end:
        key = "case_days_postpartum" if delivered else "case_days_after_end"
        return t[key].format(days=(at - end).days)
    if lmp is None:
        return ""
    days = (at - lmp).days
    return t["case_ga_weeks"].format(ga=f"{days // 7}+{days % 7}") if 0 <= days <= 315 else ""


def _lmp_of(pregnancy: dict[str, Any]) -> date | None:
    dating = pregnancy.get("dating") or {}
    if dating.get("lmp"):
        return date.fromisoformat(dating["lmp"])
    if dating.get("edd"):
        return date.fromisoformat(dating["edd"]) - timedelta(days=280)
    return None


def _timeline(
    detail: CaseDetail, names: ReferenceNames, t: dict[str, str], lang: str
) -> list[dict[str, Any]]:
    """The pregnancy on one timeline: what the hospitals sent (visits, tests and results,
    gradings, treatments, diagnoses, delivery and births, postpartum visits) and what reviewers
    did (follow-ups, outcome, assignment, closing), each with its day and institution name."""
    p = detail.pregnancy
    lmp = _lmp_of(p)
    end = date.fromisoformat(p["end"]["date"]) if (p.get("end") or {}).get("date") else None
    delivered = (p.get("end") or {}).get("kind") == "delivery"
    rows: list[dict[str, Any]] = []

    def inst(code: str | None) -> str:
        return (names.institution_name(code) or code or "") if code else ""

    def tl(key: str, fallback: str | None) -> str:
        return t.get(key, fallback or "")

    for f in p.get("timeline", []):
        kind = f["kind"]
        what = ""
        if kind == "prenatal_visit":
            what = t["case_tl_first_visit"] if f.get("initial") else ""
        elif kind == "postpartum_visit":
            what = tl(f"case_tl_pp_{f.get('type')}", f.get("type"))
        elif kind == "lab_result":
            parts = [tl(f"case_test_{f.get('concept')}", f.get("concept"))]
            if f.get("result"):
                parts.append(tl(f"case_result_{f['result']}", f["result"]))
            if f.get("value") is not None:
                parts.append(f"{f['value']:g} {f.get('unit') or ''}".strip())
            what = " ".join(parts)
        elif kind == "risk_assessment":
            what = ""  # the badge says it
        elif kind in ("treatment", "diagnosis"):
            what = " ".join(
                x
                for x in (tl(f"case_test_{f.get('concept')}", f.get("concept")), f.get("code"))
                if x
            )
        elif kind == "dating_observation":
            value = f.get("value_date") or f.get("gravida") or ""
            if f.get("ga_days") is not None:
                value = t["case_ga_weeks"].format(ga=f"{f['ga_days'] // 7}+{f['ga_days'] % 7}")
            what = f"{tl('case_tl_dating_' + str(f.get('type')), f.get('type'))} {value}".strip()
        elif kind == "care_episode":
            start, stop = f.get("start_date") or "", f.get("end_date")
            what = f"{start} – {stop}" if stop else f"{start} {t['case_ongoing']}"
        elif kind == "delivery_record":
            if f.get("type") == "outcome":
                what = t["case_tl_birth_outcome"].format(
                    live=f.get("live") or 0, still=f.get("still") or 0
                )
            else:
                what = tl(f"case_mode_{f.get('mode')}", f.get("mode"))
        elif kind == "newborn_observation":
            continue  # shown with the births
        rows.append(
            {
                "date": f.get("date"),
                "kind": kind,
                "label": tl(f"case_tl_{kind}", kind),
                "what": what,
                "colour": f.get("colour") if kind == "risk_assessment" else None,
                "purple": bool(f.get("purple")) if kind == "risk_assessment" else False,
                "institution": inst(f.get("institution")),
                "by": "",
            }
        )
    delivery = p.get("delivery")
    for b in p.get("births") or []:
        sex = tl(f"case_sex_{b.get('sex')}", b.get("sex"))
        parts = [
            f"#{b.get('seq')}",
            t["case_born_alive"] if b.get("live") else t["case_stillborn"],
            sex,
        ]
        if b.get("weight_g"):
            parts.append(f"{b['weight_g']:g}g")
        if b.get("apgar_1") is not None or b.get("apgar_5") is not None:
            a1, a5 = (b.get(k) for k in ("apgar_1", "apgar_5"))
            parts.append(
                t["case_apgar"].format(
                    one="–" if a1 is None else f"{a1:g}", five="–" if a5 is None else f"{a5:g}"
                )
            )
        rows.append(
            {
                "date": delivery.get("date") if delivery else None,
                "kind": "birth",
                "label": t["case_tl_birth"],
                "what": " ".join(str(x) for x in parts if x),
                "colour": None,
                "purple": False,
                "institution": inst(delivery.get("institution")) if delivery else "",
                "by": "",
            }
        )
    for fu in detail.follow_ups:
        kind_zh, _, kind_en = fu.kind_label.partition(" ")
        out_zh, _, out_en = fu.outcome_label.partition(" ")
        what = f"{kind_zh if lang == 'zh' else kind_en}{t['case_colon']}"
        what += out_zh if lang == "zh" else out_en
        if fu.outcome_code == "other" and fu.outcome != "other":
            what += f"{t['case_lparen']}{fu.outcome}{t['case_rparen']}"
        if fu.next_due:
            what += f"{t['case_semicolon']}{t['case_next_due']} {fu.next_due}"
        rows.append(
            {
                "date": fu.contact_date.isoformat(),
                "kind": "follow_up",
                "label": t["case_tl_follow_up"],
                "what": what,
                "notes": fu.notes,
                "corrected": fu.corrected_by is not None,
                "colour": None,
                "purple": False,
                "institution": t["case_team"],
                "by": fu.recorded_by,
                "id": fu.id,
            }
        )
    outcome = detail.case.outcome
    if outcome is not None:
        rows.append(
            {
                "date": outcome.date.isoformat() if outcome.date else None,
                "kind": "outcome",
                "label": t["case_tl_outcome"],
                "what": (outcome.label_zh if lang == "zh" else outcome.label_en)
                + (f"{t['case_lparen']}{outcome.place}{t['case_rparen']}" if outcome.place else ""),
                "colour": None,
                "purple": False,
                "institution": t["case_reported_by_reviewer"],
                "by": outcome.recorded_by or "",
            }
        )
    for r in rows:
        r["ga"] = _ga(r["date"], lmp, end, t, delivered)
    rows.sort(key=lambda r: (r["date"] or "9999", r["kind"] == "follow_up"))
    return rows


async def _case_viewer(request: Request, services: ServicesDep) -> Viewer | Response:
    who = await viewer(request, services)
    if isinstance(who, Viewer) and not who.principal.can(Permission.WORK_CASES):
        return refused(request, who, MchError("This page is for reviewers", 403))
    return who


async def _page(
    request: Request,
    services: ServicesDep,
    who: Viewer,
    pregnancy_id: str,
    *,
    status: int = 200,
    error: str | None = None,
    failed: str | None = None,
    values: dict[str, str] | None = None,
    errors: dict[str, str] | None = None,
) -> Response:
    try:
        # the same read as GET /api/v1/cases/{id}: its full identifiers' view is audited there
        detail = await in_transaction(services, services.cases.detail, who.principal, pregnancy_id)
        colleagues = await in_transaction(
            services, services.cases.assignees, who.principal, pregnancy_id
        )
    except MchError as exc:
        return refused(request, who, exc)
    codes = services.cases.codes(who.principal)
    names = await in_reading(services, reference_names)
    lang = language(request)
    t = labels(lang)
    pregnancy = detail.pregnancy
    woman = pregnancy.get("woman") or {}
    lmp = _lmp_of(pregnancy)
    end = date.fromisoformat(pregnancy["end"]["date"]) if pregnancy["end"].get("date") else None
    # The day the lists are at (today in production, where the lists are made each morning;
    # the data's last day in the demo): GA, the default contact date and the lists agree.
    today = await in_reading(services, services.cases.action_day)
    behind = today < services.cases.today()
    case = detail.case
    colour, purple = case.colour, case.purple
    if case.opened_on is None:
        # no record yet (version 0): her colour as the register reads it from her gradings
        facts = await in_reading(services, services.cases.load_pregnancy, pregnancy_id)
        mine = next((f for f in facts if f.pregnancy_id == pregnancy_id), None)
        colour, purple = worklists.current_colour(mine, today) if mine else (None, False)
    on_lists = {w.list_name for w in detail.work_items}
    shown = {a.username: a.display_name or a.username for a in colleagues}
    gradings = [
        {
            **g,
            "institution_name": names.institution_name(g.get("institution"))
            or g.get("institution"),
        }
        for g in detail.gradings
    ]
    response = render(
        request,
        "case.html",
        {
            "detail": detail,
            "case": case,
            # the reason's text unless it only repeats the code (the register's own closings)
            "close_reason": None
            if (case.close_reason or "").lower() in CODED_REASONS
            else case.close_reason,
            "colour": colour,
            "purple": purple,
            "woman": woman,
            "pregnancy": pregnancy,
            "street_name": names.street_name(woman.get("street") or case.street)
            or woman.get("street")
            or case.street,
            "centre_name": names.centre_name_of(woman.get("street") or case.street),
            "institution_names": [
                names.institution_name(i) or i for i in pregnancy.get("institutions", [])
            ],
            "ga_today": _ga(today.isoformat(), lmp, end, t) if end is None else "",
            "gradings": gradings,
            "timeline": _timeline(detail, names, t, lang),
            "codes": codes,
            "assignees": colleagues,
            "assignee_name": shown.get(case.assignee or "", case.assignee),
            "events": list(reversed(detail.events)),
            # a follow-up's or an outcome's event names its code: shown by its label
            "event_labels": {
                c.code: c.label_zh if lang == "zh" else c.label_en
                for c in (*codes.follow_up_kinds, *codes.outcome_kinds)
            },
            "late": "report_late" in on_lists,
            "today": today.isoformat(),
            "lists_behind": behind,
            "error": error,
            "failed": failed,
            "values": values or {},
            "errors": errors or {},
            "done": request.query_params.get("done"),
            "colours": COLOURS,
        },
        status=status,
        who=who,
    )
    response.headers["Cache-Control"] = "no-store"  # her identifiers in full
    return response


@router.get("/cases/{pregnancy_id}")
async def case_page(pregnancy_id: str, request: Request, services: ServicesDep) -> Response:
    who = await _case_viewer(request, services)
    if not isinstance(who, Viewer):
        return who
    return await _page(request, services, who, pregnancy_id)


# -- the forms ----------------------------------------------------------------------------------

Action = Callable[[Session, Principal, str, Any], CaseRead]


def _version(raw: str) -> int | None:
    return int(raw) if raw.isdigit() else None


def _follow_up(form: dict[str, str], version: int | None) -> FollowUpCreate:
    # the form's own problems together (the service's checks then come together too)
    problems: list[Issue] = []
    days: dict[str, date | None] = {}
    for field in ("contact_date", "next_due"):
        try:
            days[field] = _day(form, field)
        except _BadDate:
            days[field] = None
            problems.append(_issue(field, "date_format"))
    contact = days["contact_date"]
    if contact is None and not form.get("contact_date"):
        problems.append(_issue("contact_date", "required"))
    if problems or contact is None:
        if not form["kind"]:
            problems.append(_issue("kind", "value"))
        if not form["outcome"]:
            problems.append(_issue("outcome", "required"))
        raise InvalidResource(problems)
    return FollowUpCreate(
        version=version,
        contact_date=contact,
        kind=form["kind"],
        outcome=form["outcome"],
        notes=form["notes"] or None,
        next_due=days["next_due"],
    )


def _outcome(form: dict[str, str], version: int | None) -> OutcomeCreate:
    return OutcomeCreate(
        version=version,
        kind=form["kind"],
        date=_day(form, "date"),
        place=form["place"] or None,
        source=form["source"] or None,
        note=form["note"] or None,
    )


def _issue(field: str, code: str) -> Issue:
    return Issue(f"{field} {code}", field, code)


BODIES: dict[str, Callable[[dict[str, str], int | None], Any]] = {
    "follow_up": _follow_up,
    "outcome": _outcome,
    "assign": lambda f, v: AssignmentUpdate(version=v, assignee=f["assignee"] or None),
    "close": lambda f, v: ReasonedChange(version=v, reason=f["reason"], code=f["code"] or None),
    "reopen": lambda f, v: ReasonedChange(version=v, reason=f["reason"]),
    "acknowledge_late": lambda f, v: CaseVersion(version=v),
}


def _service_action(services: ServicesDep, name: str) -> Action:
    cases = services.cases
    actions: dict[str, Action] = {
        "follow_up": cases.add_follow_up,
        "outcome": cases.record_outcome,
        "assign": cases.assign,
        "close": cases.close,
        "reopen": cases.reopen,
        "acknowledge_late": cases.acknowledge_late,
    }
    return actions[name]


def _field_message(t: dict[str, str], form_name: str, field: str, code: str, raw: str) -> str:
    for key in (
        f"case_err_{form_name}_{field}_{code}",
        f"case_err_{field}_{code}",
        f"case_err_{code}",
    ):
        if key in t:
            return t[key]
    return raw


async def _act(request: Request, services: ServicesDep, pregnancy_id: str, name: str) -> Response:
    who = await _case_viewer(request, services)
    if not isinstance(who, Viewer):
        if isinstance(who, RedirectResponse):  # signed out, or a form without its token
            back = quote(f"/cases/{pregnancy_id}")
            return RedirectResponse(f"/login?next={back}", status_code=303)
        return who
    posted = await request.form()
    values = {
        field: str(posted.get(field) or "").strip()[:limit] for field, limit in FORMS[name].items()
    }
    raw_version = str(posted.get("version") or "").strip()
    version = _version(raw_version)
    t = labels(language(request))
    try:
        body = BODIES[name](values, version)
        await in_transaction(
            services, _service_action(services, name), who.principal, pregnancy_id, body
        )
    except _BadDate as bad:
        return await _page(
            request,
            services,
            who,
            pregnancy_id,
            status=400,
            error=t["case_form_has_errors"],
            failed=name,
            values=values,
            errors={bad.field: t["case_err_date_format"]},
        )
    except PreconditionFailed:
        # another reviewer saved first: the page as it is now, the typed values kept
        return await _page(
            request,
            services,
            who,
            pregnancy_id,
            status=409,
            error=t["case_stale_version"].format(version=raw_version or "?"),
            failed=name,
            values=values,
        )
    except InvalidResource as exc:
        errors = {
            i.expression or "": _field_message(t, name, i.expression or "", i.code, i.message)
            for i in exc.all_issues()
        }
        general = errors.pop("", None) or errors.pop("version", None)
        return await _page(
            request,
            services,
            who,
            pregnancy_id,
            status=exc.status_code,
            error=general or t["case_form_has_errors"],
            failed=name,
            values=values,
            errors=errors,
        )
    except MchError as exc:
        if exc.status_code in (403, 404):
            return refused(request, who, exc)
        message = t.get(f"case_err_{name}_{exc.status_code}", exc.message)
        return await _page(
            request,
            services,
            who,
            pregnancy_id,
            status=exc.status_code,
            error=message,
            failed=name,
            values=values,
        )
    query = urlencode({"done": f"case_{name}"})
    return RedirectResponse(f"/cases/{quote(pregnancy_id)}?{query}", status_code=303)


@router.post("/cases/{pregnancy_id}/follow-up")
async def add_follow_up(pregnancy_id: str, request: Request, services: ServicesDep) -> Response:
    return await _act(request, services, pregnancy_id, "follow_up")


@router.post("/cases/{pregnancy_id}/outcome")
async def record_outcome(pregnancy_id: str, request: Request, services: ServicesDep) -> Response:
    return await _act(request, services, pregnancy_id, "outcome")


@router.post("/cases/{pregnancy_id}/assign")
async def assign(pregnancy_id: str, request: Request, services: ServicesDep) -> Response:
    return await _act(request, services, pregnancy_id, "assign")


@router.post("/cases/{pregnancy_id}/close")
async def close(pregnancy_id: str, request: Request, services: ServicesDep) -> Response:
    return await _act(request, services, pregnancy_id, "close")


@router.post("/cases/{pregnancy_id}/reopen")
async def reopen(pregnancy_id: str, request: Request, services: ServicesDep) -> Response:
    return await _act(request, services, pregnancy_id, "reopen")


@router.post("/cases/{pregnancy_id}/acknowledge-late")
async def acknowledge_late(pregnancy_id: str, request: Request, services: ServicesDep) -> Response:
    return await _act(request, services, pregnancy_id, "acknowledge_late")
