"""Browser tests: Playwright for Python driving Debian's Chromium (/usr/bin/chromium; no browser
download) against the live test server, on SQLite and PostgreSQL.

Without the browser a newcomer's run skips these tests with the reason; under CI it fails
(`.ci/run` installs chromium with apt-get). Every page a test opens is checked to request nothing
outside the service (the pages work offline). Screenshots go to ``artifacts/screenshots/``
(git-ignored) at 1366x768, the smallest office screen the pages are made for."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.auth.test_accounts import PASSWORD

CHROMIUM = Path(os.environ.get("MCH_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
VIEWPORT = {"width": 1366, "height": 768}


@pytest.fixture
def browser() -> Iterator[Any]:
    """A browser per test: Playwright's sync API keeps an event loop running in this thread
    while it is started, which other tests' ``asyncio.run`` would trip over."""
    if not CHROMIUM.exists():
        reason = f"no browser at {CHROMIUM} (apt-get install chromium; .ci/run does)"
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        launched = p.chromium.launch(
            executable_path=str(CHROMIUM), args=["--no-sandbox", "--disable-gpu"]
        )
        yield launched
        launched.close()


class Tab:
    """One browser tab on the live server, remembering every URL it requested."""

    def __init__(self, context: Any, base_url: str) -> None:
        self.context = context
        self.base_url = base_url
        self.page = context.new_page()
        self.requested: list[str] = []
        self.page.on("request", lambda r: self.requested.append(r.url))

    def goto(self, path: str) -> Any:
        return self.page.goto(self.base_url + path)

    def sign_in(self, username: str, password: str = PASSWORD, then: str = "/") -> None:
        self.goto(f"/login?next={then}")
        self.page.get_by_label("用户名").fill(username)
        self.page.get_by_label("密码").fill(password)
        self.page.locator("#login-form button[type=submit]").click()
        self.page.wait_for_load_state()

    def shot(self, name: str, full_page: bool = True) -> Path:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path

    def outside_requests(self) -> list[str]:
        return [
            u
            for u in self.requested
            if not u.startswith(self.base_url) and not u.startswith(("data:", "about:"))
        ]


@pytest.fixture
def tabs(browser: Any, http: httpx.Client) -> Iterator[Any]:
    """``tabs()`` opens a tab in a new browser profile (its own cookies: another person). At the
    end, no tab may have asked anything of another host."""
    opened: list[Tab] = []
    base = str(http.base_url).rstrip("/")

    def open_tab() -> Tab:
        context = browser.new_context(viewport=VIEWPORT, locale="zh-CN")
        tab = Tab(context, base)
        opened.append(tab)
        return tab

    yield open_tab
    outside = [u for tab in opened for u in tab.outside_requests()]
    for tab in opened:
        tab.context.close()
    assert outside == [], f"pages requested outside the service: {outside}"
