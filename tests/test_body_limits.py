"""Request bodies are bounded while they are read: a body over its route's limit is refused
with 413 in the route's error shape, and the server never holds more than the limit."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import httpx

from mch_service.app import Services
from tests.conftest import SenderKey

MB = 1024 * 1024


def _rss() -> int:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096


class _PeakRss:
    """The highest resident size of this process (the live server runs in it) while active."""

    def __init__(self) -> None:
        self.peak = self.start = _rss()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)

    def _watch(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, _rss())
            time.sleep(0.002)

    def __enter__(self) -> _PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    @property
    def growth(self) -> int:
        return self.peak - self.start


def _stream(total: int, chunk: int = 64 * 1024) -> Iterator[bytes]:
    """A chunked body (no Content-Length): the server only learns its size by reading."""
    sent = 0
    while sent < total:
        yield b"x" * min(chunk, total - sent)
        sent += chunk


def _post_streamed(http: httpx.Client, url: str, total: int, **headers: str) -> httpx.Response:
    return http.post(url, content=_stream(total), headers=headers)


def test_streamed_sign_in_body_is_cut_off_with_bounded_memory(
    services: Services, http: httpx.Client
) -> None:
    with _PeakRss() as rss:
        r = _post_streamed(http, "/api/v1/token", 50 * MB, **{"Content-Type": "application/json"})
    assert r.status_code == 413, r.text
    assert r.json()["error"]["code"] == "too-costly"
    assert str(services.settings.max_staff_body_bytes) in r.json()["error"]["message"]
    assert rss.growth < 8 * MB, rss.growth


def test_declared_length_over_the_limit_is_refused_before_reading(
    services: Services, http: httpx.Client, sender: SenderKey
) -> None:
    limit = services.settings.max_body_bytes
    # A client that declares more than the limit is answered at once, from the header.
    r = http.post(
        "/fhir/Patient",
        content=b"{}" + b" " * (limit - 1),
        headers=sender.headers,
    )
    assert r.status_code == 413
    outcome = r.json()
    assert outcome["resourceType"] == "OperationOutcome"
    assert outcome["issue"][0]["code"] == "too-costly"


def test_streamed_fhir_body_over_the_limit_is_an_operation_outcome(
    services: Services, http: httpx.Client, sender: SenderKey
) -> None:
    with _PeakRss() as rss:
        r = _post_streamed(http, "/fhir", 60 * MB, **sender.headers)
    assert r.status_code == 413
    assert r.json()["resourceType"] == "OperationOutcome"
    assert rss.growth < services.settings.max_body_bytes + 8 * MB


def test_staff_route_with_a_pydantic_body_answers_413_in_its_json_shape(
    services: Services, http: httpx.Client
) -> None:
    # FastAPI reads a declared body model itself (and would call a cut-off body "not valid
    # JSON", 400): the limit still answers 413.
    r = http.post(
        "/api/v1/users",
        content=_stream(services.settings.max_staff_body_bytes + 1),
        headers={"Content-Type": "application/json", "Authorization": "Bearer x"},
    )
    assert r.status_code == 413, r.text
    assert r.json()["error"]["code"] == "too-costly"


def test_bodies_under_the_limit_pass(services: Services, http: httpx.Client) -> None:
    r = http.post(
        "/api/v1/token",
        content=_stream(1000),
        headers={"Content-Type": "application/json"},
    )
    # Not valid JSON, but read in full and judged by the route, not by the limit.
    assert r.status_code == 400, r.text
