"""A small simulated district with every kind of data-quality record, spread over months.

``seed_district`` loads a simulated district through the FHIR service, then gives its busiest
institution what a simulation rarely makes: refused requests (and refusals that must not count:
an access refusal, a refused read), record-level warnings and pregnancy-level flags, unmapped
codes (some seen several times) and references to records it never sent. ``spread_over_months``
then moves every timestamp the data-quality view counts by (receipt, refusal, first sight) over
the months around today, a row on each side of a month's first instant in the district's time
zone, so a count per month is tested at the months' edges.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import bindparam, select, update

from mch_service.app import Services
from mch_service.audit.models import AuditEvent
from mch_service.audit.service import Actor, AuditRecord, record
from mch_service.database import table_of
from mch_service.domain.models import DataQualityIssue, UnmappedCode
from mch_service.simulator.load import load, register_institutions
from mch_service.store.models import FhirReference, FhirResource
from mch_service.timeutil import utcnow
from tests.ops.district import simulate_district

# A rejection whose error quotes what the sender sent: a resident ID, a birth date, a phone.
RESIDENT_ID = "110101199003071234"
PHONE = "13800138000"
BIRTH = "1990-03-07"
PERSONAL_ERROR = (
    f"Patient.identifier[0].value: '{RESIDENT_ID}' is not a valid resident ID "
    f"(birth date {BIRTH}, phone {PHONE})"
)
PERSONAL_MESSAGE = f"Observation dated {BIRTH} names resident {RESIDENT_ID}"


def seed_district(services: Services, folder: Path, pregnancies: int = 24) -> str:
    """The district loaded and the extra rows added; the busiest institution's id."""
    sim = simulate_district(folder, pregnancies=pregnancies, seed=11)
    register_institutions(services, sim)
    load(services, sim)
    services.domain.process_queue(services.db)
    with services.db.transaction() as session:
        counts = session.execute(
            select(FhirResource.institution_id, FhirResource.pk).where(
                FhirResource.deleted.is_(False)
            )
        ).all()
        per: dict[str, list[int]] = {}
        for inst, pk in counts:
            per.setdefault(str(inst), []).append(int(pk))
        inst = max(sorted(per), key=lambda i: len(per[i]))
        pks = sorted(per[inst])
        actor = Actor("institution", inst, "test")
        rejected = [
            AuditRecord("fhir.create", "rejected", "Patient", None, 422, PERSONAL_ERROR),
            *[
                AuditRecord("fhir.update", "rejected", "Observation", f"obs-{n}", 400, f"bad {n}")
                for n in range(9)
            ],
            AuditRecord("fhir.transaction", "rejected", None, None, 409, "identifier held"),
            # not the sender's data refused: never counted, never listed
            AuditRecord("fhir.create", "rejected", "Patient", None, 403, "not allowed"),
            AuditRecord("fhir.read", "rejected", "Patient", "nope", 404, "unknown id"),
        ]
        record(session, actor, rejected)
        issues = [
            {
                "resource_pk": pk,
                "pregnancy_id": f"P-test-{n}" if n % 3 == 0 else None,
                "institution_id": inst,
                "rule": "delivery_before_booking" if n % 3 == 0 else "result_as_text",
                "element": "Observation.value[x]",
                "message": PERSONAL_MESSAGE if n == 1 else f"rule broken by record {n}",
            }
            for n, pk in enumerate(pks[:14])
        ]
        session.execute(table_of(DataQualityIssue).insert(), issues)
        now = utcnow()
        unmapped = [
            {
                "resource_pk": pk,
                "institution_id": inst,
                "resource_type": "Observation",
                "element": "Observation.code",
                "system": "urn:local:lab" if n % 2 else "http://loinc.org",
                "code": f"X-{n % 5}",
                "display": f"test of {BIRTH}" if n == 0 else f"local test {n % 5}",
                "seen_at": now,
            }
            for n, pk in enumerate(pks[:13])
        ]
        session.execute(table_of(UnmappedCode).insert(), unmapped)
        refs = [
            {"resource_pk": pk, "name": "subject", "target": f"Patient/never-sent-{n}"}
            for n, pk in enumerate(pks[20:31])
        ]
        # one resource with two unresolved references (paging must not skip the second)
        refs.append({"resource_pk": pks[20], "name": "patient", "target": "Patient/gone"})
        # a reference with no "/" names no record either
        refs.append({"resource_pk": pks[21], "name": "patient", "target": "Patient"})
        session.execute(table_of(FhirReference).insert(), refs)
    return inst


def month_start(year: int, month: int, zone: ZoneInfo) -> datetime:
    return datetime(year, month, 1, tzinfo=zone)


def spread_over_months(services: Services, zone: ZoneInfo, today: date) -> None:
    """Every receipt, refusal and sighting moved to one of the 16 months from 14 before
    today's to the next: at a month's first instant, a microsecond before it, or mid-month."""

    def when(n: int) -> datetime:
        offset = n % 16 - 14
        index = today.year * 12 + today.month - 1 + offset
        start = month_start(index // 12, index % 12 + 1, zone)
        variant = (n // 16) % 3
        if variant == 0:
            return start
        if variant == 1:
            return start - timedelta(microseconds=1)
        return start + timedelta(days=14, hours=12)

    tables: list[tuple[Any, Any, Any]] = [
        (FhirResource, FhirResource.pk, "last_updated"),
        (AuditEvent, AuditEvent.id, "occurred_at"),
        (UnmappedCode, UnmappedCode.id, "seen_at"),
    ]
    with services.db.transaction() as session:
        for model, key, column in tables:
            table = table_of(model)
            keys = [k for (k,) in session.execute(select(key).order_by(key))]
            rows = [{"k": k, "v": when(n)} for n, k in enumerate(keys)]
            stmt = (
                update(table)
                .where(table.c[key.key] == bindparam("k"))
                .values({column: bindparam("v")})
            )
            session.connection().execute(stmt, rows)
