"""Search by name (issue 18): the keyed hash of the normalised name on each patient record,
POST /api/v1/pregnancies/lookup with ``name`` (+ ``birth_date``), within the caller's
jurisdiction and audited without the name; ``mch-service pregnancies reindex-names`` for
records stored before the hash existed, ``mch-service keys rotate`` re-hashing them.

The women (each booked with one visit, so each has one pregnancy):

    X  "王 小红" (with a space), born 1990-03-07, street 330102001, sent by hospital-a
    Y  "王小红", born 1991-05-05, street 330102002, sent by hospital-b   (X's namesake)
    Z  "李四", born 1990-03-07, street 330102001, sent by hospital-a
"""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from typing import Any

import httpx
import pytest
from sqlalchemy import select, update

from mch_service.app import Services, build_services
from mch_service.audit.models import AuditEvent
from mch_service.crypto import Crypto
from mch_service.database import Database
from mch_service.domain import models as m
from mch_service.domain import pregnancy_record
from mch_service.domain.name_index import name_hash, normalise_name
from mch_service.logs import JsonFormatter
from tests.auth.test_accounts import add_user, bearer, token_for
from tests.conftest import TEST_SECRET, SenderKey
from tests.domain.fixtures import bundle, entry, obs, patient, uid, visit
from tests.domain.test_pregnancy_record import post
from tests.indicators.test_indicator_service import _valid_rid

S1, S2 = "330102001", "330102002"
RIDS = {w: _valid_rid(f"3301021990{n:02d}01111") for n, w in enumerate("XYZ", start=1)}


# -- normalisation (no database) --------------------------------------------------------------


def test_spaces_and_full_width_forms_make_no_difference() -> None:
    assert normalise_name("王 小红") == "王小红"
    assert normalise_name("王\u3000小红") == "王小红"  # the ideographic space
    assert normalise_name(" 王\t小 红\n") == "王小红"
    assert normalise_name("ＬＩ　Ｘｉａｏ") == "LIXiao"  # full-width letters and space
    assert normalise_name("Ａｎｎａ１") == "Anna1"
    assert normalise_name("ﾊﾅｺ") == "ハナコ"  # half-width katakana (NFKC)
    # nothing else changes: case, other characters, traditional forms
    assert normalise_name("li xiao") == "lixiao"
    assert normalise_name("王小紅") == "王小紅"


def test_the_hash_is_the_keyed_hash_of_the_prefixed_normal_form() -> None:
    crypto = Crypto(TEST_SECRET)
    expected = crypto.keyed_hash("name|王小红")
    for variant in ("王小红", "王 小红", "王\u3000小红", " 王小红 "):
        assert name_hash(crypto.keyed_hash, variant) == expected, variant
    assert name_hash(crypto.keyed_hash, "王小紅") != expected
    assert name_hash(crypto.keyed_hash, "王小") != expected
    # a name is not in the resident ID's space of hashes, and changes with the secret
    assert expected != crypto.keyed_hash("resident-id|王小红")
    assert name_hash(Crypto("another-secret-" + "x" * 40).keyed_hash, "王小红") != expected
    for empty in (None, "", "  \u3000 "):
        assert name_hash(crypto.keyed_hash, empty) is None


# -- the district -------------------------------------------------------------------------------


def _woman(
    http: httpx.Client, sender: SenderKey, who: str, name: str, born: str, street: str
) -> None:
    p = uid()
    person = patient(sender.institution_id, f"M-{who}", rid=RIDS[who], street=street, name=name)
    person["birthDate"] = born
    post(
        http,
        sender,
        bundle(
            entry(person, p),
            entry(obs(p, "8665-2", "2025-01-05", valueDateTime="2025-01-01")),
            entry(visit(p, "2025-01-05", first=True)),
        ),
    )


def _pregnancy_of(services: Services, who: str) -> str:
    crypto = services.crypto
    with services.db.reading() as session:
        key = session.scalars(
            select(m.PatientRecord.woman_key).where(
                m.PatientRecord.resident_id_hash == crypto.keyed_hash("resident-id|" + RIDS[who])
            )
        ).one()
        return session.scalars(select(m.Pregnancy.id).where(m.Pregnancy.woman_key == key)).one()


@pytest.fixture
def women(
    http: httpx.Client, services: Services, sender: SenderKey, other_sender: SenderKey
) -> dict[str, Any]:
    _woman(http, sender, "X", "王 小红", "1990-03-07", S1)
    _woman(http, other_sender, "Y", "王小红", "1991-05-05", S2)
    _woman(http, sender, "Z", "李四", "1990-03-07", S1)
    add_user(services, "mon1", "monitor")
    add_user(services, "admin1", "admin")
    add_user(services, "rev-s1", "reviewer", streets=[S1])
    add_user(services, "rev-s2", "reviewer", streets=[S2])
    add_user(services, "rev-far", "reviewer", streets=["330102099"])
    add_user(services, "rev-hb", "reviewer", institutions=["hospital-b"])
    h = {
        u: bearer(token_for(http, u))
        for u in ("mon1", "admin1", "rev-s1", "rev-s2", "rev-far", "rev-hb")
    }
    return {"h": h, "ids": {w: _pregnancy_of(services, w) for w in "XYZ"}}


def _find(http: httpx.Client, headers: dict[str, str], **body: str) -> dict[str, Any]:
    r = http.post("/api/v1/pregnancies/lookup", json=body, headers=headers)
    assert r.status_code == 200, r.text
    return r.json()  # type: ignore[no-any-return]


def _ids(answer: dict[str, Any]) -> set[str]:
    return {m["pregnancy_id"] for m in answer["matches"]}


def test_a_name_finds_every_namesake_in_the_callers_jurisdiction_only(
    http: httpx.Client, women: dict[str, Any]
) -> None:
    h, ids = women["h"], women["ids"]
    both = {ids["X"], ids["Y"]}
    # the district-wide monitor: both namesakes, however the name is spaced or written
    for spelling in ("王小红", "王 小红", "王\u3000小红", " 王小红 "):
        assert _ids(_find(http, h["mon1"], name=spelling)) == both, spelling
    # narrowed by date of birth, by the sending institution
    assert _ids(_find(http, h["mon1"], name="王小红", birth_date="1990-03-07")) == {ids["X"]}
    assert _ids(_find(http, h["mon1"], name="王小红", birth_date="1991-05-05")) == {ids["Y"]}
    assert _ids(_find(http, h["mon1"], name="王小红", birth_date="1990-03-08")) == set()
    assert _ids(_find(http, h["mon1"], name="王小红", institution="hospital-b")) == {ids["Y"]}
    # exact, never in part nor near
    for other in ("王小", "小红", "王小红红", "王小紅", "王"):
        assert _ids(_find(http, h["mon1"], name=other)) == set(), other
    assert _ids(_find(http, h["mon1"], name="李四")) == {ids["Z"]}
    # reviewers: each finds the namesake in her own jurisdiction; a reviewer of another
    # street finds neither (as for no such woman)
    assert _ids(_find(http, h["rev-s1"], name="王小红")) == {ids["X"]}
    assert _ids(_find(http, h["rev-s2"], name="王小红")) == {ids["Y"]}
    assert _ids(_find(http, h["rev-far"], name="王小红")) == set()
    assert _ids(_find(http, h["rev-hb"], name="王小红")) == {ids["Y"]}  # by institution
    assert _ids(_find(http, h["rev-s2"], name="李四")) == set()
    answer = _find(http, h["rev-s1"], name="王小红")
    assert answer["truncated"] is False
    assert answer["matches"][0]["street"] == S1


def test_a_renamed_record_is_found_by_its_new_name_only(
    http: httpx.Client, sender: SenderKey, women: dict[str, Any]
) -> None:
    """The hash follows the record: an update of her Patient (same MRN) with a new name."""
    h, ids = women["h"], women["ids"]
    person = patient(sender.institution_id, "M-Z", rid=RIDS["Z"], street=S1, name="李 思思")
    person["birthDate"] = "1990-03-07"
    post(http, sender, bundle(entry(person, uid())))
    assert _ids(_find(http, h["mon1"], name="李四")) == set()
    assert _ids(_find(http, h["mon1"], name="李思思")) == {ids["Z"]}


def test_a_name_search_is_refused_precisely(http: httpx.Client, women: dict[str, Any]) -> None:
    h = women["h"]["mon1"]
    refused = [
        ({"name": "王小红", "resident_id": RIDS["X"]}, 400, "exactly one"),
        ({"name": "王小红", "mrn": "M-X"}, 400, "exactly one"),
        ({"birth_date": "1990-03-07"}, 400, "exactly one"),
        ({"resident_id": RIDS["X"], "birth_date": "1990-03-07"}, 400, "birth_date"),
        ({"name": " \u3000 "}, 400, "name"),
        ({"name": ""}, 400, "name"),
        ({"name": "王" * 101}, 400, "name"),
        ({"name": "王小红", "birth_date": "1990-02-30"}, 400, "birth_date"),
        ({"name": "王小红", "birth_date": "yesterday"}, 400, "birth_date"),
        ({"name": ["王小红"]}, 400, "name"),
    ]
    for body, status, about in refused:
        r = http.post("/api/v1/pregnancies/lookup", json=body, headers=h)
        assert r.status_code == status, (body, r.text)
        assert about in r.text, (body, r.text)
        assert "王小红" not in r.text  # the name is not quoted back


def test_a_name_search_is_audited_and_logged_without_the_name(
    http: httpx.Client,
    services: Services,
    women: dict[str, Any],
    caplog: pytest.LogCaptureFixture,
) -> None:
    h = women["h"]
    caplog.set_level(logging.DEBUG)
    _find(http, h["rev-s1"], name="王 小红")
    _find(http, h["rev-far"], name="王小红")
    _find(http, h["mon1"], name="王小红", birth_date="1990-03-07")
    with services.db.reading() as session:
        events = session.execute(
            select(AuditEvent.actor_id, AuditEvent.detail, AuditEvent.target_id).where(
                AuditEvent.action == "pregnancy.lookup"
            )
        ).all()
    assert sorted((a, d) for a, d, _ in events) == [
        ("mon1", "by name and birth_date: 1 found"),
        ("rev-far", "by name: 0 found"),
        ("rev-s1", "by name: 1 found"),
    ]
    assert not any("小红" in str(e) or "1990-03-07" in str(e) for e in events)
    # the server's log records (the access log among them) hold neither the name nor the date
    server_log = "\n".join(
        JsonFormatter().format(r)
        for r in caplog.records
        if not r.name.startswith(("httpx", "httpcore"))
    )
    assert "/api/v1/pregnancies/lookup" in server_log  # the requests were logged...
    assert "小红" not in server_log  # ...without the name
    assert "1990-03-07" not in server_log


def test_more_namesakes_than_listed_are_said_to_be_cut(
    http: httpx.Client,
    services: Services,
    women: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(pregnancy_record, "LOOKUP_LIMIT", 1)
    answer = _find(http, women["h"]["mon1"], name="王小红")
    assert len(answer["matches"]) == 1
    assert answer["truncated"] is True
    assert _find(http, women["h"]["rev-s1"], name="王小红")["truncated"] is False
    with services.db.reading() as session:
        details = set(
            session.scalars(
                select(AuditEvent.detail).where(AuditEvent.action == "pregnancy.lookup")
            )
        )
    assert details == {"by name: more than 1 found", "by name: 1 found"}


# -- the command line: reindex-names and keys rotate ------------------------------------------


def _cli(services: Services, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "mch_service", *args],
        env={
            **os.environ,
            "MCH_DATABASE_URL": services.settings.database_url,
            "MCH_SECRET_KEY": TEST_SECRET,
            "MCH_ENV": "test",
            **env,
        },
        capture_output=True,
        text=True,
        timeout=180,
    )


def _name_hashes(services: Services) -> dict[str, str | None]:
    with services.db.reading() as session:
        return dict(session.execute(select(m.PatientRecord.ref, m.PatientRecord.name_hash)).all())


def test_reindex_names_fills_the_hashes_of_records_stored_before_them(
    http: httpx.Client, services: Services, women: dict[str, Any]
) -> None:
    h, ids = women["h"], women["ids"]
    as_extracted = _name_hashes(services)
    assert len(as_extracted) == 3
    assert None not in as_extracted.values()
    # as after `db upgrade` to 0018: the column is there, empty
    with services.db.transaction() as session:
        session.execute(update(m.PatientRecord).values(name_hash=None))
    assert _ids(_find(http, h["mon1"], name="王小红")) == set()
    r = _cli(services, "pregnancies", "reindex-names")
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "name hashes: 3 written of 3 patient records"
    assert _name_hashes(services) == as_extracted  # what the extraction computes
    assert _ids(_find(http, h["mon1"], name="王小红")) == {ids["X"], ids["Y"]}
    assert _ids(_find(http, h["rev-s2"], name="王小红")) == {ids["Y"]}
    again = _cli(services, "pregnancies", "reindex-names")
    assert again.stdout.strip() == "name hashes: 0 written of 3 patient records"


def test_keys_rotate_rehashes_the_names(
    http: httpx.Client, services: Services, women: dict[str, Any], live_server: object
) -> None:
    h, ids = women["h"], women["ids"]
    before = _name_hashes(services)
    new_secret = "a-new-root-secret-for-the-name-search-0123456789abcdef"
    rotated_settings = services.settings.model_copy(
        update={"secret_key": new_secret, "previous_secret_keys": [TEST_SECRET]}
    )
    rotated = build_services(rotated_settings, Database(rotated_settings.database_url))
    try:
        live_server.point_at(rotated)  # type: ignore[attr-defined]
        # the restart with the new secret, before the rotation: names hashed under the old
        # secret are not found (the test below is not passing by chance)
        assert _ids(_find(http, h["mon1"], name="王小红")) == set()
        r = _cli(
            services,
            "keys",
            "rotate",
            MCH_SECRET_KEY=new_secret,
            MCH_PREVIOUS_SECRET_KEYS=json.dumps([TEST_SECRET]),
        )
        assert r.returncode == 0, r.stderr
        assert "re-hashed 3 names" in r.stdout
        after = _name_hashes(services)
        new_hash = rotated.crypto.keyed_hash
        assert sorted(after.values()) == sorted(  # type: ignore[type-var]
            [
                name_hash(new_hash, "王小红"),
                name_hash(new_hash, "王小红"),
                name_hash(new_hash, "李四"),
            ]
        )
        assert not set(after.values()) & set(before.values())
        assert _ids(_find(http, h["mon1"], name="王 小红")) == {ids["X"], ids["Y"]}
        assert _ids(_find(http, h["rev-s1"], name="王小红")) == {ids["X"]}
        assert _ids(_find(http, h["mon1"], name="李四", birth_date="1990-03-07")) == {ids["Z"]}
    finally:
        rotated.db.dispose()
