"""Staff accounts: creation, passwords, tokens, sessions, back-off — over HTTP and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta

import argon2
import httpx
import pytest
from sqlalchemy import select, update

from mch_service.app import Services
from mch_service.audit.models import AuditEvent
from mch_service.auth import passwords, throttle
from mch_service.auth.models import SignInThrottle, StaffToken, StaffUser
from mch_service.auth.permissions import system_principal
from mch_service.auth.schemas import UserCreate
from tests.conftest import TEST_SECRET

PASSWORD = "Correct-Horse-42"


def add_user(
    services: Services,
    username: str,
    role: str,
    streets: list[str] | None = None,
    institutions: list[str] | None = None,
) -> None:
    if role == "reviewer" and not (streets or institutions):
        streets = ["330102001"]
    with services.db.transaction() as session:
        services.accounts.add_user(
            session,
            system_principal(),
            UserCreate(
                username=username,
                role=role,
                password=PASSWORD,
                streets=streets or [],
                institutions=institutions or [],
            ),
        )


def token_for(http: httpx.Client, username: str, password: str = PASSWORD) -> str:
    r = http.post("/api/v1/token", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    return r.json()["access_token"]  # type: ignore[no-any-return]


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _cli(
    services: Services, *args: str, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "MCH_DATABASE_URL": services.settings.database_url,
        "MCH_SECRET_KEY": TEST_SECRET,
        "MCH_ENV": "test",
    }
    return subprocess.run(
        [sys.executable, "-m", "mch_service", *args],
        env=env,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_first_admin_from_the_cli_then_token(services: Services, http: httpx.Client) -> None:
    r = _cli(
        services,
        "users",
        "add",
        "--username",
        "root",
        "--role",
        "admin",
        "--password-stdin",
        stdin=PASSWORD + "\n",
    )
    assert r.returncode == 0, r.stderr
    me = http.get("/api/v1/me", headers=bearer(token_for(http, "root")))
    assert me.json() == {"username": "root", "role": "admin", "streets": [], "institutions": []}


def test_cli_generates_a_password_and_parses_jurisdiction(
    services: Services, http: httpx.Client
) -> None:
    with services.db.transaction() as session:
        from mch_service.institutions.service import add_institution

        add_institution(session, "hosp-a", "A")
    r = _cli(
        services,
        "users",
        "add",
        "--username",
        "rev1",
        "--role",
        "reviewer",
        "--jurisdiction",
        "330102001,hosp-a",
        "--jurisdiction",
        "street:330102002",
    )
    assert r.returncode == 0, r.stderr
    password = r.stdout.split("password (shown once): ")[1].strip()
    me = http.get("/api/v1/me", headers=bearer(token_for(http, "rev1", password))).json()
    assert me["streets"] == ["330102001", "330102002"]
    assert me["institutions"] == ["hosp-a"]
    bad = _cli(
        services,
        "users",
        "add",
        "--username",
        "rev2",
        "--role",
        "reviewer",
        "--jurisdiction",
        "institution:nowhere",
    )
    assert bad.returncode == 1
    assert "no institution nowhere" in bad.stderr


@pytest.mark.parametrize(
    ("password", "problem"),
    [
        ("short1A!", "at least 10"),
        ("alllowercase", "mix three"),
        ("Root-is-admin-99", "username"),
    ],
)
def test_weak_passwords_are_refused(services: Services, password: str, problem: str) -> None:
    r = _cli(
        services,
        "users",
        "add",
        "--username",
        "root",
        "--role",
        "admin",
        "--password-stdin",
        stdin=password + "\n",
    )
    assert r.returncode == 1
    assert problem in r.stderr
    with services.db.reading() as session:
        assert session.scalar(select(StaffUser.id)) is None


def test_passwords_are_stored_as_argon2_hashes(services: Services) -> None:
    add_user(services, "admin1", "admin")
    with services.db.reading() as session:
        stored = session.scalar(select(StaffUser.password_hash))
    assert stored is not None
    assert stored.startswith("$argon2id$")
    assert PASSWORD not in stored


def test_wrong_password_unknown_user_and_back_off(
    services: Services, http: httpx.Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(throttle, "FIRST_DELAY", timedelta(minutes=1))  # outlives a slow machine
    add_user(services, "admin1", "admin")
    wrong = http.post("/api/v1/token", json={"username": "admin1", "password": "nope"})
    unknown = http.post("/api/v1/token", json={"username": "ghost", "password": "nope"})
    assert wrong.status_code == unknown.status_code == 401
    assert wrong.json() == unknown.json()  # no hint whether the user exists
    for _ in range(services.settings.lockout_threshold - 1):
        http.post("/api/v1/token", json={"username": "admin1", "password": "nope"})
    # now slowed down: even the right password waits, told how long (429, Retry-After)
    slowed = http.post("/api/v1/token", json={"username": "admin1", "password": PASSWORD})
    assert slowed.status_code == 429
    assert 1 <= int(slowed.headers["Retry-After"]) <= 60 * services.settings.lockout_minutes
    assert slowed.json()["error"]["code"] == "throttled"
    with services.db.reading() as session:
        outcomes = session.scalars(
            select(AuditEvent.detail)
            .where(AuditEvent.action == "auth.sign_in")
            .order_by(AuditEvent.id)
        ).all()
    assert any("slowed down" in (d or "") for d in outcomes)
    # the back-off lifts after its time
    with services.db.transaction() as session:
        session.execute(update(SignInThrottle).values(blocked_until=None))
    assert (
        http.post("/api/v1/token", json={"username": "admin1", "password": PASSWORD}).status_code
        == 200
    )


def test_form_login_for_oauth2_clients(services: Services, http: httpx.Client) -> None:
    add_user(services, "admin1", "admin")
    r = http.post("/api/v1/token", data={"username": "admin1", "password": PASSWORD})
    assert r.status_code == 200
    assert r.json()["token_type"] == "bearer"


def test_revoked_and_expired_tokens(services: Services, http: httpx.Client) -> None:
    add_user(services, "admin1", "admin")
    token = token_for(http, "admin1")
    assert http.get("/api/v1/me", headers=bearer(token)).status_code == 200
    assert http.post("/api/v1/token/revoke", headers=bearer(token)).status_code == 204
    assert http.get("/api/v1/me", headers=bearer(token)).status_code == 401
    second = token_for(http, "admin1")
    with services.db.transaction() as session:
        row = session.scalars(select(StaffToken).order_by(StaffToken.id.desc())).first()
        assert row is not None
        row.expires_at = row.created_at - timedelta(seconds=1)
    r = http.get("/api/v1/me", headers=bearer(second))
    assert r.status_code == 401
    assert "expired" in r.json()["error"]["message"]


def test_reset_password_and_disable_sign_out_everywhere(
    services: Services, http: httpx.Client
) -> None:
    add_user(services, "admin1", "admin")
    add_user(services, "mon1", "monitor")
    admin = bearer(token_for(http, "admin1"))
    mon = bearer(token_for(http, "mon1"))
    r = http.post(
        "/api/v1/users/mon1/reset-password", json={"password": "New-Password-77"}, headers=admin
    )
    assert r.status_code == 204
    assert http.get("/api/v1/me", headers=mon).status_code == 401
    mon = bearer(token_for(http, "mon1", "New-Password-77"))
    assert http.post("/api/v1/users/mon1/disable", headers=admin).status_code == 204
    assert http.get("/api/v1/me", headers=mon).status_code == 401
    assert (
        http.post(
            "/api/v1/token", json={"username": "mon1", "password": "New-Password-77"}
        ).status_code
        == 401
    )


def test_user_admin_api(services: Services, http: httpx.Client) -> None:
    add_user(services, "admin1", "admin")
    admin = bearer(token_for(http, "admin1"))
    r = http.post(
        "/api/v1/users",
        headers=admin,
        json={
            "username": "rev9",
            "role": "reviewer",
            "password": PASSWORD,
            "streets": ["330102003"],
        },
    )
    assert r.status_code == 201, r.text
    assert "password" not in r.text
    assert "hash" not in r.text
    dup = http.post(
        "/api/v1/users",
        headers=admin,
        json={"username": "rev9", "role": "reviewer", "password": PASSWORD, "streets": ["1"]},
    )
    assert dup.status_code == 409
    no_scope = http.post(
        "/api/v1/users",
        headers=admin,
        json={"username": "rev8", "role": "reviewer", "password": PASSWORD},
    )
    assert no_scope.status_code == 400
    users = {u["username"]: u for u in http.get("/api/v1/users", headers=admin).json()}
    assert users["rev9"]["streets"] == ["330102003"]
    changed = http.put(
        "/api/v1/users/rev9/jurisdiction",
        headers=admin,
        json={"streets": [], "institutions": ["hosp-x"]},
    )
    assert changed.json()["institutions"] == ["hosp-x"]


def test_browser_session_with_csrf_and_idle_timeout(services: Services, http: httpx.Client) -> None:
    add_user(services, "admin1", "admin")
    page = http.get("/login")
    assert page.status_code == 200
    assert "登录" in page.text
    csrf = page.text.split('name="csrf_token" value="')[1].split('"')[0]
    # a post without the form's token (as a forged cross-site form would be) does not sign in
    forged = http.post(
        "/login",
        data={"username": "admin1", "password": PASSWORD, "csrf_token": "forged"},
        follow_redirects=False,
    )
    assert forged.status_code == 303
    assert "mch_session" not in forged.cookies
    ok = http.post(
        "/login",
        data={"username": "admin1", "password": PASSWORD, "csrf_token": csrf, "next": "/"},
        follow_redirects=False,
    )
    assert ok.status_code == 303
    cookie = ok.headers["set-cookie"]
    assert "mch_session=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=lax" in cookie
    assert "Secure" not in cookie  # plain http here; "auto" sets it over https
    home = http.get("/")
    assert home.status_code == 200
    assert "admin1" in home.text
    # an API change through the cookie needs the session's CSRF token
    r = http.post("/api/v1/users", json={"username": "m2", "role": "monitor", "password": PASSWORD})
    assert r.status_code == 403
    # idle too long: signed out
    with services.db.transaction() as session:
        row = session.scalars(select(StaffToken).where(StaffToken.kind == "session")).one()
        row.last_seen_at = row.last_seen_at - timedelta(
            minutes=services.settings.session_idle_minutes + 1
        )
    assert http.get("/api/v1/me").status_code == 401
    assert http.get("/", follow_redirects=False).status_code == 303


def test_english_switch_and_offline_page(services: Services, http: httpx.Client) -> None:
    en = http.get("/login?lang=en")
    assert "Sign in" in en.text
    assert http.get("/login").text.count("Sign in") >= 1  # the choice is remembered
    assert "http://" not in en.text.replace("http://www.w3.org", "")
    assert "https://" not in en.text
    assert http.get("/static/app.css").status_code == 200


def test_refusals_are_audited(services: Services, http: httpx.Client) -> None:
    add_user(services, "mon1", "monitor")
    add_user(services, "admin1", "admin")
    mon = bearer(token_for(http, "mon1"))
    assert http.get("/api/v1/users", headers=mon).status_code == 403
    assert http.get("/api/v1/pregnancies/P404", headers=mon).status_code == 404
    assert http.get("/api/v1/me", headers=bearer("expired-or-made-up")).status_code == 401
    events = http.get(
        "/api/v1/audit?action=access.denied", headers=bearer(token_for(http, "admin1"))
    ).json()["events"]
    seen = {(e["actor_id"], e["status_code"], e["detail"]) for e in events}
    assert ("mon1", 403, "GET /api/v1/users") in seen
    assert ("mon1", 404, "GET /api/v1/pregnancies/P404") in seen
    assert (None, 401, "GET /api/v1/me") in seen


def test_docs_are_served_offline(http: httpx.Client) -> None:
    page = http.get("/docs/interface-guide")
    assert page.status_code == 200
    assert "<table>" in page.text
    assert "Interface guide" in page.text
    assert http.get("/docs/indicators").status_code == 200
    assert http.get("/docs/../../etc/passwd").status_code == 404
    assert http.get("/docs/secret-notes").status_code == 404


def test_the_service_hashes_with_the_recommended_profile() -> None:
    """The suite hashes with the cheapest parameters (tests/conftest.py); the service itself
    with the library's recommended ones, and it re-makes a cheaper hash at the next sign-in."""
    code = (
        "from mch_service.auth import passwords as p; import argon2;"
        "h = p.hash_password('Correct-Horse-7');"
        "r = argon2.profiles.RFC_9106_LOW_MEMORY;"
        "x = argon2.extract_parameters(h);"
        "print(x.memory_cost == r.memory_cost and x.time_cost == r.time_cost,"
        " p.verify_password(h, 'Correct-Horse-7'))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.split() == ["True", "True"], out.stderr
    cheap = passwords.hash_password("Correct-Horse-7")
    assert passwords.verify_password(cheap, "Correct-Horse-7")
    assert argon2.extract_parameters(cheap).memory_cost < 65536
    recheck = "import sys; from mch_service.auth import passwords as p;"
    recheck += "print(p.needs_rehash(sys.argv[1]))"
    out = subprocess.run(
        [sys.executable, "-c", recheck, cheap], capture_output=True, text=True, timeout=60
    )
    assert out.stdout.strip() == "True", out.stderr
