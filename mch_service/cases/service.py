"""The case register and work lists: kept current by new data (in the ingest transaction, for
the women it touched) and by the daily job (for the day's date), and worked by reviewers."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import and_, delete, func, or_, select, update
from sqlalchemy.orm import Session

from mch_service import sqlbulk
from mch_service.audit.service import AuditRecord, record
from mch_service.auth.permissions import Permission, Principal
from mch_service.auth.service import actor_of
from mch_service.cases import worklists as wl
from mch_service.cases.models import CaseEvent, CaseRecord, FollowUp, WorkItem
from mch_service.cases.sealing import close_reason_aad, event_reason_aad, notes_aad, outcome_aad
from mch_service.config import Settings
from mch_service.crypto import Crypto
from mch_service.database import table_of
from mch_service.domain import models as m
from mch_service.domain.pregnancy_record import in_jurisdiction, masked_identity
from mch_service.domain.streets import street_problem
from mch_service.errors import Conflict, InvalidResource, Issue, NotFound, PreconditionFailed
from mch_service.store.models import FhirResourceVersion
from mch_service.timeutil import to_utc, utcnow

KINDS = ("phone", "home_visit", "clinic_visit", "referral")
POSTPARTUM_COMPLETE = "postpartum period complete"
# Events whose detail is a reviewer's free-text reason (sealed in reason_sealed).
REASON_EVENTS = ("close", "reopen")
SORTS = {"since": WorkItem.since, "colour": WorkItem.colour, "street": WorkItem.street}


def policy_of(settings: Settings) -> wl.Policy:
    return wl.Policy(
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

    def load(self, session: Session, women: Iterable[str] | None = None) -> list[wl.PregnancyFacts]:
        P = m.Pregnancy
        stmt = select(
            P.id,
            P.woman_key,
            P.lmp,
            P.edd,
            P.end_date,
            P.street,
            P.institutions,
            P.first_contact_date,
            m.Delivery.discharge_date,
        ).outerjoin(m.Delivery, m.Delivery.pregnancy_id == P.id)
        keys = list(women) if women is not None else None
        if keys is not None:
            if not keys:
                return []
            stmt = stmt.where(P.woman_key.in_(keys))
        facts = {
            r[0]: wl.PregnancyFacts(r[0], r[1], r[2], r[3], r[4], r[5], r[6] or "", r[7], r[8])
            for r in session.execute(stmt)
        }
        if not facts:
            return []
        ids = list(facts)

        def rows(query: Any) -> Iterable[Any]:
            for start in range(0, len(ids), 1000):
                yield from session.execute(query(ids[start : start + 1000]))

        for pid, day in rows(
            lambda c: select(m.PrenatalVisit.pregnancy_id, m.PrenatalVisit.visit_date).where(
                m.PrenatalVisit.pregnancy_id.in_(c)
            )
        ):
            facts[pid].visits.append(day)
        for pid, day in rows(
            lambda c: select(m.PostpartumVisit.pregnancy_id, m.PostpartumVisit.visit_date).where(
                m.PostpartumVisit.pregnancy_id.in_(c)
            )
        ):
            facts[pid].postpartum_visits.append(day)
        ra = m.RiskAssessmentFact
        for pid, day, colour, purple, received, pk in rows(
            lambda c: (
                select(
                    ra.pregnancy_id,
                    ra.assessed_date,
                    ra.colour,
                    ra.purple,
                    FhirResourceVersion.recorded_at,
                    ra.resource_pk,
                )
                .outerjoin(
                    FhirResourceVersion,
                    and_(
                        FhirResourceVersion.resource_pk == ra.resource_pk,
                        FhirResourceVersion.version_id == 1,
                    ),
                )
                .where(ra.pregnancy_id.in_(c))
            )
        ):
            facts[pid].risks.append(
                (
                    day,
                    colour,
                    bool(purple),
                    to_utc(received).astimezone(self.zone) if received else None,
                    pk,
                )
            )
        for pid, concept, day, result in rows(
            lambda c: select(
                m.LabResult.pregnancy_id,
                m.LabResult.concept,
                m.LabResult.test_date,
                m.LabResult.result,
            ).where(m.LabResult.pregnancy_id.in_(c))
        ):
            facts[pid].labs.append((concept, day, result))
        for pid, concept, day in rows(
            lambda c: select(
                m.Treatment.pregnancy_id, m.Treatment.concept, m.Treatment.treated_date
            ).where(m.Treatment.pregnancy_id.in_(c))
        ):
            facts[pid].treatments.append((concept, day))
        for pid, day in rows(
            lambda c: select(FollowUp.pregnancy_id, FollowUp.contact_date).where(
                FollowUp.pregnancy_id.in_(c)
            )
        ):
            facts[pid].follow_ups.append(day)
        for pid, detail in rows(
            lambda c: select(CaseEvent.pregnancy_id, CaseEvent.detail).where(
                CaseEvent.pregnancy_id.in_(c), CaseEvent.action == "acknowledge_late"
            )
        ):
            if detail and detail.isdigit():
                facts[pid].acknowledged.add(int(detail))
        return list(facts.values())

    # -- keeping the register and lists current -------------------------------------------------

    def refresh(
        self, session: Session, women: Iterable[str] | None = None, as_of: date | None = None
    ) -> int:
        """Recompute the work items (and open or close cases) of these women, or of everyone;
        returns the number of items now listed."""
        as_of = as_of or self.today()
        keys = None if women is None else sorted(set(women))
        pregs = self.load(session, keys)
        if keys is None:
            session.execute(delete(WorkItem))
        else:
            for start in range(0, len(keys), 500):
                session.execute(
                    delete(WorkItem).where(WorkItem.woman_key.in_(keys[start : start + 500]))
                )
        existing = (
            {
                c.pregnancy_id: c
                for c in session.scalars(
                    select(CaseRecord).where(
                        CaseRecord.pregnancy_id.in_([p.pregnancy_id for p in pregs])
                    )
                )
            }
            if len(pregs) < 5000
            else {c.pregnancy_id: c for c in session.scalars(select(CaseRecord))}
        )
        rows = []
        for f in pregs:
            colour, purple = wl.current_colour(f, as_of)
            for item in wl.items(f, as_of, self.policy):
                rows.append(
                    {
                        "list_name": item.list_name,
                        "pregnancy_id": f.pregnancy_id,
                        "woman_key": f.woman_key,
                        "as_of": as_of,
                        "since": item.since,
                        "overdue": item.overdue,
                        "colour": colour,
                        "purple": purple,
                        "street": f.street,
                        "institutions": f.institutions,
                        "reason": item.reason,
                        "clears": item.clears,
                    }
                )
            self._register(session, f, existing.get(f.pregnancy_id), colour, purple, as_of)
        sqlbulk.insert_rows(session, table_of(WorkItem), rows)
        return len(rows)

    def _register(
        self,
        session: Session,
        f: wl.PregnancyFacts,
        case: CaseRecord | None,
        colour: str | None,
        purple: bool,
        as_of: date,
    ) -> None:
        opened = wl.first_case_managed(f, self.policy)
        if opened is None:
            return
        complete = f.end_date is not None and as_of > f.end_date + timedelta(
            days=self.policy.postpartum_end_days
        )
        if case is None:
            session.add(
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
                )
            )
            return
        case.colour, case.purple, case.street, case.institutions = (
            colour,
            purple,
            f.street,
            f.institutions,
        )
        if complete and case.status == "open" and not case.closed_by_reviewer and f.end_date:
            case.status = "closed"
            case.closed_on = f.end_date + timedelta(days=self.policy.postpartum_end_days)
            case.close_reason_sealed = self._seal_close_reason(
                case.pregnancy_id, POSTPARTUM_COMPLETE
            )

    # -- reading ---------------------------------------------------------------------------

    def _jurisdiction(self, principal: Principal) -> Any:
        if principal.sees_everything:
            return True
        conds = []
        if principal.streets:
            conds.append(WorkItem.street.in_(sorted(principal.streets)))
        for inst in sorted(principal.institutions):
            conds.append((" " + WorkItem.institutions + " ").like(f"% {inst} %"))
        return or_(*conds) if conds else False

    def list_items(self, session: Session, principal: Principal, q: CaseQuery) -> dict[str, Any]:
        principal.require(Permission.WORK_CASES)
        if q.list_name and q.list_name not in wl.LISTS:
            raise InvalidResource(
                [Issue(f"list must be one of {', '.join(wl.LISTS)}", "list", "value")]
            )
        if q.sort not in SORTS:
            raise InvalidResource(
                [Issue(f"sort must be one of {', '.join(SORTS)}", "sort", "value")]
            )
        conds: list[Any] = [self._jurisdiction(principal)]
        if q.list_name:
            conds.append(WorkItem.list_name == q.list_name)
        if q.colour == "purple":
            conds.append(WorkItem.purple.is_(True))
        elif q.colour:
            conds.append(WorkItem.colour == q.colour)
        if q.street:
            problem = street_problem(q.street, self.streets)
            if problem:
                raise InvalidResource([Issue(problem, "street", "value")], problem)
            conds.append(WorkItem.street == q.street)
        if q.institution:
            conds.append((" " + WorkItem.institutions + " ").like(f"% {q.institution} %"))
        if q.overdue is not None:
            conds.append(WorkItem.overdue.is_(q.overdue))
        stmt = (
            select(WorkItem, CaseRecord.assignee, CaseRecord.status)
            .outerjoin(CaseRecord, CaseRecord.pregnancy_id == WorkItem.pregnancy_id)
            .where(*conds)
        )
        if q.assignee:
            stmt = stmt.where(CaseRecord.assignee == q.assignee)
        total = session.scalar(select(func.count()).select_from(stmt.subquery())) or 0
        order = SORTS[q.sort]
        stmt = (
            stmt.order_by(order.desc() if q.descending else order, WorkItem.id)
            .limit(q.page_size)
            .offset((q.page - 1) * q.page_size)
        )
        rows = session.execute(stmt).all()
        names = self._masked(session, {r[0].woman_key for r in rows})
        items = [
            {
                "list": w.list_name,
                "pregnancy_id": w.pregnancy_id,
                "since": w.since.isoformat(),
                "overdue": w.overdue,
                "colour": w.colour,
                "purple": w.purple,
                "street": w.street,
                "institutions": w.institutions.split(),
                "reason": w.reason,
                "clears": w.clears,
                "as_of": w.as_of.isoformat(),
                "assignee": assignee,
                "case_status": status,
                **names.get(w.woman_key, {}),
            }
            for w, assignee, status in rows
        ]
        record(
            session,
            actor_of(principal),
            [AuditRecord("cases.list", "success", "WorkItem", q.list_name, 200, f"{len(items)}")],
        )
        return {"total": total, "page": q.page, "page_size": q.page_size, "items": items}

    def _masked(self, session: Session, keys: set[str]) -> dict[str, dict[str, str | None]]:
        return masked_identity(session, self.crypto, keys)

    def _case(self, session: Session, principal: Principal, pregnancy_id: str) -> CaseRecord:
        principal.require(Permission.WORK_CASES)
        case = session.get(CaseRecord, pregnancy_id)
        preg = session.get(m.Pregnancy, pregnancy_id)
        if case is None or preg is None or not in_jurisdiction(principal, preg):
            raise NotFound(f"No case {pregnancy_id}")
        return case

    def detail(self, session: Session, principal: Principal, pregnancy_id: str) -> dict[str, Any]:
        from mch_service.domain.pregnancy_record import read_pregnancy

        case = self._case(session, principal, pregnancy_id)
        pregnancy = read_pregnancy(session, self.crypto, principal, pregnancy_id)
        follow_ups = [
            {
                "id": f.id,
                "contact_date": f.contact_date.isoformat(),
                "kind": f.kind,
                "outcome": self.crypto.open_sealed(
                    f.outcome_sealed, outcome_aad(f.pregnancy_id)
                ).decode(),
                "next_due": f.next_due.isoformat() if f.next_due else None,
                "recorded_by": f.recorded_by,
                "notes": self.crypto.open_sealed(f.notes_sealed, notes_aad(f.pregnancy_id)).decode()
                if f.notes_sealed
                else None,
            }
            for f in session.scalars(
                select(FollowUp)
                .where(FollowUp.pregnancy_id == pregnancy_id)
                .order_by(FollowUp.contact_date)
            )
        ]
        events = [
            {
                "action": e.action,
                "detail": self.crypto.open_sealed(
                    e.reason_sealed, event_reason_aad(e.pregnancy_id)
                ).decode()
                if e.reason_sealed
                else e.detail,
                "by": e.by,
                "at": e.at.isoformat(),
            }
            for e in session.scalars(
                select(CaseEvent)
                .where(CaseEvent.pregnancy_id == pregnancy_id)
                .order_by(CaseEvent.id)
            )
        ]
        items = [
            {
                "list": w.list_name,
                "since": w.since.isoformat(),
                "overdue": w.overdue,
                "reason": w.reason,
                "clears": w.clears,
            }
            for w in session.scalars(select(WorkItem).where(WorkItem.pregnancy_id == pregnancy_id))
        ]
        gradings = [t for t in pregnancy["timeline"] if t["kind"] == "risk_assessment"]
        return {
            "case": self._case_dict(case),
            "work_items": items,
            "follow_ups": follow_ups,
            "events": events,
            "gradings": gradings,
            "pregnancy": pregnancy,
        }

    def _seal_close_reason(self, pregnancy_id: str, reason: str) -> bytes:
        return self.crypto.seal(reason.encode(), close_reason_aad(pregnancy_id))

    def _case_dict(self, c: CaseRecord) -> dict[str, Any]:
        return {
            "pregnancy_id": c.pregnancy_id,
            "status": c.status,
            "opened_on": c.opened_on.isoformat(),
            "colour": c.colour,
            "purple": c.purple,
            "street": c.street,
            "assignee": c.assignee,
            "closed_on": c.closed_on.isoformat() if c.closed_on else None,
            "close_reason": self.crypto.open_sealed(
                c.close_reason_sealed, close_reason_aad(c.pregnancy_id)
            ).decode()
            if c.close_reason_sealed
            else None,
            "next_due": c.next_due.isoformat() if c.next_due else None,
            "version": c.version,
        }

    # -- reviewers' actions ------------------------------------------------------------

    def _checked(
        self, session: Session, principal: Principal, pregnancy_id: str, version: int | None
    ) -> CaseRecord:
        case = self._case(session, principal, pregnancy_id)
        if version is None:
            raise InvalidResource(
                [Issue("Send the case version you read (field 'version')", "version", "required")]
            )
        # Compare-and-set in the database: two reviewers saving at once cannot both win.
        bumped = session.execute(
            update(CaseRecord)
            .where(CaseRecord.pregnancy_id == pregnancy_id, CaseRecord.version == version)
            .values(version=CaseRecord.version + 1)
        )
        if bumped.rowcount != 1:  # type: ignore[attr-defined]
            session.refresh(case)
            raise PreconditionFailed(
                f"The case changed since you read it (version {version}, now {case.version}); "
                "reload it and apply your change again"
            )
        session.refresh(case)
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
        session.add(
            CaseEvent(
                pregnancy_id=pregnancy_id,
                action=action,
                detail=None if sealed else detail,
                reason_sealed=self.crypto.seal(detail.encode(), event_reason_aad(pregnancy_id))
                if sealed and detail is not None
                else None,
                by=principal.username,
                at=utcnow(),
            )
        )
        record(
            session,
            actor_of(principal),
            [AuditRecord(f"case.{action}", "success", "CaseRecord", pregnancy_id)],
        )

    def add_follow_up(
        self,
        session: Session,
        principal: Principal,
        pregnancy_id: str,
        version: int | None,
        contact_date: date,
        kind: str,
        outcome: str,
        notes: str | None,
        next_due: date | None,
    ) -> dict[str, Any]:
        if kind not in KINDS:
            raise InvalidResource(
                [Issue(f"kind must be one of {', '.join(KINDS)}", "kind", "value")]
            )
        if contact_date > self.today():
            raise InvalidResource(
                [Issue("A contact cannot be in the future", "contact_date", "value")]
            )
        case = self._checked(session, principal, pregnancy_id, version)
        session.add(
            FollowUp(
                pregnancy_id=pregnancy_id,
                contact_date=contact_date,
                kind=kind,
                outcome_sealed=self.crypto.seal(outcome[:200].encode(), outcome_aad(pregnancy_id)),
                next_due=next_due,
                recorded_by=principal.username,
                recorded_at=utcnow(),
                notes_sealed=self.crypto.seal(notes.encode(), notes_aad(pregnancy_id))
                if notes
                else None,
            )
        )
        case.next_due = next_due
        self._event(session, principal, pregnancy_id, "follow_up", kind)
        session.flush()
        self.refresh(session, [case.woman_key])
        return self._case_dict(case)

    def assign(
        self,
        session: Session,
        principal: Principal,
        pregnancy_id: str,
        version: int | None,
        assignee: str | None,
    ) -> dict[str, Any]:
        case = self._checked(session, principal, pregnancy_id, version)
        case.assignee = assignee or None
        self._event(session, principal, pregnancy_id, "assign", assignee or "-")
        return self._case_dict(case)

    def close(
        self,
        session: Session,
        principal: Principal,
        pregnancy_id: str,
        version: int | None,
        reason: str,
    ) -> dict[str, Any]:
        if not reason.strip():
            raise InvalidResource([Issue("Closing a case needs a reason", "reason", "required")])
        case = self._checked(session, principal, pregnancy_id, version)
        if case.status == "closed":
            raise Conflict("The case is already closed")
        case.status, case.closed_on = "closed", self.today()
        case.close_reason_sealed = self._seal_close_reason(pregnancy_id, reason)
        case.closed_by_reviewer = True
        self._event(session, principal, pregnancy_id, "close", reason)
        return self._case_dict(case)

    def reopen(
        self,
        session: Session,
        principal: Principal,
        pregnancy_id: str,
        version: int | None,
        reason: str,
    ) -> dict[str, Any]:
        if not reason.strip():
            raise InvalidResource([Issue("Reopening a case needs a reason", "reason", "required")])
        case = self._checked(session, principal, pregnancy_id, version)
        if case.status == "open":
            raise Conflict("The case is already open")
        case.status, case.closed_on, case.close_reason_sealed = "open", None, None
        case.closed_by_reviewer = False
        self._event(session, principal, pregnancy_id, "reopen", reason)
        return self._case_dict(case)

    def acknowledge_late(
        self, session: Session, principal: Principal, pregnancy_id: str, version: int | None
    ) -> dict[str, Any]:
        case = self._checked(session, principal, pregnancy_id, version)
        for f in self.load(session, [case.woman_key]):
            if f.pregnancy_id == pregnancy_id:
                for _day, _sev, _p, _received, pk in f.risks:
                    self._event(session, principal, pregnancy_id, "acknowledge_late", str(pk))
        session.flush()
        self.refresh(session, [case.woman_key])
        return self._case_dict(case)
