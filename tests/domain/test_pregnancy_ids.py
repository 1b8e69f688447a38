"""Public pregnancy ids are opaque (no store key in them, nothing to count up from), the same
after a rebuild (so the case register and saved links keep working), and the migration renames
the ids a database already holds, consistently across every table."""

from __future__ import annotations

import re

import httpx
import pytest
from alembic import command
from sqlalchemy import create_engine, select, text

from mch_service.app import Services
from mch_service.cases.models import CaseRecord
from mch_service.cases.sealing import close_reason_aad, event_reason_aad, notes_aad, outcome_aad
from mch_service.config import get_settings
from mch_service.crypto import Crypto
from mch_service.domain import models as m
from mch_service.domain import pregnancy_ids as ids
from mch_service.migrate import alembic_config, upgrade
from tests.auth.test_accounts import add_user, bearer, token_for
from tests.cases.test_case_api import red_woman
from tests.conftest import TEST_SECRET, SenderKey
from tests.indicators.test_indicator_service import _valid_rid

OPAQUE = re.compile(r"[a-z2-7]{26}")


def _pregnancies(services: Services) -> dict[str, str]:
    """public id -> internal name (P + the smallest store key of its facts)"""
    with services.db.reading() as session:
        out = {}
        for pid in session.scalars(select(m.Pregnancy.id)):
            pks = [
                pk
                for table in (m.PrenatalVisit, m.DatingObservation, m.RiskAssessmentFact)
                for pk in session.scalars(
                    select(table.resource_pk).where(table.pregnancy_id == pid)
                )
            ]
            out[pid] = f"P{min(pks)}"
        return out


def _register(services: Services) -> dict[str, str]:
    with services.db.reading() as session:
        return {c.pregnancy_id: c.status for c in session.scalars(select(CaseRecord))}


def test_ids_in_urls_and_payloads_are_opaque_and_survive_a_rebuild(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    for i, street in enumerate(("330102001", "330102002")):
        red_woman(http, sender, street, f"M{i}", _valid_rid(f"3301021990010{i}111"))
    before = _pregnancies(services)
    assert len(before) == 2
    for public in before:
        assert OPAQUE.fullmatch(public), public  # 26 base32 letters: no "P", no store key
    add_user(services, "mon1", "monitor")
    mon = bearer(token_for(http, "mon1"))
    add_user(services, "rev1", "reviewer", streets=["330102001"])
    rev = bearer(token_for(http, "rev1"))
    cases = http.get("/api/v1/cases", headers=rev).json()["items"]
    mine = {c["pregnancy_id"] for c in cases}
    assert len(mine) == 1
    assert mine <= set(before)
    case = next(iter(mine))
    assert http.get(f"/api/v1/pregnancies/{case}", headers=mon).json()["id"] == case
    # the sequential name of the same pregnancy leads nowhere
    assert http.get(f"/api/v1/pregnancies/{before[case]}", headers=mon).status_code == 404
    assert http.get(f"/api/v1/cases/{before[case]}", headers=rev).status_code == 404
    register = _register(services)
    assert set(register) == set(before)  # both red: both have a case

    services.domain.rebuild(services.db, services.store)

    assert _pregnancies(services) == before
    assert _register(services) == register
    detail = http.get(f"/api/v1/cases/{case}", headers=rev)
    assert detail.status_code == 200
    assert http.get(f"/api/v1/pregnancies/{case}", headers=mon).json()["id"] == case


def test_the_key_is_per_database_and_the_id_is_its_hmac(services: Services) -> None:
    with services.db.transaction() as session:
        key = ids.load_key(session)
        assert ids.load_key(session) == key  # made once, then kept
    assert len(key) == 32
    assert OPAQUE.fullmatch(ids.public_id(key, "P1009"))
    assert ids.public_id(key, "P1009") != ids.public_id(key, "P1010")
    assert ids.public_id(key, "P1009") != ids.public_id(bytes(32), "P1009")


def test_the_migration_renames_stored_ids_in_every_table(
    database_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    engine = create_engine(
        database_url.replace("postgresql://", "postgresql+psycopg://", 1)
        if database_url.startswith("postgresql://")
        else database_url
    )
    command.downgrade(alembic_config(database_url), "0010")
    crypto = Crypto(TEST_SECRET)
    try:
        with engine.begin() as conn:
            conn.execute(
                text(
                    "INSERT INTO pregnancy (id, woman_key, institutions, excluded) "
                    "VALUES ('P1009', 'w1', '', false), ('P1010', 'w2', '', false)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO case_record (pregnancy_id, woman_key, status, opened_on, "
                    "purple, institutions, closed_by_reviewer, version) "
                    "VALUES ('P1009', 'w1', 'open', CURRENT_DATE, false, '', false, 1)"
                )
            )
            conn.execute(
                text(
                    "INSERT INTO case_event (pregnancy_id, action, by, at, reason_sealed) "
                    "VALUES ('P1009', 'reopen', 'rev', CURRENT_TIMESTAMP, :r)"
                ),
                {"r": crypto.seal(b"reason", event_reason_aad("P1009"))},
            )
            # case text is sealed bound to its pregnancy id: renamed, it is sealed again
            conn.execute(
                text(
                    "INSERT INTO follow_up (pregnancy_id, contact_date, kind, recorded_by, "
                    "recorded_at, notes_sealed, outcome_sealed) VALUES ('P1009', CURRENT_DATE, "
                    "'phone', 'rev', CURRENT_TIMESTAMP, :n, :o)"
                ),
                {
                    "n": crypto.seal(b"notes", notes_aad("P1009")),
                    "o": crypto.seal(b"reached", outcome_aad("P1009")),
                },
            )
            conn.execute(
                text("UPDATE case_record SET close_reason_sealed = :c"),
                {"c": crypto.seal(b"moved", close_reason_aad("P1009"))},
            )
            conn.execute(
                text(
                    "INSERT INTO data_quality_issue (pregnancy_id, rule, message) "
                    "VALUES ('P1010', 'r', 'm')"
                )
            )
    finally:
        monkeypatch.setenv("MCH_SECRET_KEY", TEST_SECRET)
        get_settings.cache_clear()
        try:
            upgrade(database_url)
        finally:
            get_settings.cache_clear()
    with engine.connect() as conn:
        sealed = conn.execute(
            text(
                "SELECT f.notes_sealed, f.outcome_sealed, c.close_reason_sealed, e.reason_sealed"
                " FROM follow_up f, case_record c, case_event e"
            )
        ).one()
        key = bytes.fromhex(conn.execute(text("SELECT key FROM pregnancy_id_key")).scalar_one())
        pregnancies = set(conn.execute(text("SELECT id FROM pregnancy")).scalars())
        case = conn.execute(text("SELECT pregnancy_id FROM case_record")).scalar_one()
        event = conn.execute(text("SELECT pregnancy_id FROM case_event")).scalar_one()
        issue = conn.execute(text("SELECT pregnancy_id FROM data_quality_issue")).scalar_one()
    engine.dispose()
    assert pregnancies == {ids.public_id(key, "P1009"), ids.public_id(key, "P1010")}
    new = ids.public_id(key, "P1009")
    assert case == event == new
    assert [
        crypto.open_sealed(sealed[0], notes_aad(new)),
        crypto.open_sealed(sealed[1], outcome_aad(new)),
        crypto.open_sealed(sealed[2], close_reason_aad(new)),
        crypto.open_sealed(sealed[3], event_reason_aad(new)),
    ] == [b"notes", b"reached", b"moved", b"reason"]
    assert issue == ids.public_id(key, "P1010")
