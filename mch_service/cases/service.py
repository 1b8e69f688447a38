"""The case register and work lists: kept current by new data (in the ingest transaction, for
the women it touched) and by the daily job (for the day's date), and worked by reviewers.

The rules of each list are in ``worklists.py``; the queries on the register's own tables in
``repository.py``; the reads of the pregnancy facts in ``case_reads.py``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import ColumnElement
from sqlalchemy.orm import Session

from mch_service.audit.service import AuditRecord, record
from mch_service.auth.permissions import Permission, Principal
from mch_service.auth.service import actor_of, case_workers
from mch_service.cases import repository, worklists
from mch_service.cases.models import CaseEvent, CaseRecord, FollowUp, WorkItem
from mch_service.cases.schemas import (
    Assignee,
    AssignmentUpdate,
    CaseCodes,
    CaseDetail,
    CaseEventRead,
    CaseList,
    CaseRead,
    CaseVersion,
    CaseWorkItem,
    CloseReasonCount,
    Code,
    FollowUpCreate,
    FollowUpRead,
    ListCount,
    ListCounts,
    OutcomeCreate,
    OutcomeRead,
    ReasonedChange,
    WorkListItem,
)
from mch_service.cases.sealing import (
    case_outcome_note_aad,
    case_outcome_place_aad,
    close_reason_aad,
    event_reason_aad,
    notes_aad,
    outcome_aad,
)
from mch_service.config import Settings
from mch_service.crypto import Crypto
from mch_service.domain import case_reads
from mch_service.domain.pregnancy_record import call_identity, masked_identity, read_pregnancy
from mch_service.errors import Conflict, InvalidResource, Issue, NotFound, PreconditionFailed
from mch_service.institutions.service import ReferenceNames, reference_names
from mch_service.store import service as store_service
from mch_service.streets import street_problem
from mch_service.timeutil import to_utc, utcnow

KINDS = tuple(worklists.FOLLOW_UP_KINDS)
POSTPARTUM_COMPLETE = "postpartum period complete"
# Events whose detail is a reviewer's free-text reason (sealed in reason_sealed).
REASON_EVENTS = ("close", "reopen")
# What a reviewer may close a case as (postpartum_complete is the register's own closing).
REVIEWER_CLOSE_CODES = tuple(c for c in worklists.CLOSE_REASONS if c != "postpartum_complete")
SORTS = (*repository.SORTS, *repository.NAME_SORTS)
# The Chinese labels of the lists (the same as web/i18n.py "list_<key>").
LIST_LABELS_ZH = {
    "follow_up_due": "随访到期",
    "report_late": "报告超时",
    "outcome_unknown": "妊娠结局不明",
    "positive_untreated": "阳性未治疗",
    "missing_tests": "必查项目缺失",
    "postpartum_visit_due": "产后访视到期",
    "closed_out": "转出/失访/迁出",
}


def policy_of(settings: Settings) -> worklists.Policy:
    return worklists.Policy(
        case_managed=frozenset(settings.case_managed_colours),
        follow_up_days=dict(settings.case_follow_up_days),
        report_limit_hours=dict(settings.case_report_limit_hours),
        outcome_unknown_days=settings.case_outcome_unknown_days,
        untreated_days=settings.case_untreated_days,
        missing_tests_days=settings.case_missing_tests_days,
        postpartum_due_days=settings.case_postpartum_due_days,
        postpartum_overdue_days=settings.case_postpartum_overdue_days,
        report_late_from=settings.case_report_late_from,
    )


@dataclass
class CaseQuery:
    list_name: str | None = None
    colour: str | None = None
    street: str | None = None
    institution: str | None = None
    assignee: str | None = None
    overdue: bool | None = None
    sort: str = "urgency"
    descending: bool = False
    page: int = 1
    page_size: int = 50


class CaseService:
    def __init__(self, settings: Settings, crypto: Crypto) -> None:
        self.policy = policy_of(settings)
        self.zone = ZoneInfo(settings.timezone)
        self.crypto = crypto
        self.streets = frozenset(settings.streets)
        # women with no street: their items are listed under this street (issue 16)
        self.default_street = settings.default_jurisdiction_street or None

    def today(self) -> date:
        return utcnow().astimezone(self.zone).date()

    def action_day(self, session: Session) -> date:
        """The day a reviewer's action takes effect in the lists: the day the lists are at
        (one date per list), never after today."""
        return min(repository.list_as_of(session) or self.today(), self.today())

    # -- loading the facts ----------------------------------------------------------------

    def load(
        self, session: Session, women: Iterable[str] | None = None, *, management: bool = False
    ) -> list[worklists.PregnancyFacts]:
        """The pregnancies' facts the work lists are computed from. ``management``: only what
        the register's management rules read (the pregnancy, its risk assessments, follow-ups
        and recorded outcomes: ``worklists.case_opened_in_time``, ``case_followed_at_interval``),
        not the visits, results, treatments and the rest a work list needs: the indicator job
        reads every case's facts this way."""
        keys = list(women) if women is not None else None
        if keys is not None and not keys:
            return []
        facts = {
            r[0]: worklists.PregnancyFacts(
                r[0],
                r[1],
                r[2],
                r[3],
                r[4],
                r[5],
                r[6] or "",
                r[7],
                r[8],
                delivery=r[9],
                death=r[10],
            )
            for r in case_reads.pregnancy_rows(session, keys)
        }
        if not facts:
            return []
        ids = list(facts)
        risks = list(case_reads.risk_assessments(session, ids))
        first_received = store_service.first_received(session, [r[4] for r in risks])
        for pid, day, colour, purple, pk in risks:
            received = first_received.get(pk)
            received_here = received.astimezone(self.zone) if received else None
            facts[pid].risks.append((day, colour, bool(purple), received_here, pk))
        for pid, day in repository.follow_up_dates(session, ids):
            facts[pid].follow_ups.append(day)
        for pid, kind, day, recorded_on in repository.recorded_outcomes(session, ids):
            worklists.apply_recorded_outcome(facts[pid], kind or "", day)
            facts[pid].outcome_recorded = recorded_on
        if management:
            return list(facts.values())
        for pid, day in case_reads.visit_dates(session, ids):
            facts[pid].visits.append(day)
        for pid, day in case_reads.postpartum_visit_dates(session, ids):
            facts[pid].postpartum_visits.append(day)
        for pid, concept, day, result, method in case_reads.lab_results(session, ids):
            facts[pid].labs.append((concept, day, result, method))
        for pid, concept, day in case_reads.treatments(session, ids):
            facts[pid].treatments.append((concept, day))
        for pid, detail in repository.late_acknowledgements(session, ids):
            if detail and detail.isdigit():
                facts[pid].acknowledged.add(int(detail))
        for pid, code, closed_on in repository.reviewer_closings(session, ids):
            facts[pid].close_code, facts[pid].closed_on = code, closed_on
        for pid, day, colour, purple, basis in case_reads.risk_bases(session, ids):
            facts[pid].risk_basis.append((day, colour, bool(purple), basis or ""))
        for pid, _contact, due in repository.follow_up_next_dues(session, ids):
            facts[pid].next_due_set = due  # the latest follow-up's (rows in recorded order)
        return list(facts.values())

    # -- the register's facts for the indicators (rule 7; the port in mch_service/services.py) --

    def management_facts(
        self, session: Session, women: Iterable[str] | None = None
    ) -> tuple[dict[str, tuple[date, ...]], set[str], set[str]]:
        """Per pregnancy with a case: (recorded follow-up days, pregnancies whose case was
        opened in time, pregnancies followed up at the colour's interval); rules in
        docs/indicator-rules.md (high_risk_management_rate, high_risk_case_management_rate)."""
        cases = repository.cases_of_women(session, None if women is None else list(women))
        if not cases:
            return {}, set(), set()
        closed = {c.pregnancy_id: c.closed_on for c in cases if c.status == "closed"}
        with_case = {c.pregnancy_id for c in cases}
        follow_ups: dict[str, tuple[date, ...]] = {}
        in_time: set[str] = set()
        followed: set[str] = set()
        for f in self.load(session, sorted({c.woman_key for c in cases}), management=True):
            if f.pregnancy_id not in with_case:
                continue
            if f.follow_ups:
                follow_ups[f.pregnancy_id] = tuple(sorted(f.follow_ups))
            if worklists.case_opened_in_time(f, self.policy):
                in_time.add(f.pregnancy_id)
            if worklists.case_followed_at_interval(f, self.policy, closed.get(f.pregnancy_id)):
                followed.add(f.pregnancy_id)
        return follow_ups, in_time, followed

    def reported_outcomes(
        self, session: Session, women: Iterable[str] | None = None
    ) -> dict[str, tuple[str, date | None]]:
        """The outcomes reviewers recorded, per pregnancy: (kind, day); reported by a reviewer,
        not by a hospital (docs/indicator-rules.md, "Outcomes recorded by a reviewer")."""
        keys = None if women is None else list(women)
        return {
            pid: (kind, day)
            for pid, kind, day in repository.all_recorded_outcomes(session, keys)
            if kind
        }

    def last_change(self, session: Session) -> datetime | None:
        """When a reviewer last changed the register (a follow-up, a closing, ...)."""
        return repository.last_event_at(session)

    def women_changed_since(self, session: Session, watermark: datetime | None) -> list[str]:
        """The women whose cases a reviewer changed after ``watermark`` (all when None)."""
        return repository.women_with_events_since(session, watermark)

    # -- keeping the register and lists current -------------------------------------------------

    def refresh(
        self, session: Session, women: Iterable[str] | None = None, as_of: date | None = None
    ) -> int:
        """Recompute the work items (and open or close cases) of these women, or of everyone;
        returns the number of items now listed."""
        keys = None if women is None else sorted(set(women))
        if as_of is None:
            # everyone: today (the daily job); some women: the day the lists are at, so that
            # a list never mixes two days (issue 16: "one date per list")
            as_of = (None if keys is None else repository.list_as_of(session)) or self.today()
        pregnancies = self.load(session, keys)
        repository.delete_work_items(session, keys)
        existing = repository.cases_by_pregnancy(session, [p.pregnancy_id for p in pregnancies])
        rows = []
        for facts in pregnancies:
            colour, purple = worklists.current_colour(facts, as_of)
            sheet = self._call_sheet(facts, as_of, colour, purple)
            for item in worklists.items(facts, as_of, self.policy):
                rows.append(_work_item_row(facts, item, as_of, colour, purple, sheet))
            self._register(session, facts, existing.get(facts.pregnancy_id), colour, purple, as_of)
        repository.insert_work_items(session, rows)
        return len(rows)

    def _call_sheet(
        self, f: worklists.PregnancyFacts, as_of: date, colour: str | None, purple: bool
    ) -> dict[str, Any]:
        """What a reviewer needs to call her, at as_of (the same for each of her items)."""
        street_missing = f.street is None
        delivered = f.delivery if f.delivery is not None and f.delivery <= as_of else None
        # a pregnancy ended otherwise (a loss, her death) has no gestational age to show
        lost = delivered is None and f.end_date is not None and f.end_date <= as_of
        factors = [
            f"{day} {'/'.join(c for c in (col, 'purple' if pur else None) if c)}: "
            + (basis or "no factors recorded 未记录因素")
            for day, col, pur, basis in sorted(f.risk_basis, key=lambda r: r[0])
            if day <= as_of and (basis or col not in (None, "green") or pur)
        ]
        return {
            "street": self.default_street if street_missing else f.street,
            "street_missing": street_missing,
            "last_contact": worklists.last_contact(f, as_of),
            "next_due": worklists.next_due(f, as_of, self.policy),
            "lmp": None if lost else f.lmp,
            "edd": f.edd,
            "delivered_on": delivered,
            "risk_factors": "; ".join(factors[-5:]),
            "urgency": worklists.urgency(colour, purple),
        }

    def _register(
        self,
        session: Session,
        f: worklists.PregnancyFacts,
        case: CaseRecord | None,
        colour: str | None,
        purple: bool,
        as_of: date,
    ) -> None:
        opened = worklists.first_case_managed(f, self.policy)
        if opened is None and case is None:
            return
        complete = f.end_date is not None and as_of > f.end_date + timedelta(
            days=self.policy.postpartum_end_days
        )
        if case is None and opened is not None:
            repository.add(
                session,
                CaseRecord(
                    pregnancy_id=f.pregnancy_id,
                    woman_key=f.woman_key,
                    opened_on=opened,
                    status="closed" if complete else "open",
                    colour=colour,
                    purple=purple,
                    street=f.street or self.default_street,
                    institutions=f.institutions,
                    version=1,
                    closed_on=(f.end_date + timedelta(days=self.policy.postpartum_end_days))
                    if complete and f.end_date
                    else None,
                    close_reason_sealed=self._seal_close_reason(f.pregnancy_id, POSTPARTUM_COMPLETE)
                    if complete
                    else None,
                    close_code="postpartum_complete" if complete else None,
                ),
            )
            return
        if case is None:
            return
        case.colour, case.purple, case.street, case.institutions = (
            colour,
            purple,
            f.street or self.default_street,
            f.institutions,
        )
        if opened is not None and not case.managed:
            # a lightweight record becomes a managed case when a case-managed colour arrives
            case.managed, case.opened_on = True, opened
        # an earlier case-managed assessment that arrived late opens the case on its day (a
        # register rebuilt from the same records gives the same day)
        if opened is not None and opened < case.opened_on:
            case.opened_on = opened
        if complete and case.status == "open" and not case.closed_by_reviewer and f.end_date:
            case.status = "closed"
            case.closed_on = f.end_date + timedelta(days=self.policy.postpartum_end_days)
            case.close_reason_sealed = self._seal_close_reason(
                case.pregnancy_id, POSTPARTUM_COMPLETE
            )
            case.close_code = "postpartum_complete"

    # -- reading ---------------------------------------------------------------------------

    def _check_query(self, principal: Principal, q: CaseQuery) -> None:
        principal.require(Permission.WORK_CASES)
        if q.list_name and q.list_name not in worklists.LISTS:
            raise InvalidResource(
                [Issue(f"list must be one of {', '.join(worklists.LISTS)}", "list", "value")]
            )
        if q.colour and q.colour not in worklists.COLOURS:
            raise InvalidResource(
                [Issue(f"colour must be one of {', '.join(worklists.COLOURS)}", "colour", "value")]
            )
        if q.sort not in SORTS:
            raise InvalidResource(
                [Issue(f"sort must be one of {', '.join(SORTS)}", "sort", "value")]
            )
        if q.street:
            problem = street_problem(q.street, self.streets)
            if problem:
                raise InvalidResource([Issue(problem, "street", "value")], problem)

    def list_counts(self, session: Session, principal: Principal, q: CaseQuery) -> ListCounts:
        """Every list's count (and overdue count) under the query's filters but its list, in
        the principal's jurisdiction: the tabs of the work-list page, a reviewer's home.
        Counts only (no names): audited as one ``cases.list_counts`` event."""
        self._check_query(principal, q)
        conditions = repository.work_item_filters(
            principal, None, q.colour, q.street, q.institution, q.overdue
        )
        counts = repository.work_item_counts(session, conditions, q.assignee)
        lists = [
            ListCount(
                list=key,
                label_zh=LIST_LABELS_ZH.get(key, key),
                total=counts.get(key, (0, 0))[0],
                overdue=counts.get(key, (0, 0))[1],
            )
            for key in worklists.LISTS
        ]
        total = sum(c.total for c in lists)
        record(
            session,
            actor_of(principal),
            [AuditRecord("cases.list_counts", "success", "WorkItem", None, 200, f"{total}")],
        )
        return ListCounts(as_of=repository.list_as_of(session), lists=lists)

    def list_items(self, session: Session, principal: Principal, q: CaseQuery) -> CaseList:
        self._check_query(principal, q)
        conditions = repository.work_item_filters(
            principal, q.list_name, q.colour, q.street, q.institution, q.overdue
        )
        names = reference_names(session)
        order: str | repository.NamedOrder = q.sort
        if q.sort in ("street", "institution"):
            order = self._named_order(session, conditions, q, names)
        total, rows = repository.work_item_page(
            session, conditions, q.assignee, order, q.descending, q.page, q.page_size
        )
        entitled = principal.can(Permission.READ_PERSONAL_DATA)
        if q.sort in repository.IN_MEMORY_SORTS and total > repository.MAX_SORTED_IN_MEMORY:
            raise InvalidResource(
                [
                    Issue(
                        f"sort={q.sort} orders at most {repository.MAX_SORTED_IN_MEMORY} items; "
                        "narrow the list (list, street, institution, colour) or sort by urgency",
                        "sort",
                        "value",
                    )
                ]
            )
        if q.sort in repository.IN_MEMORY_SORTS:
            rows = self._sorted_by_name(session, rows, q, entitled)
        women = {r[0].woman_key for r in rows}
        masked = masked_identity(session, self.crypto, women)
        full = call_identity(session, self.crypto, women) if entitled else {}
        items = [
            _listed(
                item,
                assignee,
                status,
                {**masked.get(item.woman_key, {}), **full.get(item.woman_key, {})},
                names,
            )
            for item, assignee, status in rows
        ]
        audit = [
            AuditRecord("cases.list", "success", "WorkItem", q.list_name, 200, f"{len(items)}")
        ]
        # the call sheet's full names and phones: one audit record per pregnancy shown
        audit += [
            AuditRecord("cases.call_sheet", "success", "Pregnancy", pid, 200, "full_name phone")
            for pid in sorted({r[0].pregnancy_id for r in rows if r[0].woman_key in full})
        ]
        record(session, actor_of(principal), audit)
        return CaseList(total=total, page=q.page, page_size=q.page_size, items=items)

    @staticmethod
    def _named_order(
        session: Session,
        conditions: list[ColumnElement[bool]],
        q: CaseQuery,
        names: ReferenceNames,
    ) -> repository.NamedOrder:
        """The order by the street's name or the first institution's name (the code when
        unregistered, none last), as ranks of the codes the matching items hold: sorted in
        SQL, a page read, whatever the list's length."""

        def name(code: str | None) -> str:
            if q.sort == "street":
                return names.street_name(code) or code or "\uffff"
            return names.institution_name(code) or code or "\uffff"

        codes = repository.item_codes(session, conditions, q.assignee, q.sort)
        by_name = sorted({name(c) for c in codes} | {name(None)})
        rank = {n: i for i, n in enumerate(by_name)}
        return repository.NamedOrder(
            q.sort, {c: rank[name(c)] for c in codes if c}, rank[name(None)]
        )

    def _sorted_by_name(
        self,
        session: Session,
        rows: list[tuple[WorkItem, str | None, str | None]],
        q: CaseQuery,
        entitled: bool,
    ) -> list[tuple[WorkItem, str | None, str | None]]:
        """One page of the items sorted by the woman's name as the reviewer sees it (in full
        for staff allowed to read it, else masked; sealed, so in Python); urgency breaks
        ties."""
        women = {r[0].woman_key for r in rows}
        who = (
            {k: v.get("full_name") for k, v in call_identity(session, self.crypto, women).items()}
            if entitled
            else {k: v.get("name") for k, v in masked_identity(session, self.crypto, women).items()}
        )
        ordered = sorted(
            rows, key=lambda r: who.get(r[0].woman_key) or "\uffff", reverse=q.descending
        )
        start = (q.page - 1) * q.page_size
        return ordered[start : start + q.page_size]

    def all_items(self, session: Session, principal: Principal, q: CaseQuery) -> list[WorkListItem]:
        """Every item matching the filters (for exports), read page by page."""
        items: list[WorkListItem] = []
        q.page, q.page_size = 1, 500
        while True:
            page = self.list_items(session, principal, q)
            items += page.items
            if len(items) >= page.total or not page.items:
                return items
            q.page += 1

    def _scope(
        self, session: Session, principal: Principal, pregnancy_id: str
    ) -> tuple[str | None, str]:
        """The pregnancy's (street, institutions) when the principal may work it: in their
        jurisdiction by the domain's rule, or, with no street on her records, under the default
        jurisdiction street (MCH_DEFAULT_JURISDICTION_STREET). Else the 404 of no such case."""
        principal.require(Permission.WORK_CASES)
        scope = case_reads.pregnancy_scope(session, pregnancy_id)
        if scope is not None:
            street, institutions = scope
            effective = street or self.default_street
            if principal.in_jurisdiction(effective, set(institutions.split())):
                return scope
        raise NotFound(f"No case {pregnancy_id}")

    def _case(self, session: Session, principal: Principal, pregnancy_id: str) -> CaseRecord:
        self._scope(session, principal, pregnancy_id)
        case = repository.get_case(session, pregnancy_id)
        if case is None:
            raise NotFound(f"No case {pregnancy_id}")
        return case

    def detail(self, session: Session, principal: Principal, pregnancy_id: str) -> CaseDetail:
        """The case page; for a woman not under case management (no record yet) a case at
        version 0 that the first action (follow-up, assignment, outcome) opens."""
        street, institutions = self._scope(session, principal, pregnancy_id)
        case = repository.get_case(session, pregnancy_id)
        # the domain's read, for a woman listed under the default street: her institutions
        # stand for the jurisdiction the register granted
        reader = replace(principal, institutions=principal.institutions | set(institutions.split()))
        pregnancy = read_pregnancy(session, self.crypto, reader, pregnancy_id)
        return CaseDetail(
            case=self._case_read(case) if case else self._no_case_read(pregnancy_id, street),
            work_items=[
                CaseWorkItem.model_validate(
                    {
                        "list": w.list_name,
                        "since": w.since,
                        "overdue": w.overdue,
                        "reason": w.reason,
                        "clears": w.clears,
                        "reason_zh": w.reason_zh,
                        "clears_zh": w.clears_zh,
                        "next_due": w.next_due,
                        "as_of": w.as_of,
                    }
                )
                for w in repository.work_items_of(session, pregnancy_id)
            ],
            follow_ups=[
                self._follow_up_read(f) for f in repository.follow_ups_of(session, pregnancy_id)
            ],
            events=[self._event_read(e) for e in repository.events_of(session, pregnancy_id)],
            gradings=[t for t in pregnancy["timeline"] if t["kind"] == "risk_assessment"],
            pregnancy=pregnancy,
        )

    def _no_case_read(self, pregnancy_id: str, street: str | None) -> CaseRead:
        return CaseRead(
            pregnancy_id=pregnancy_id,
            status="open",
            opened_on=None,
            colour=None,
            purple=False,
            street=street or self.default_street,
            assignee=None,
            closed_on=None,
            close_reason=None,
            next_due=None,
            version=0,
            managed=False,
        )

    def _follow_up_read(self, f: FollowUp) -> FollowUpRead:
        outcome = self.crypto.open_sealed(f.outcome_sealed, outcome_aad(f.pregnancy_id)).decode()
        code = outcome if outcome in worklists.FOLLOW_UP_OUTCOMES else "other"
        kind_zh, kind_en = worklists.FOLLOW_UP_KINDS.get(f.kind, (f.kind, f.kind))
        return FollowUpRead(
            id=f.id,
            contact_date=f.contact_date,
            kind=f.kind,
            kind_label=f"{kind_zh} {kind_en}",
            outcome=outcome,
            outcome_code=code,
            outcome_label="{} {}".format(*worklists.FOLLOW_UP_OUTCOMES[code]),
            next_due=f.next_due,
            recorded_by=f.recorded_by,
            notes=self.crypto.open_sealed(f.notes_sealed, notes_aad(f.pregnancy_id)).decode()
            if f.notes_sealed
            else None,
            corrects=f.corrects,
            corrected_by=f.corrected_by,
        )

    def _event_read(self, e: CaseEvent) -> CaseEventRead:
        return CaseEventRead(
            action=e.action,
            detail=self.crypto.open_sealed(
                e.reason_sealed, event_reason_aad(e.pregnancy_id)
            ).decode()
            if e.reason_sealed
            else e.detail,
            by=e.by,
            at=to_utc(e.at).isoformat(),
        )

    def _seal_close_reason(self, pregnancy_id: str, reason: str) -> bytes:
        return self.crypto.seal(reason.encode(), close_reason_aad(pregnancy_id))

    def _case_read(self, c: CaseRecord) -> CaseRead:
        outcome = None
        if c.outcome_kind:
            zh, en, _d, _p = worklists.OUTCOME_KINDS.get(
                c.outcome_kind, (c.outcome_kind, c.outcome_kind, False, False)
            )
            outcome = OutcomeRead(
                kind=c.outcome_kind,
                label_zh=zh,
                label_en=en,
                date=c.outcome_date,
                place=self.crypto.open_sealed(
                    c.outcome_place_sealed, case_outcome_place_aad(c.pregnancy_id)
                ).decode()
                if c.outcome_place_sealed
                else None,
                source=c.outcome_source,
                note=self.crypto.open_sealed(
                    c.outcome_note_sealed, case_outcome_note_aad(c.pregnancy_id)
                ).decode()
                if c.outcome_note_sealed
                else None,
                recorded_by=c.outcome_by,
            )
        return CaseRead(
            pregnancy_id=c.pregnancy_id,
            status=c.status,
            opened_on=c.opened_on,
            colour=c.colour,
            purple=c.purple,
            street=c.street,
            assignee=c.assignee,
            closed_on=c.closed_on,
            close_code=c.close_code,
            close_reason=self.crypto.open_sealed(
                c.close_reason_sealed, close_reason_aad(c.pregnancy_id)
            ).decode()
            if c.close_reason_sealed
            else None,
            next_due=c.next_due,
            version=c.version,
            managed=c.managed,
            outcome=outcome,
        )

    # -- reviewers' actions ------------------------------------------------------------

    def _checked(
        self, session: Session, principal: Principal, pregnancy_id: str, version: int | None
    ) -> CaseRecord:
        street, institutions = self._scope(session, principal, pregnancy_id)
        if version is None:
            raise InvalidResource(
                [Issue("Send the case version you read (field 'version')", "version", "required")]
            )
        case = repository.get_case(session, pregnancy_id)
        if case is None:
            # no record yet (a woman not under case management): the first action opens a
            # lightweight one; version 0 is the version of "no record"
            if version != 0:
                raise PreconditionFailed(
                    f"The case changed since you read it (version {version}, now 0); "
                    "reload it and apply your change again"
                )
            return self._open_light(session, pregnancy_id, street, institutions)
        if not repository.bump_version(session, pregnancy_id, version):
            repository.reload(session, case)
            raise PreconditionFailed(
                f"The case changed since you read it (version {version}, now {case.version}); "
                "reload it and apply your change again"
            )
        repository.reload(session, case)
        return case

    def _open_light(
        self, session: Session, pregnancy_id: str, street: str | None, institutions: str
    ) -> CaseRecord:
        facts = next(
            (
                f
                for f in self.load_pregnancy(session, pregnancy_id)
                if f.pregnancy_id == pregnancy_id
            ),
            None,
        )
        as_of = repository.list_as_of(session) or self.today()
        colour, purple = worklists.current_colour(facts, as_of) if facts else (None, False)
        case = CaseRecord(
            pregnancy_id=pregnancy_id,
            woman_key=facts.woman_key if facts else "",
            status="open",
            opened_on=self.today(),
            colour=colour,
            purple=purple,
            street=street or self.default_street,
            institutions=institutions,
            version=1,
            managed=False,
        )
        if not repository.add_new_case(session, case):
            raise PreconditionFailed(
                "The case changed since you read it (another reviewer opened it); "
                "reload it and apply your change again"
            )
        return case

    def load_pregnancy(self, session: Session, pregnancy_id: str) -> list[worklists.PregnancyFacts]:
        woman = case_reads.woman_of(session, pregnancy_id)
        return self.load(session, [woman]) if woman else []

    def _event(
        self,
        session: Session,
        principal: Principal,
        pregnancy_id: str,
        action: str,
        detail: str | None,
    ) -> None:
        sealed = action in REASON_EVENTS and detail is not None
        repository.add(
            session,
            CaseEvent(
                pregnancy_id=pregnancy_id,
                action=action,
                detail=None if sealed else detail,
                reason_sealed=self.crypto.seal(detail.encode(), event_reason_aad(pregnancy_id))
                if sealed and detail is not None
                else None,
                by=principal.username,
                at=utcnow(),
            ),
        )
        record(
            session,
            actor_of(principal),
            [AuditRecord(f"case.{action}", "success", "CaseRecord", pregnancy_id)],
        )

    def add_follow_up(
        self, session: Session, principal: Principal, pregnancy_id: str, body: FollowUpCreate
    ) -> CaseRead:
        # every problem of the form at once, not one per try
        problems = []
        if body.kind not in KINDS:
            problems.append(Issue(f"kind must be one of {', '.join(KINDS)}", "kind", "value"))
        if not body.outcome.strip():
            outcomes = ", ".join(worklists.FOLLOW_UP_OUTCOMES)
            problems.append(Issue(f"outcome is one of {outcomes}", "outcome", "required"))
        if body.contact_date > self.today():
            problems.append(Issue("A contact cannot be in the future", "contact_date", "value"))
        if body.next_due is not None and body.next_due < body.contact_date:
            problems.append(
                Issue("next_due cannot be before the contact_date", "next_due", "value")
            )
        if problems:
            raise InvalidResource(problems)
        original = None
        if body.corrects is not None:
            original = repository.get_follow_up(session, body.corrects)
            if original is None or original.pregnancy_id != pregnancy_id:
                raise InvalidResource(
                    [Issue("corrects: no such follow-up of this case", "corrects", "value")]
                )
            if original.corrected_by is not None:
                raise InvalidResource(
                    [
                        Issue(
                            f"corrects: follow-up {original.id} was already corrected by "
                            f"{original.corrected_by}; correct that one",
                            "corrects",
                            "value",
                        )
                    ]
                )
        case = self._checked(session, principal, pregnancy_id, body.version)
        row = FollowUp(
            pregnancy_id=pregnancy_id,
            contact_date=body.contact_date,
            kind=body.kind,
            outcome_sealed=self.crypto.seal(body.outcome[:200].encode(), outcome_aad(pregnancy_id)),
            next_due=body.next_due,
            recorded_by=principal.username,
            recorded_at=utcnow(),
            notes_sealed=self.crypto.seal(body.notes.encode(), notes_aad(pregnancy_id))
            if body.notes
            else None,
            corrects=body.corrects,
        )
        repository.add(session, row)
        repository.flush(session)
        if original is not None:
            original.corrected_by = row.id
        case.next_due = body.next_due
        detail = body.kind if original is None else f"{body.kind} corrects {original.id}"
        self._event(session, principal, pregnancy_id, "follow_up", detail)
        repository.flush(session)
        self.refresh(session, [case.woman_key])
        return self._case_read(case)

    def assignees(
        self, session: Session, principal: Principal, pregnancy_id: str
    ) -> list[Assignee]:
        """The colleagues this woman's case may be assigned to: active reviewers whose
        jurisdiction covers her (her street, or the default street when she has none, or one of
        her institutions)."""
        street, institutions = self._scope(session, principal, pregnancy_id)
        record(
            session,
            actor_of(principal),
            [AuditRecord("case.assignees", "success", "CaseRecord", pregnancy_id, 200)],
        )
        return self._candidates(session, street, institutions)

    def _candidates(
        self, session: Session, street: str | None, institutions: str
    ) -> list[Assignee]:
        effective = street or self.default_street
        return [
            Assignee(
                username=p.username,
                display_name=display,
                streets=sorted(p.streets),
                institutions=sorted(p.institutions),
            )
            for p, display in case_workers(session)
            if p.in_jurisdiction(effective, set(institutions.split()))
        ]

    def assign(
        self, session: Session, principal: Principal, pregnancy_id: str, body: AssignmentUpdate
    ) -> CaseRead:
        street, institutions = self._scope(session, principal, pregnancy_id)
        if body.assignee:
            names = {a.username for a in self._candidates(session, street, institutions)}
            if body.assignee not in names:
                raise InvalidResource(
                    [
                        Issue(
                            "assignee must be an active reviewer whose jurisdiction covers this "
                            "woman (GET /api/v1/cases/{id}/assignees lists them)",
                            "assignee",
                            "value",
                        )
                    ]
                )
        case = self._checked(session, principal, pregnancy_id, body.version)
        case.assignee = body.assignee or None
        self._event(session, principal, pregnancy_id, "assign", body.assignee or "-")
        return self._case_read(case)

    def record_outcome(
        self, session: Session, principal: Principal, pregnancy_id: str, body: OutcomeCreate
    ) -> CaseRead:
        """A reviewer records the pregnancy's outcome (outcome_unknown): coded, with its source;
        it takes her off outcome_unknown at once (docs/reviewers-guide.md)."""
        spec = worklists.OUTCOME_KINDS.get(body.kind)
        if spec is None:
            raise InvalidResource(
                [
                    Issue(
                        f"kind must be one of {', '.join(worklists.OUTCOME_KINDS)}",
                        "kind",
                        "value",
                    )
                ]
            )
        _zh, en, needs_date, needs_place = spec
        problems = []
        if needs_date and body.date is None:
            problems.append(Issue(f"{en} needs the date", "date", "required"))
        if body.date is not None and body.date > self.today():
            problems.append(Issue("The outcome's date cannot be in the future", "date", "value"))
        if needs_place and not (body.place or "").strip():
            problems.append(Issue(f"{en} needs the place", "place", "required"))
        if body.source is not None and body.source not in worklists.OUTCOME_SOURCES:
            problems.append(
                Issue(
                    f"source must be one of {', '.join(worklists.OUTCOME_SOURCES)}",
                    "source",
                    "value",
                )
            )
        if problems:
            raise InvalidResource(problems)
        case = self._checked(session, principal, pregnancy_id, body.version)
        case.outcome_kind, case.outcome_date = body.kind, body.date
        case.outcome_recorded_on = self.action_day(session)
        case.outcome_source, case.outcome_by = body.source, principal.username
        case.outcome_place_sealed = (
            self.crypto.seal(body.place[:200].encode(), case_outcome_place_aad(pregnancy_id))
            if body.place
            else None
        )
        case.outcome_note_sealed = (
            self.crypto.seal(body.note.encode(), case_outcome_note_aad(pregnancy_id))
            if body.note
            else None
        )
        closes = worklists.OUTCOME_CLOSES[body.kind]
        if closes is not None and case.status == "open":
            case.status, case.closed_on = "closed", body.date or self.action_day(session)
            case.closed_by_reviewer, case.close_code = True, closes
            case.close_reason_sealed = self._seal_close_reason(pregnancy_id, en)
        self._event(session, principal, pregnancy_id, "outcome", body.kind)
        repository.flush(session)
        self.refresh(session, [case.woman_key])
        return self._case_read(case)

    def codes(self, principal: Principal) -> CaseCodes:
        """The coded actions with their labels (reference data, nothing personal)."""
        principal.require(Permission.WORK_CASES)

        def coded(table: dict[str, Any]) -> list[Code]:
            return [Code(code=k, label_zh=v[0], label_en=v[1]) for k, v in table.items()]

        return CaseCodes(
            follow_up_kinds=coded(worklists.FOLLOW_UP_KINDS),
            follow_up_outcomes=coded(worklists.FOLLOW_UP_OUTCOMES),
            outcome_kinds=coded(worklists.OUTCOME_KINDS),
            outcome_sources=coded(worklists.OUTCOME_SOURCES),
            close_reasons=coded({k: worklists.CLOSE_REASONS[k] for k in REVIEWER_CLOSE_CODES}),
            lists=[
                Code(code=k, label_zh=LIST_LABELS_ZH.get(k, k), label_en=k.replace("_", " "))
                for k in worklists.LISTS
            ],
        )

    def close(
        self, session: Session, principal: Principal, pregnancy_id: str, body: ReasonedChange
    ) -> CaseRead:
        if not body.reason.strip():
            raise InvalidResource([Issue("Closing a case needs a reason", "reason", "required")])
        code = body.code or "other"
        if code not in REVIEWER_CLOSE_CODES:
            raise InvalidResource(
                [Issue(f"code must be one of {', '.join(REVIEWER_CLOSE_CODES)}", "code", "value")]
            )
        case = self._checked(session, principal, pregnancy_id, body.version)
        if case.status == "closed":
            raise Conflict("The case is already closed")
        case.status, case.closed_on = "closed", self.action_day(session)
        case.close_reason_sealed = self._seal_close_reason(pregnancy_id, body.reason)
        case.closed_by_reviewer = True
        case.close_code = code
        self._event(session, principal, pregnancy_id, "close", body.reason)
        repository.flush(session)
        self.refresh(session, [case.woman_key])
        return self._case_read(case)

    def reopen(
        self, session: Session, principal: Principal, pregnancy_id: str, body: ReasonedChange
    ) -> CaseRead:
        if not body.reason.strip():
            raise InvalidResource([Issue("Reopening a case needs a reason", "reason", "required")])
        case = self._checked(session, principal, pregnancy_id, body.version)
        if case.status == "open":
            raise Conflict("The case is already open")
        case.status, case.closed_on, case.close_reason_sealed = "open", None, None
        case.closed_by_reviewer = False
        case.close_code = None
        self._event(session, principal, pregnancy_id, "reopen", body.reason)
        repository.flush(session)
        self.refresh(session, [case.woman_key])
        return self._case_read(case)

    def close_reasons(self, session: Session, principal: Principal) -> list[CloseReasonCount]:
        """Closed cases in the principal's jurisdiction, counted per close reason (every code,
        0 included; cases closed without a code are counted as "other")."""
        principal.require(Permission.WORK_CASES)
        counts = repository.close_code_counts(session, principal)
        record(
            session,
            actor_of(principal),
            [AuditRecord("cases.close_reasons", "success", "CaseRecord", None, 200)],
        )
        return [
            CloseReasonCount(code=code, label_zh=zh, label_en=en, cases=counts.get(code, 0))
            for code, (zh, en) in worklists.CLOSE_REASONS.items()
        ]

    def acknowledge_late(
        self, session: Session, principal: Principal, pregnancy_id: str, body: CaseVersion
    ) -> CaseRead:
        case = self._checked(session, principal, pregnancy_id, body.version)
        for f in self.load(session, [case.woman_key]):
            if f.pregnancy_id == pregnancy_id:
                for _day, _colour, _purple, _received, pk in f.risks:
                    self._event(session, principal, pregnancy_id, "acknowledge_late", str(pk))
        repository.flush(session)
        self.refresh(session, [case.woman_key])
        return self._case_read(case)


def _work_item_row(
    facts: worklists.PregnancyFacts,
    item: worklists.Item,
    as_of: date,
    colour: str | None,
    purple: bool,
    sheet: dict[str, Any],
) -> dict[str, Any]:
    # the item's due day: her next contact when she has one due, else the day she came on it
    due = sheet["next_due"] or item.since
    return {
        "list_name": item.list_name,
        "pregnancy_id": facts.pregnancy_id,
        "woman_key": facts.woman_key,
        "as_of": as_of,
        "since": item.since,
        "overdue": item.overdue,
        "colour": colour,
        "purple": purple,
        "institutions": facts.institutions,
        "reason": item.reason,
        "clears": item.clears,
        "reason_zh": item.reason_zh,
        "clears_zh": item.clears_zh,
        **sheet,
        "next_due": due,
        "days_overdue": max((as_of - due).days, 0),
    }


def _gestational_age(item: WorkItem) -> tuple[str | None, int | None]:
    """(GA as weeks+days at the item's as_of while pregnant, days postpartum after a delivery)."""
    if item.delivered_on is not None:
        return None, (item.as_of - item.delivered_on).days
    if item.lmp is None:
        return None, None
    days = (item.as_of - item.lmp).days
    return (f"{days // 7}+{days % 7}" if 0 <= days <= 315 else None), None


def _listed(
    item: WorkItem,
    assignee: str | None,
    status: str | None,
    identity: dict[str, str | None],
    names: ReferenceNames,
) -> WorkListItem:
    # name and resident_id only when she has a stored patient record (absent otherwise);
    # full_name and phone besides for staff allowed to read personal data
    ga, postpartum = _gestational_age(item)
    institutions = item.institutions.split()
    return WorkListItem.model_validate(
        {
            "list": item.list_name,
            "pregnancy_id": item.pregnancy_id,
            "since": item.since,
            "overdue": item.overdue,
            "colour": item.colour,
            "purple": item.purple,
            "street": item.street,
            "institutions": institutions,
            "reason": item.reason,
            "clears": item.clears,
            "as_of": item.as_of,
            "assignee": assignee,
            "case_status": status,
            "list_label_zh": LIST_LABELS_ZH.get(item.list_name, item.list_name),
            "reason_zh": item.reason_zh,
            "clears_zh": item.clears_zh,
            "street_name": names.street_name(item.street) or item.street,
            "street_missing": item.street_missing,
            "centre": names.centre_of(item.street),
            "centre_name": names.centre_name_of(item.street),
            "institution_names": [names.institution_name(i) or i for i in institutions],
            "last_contact": item.last_contact,
            "next_due": item.next_due,
            "days_overdue": item.days_overdue,
            "gestational_age": ga,
            "edd": item.edd,
            "days_postpartum": postpartum,
            "risk_factors": item.risk_factors,
            **identity,
        }
    )
