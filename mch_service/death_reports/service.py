"""The maternal death report card and review (docs/indicator-rules.md, "Maternal death").

The monitoring group (role monitor; admin too) lists every maternal death — fed (from the
domain's ``death`` rows, in pregnancy or within 42 days) and entered from report cards — reads
one (audited; identifiers masked unless the reader may see personal data), enters a death no
feed reports, and confirms or excludes (with a reason) any death. The indicator engine reads
the same rows (``indicators/loaders.py``); it recomputes on its next run.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy.orm import Session

from fhir_mappings import CodeTables
from mch_service.audit.service import AuditRecord, record
from mch_service.auth.permissions import Permission, Principal
from mch_service.auth.service import actor_of
from mch_service.crypto import Crypto
from mch_service.death_reports import repository
from mch_service.death_reports.models import (
    CONFIRMED,
    ENTERED,
    EXCLUDED,
    FEED,
    PENDING,
    MaternalDeathReport,
)
from mch_service.death_reports.schemas import (
    DeathCardCreate,
    DeathReview,
    MaternalDeathList,
    MaternalDeathRead,
)
from mch_service.domain.identity import resident_id_valid, woman_key
from mch_service.domain.models import Death, Pregnancy
from mch_service.domain.pregnancy_outcomes import ACCIDENTAL, cause_class_of
from mch_service.domain.pregnancy_record import mask, masked_identity
from mch_service.errors import InvalidResource, Issue, NotFound
from mch_service.streets import street_problem
from mch_service.timeutil import to_utc, utcnow

ICD10 = "http://hl7.org/fhir/sid/icd-10"
POSTPARTUM_DAYS = 42
MAX_PAGE_SIZE = 200
# the domain's end of a pregnancy -> the card's outcome
_OUTCOMES = {"delivery": "delivered", "loss": "loss", "death": "died_undelivered"}


def derived_classification(cause_class: str | None, cause_code: str | None) -> str:
    """ICD-MM (WHO 2012) group of a cause: accidental causes are accidental/incidental; a
    suicide and an uncoded death wait for review; O98-O99 are indirect; other O codes and
    complications of care (Y40-Y84) are direct."""
    if cause_class == ACCIDENTAL:
        return "accidental_incidental"
    if cause_class == "care_complication":
        return "direct"
    if cause_class == "obstetric":
        code = (cause_code or "").upper()
        return "indirect" if code.startswith(("O98", "O99")) else "direct"
    return "pending"


@dataclass(frozen=True)
class DeathQuery:
    status: str | None = None  # pending | confirmed | excluded
    source: str | None = None  # feed | entered
    page: int = 1
    page_size: int = 50


def _aad(report_id: int, field: str) -> bytes:
    return f"maternal_death_report/{report_id}/{field}".encode()


class DeathReportService:
    def __init__(
        self, crypto: Crypto, codes: Callable[[], CodeTables], streets: frozenset[str]
    ) -> None:
        self.crypto = crypto
        # the site's current code tables (the domain's, reloaded when the site's files change)
        self.codes = codes
        self.streets = streets

    # -- reading -----------------------------------------------------------------------------

    def list_deaths(
        self, session: Session, principal: Principal, query: DeathQuery
    ) -> MaternalDeathList:
        principal.require(Permission.REVIEW_MATERNAL_DEATHS)
        items = self._all(session)
        if query.status:
            items = [i for i in items if i.review_status == query.status]
        if query.source:
            items = [i for i in items if i.source == query.source]
        items.sort(key=lambda i: (i.death_date or date.min, i.id), reverse=True)
        start = (query.page - 1) * query.page_size
        record(
            session,
            actor_of(principal),
            [AuditRecord("maternal_deaths.list", "success", "MaternalDeath", None, 200)],
        )
        return MaternalDeathList(
            total=len(items),
            page=query.page,
            page_size=query.page_size,
            items=items[start : start + query.page_size],
        )

    def read(self, session: Session, principal: Principal, death_id: str) -> MaternalDeathRead:
        principal.require(Permission.REVIEW_MATERNAL_DEATHS)
        clear = principal.can(Permission.READ_PERSONAL_DATA)
        item = self._one(session, death_id, clear=clear)
        record(
            session,
            actor_of(principal),
            [AuditRecord("maternal_deaths.read", "success", "MaternalDeath", death_id, 200)],
        )
        return item

    def _all(self, session: Session) -> list[MaternalDeathRead]:
        fed = repository.fed_deaths(session)
        keys = [d.woman_key for d, _, _ in fed]
        reviews = repository.reviews_of_fed(session, keys)
        identity = masked_identity(session, self.crypto, set(keys))
        items = [
            self._fed_item(d, street, p, reviews.get(d.woman_key), identity.get(d.woman_key, {}))
            for d, street, p in fed
        ]
        cards = repository.entered(session)
        fed_women = set(keys)
        items += [self._card_item(c, fed_women, clear=False) for c in cards]
        return items

    def _one(self, session: Session, death_id: str, clear: bool) -> MaternalDeathRead:
        kind, _, key = death_id.partition("-")
        if kind == "feed" and key:
            found = repository.fed_death(session, key)
            if found is None:
                raise NotFound(f"No maternal death {death_id}")
            death, street, pregnancy = found
            review = repository.reviews_of_fed(session, [death.woman_key]).get(death.woman_key)
            identity = masked_identity(session, self.crypto, {death.woman_key})
            item = self._fed_item(
                death, street, pregnancy, review, identity.get(death.woman_key, {})
            )
            return item.model_copy(update={"review_reason": self._reason(review)})
        if kind == "card" and key.isdigit():
            card = repository.entered_one(session, int(key))
            if card is not None:
                fed = repository.fed_women(session, [card.woman_key] if card.woman_key else [])
                item = self._card_item(card, fed, clear=clear)
                return item.model_copy(update={"review_reason": self._reason(card)})
        raise NotFound(f"No maternal death {death_id}")

    def _fed_item(
        self,
        d: Death,
        street: str | None,
        p: Pregnancy | None,
        review: MaternalDeathReport | None,
        identity: dict[str, str | None],
    ) -> MaternalDeathRead:
        status = review.review_status if review else PENDING
        return MaternalDeathRead(
            id=f"feed-{d.pregnancy_id}",
            source="feed",
            pregnancy_id=d.pregnancy_id,
            name=identity.get("name"),
            resident_id=identity.get("resident_id"),
            death_date=d.death_date,
            pregnancy_end_date=p.end_date if p else None,
            outcome=_OUTCOMES.get(p.end_kind or "") if p else None,
            ga_days=(p.end_date - p.lmp).days if p and p.end_date and p.lmp else None,
            street=street,
            institution_id=d.institution_id,
            cause_code=d.cause_code,
            cause_class=d.cause_class,
            classification=(
                review.classification
                if review
                else derived_classification(d.cause_class, d.cause_code)
            ),
            counted=bool(d.maternal) and status != EXCLUDED,
            review_status=status,  # type: ignore[arg-type]
            reviewed_by=review.reviewed_by if review else None,
            reviewed_at=to_utc(review.reviewed_at) if review and review.reviewed_at else None,
        )

    def _card_item(
        self, c: MaternalDeathReport, fed_women: set[str], clear: bool
    ) -> MaternalDeathRead:
        name = self._open(c.name_sealed, c.id, "name")
        resident = self._open(c.resident_id_sealed, c.id, "resident_id")
        return MaternalDeathRead(
            id=f"card-{c.id}",
            source="entered",
            pregnancy_id=None,
            name=name if clear else mask(name),
            resident_id=resident if clear else mask(resident, 6, 4),
            death_date=c.death_date,
            pregnancy_end_date=c.pregnancy_end_date,
            outcome=c.outcome,
            ga_days=c.ga_days,
            street=c.street,
            institution_id=c.institution_id,
            cause_code=c.cause_code,
            cause_class=c.cause_class,
            classification=c.classification,
            # once per woman: a feed's death of the same woman is the one counted
            counted=c.cause_class != ACCIDENTAL
            and c.review_status != EXCLUDED
            and (c.woman_key is None or c.woman_key not in fed_women),
            review_status=c.review_status,  # type: ignore[arg-type]
            reviewed_by=c.reviewed_by,
            reviewed_at=to_utc(c.reviewed_at) if c.reviewed_at else None,
        )

    def _open(self, blob: bytes | None, report_id: int, field: str) -> str | None:
        if not blob:
            return None
        return self.crypto.open_sealed(blob, _aad(report_id, field)).decode()

    def _reason(self, row: MaternalDeathReport | None) -> str | None:
        return self._open(row.review_reason_sealed, row.id, "review_reason") if row else None

    # -- writing -----------------------------------------------------------------------------

    def create(
        self, session: Session, principal: Principal, card: DeathCardCreate
    ) -> MaternalDeathRead:
        principal.require(Permission.REVIEW_MATERNAL_DEATHS)
        self._check_card(session, card)
        cause_class = self._cause_class(card.cause_code)
        now = utcnow()
        key = None
        if card.resident_id:
            rid = card.resident_id.strip().upper()
            key = woman_key(self.crypto.keyed_hash("resident-id|" + rid), 0)
        row = repository.add(
            session,
            {
                "kind": ENTERED,
                "woman_key": key,
                "death_date": card.death_date,
                "pregnancy_end_date": card.pregnancy_end_date,
                "outcome": card.outcome,
                "ga_days": card.ga_days,
                "street": card.street,
                "institution_id": card.institution_id,
                "cause_code": card.cause_code,
                "cause_class": cause_class,
                "classification": card.classification
                or derived_classification(cause_class, card.cause_code),
                "review_status": PENDING,
                "created_by": principal.username,
                "created_at": now,
                "updated_at": now,
            },
        )
        if card.resident_id:
            row.resident_id_sealed = self.crypto.seal(
                card.resident_id.strip().upper().encode(), _aad(row.id, "resident_id")
            )
        if card.name:
            row.name_sealed = self.crypto.seal(card.name.encode(), _aad(row.id, "name"))
        record(
            session,
            actor_of(principal),
            [AuditRecord("maternal_deaths.create", "success", "MaternalDeath", f"card-{row.id}")],
        )
        fed = repository.fed_women(session, [key] if key else [])
        return self._card_item(row, fed, clear=False)

    def review(
        self, session: Session, principal: Principal, death_id: str, review: DeathReview
    ) -> MaternalDeathRead:
        principal.require(Permission.REVIEW_MATERNAL_DEATHS)
        reason = (review.reason or "").strip()
        if review.status == EXCLUDED and not reason:
            raise InvalidResource(
                [Issue("Excluding a death needs a reason", "reason", "required")],
                "Excluding a death needs a reason",
            )
        row = self._review_row(session, principal, death_id)
        now = utcnow()
        row.review_status = CONFIRMED if review.status == CONFIRMED else EXCLUDED
        row.reviewed_by = principal.username
        row.reviewed_at = now
        row.review_reason_sealed = (
            self.crypto.seal(reason.encode(), _aad(row.id, "review_reason")) if reason else None
        )
        if review.classification:
            row.classification = review.classification
        row.updated_at = now
        session.flush()
        record(
            session,
            actor_of(principal),
            [
                AuditRecord(
                    "maternal_deaths.review",
                    "success",
                    "MaternalDeath",
                    death_id,
                    200,
                    row.review_status,
                )
            ],
        )
        return self._one(session, death_id, clear=False)

    def _review_row(
        self, session: Session, principal: Principal, death_id: str
    ) -> MaternalDeathReport:
        kind, _, key = death_id.partition("-")
        if kind == "card" and key.isdigit():
            card = repository.entered_one(session, int(key))
            if card is not None:
                return card
        elif kind == "feed" and key:
            found = repository.fed_death(session, key)
            if found is not None:
                death = found[0]
                existing = repository.reviews_of_fed(session, [death.woman_key])
                if death.woman_key in existing:
                    return existing[death.woman_key]
                now = utcnow()
                return repository.add(
                    session,
                    {
                        "kind": FEED,
                        "woman_key": death.woman_key,
                        "classification": derived_classification(
                            death.cause_class, death.cause_code
                        ),
                        "review_status": PENDING,
                        "created_by": principal.username,
                        "created_at": now,
                        "updated_at": now,
                    },
                )
        raise NotFound(f"No maternal death {death_id}")

    # -- checks ------------------------------------------------------------------------------

    def _cause_class(self, code: str | None) -> str | None:
        if not code:
            return None
        concepts = self.codes().concepts_of([{"system": ICD10, "code": code}])
        return cause_class_of(concepts)

    def _check_card(self, session: Session, card: DeathCardCreate) -> None:
        issues: list[Issue] = []
        today = utcnow().date() + timedelta(days=1)  # the district is ahead of UTC
        if card.death_date > today:
            issues.append(Issue("The death date is in the future", "death_date", "value"))
        end = card.pregnancy_end_date
        if card.outcome == "died_undelivered":
            if end is not None and end != card.death_date:
                issues.append(
                    Issue(
                        "Died undelivered: the pregnancy ends with the death (leave "
                        "pregnancy_end_date out or give the death date)",
                        "pregnancy_end_date",
                        "value",
                    )
                )
        elif end is None:
            issues.append(
                Issue(
                    "A delivered or lost pregnancy needs its end date",
                    "pregnancy_end_date",
                    "required",
                )
            )
        elif end > card.death_date:
            issues.append(
                Issue("The pregnancy cannot end after the death", "pregnancy_end_date", "value")
            )
        elif (card.death_date - end).days > POSTPARTUM_DAYS:
            issues.append(
                Issue(
                    "A death more than 42 days after the end of the pregnancy is not a maternal "
                    "death",
                    "death_date",
                    "value",
                )
            )
        problem = street_problem(card.street, self.streets)
        if problem:
            issues.append(Issue(problem, "street", "value"))
        if not repository.institution_exists(session, card.institution_id):
            issues.append(Issue("No such registered institution", "institution_id", "value"))
        if card.resident_id is not None and not resident_id_valid(card.resident_id.strip()):
            issues.append(
                Issue(
                    "The resident ID is not a valid GB 11643 number (length, birth date or "
                    "check digit)",
                    "resident_id",
                    "value",
                )
            )
        if issues:
            raise InvalidResource(issues, "The report card is not valid")
