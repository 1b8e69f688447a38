"""What every HTTP response carries and what the server writes to its log: security headers,
the request id, the access log (no personal data, no raw control characters), unexpected
errors in production, and the API schema kept for staff in production."""

from __future__ import annotations

import json
import logging
import os
import re
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import httpx
import pytest
import uvicorn
from fastapi import FastAPI

from jobs.main import create_app
from mch_service.config import Settings
from mch_service.logs import JsonFormatter, escape_controls
from mch_service.services import Services
from tests.auth.test_accounts import PASSWORD, add_user, bearer, token_for
from tests.cases.test_case_api import case_id, red_woman
from tests.conftest import TEST_SECRET, SenderKey, make_sender
from tests.indicators.test_indicator_service import _valid_rid

NAME = "欧阳秀英"
RESIDENT_ID = "11010119900307002X"
RID_SYSTEM = "urn:oid:2.16.156.10011.1.3"


def _patient() -> dict[str, Any]:
    return {
        "resourceType": "Patient",
        "identifier": [{"system": RID_SYSTEM, "value": RESIDENT_ID}],
        "name": [{"text": NAME}],
        "gender": "female",
        "birthDate": "1990-03-07",
    }


# --- security headers ----------------------------------------------------------------------


def _common_headers(r: httpx.Response) -> None:
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp
    assert "unsafe-inline" not in csp
    assert "frame-ancestors 'none'" in csp
    assert r.headers["x-content-type-options"] == "nosniff"
    assert r.headers["x-frame-options"] == "DENY"
    assert r.headers["referrer-policy"] == "no-referrer"
    assert "strict-transport-security" not in r.headers  # plain HTTP
    assert re.fullmatch(r"[0-9a-f]{32}", r.headers["x-request-id"])


def test_security_headers_on_fhir_api_pages_and_static_files(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    add_user(services, "admin1", "admin")
    admin = bearer(token_for(http, "admin1"))
    fhir = http.get("/fhir/Patient", headers=sender.headers)
    api = http.get("/api/v1/audit", headers=admin)
    refused = http.get("/api/v1/audit")
    page = http.get("/login")
    static = http.get("/static/app.css")
    for r in (fhir, api, refused, page, static):
        _common_headers(r)
    assert [fhir.status_code, api.status_code, refused.status_code] == [200, 200, 401]
    # personal data may be in any FHIR or staff API answer: never cached
    for r in (fhir, api, refused):
        assert r.headers["cache-control"] == "no-store"
    assert "no-store" not in static.headers.get("cache-control", "")
    assert len({r.headers["x-request-id"] for r in (fhir, api, refused, page, static)}) == 5


def test_every_page_names_its_icon_served_here(http: httpx.Client) -> None:
    """No browser asks for /favicon.ico (a 404 in every log): the pages name an icon the
    service serves itself."""
    page = http.get("/login").text
    assert '<link rel="icon" href="/static/favicon.svg" type="image/svg+xml">' in page
    icon = http.get("/static/favicon.svg")
    assert icon.status_code == 200
    assert icon.headers["content-type"].startswith("image/svg+xml")
    assert icon.text.startswith("<svg")


def test_hsts_only_over_https(http: httpx.Client) -> None:
    behind_tls = http.get("/login", headers={"X-Forwarded-Proto": "https"})
    assert behind_tls.headers["strict-transport-security"].startswith("max-age=")
    assert "strict-transport-security" not in http.get("/login").headers
    plain = http.get("/login", headers={"X-Forwarded-Proto": "http"})
    assert "strict-transport-security" not in plain.headers


def test_a_sane_request_id_from_a_proxy_is_kept_others_replaced(http: httpx.Client) -> None:
    kept = http.get("/healthz", headers={"X-Request-ID": "proxy-req-0001"})
    assert kept.headers["x-request-id"] == "proxy-req-0001"
    replaced = http.get("/healthz", headers={"X-Request-ID": "a b<script>"})
    assert re.fullmatch(r"[0-9a-f]{32}", replaced.headers["x-request-id"])


def _sign_in_with_the_form(client: httpx.Client, username: str) -> httpx.Response:
    login = client.get("/login")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', login.text)
    assert csrf is not None
    return client.post(
        "/login",
        data={"username": username, "password": PASSWORD, "csrf_token": csrf.group(1)},
        follow_redirects=True,
    )


def test_pages_have_no_inline_script_or_style(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    """The CSP allows scripts and styles from our own files only: an inline one would be
    blocked in the browser, so none may be in a page."""
    add_user(services, "admin1", "admin")
    login = http.get("/login")
    signed_in = _sign_in_with_the_form(http, "admin1")
    assert "sign-out" in signed_in.text  # the home page of a signed-in user
    pages = [login.text, signed_in.text, http.get("/docs/interface-guide").text]
    pages += [
        http.get(path).text
        for path in (
            "/admin/institutions",
            "/admin/streets",
            "/admin/users",
            "/admin/jobs",
            "/admin/code-tables",
            "/worklists",
            "/worklists/call-sheet",
            "/pregnancies/search",
        )
    ]
    pages.append(http.get("/admin/audit").text)
    # the case page (web/case_pages.py), of a red woman
    red_woman(http, sender, "330102001", "A1", _valid_rid("33010219900101111"))
    case_page = http.get(f"/cases/{case_id(services, '330102001')}")
    assert case_page.status_code == 200
    pages.append(case_page.text)
    # the monitoring pages (with no figures yet; tests/web/test_dashboard_pages.py with data)
    pages += [http.get(path).text for path in ("/indicators", "/data-quality")]
    pages.append(http.get("/indicators/hiv_test_rate?period=2025-01").text)
    for html in pages:
        assert "<html" in html
        found = _InlineCode()
        found.feed(html)
        assert found.inline == []


class _InlineCode(HTMLParser):
    """Inline script or style in the markup (elements and attributes, not text: the interface
    guide's own text names `onerror=` and `<script>` as what senders may not send)."""

    def __init__(self) -> None:
        super().__init__()
        self.inline: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        names = {k.lower(): v or "" for k, v in attrs}
        if tag == "style" or (tag == "script" and "src" not in names):
            self.inline.append(f"<{tag}>")
        for name, value in names.items():
            if name == "style" or name.startswith("on"):
                self.inline.append(f"<{tag} {name}=>")
            if name in ("href", "src", "action") and value.strip().lower().startswith(
                "javascript:"
            ):
                self.inline.append(f"<{tag} {name}=javascript:>")


# --- the API schema in production ----------------------------------------------------------


@contextmanager
def _serving(app: FastAPI) -> Iterator[httpx.Client]:
    """``app`` served by uvicorn in a thread (the shared test server runs in "test" mode)."""
    port = _free_port()
    config = uvicorn.Config(app, port=port, lifespan="off", access_log=False, log_config=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started:
        assert time.monotonic() < deadline, "server did not start"
        time.sleep(0.01)
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as client:
            yield client
    finally:
        server.should_exit = True
        thread.join(5)


def _production_app(services: Services) -> FastAPI:
    settings = Settings(
        env="production",
        secret_key=TEST_SECRET,
        database_url=services.settings.database_url,
    )
    return create_app(settings, services)


def test_openapi_is_for_signed_in_staff_in_production(
    http: httpx.Client, services: Services
) -> None:
    assert http.get("/openapi.json").status_code == 200  # development and test: open
    add_user(services, "monitor1", "monitor")
    with _serving(_production_app(services)) as client:
        _staff_only_schema(client)


def _staff_only_schema(client: httpx.Client) -> None:
    anonymous = client.get("/openapi.json")
    assert anonymous.status_code == 401
    assert "paths" not in anonymous.json()
    assert client.get("/openapi.json", headers=bearer("not-a-token")).status_code == 401
    token = token_for(client, "monitor1")
    schema = client.get("/openapi.json", headers=bearer(token))
    assert schema.status_code == 200
    assert "/api/v1/audit" in schema.json()["paths"]
    assert _sign_in_with_the_form(client, "monitor1").status_code == 200
    assert client.get("/openapi.json").status_code == 200  # the browser session
    assert client.get("/docs").status_code == 404  # no Swagger page at all


# --- unexpected errors -----------------------------------------------------------------------


def _failing_app(services: Services, env: str) -> FastAPI:
    app = _production_app(services) if env == "production" else create_app(services.settings)
    app.state.services = services

    @app.get("/api/v1/boom")
    async def boom() -> None:
        raise RuntimeError(f"could not match {RESIDENT_ID} {NAME}")

    return app


@pytest.mark.parametrize("env", ["production", "test"])
def test_an_unexpected_error_is_one_line_with_its_type_and_request_id(
    services: Services, caplog: pytest.LogCaptureFixture, env: str
) -> None:
    with caplog.at_level(logging.INFO), _serving(_failing_app(services, env)) as client:
        r = client.get("/api/v1/boom")
    assert r.status_code == 500
    assert r.json()["resourceType"] == "OperationOutcome"
    request_id = r.headers["x-request-id"]
    assert r.headers["x-content-type-options"] == "nosniff"
    formatter = JsonFormatter(tracebacks=env != "production")
    lines = [formatter.format(rec) for rec in caplog.records]
    errors = [json.loads(x) for x in lines if json.loads(x)["level"] == "error"]
    # one line (the handler's), never uvicorn's traceback
    assert [(e["error"], e["request_id"], e["route"]) for e in errors] == [
        ("RuntimeError", request_id, "/api/v1/boom")
    ]
    access = [json.loads(x) for x in lines if json.loads(x)["logger"] == "mch_service.access"]
    assert [(a["status"], a["request_id"]) for a in access] == [(500, request_id)]
    if env == "production":
        assert all("traceback" not in e for e in errors)
        assert not any(RESIDENT_ID in x or NAME in x for x in lines)
    else:
        assert "Traceback" in errors[0]["traceback"]  # developers see where it broke


# --- the access log of `mch-service serve` ---------------------------------------------------


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _serve(services: Services, port: int, log: Path) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        "MCH_DATABASE_URL": services.settings.database_url,
        "MCH_SECRET_KEY": TEST_SECRET,
        "MCH_ENV": "production",
        "MCH_SCHEDULER_IN_SERVER": "false",
        "MCH_LOG_LEVEL": "INFO",
    }
    exe = Path(sys.executable).with_name("mch-service")
    with log.open("wb") as out:
        return subprocess.Popen(
            [str(exe), "serve", "--port", str(port), "--no-upgrade"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )


def test_serve_writes_one_json_access_line_per_request_without_personal_data(
    services: Services, tmp_path: Path
) -> None:
    sender = make_sender(services, "hospital-a")
    port = _free_port()
    log = tmp_path / "serve.log"
    proc = _serve(services, port, log)
    try:
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            try:
                if httpx.get(f"{base}/healthz").status_code == 200:
                    break
            except httpx.TransportError:
                pass
            assert proc.poll() is None, log.read_text()
            assert time.monotonic() < deadline, "serve did not start"
            time.sleep(0.2)
        with httpx.Client(base_url=base, timeout=30) as client:
            created = client.post("/fhir/Patient", json=_patient(), headers=sender.headers)
            assert created.status_code == 201, created.text
            pid = created.json()["id"]
            found = client.get(
                f"/fhir/Patient?identifier={RID_SYSTEM}|{RESIDENT_ID}", headers=sender.headers
            )
            assert found.json()["total"] == 1
            assert client.get(f"/fhir/Patient/{pid}", headers=sender.headers).status_code == 200
            odd = client.get("/fhir/Patient/a%0Ab%00c%0D%1B", headers=sender.headers)
            assert 400 <= odd.status_code < 500, odd.text
            nowhere = client.get("/x%0A%7B%22status%22%3A200%7D%00y")
            assert nowhere.status_code == 400  # control characters in a URL: refused
            ids = [r.headers["x-request-id"] for r in (created, found, odd, nowhere)]
    finally:
        proc.terminate()
        proc.wait(30)
    raw = log.read_bytes()
    assert b"\x00" not in raw
    text = raw.decode("utf-8")
    for secret in (RESIDENT_ID, NAME, escape_controls(NAME), json.dumps(NAME)[1:-1]):
        assert secret not in text
    # Every line is one JSON object: a raw newline in a path would have split one.
    records = [json.loads(line) for line in text.splitlines() if line.strip()]
    access = [r for r in records if r["logger"] == "mch_service.access"]
    by_id = {r["request_id"]: r for r in access}
    assert set(ids) <= set(by_id)
    post, search, odd_line, nowhere_line = (by_id[i] for i in ids)
    assert (post["method"], post["route"], post["status"]) == ("POST", "/fhir/{rtype}", 201)
    assert post["who"] == "institution:hospital-a"
    assert search["query_params"] == ["identifier"]  # the name only, never the value
    assert odd_line["path"] == "/fhir/Patient/a\\x0ab\\x00c\\x0d\\x1b"
    assert odd_line["route"] == "/fhir/{rtype}/{fhir_id}"
    assert nowhere_line["path"] == '/x\\x0a{"status":200}\\x00y'
    assert nowhere_line["status"] == 400
    assert all(isinstance(r["duration_ms"], float) and r["client"] == "127.0.0.1" for r in access)


def test_a_nul_in_the_url_is_refused_as_bad_input_not_a_500(
    http: httpx.Client, services: Services, sender: SenderKey
) -> None:
    """PostgreSQL refuses text holding NUL: before, a read of Patient/a%00b ended in a 500."""
    add_user(services, "admin1", "admin")
    admin = bearer(token_for(http, "admin1"))
    for url, headers in [
        ("/fhir/Patient/a%00b", sender.headers),
        ("/fhir/Patient/a%00b/_history", sender.headers),
        ("/fhir/Patient?identifier=x%7Ca%00b", sender.headers),
        ("/fhir/Patient?a%00b=x", sender.headers),
        ("/api/v1/audit?actor=a%00b", admin),
        ("/api/v1/pregnancies/P1%00", admin),
    ]:
        r = http.get(url, headers=headers)
        assert r.status_code == 400, (url, r.text)
        body = r.json()
        if url.startswith("/fhir"):
            assert body["resourceType"] == "OperationOutcome"
        else:
            assert body["error"]["code"] == "invalid"
            assert "control character" in body["error"]["message"]
    put = http.put("/fhir/Patient/a%00b", json={"resourceType": "Patient"}, headers=sender.headers)
    assert put.status_code == 400
    assert http.get("/fhir/Patient", headers=sender.headers).json()["total"] == 0


def test_an_error_no_handler_answered_is_answered_and_logged_once(
    caplog: pytest.LogCaptureFixture,
) -> None:
    import asyncio

    from mch_service.middleware import AccessLog

    async def broken(scope: Any, receive: Any, send: Any) -> None:
        raise ValueError(f"bad {RESIDENT_ID}")

    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b""}

    scope = {"type": "http", "method": "GET", "path": "/x", "headers": [], "query_string": b""}
    with caplog.at_level(logging.INFO):
        asyncio.run(AccessLog(broken)(scope, receive, send))  # not raised
    assert sent[0]["status"] == 500
    assert json.loads(sent[1]["body"])["resourceType"] == "OperationOutcome"
    lines = [JsonFormatter(tracebacks=False).format(r) for r in caplog.records]
    assert [json.loads(x)["error"] for x in lines if '"error"' in x] == ["ValueError"]
    assert not any(RESIDENT_ID in x for x in lines)


def _successful_responses(document: dict[str, Any]) -> Iterator[tuple[str, str, str, Any]]:
    for path, operations in document["paths"].items():
        for method, operation in operations.items():
            for code, response in operation.get("responses", {}).items():
                if code.startswith("2"):
                    for media_type, body in response.get("content", {}).items():
                        yield f"{method.upper()} {path}", code, media_type, body.get("schema")


def test_the_openapi_document_shows_every_answers_shape(http: httpx.Client) -> None:
    """Integrators and staff-tool authors read what each route returns from the document: no
    successful answer is an empty schema (a route returning ``dict[str, Any]`` with no
    ``response_model`` shows as ``{}``)."""
    document = http.get("/openapi.json").json()
    answers = list(_successful_responses(document))
    assert len(answers) > 50
    shapeless = [(op, code, mt) for op, code, mt, schema in answers if not schema]
    assert shapeless == [], f"answers without a shape in the OpenAPI document: {shapeless}"
    by_operation = {op: (mt, schema) for op, _, mt, schema in answers}
    media_type, schema = by_operation["GET /fhir/{rtype}/{fhir_id}"]
    assert media_type == "application/fhir+json"
    assert "resourceType" in schema["required"]
    assert by_operation["GET /api/v1/cases/export.csv"][0] == "text/csv"
    assert "$ref" in by_operation["GET /api/v1/cases"][1]
