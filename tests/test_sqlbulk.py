"""sqlbulk.insert_many: what goes in comes back out, on SQLite and PostgreSQL; several tables
are one statement, all or nothing; the database's own errors keep SQLAlchemy's shape."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from sqlalchemy import exc as sa_exc
from sqlalchemy import select, text

from mch_service import sqlbulk
from mch_service.app import Services
from mch_service.database import table_of
from mch_service.domain.models import LabResult, PatientRecord
from mch_service.institutions.models import Institution
from mch_service.institutions.service import add_institution
from mch_service.store.models import FhirResource, FhirResourceVersion
from mch_service.timeutil import to_utc

AWARE = datetime(2025, 3, 31, 23, 30, 0, 123456, tzinfo=UTC)


def _resource(pk: int | None, fhir_id: str, **extra: object) -> dict[str, object]:
    row: dict[str, object] = {
        "resource_type": "Observation",
        "fhir_id": fhir_id,
        "institution_id": "H1",
        "version_id": 1,
        "last_updated": AWARE,
        # "deleted" left out: its Python default (False) must be written
        "content_hash": None,
        "create_key": "k-" + fhir_id,
    }
    if pk is not None:
        row["pk"] = pk
    row.update(extra)
    return row


def _version(resource_pk: int, **extra: object) -> dict[str, object]:
    row: dict[str, object] = {
        "resource_pk": resource_pk,
        "version_id": 1,
        "institution_id": "H1",
        "recorded_at": AWARE,
        "operation": "create",
    }
    row.update(extra)
    return row


def _lab(resource_pk: int, **extra: object) -> dict[str, object]:
    row: dict[str, object] = {
        "id": 7,
        "concept": "haemoglobin",
        "test_date": date(2025, 2, 28),
        "result": None,
        "value": None,
        "unit": "g/L",
        "source": "obs",
        "resource_pk": resource_pk,
        "version_id": 1,
        "institution_id": "H1",
        "subject": "Patient/p1",
        "pregnancy_id": None,
    }
    row.update(extra)
    return row


def _keys(session, n: int) -> list[int]:  # type: ignore[no-untyped-def]
    """Keys the way the store gets them: reserved on PostgreSQL, chosen here elsewhere."""
    return sqlbulk.reserve_pks(session, table_of(FhirResource), n) or list(range(1, n + 1))


@pytest.fixture
def services_h1(services: Services) -> Services:
    with services.db.transaction() as session:
        add_institution(session, "H1", "Hospital 1")
    return services


def test_values_of_every_column_type_come_back_as_written(services_h1: Services) -> None:
    blob = bytes(range(256)) + b"\\x00'\"\t\n"
    text = "王小红 \\ \" ' \t 𠀀 \\N end"  # backslashes, quotes, a tab, a non-BMP character
    with services_h1.db.transaction() as session:
        (pk,) = _keys(session, 1)
        sqlbulk.insert_many(
            session,
            [
                (
                    table_of(FhirResource),
                    [_resource(pk, "o1", date_start=AWARE - timedelta(days=1), date_end=None)],
                ),
                (
                    table_of(FhirResourceVersion),
                    [_version(pk, content_hash=text, content=blob)],
                ),
                (
                    table_of(LabResult),
                    # not exactly 0.3: every digit must survive
                    [_lab(pk, value=0.1 + 0.2)],
                ),
            ],
        )
    with services_h1.db.reading() as session:
        res = session.execute(select(FhirResource)).scalar_one()
        ver = session.execute(select(FhirResourceVersion)).scalar_one()
        lab = session.execute(select(LabResult)).scalar_one()
    assert res.deleted is False
    assert res.date_end is None
    assert to_utc(res.last_updated) == AWARE
    assert to_utc(res.date_start) == AWARE - timedelta(days=1)  # type: ignore[arg-type]
    assert to_utc(ver.recorded_at) == AWARE
    assert ver.content == blob
    assert ver.content_hash == text
    assert lab.value == 0.1 + 0.2
    assert lab.test_date == date(2025, 2, 28)
    assert lab.result is None


def test_python_defaults_fill_columns_that_only_some_rows_name(services_h1: Services) -> None:
    with services_h1.db.transaction() as session:
        a, b = _keys(session, 2)
        sqlbulk.insert_rows(
            session,
            table_of(FhirResource),
            [_resource(a, "o1", deleted=True), _resource(b, "o2")],
        )
    with services_h1.db.reading() as session:
        got = dict(session.execute(select(FhirResource.fhir_id, FhirResource.deleted)).all())
    assert got == {"o1": True, "o2": False}


def test_a_failing_table_leaves_nothing_of_the_others(services_h1: Services) -> None:
    with services_h1.db.transaction() as session:
        (pk,) = _keys(session, 1)
        sqlbulk.insert_rows(session, table_of(FhirResource), [_resource(pk, "o1")])

    def attempt() -> None:
        with services_h1.db.transaction() as session:
            (other,) = _keys(session, 1)
            _insert_patient_record_then_duplicate(session, other)

    with pytest.raises(sa_exc.IntegrityError):
        attempt()
    with services_h1.db.reading() as session:
        assert session.execute(select(PatientRecord)).first() is None
        assert len(session.execute(select(FhirResource)).all()) == 1


def _insert_patient_record_then_duplicate(session, other: int) -> None:  # type: ignore[no-untyped-def]
    sqlbulk.insert_many(
        session,
        [
            (
                table_of(PatientRecord),
                [
                    {
                        "resource_pk": other,
                        "version_id": 1,
                        "institution_id": "H1",
                        "ref": "Patient/x",
                        "received_at": AWARE,
                    }
                ],
            ),
            # the same (resource_type, fhir_id) again: unique key
            (table_of(FhirResource), [_resource(other, "o1", create_key="new")]),
        ],
    )


def test_a_child_row_may_name_a_parent_of_the_same_call(services_h1: Services) -> None:
    with services_h1.db.transaction() as session:
        (pk,) = _keys(session, 1)
        sqlbulk.insert_many(
            session,
            [
                (table_of(FhirResource), [_resource(pk, "o1")]),
                (table_of(FhirResourceVersion), [_version(pk)]),
            ],
        )
    with services_h1.db.reading() as session:
        assert session.execute(select(FhirResourceVersion.resource_pk)).scalar_one() == pk


def test_a_child_row_without_its_parent_is_refused(services_h1: Services) -> None:
    with pytest.raises(sa_exc.IntegrityError), services_h1.db.transaction() as session:
        sqlbulk.insert_rows(
            session,
            table_of(FhirResourceVersion),
            [_version(424242)],
        )


def test_postgresql_enforces_column_lengths(services_h1: Services) -> None:
    _postgres_only(services_h1)  # SQLite does not enforce VARCHAR lengths

    def attempt() -> None:
        with services_h1.db.transaction() as session:
            (pk,) = _keys(session, 1)
            sqlbulk.insert_rows(session, table_of(FhirResource), [_resource(pk, "x" * 65)])

    with pytest.raises(sa_exc.DBAPIError):
        attempt()


def test_a_value_json_cannot_carry_is_refused_before_the_database() -> None:
    with pytest.raises(TypeError, match="cannot write a set"):
        sqlbulk._json_value({1})
    assert sqlbulk._json_value(Decimal("NaN")) == "NaN"  # PostgreSQL's own spelling


def test_a_decimal_is_written_exactly(services_h1: Services) -> None:
    with services_h1.db.transaction() as session:
        (pk,) = _keys(session, 1)
        sqlbulk.insert_many(
            session,
            [
                (table_of(FhirResource), [_resource(pk, "o1")]),
                (table_of(LabResult), [_lab(pk, value=Decimal("118.25"))]),
            ],
        )
    with services_h1.db.reading() as session:
        assert session.execute(select(LabResult.value)).scalar_one() == 118.25


def test_update_rows_sets_the_named_columns_of_the_rows_with_those_keys(
    services_h1: Services,
) -> None:
    with services_h1.db.transaction() as session:
        a, b, c = _keys(session, 3)
        sqlbulk.insert_rows(
            session,
            table_of(FhirResource),
            [_resource(a, "o1"), _resource(b, "o2"), _resource(c, "o3", content_hash="keep")],
        )
    later = AWARE + timedelta(hours=1)
    with services_h1.db.transaction() as session:
        sqlbulk.update_rows(
            session,
            table_of(FhirResource),
            "pk",
            [
                {"pk": a, "version_id": 2, "last_updated": later, "content_hash": None},
                {"pk": b, "version_id": 5, "last_updated": later, "content_hash": "h\\"},
                {"pk": 987654, "version_id": 9, "last_updated": later, "content_hash": "x"},
            ],
        )
    with services_h1.db.reading() as session:
        got = {
            r.fhir_id: (r.version_id, to_utc(r.last_updated), r.content_hash)
            for r in session.execute(select(FhirResource)).scalars()
        }
    assert got == {
        "o1": (2, later, None),
        "o2": (5, later, "h\\"),
        "o3": (1, AWARE, "keep"),
    }


def _postgres_only(services: Services) -> None:
    if not services.settings.database_url.startswith("postgresql"):
        pytest.skip("the PostgreSQL path of sqlbulk")


def test_an_offset_and_the_session_time_zone_do_not_move_an_instant(
    services_h1: Services,
) -> None:
    _postgres_only(services_h1)  # SQLite keeps wall times; the service writes UTC there
    shanghai = AWARE.astimezone(timezone(timedelta(hours=8)))
    with services_h1.db.transaction() as session:
        session.execute(text("SET LOCAL TIME ZONE 'America/New_York'"))
        (pk,) = _keys(session, 1)
        sqlbulk.insert_many(
            session,
            [
                (table_of(FhirResource), [_resource(pk, "o1", last_updated=shanghai)]),
                (table_of(FhirResourceVersion), [_version(pk, recorded_at=shanghai)]),
            ],
        )
    with services_h1.db.reading() as session:
        assert to_utc(session.execute(select(FhirResource.last_updated)).scalar_one()) == AWARE
        got = session.execute(select(FhirResourceVersion.recorded_at)).scalar_one()
    assert to_utc(got) == AWARE


def test_nan_and_infinities_are_stored_not_dropped(services_h1: Services) -> None:
    _postgres_only(services_h1)
    with services_h1.db.transaction() as session:
        (pk,) = _keys(session, 1)
        sqlbulk.insert_many(
            session,
            [
                (table_of(FhirResource), [_resource(pk, "o1")]),
                (
                    table_of(LabResult),
                    [
                        _lab(pk, id=1, value=math.nan),
                        _lab(pk, id=2, value=math.inf),
                        _lab(pk, id=3, value=-math.inf),
                        _lab(pk, id=4, value=None),
                    ],
                ),
            ],
        )
    with services_h1.db.reading() as session:
        values = dict(session.execute(select(LabResult.id, LabResult.value)).all())
    assert math.isnan(values[1])  # type: ignore[arg-type]
    assert values[2] == math.inf
    assert values[3] == -math.inf
    assert values[4] is None


def test_keys_that_are_not_columns_are_ignored(services_h1: Services) -> None:
    with services_h1.db.transaction() as session:
        (pk,) = _keys(session, 1)
        sqlbulk.insert_rows(session, table_of(FhirResource), [_resource(pk, "o1", _op=3)])
    with services_h1.db.reading() as session:
        assert session.execute(select(FhirResource.fhir_id)).scalar_one() == "o1"


def test_large_batches_go_in_chunks_and_all_arrive(
    services_h1: Services, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlbulk, "CHUNK_ROWS", 2)
    with services_h1.db.transaction() as session:
        pks = _keys(session, 5)
        sqlbulk.insert_many(
            session,
            [
                (table_of(FhirResource), [_resource(pk, f"o{pk}") for pk in pks]),
                (table_of(FhirResourceVersion), [_version(pk) for pk in pks]),
            ],
        )
        sqlbulk.update_rows(
            session,
            table_of(FhirResource),
            "pk",
            [{"pk": pk, "version_id": 7} for pk in pks],
        )
    with services_h1.db.reading() as session:
        assert sorted(session.execute(select(FhirResourceVersion.resource_pk)).scalars()) == pks
        assert set(session.execute(select(FhirResource.version_id)).scalars()) == {7}


def test_pending_orm_objects_are_written_before_the_rows(services_h1: Services) -> None:
    with services_h1.db.transaction() as session:
        session.add(Institution(id="H2", name="Hospital 2", created_at=AWARE))
        (pk,) = _keys(session, 1)
        # the foreign key to institution H2 holds only if the pending object went first
        sqlbulk.insert_rows(
            session, table_of(FhirResource), [_resource(pk, "o1", institution_id="H2")]
        )
    with services_h1.db.reading() as session:
        assert session.execute(select(FhirResource.institution_id)).scalar_one() == "H2"


def test_a_lock_timeout_keeps_sqlalchemys_operational_error(services_h1: Services) -> None:
    """interactions.py retries OperationalErrors that are deadlocks: the class must survive."""
    _postgres_only(services_h1)
    with services_h1.db.transaction() as first:
        (pk,) = _keys(first, 1)
        sqlbulk.insert_rows(first, table_of(FhirResource), [_resource(pk, "o1")])
        first.flush()

        def attempt() -> None:
            # the same unique key, uncommitted in `first`: waits, then gives up
            with services_h1.db.transaction() as second:
                second.execute(text("SET LOCAL lock_timeout = '200ms'"))
                (other,) = _keys(second, 1)
                sqlbulk.insert_rows(second, table_of(FhirResource), [_resource(other, "o1")])

        with pytest.raises(sa_exc.OperationalError) as caught:
            attempt()
    assert getattr(caught.value.orig, "sqlstate", None) == "55P03"  # lock_not_available


def test_a_bad_value_keeps_sqlalchemys_data_error(services_h1: Services) -> None:
    _postgres_only(services_h1)

    def attempt() -> None:
        with services_h1.db.transaction() as session:
            (pk,) = _keys(session, 1)
            sqlbulk.insert_rows(
                session, table_of(FhirResource), [_resource(pk, "o1", version_id=2**40)]
            )

    with pytest.raises(sa_exc.DataError):
        attempt()


def test_update_rows_leaves_columns_it_is_not_given_alone_even_with_a_default(
    services_h1: Services,
) -> None:
    with services_h1.db.transaction() as session:
        (pk,) = _keys(session, 1)
        sqlbulk.insert_rows(session, table_of(FhirResource), [_resource(pk, "o1", deleted=True)])
    with services_h1.db.transaction() as session:
        # "deleted" has a Python default (False); the update must not write it
        sqlbulk.update_rows(session, table_of(FhirResource), "pk", [{"pk": pk, "version_id": 2}])
    with services_h1.db.reading() as session:
        row = session.execute(select(FhirResource.deleted, FhirResource.version_id)).one()
    assert tuple(row) == (True, 2)
