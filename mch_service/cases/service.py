"""The case register and work lists: kept current by new data (in the ingest transaction, for
the women it touched) and by the daily job (for the day's date), and worked by reviewers.

The rules of each list are in ``worklists.py``; the queries on the register's own tables in
``repository.py``; the reads of the pregnancy facts in ``case_reads.py``."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy.orm import Session

from mch_service.audit.service import AuditRecord, record
from mch_service.auth.permissions import Permission, Principal
from mch_service.auth.service import actor_of
from mch_service.cases import repository, worklists
from mch_service.cases.models import CaseEvent, CaseRecord, FollowUp, WorkItem
from mch_service.cases.schemas import (
    AssignmentUpdate,
    CaseDetail,
    CaseEventRead,
    CaseList,
    CaseRead,
    CaseVersion,
    CaseWorkItem,
    CloseReasonCount,
    FollowUpCreate,
    FollowUpRead,
    ReasonedChange,
    WorkListItem,
)
from mch_service.cases.sealing import close_reason_aad, event_reason_aad, notes_aad, outcome_aad
from mch_service.config import Settings
from mch_service.crypto import Crypto
from mch_service.domain import case_reads
from mch_service.domain.pregnancy_record import masked_identity, read_pregnancy
from mch_service.errors import Conflict, InvalidResource, Issue, NotFound, PreconditionFailed
from mch_service.store import service as store_service
from mch_service.streets import street_problem
from mch_service.timeutil import to_utc, utcnow

KINDS = ("phone", "home_visit", "clinic_visit", "referral")
POSTPARTUM_COMPLETE = "postpartum period complete"
# Events whose detail is a reviewer's free-text reason (sealed in reason_sealed).
REASON_EVENTS = ("close", "reopen")
# What a reviewer may close a case as (postpartum_complete is the register's own closing).
REVIEWER_CLOSE_CODES = tuple(c for c in worklists.CLOSE_REASONS if c != "postpartum_complete")
SORTS = tuple(repository.SORTS)


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
    )


@dataclass
class CaseQuery:
    list_name: str | None = None
    colour: str | None = None
    street: str | None = None
    institution: str | None = None
    assignee: str | None = None
    overdue: bool | None = None
    sort: str = "since"
    descending: bool = False
    page: int = 1
    page_size: int = 50


class CaseService:
    def __init__(self, settings: Settings, crypto: Crypto) -> None:
        self.policy = policy_of(settings)
        self.zone = ZoneInfo(settings.timezone)
        self.crypto = crypto
        self.streets = frozenset(settings.streets)

    def today(self) -> date:
        return utcnow().astimezone(self.zone).date()

    # -- loading the facts ----------------------------------------------------------------

    def load(
        self, session: Session, women: Iterable[str] | None = None
    ) -> list[worklists.PregnancyFacts]:
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
        for pid, day in case_reads.visit_dates(session, ids):
            facts[pid].visits.append(day)
        for pid, day in case_reads.postpartum_visit_dates(session, ids):
            facts[pid].postpartum_visits.append(day)
        risks = list(case_reads.risk_assessments(session, ids))
        first_received = store_service.first_received(session, [r[4] for r in risks])
        for pid, day, colour, purple, pk in risks:
            received = first_received.get(pk)
            received_here = received.astimezone(self.zone) if received else None
            facts[pid].risks.append((day, colour, bool(purple), received_here, pk))
        for pid, concept, day, result, method in case_reads.lab_results(session, ids):
            facts[pid].labs.append((concept, day, result, method))
        for pid, concept, day in case_reads.treatments(session, ids):
            facts[pid].treatments.append((concept, day))
        for pid, day in repository.follow_up_dates(session, ids):
            facts[pid].follow_ups.append(day)
        for pid, detail in repository.late_acknowledgements(session, ids):
            if detail and detail.isdigit():
                facts[pid].acknowledged.add(int(detail))
        for pid, code, closed_on in repository.reviewer_closings(session, ids):
            facts[pid].close_code, facts[pid].closed_on = code, closed_on
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
        for f in self.load(session, sorted({c.woman_key for c in cases})):
            if f.pregnancy_id not in with_case:
                continue
            if f.follow_ups:
                follow_ups[f.pregnancy_id] = tuple(sorted(f.follow_ups))
            if worklists.case_opened_in_time(f, self.policy):
                in_time.add(f.pregnancy_id)
            if worklists.case_followed_at_interval(f, self.policy, closed.get(f.pregnancy_id)):
                followed.add(f.pregnancy_id)
        return follow_ups, in_time, followed

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
        as_of = as_of or self.today()
        keys = None if women is None else sorted(set(women))
        pregnancies = self.load(session, keys)
        repository.delete_work_items(session, keys)
        existing = repository.cases_by_pregnancy(session, [p.pregnancy_id for p in pregnancies])
        rows = []
        for facts in pregnancies:
            colour, purple = worklists.current_colour(facts, as_of)
            for item in worklists.items(facts, as_of, self.policy):
                rows.append(_work_item_row(facts, item, as_of, colour, purple))
            self._register(session, facts, existing.get(facts.pregnancy_id), colour, purple, as_of)
        repository.insert_work_items(session, rows)
        return len(rows)

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
        if opened is None:
            return
        complete = f.end_date is not None and as_of > f.end_date + timedelta(
            days=self.policy.postpartum_end_days
        )
        if case is None:
            repository.add(
                session,
                CaseRecord(
                    pregnancy_id=f.pregnancy_id,
                    woman_key=f.woman_key,
                    opened_on=opened,
                    status="closed" if complete else "open",
                    colour=colour,
                    purple=purple,
                    street=f.street,
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
        case.colour, case.purple, case.street, case.institutions = (
            colour,
            purple,
            f.street,
            f.institutions,
        )
        # an earlier case-managed assessment that arrived late opens the case on its day (a
        # register rebuilt from the same records gives the same day)
        if opened < case.opened_on:
            case.opened_on = opened
        if complete and case.status == "open" and not case.closed_by_reviewer and f.end_date:
            case.status = "closed"
            case.closed_on = f.end_date + timedelta(days=self.policy.postpartum_end_days)
            case.close_reason_sealed = self._seal_close_reason(
                case.pregnancy_id, POSTPARTUM_COMPLETE
            )
            case.close_code = "postpartum_complete"

    # -- reading ---------------------------------------------------------------------------

    def list_items(self, session: Session, principal: Principal, q: CaseQuery) -> CaseList:
        principal.require(Permission.WORK_CASES)
        if q.list_name and q.list_name not in worklists.LISTS:
            raise InvalidResource(
                [Issue(f"list must be one of {', '.join(worklists.LISTS)}", "list", "value")]
            )
        if q.sort not in SORTS:
            raise InvalidResource(
                [Issue(f"sort must be one of {', '.join(SORTS)}", "sort", "value")]
            )
        if q.street:
            problem = street_problem(q.street, self.streets)
            if problem:
                raise InvalidResource([Issue(problem, "street", "value")], problem)
        conditions = repository.work_item_filters(
            principal, q.list_name, q.colour, q.street, q.institution, q.overdue
        )
        total, rows = repository.work_item_page(
            session, conditions, q.assignee, q.sort, q.descending, q.page, q.page_size
        )
        names = masked_identity(session, self.crypto, {r[0].woman_key for r in rows})
        items = [
            _listed(item, assignee, status, names.get(item.woman_key, {}))
            for item, assignee, status in rows
        ]
        record(
            session,
            actor_of(principal),
            [AuditRecord("cases.list", "success", "WorkItem", q.list_name, 200, f"{len(items)}")],
        )
        return CaseList(total=total, page=q.page, page_size=q.page_size, items=items)

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

    def _case(self, session: Session, principal: Principal, pregnancy_id: str) -> CaseRecord:
        principal.require(Permission.WORK_CASES)
        case = repository.get_case(session, pregnancy_id)
        if case is None or not case_reads.pregnancy_in_jurisdiction(
            session, principal, pregnancy_id
        ):
            raise NotFound(f"No case {pregnancy_id}")
        return case

    def detail(self, session: Session, principal: Principal, pregnancy_id: str) -> CaseDetail:
        case = self._case(session, principal, pregnancy_id)
        pregnancy = read_pregnancy(session, self.crypto, principal, pregnancy_id)
        return CaseDetail(
            case=self._case_read(case),
            work_items=[
                CaseWorkItem.model_validate(
                    {
                        "list": w.list_name,
                        "since": w.since,
                        "overdue": w.overdue,
                        "reason": w.reason,
                        "clears": w.clears,
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

    def _follow_up_read(self, f: FollowUp) -> FollowUpRead:
        return FollowUpRead(
            id=f.id,
            contact_date=f.contact_date,
            kind=f.kind,
            outcome=self.crypto.open_sealed(f.outcome_sealed, outcome_aad(f.pregnancy_id)).decode(),
            next_due=f.next_due,
            recorded_by=f.recorded_by,
            notes=self.crypto.open_sealed(f.notes_sealed, notes_aad(f.pregnancy_id)).decode()
            if f.notes_sealed
            else None,
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
        )

    # -- reviewers' actions ------------------------------------------------------------

    def _checked(
        self, session: Session, principal: Principal, pregnancy_id: str, version: int | None
    ) -> CaseRecord:
        case = self._case(session, principal, pregnancy_id)
        if version is None:
            raise InvalidResource(
                [Issue("Send the case version you read (field 'version')", "version", "required")]
            )
        if not repository.bump_version(session, pregnancy_id, version):
            repository.reload(session, case)
            raise PreconditionFailed(
                f"The case changed since you read it (version {version}, now {case.version}); "
                "reload it and apply your change again"
            )
        repository.reload(session, case)
        return case

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
        if body.kind not in KINDS:
            raise InvalidResource(
                [Issue(f"kind must be one of {', '.join(KINDS)}", "kind", "value")]
            )
        if body.contact_date > self.today():
            raise InvalidResource(
                [Issue("A contact cannot be in the future", "contact_date", "value")]
            )
        case = self._checked(session, principal, pregnancy_id, body.version)
        repository.add(
            session,
            FollowUp(
                pregnancy_id=pregnancy_id,
                contact_date=body.contact_date,
                kind=body.kind,
                outcome_sealed=self.crypto.seal(
                    body.outcome[:200].encode(), outcome_aad(pregnancy_id)
                ),
                next_due=body.next_due,
                recorded_by=principal.username,
                recorded_at=utcnow(),
                notes_sealed=self.crypto.seal(body.notes.encode(), notes_aad(pregnancy_id))
                if body.notes
                else None,
            ),
        )
        case.next_due = body.next_due
        self._event(session, principal, pregnancy_id, "follow_up", body.kind)
        repository.flush(session)
        self.refresh(session, [case.woman_key])
        return self._case_read(case)

    def assign(
        self, session: Session, principal: Principal, pregnancy_id: str, body: AssignmentUpdate
    ) -> CaseRead:
        case = self._checked(session, principal, pregnancy_id, body.version)
        case.assignee = body.assignee or None
        self._event(session, principal, pregnancy_id, "assign", body.assignee or "-")
        return self._case_read(case)

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
        case.status, case.closed_on = "closed", self.today()
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
) -> dict[str, Any]:
    return {
        "list_name": item.list_name,
        "pregnancy_id": facts.pregnancy_id,
        "woman_key": facts.woman_key,
        "as_of": as_of,
        "since": item.since,
        "overdue": item.overdue,
        "colour": colour,
        "purple": purple,
        "street": facts.street,
        "institutions": facts.institutions,
        "reason": item.reason,
        "clears": item.clears,
    }


def _listed(
    item: WorkItem, assignee: str | None, status: str | None, identity: dict[str, str | None]
) -> WorkListItem:
    # name and resident_id only when she has a stored patient record (absent otherwise)
    return WorkListItem.model_validate(
        {
            "list": item.list_name,
            "pregnancy_id": item.pregnancy_id,
            "since": item.since,
            "overdue": item.overdue,
            "colour": item.colour,
            "purple": item.purple,
            "street": item.street,
            "institutions": item.institutions.split(),
            "reason": item.reason,
            "clears": item.clears,
            "as_of": item.as_of,
            "assignee": assignee,
            "case_status": status,
            **identity,
        }
    )
