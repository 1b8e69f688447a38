"""Send a simulated district to a running service, the way the institutions would.

Each institution pushes with its own API key, in its own order: its history backfill through
``POST /fhir/$import`` (then polls the job until its report is ready), then its Bundles one by
one through ``POST /fhir``. Several institutions push at once (threads). Network errors, 5xx,
429 and 409 ("changed under concurrent writes, send again") are retried with backoff; a retry
is safe because the service stores the same record sent twice once.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import orjson

_RETRY_STATUS = frozenset({409, 429, 500, 502, 503, 504})
_MAX_PROBLEMS = 50


@dataclass
class InstitutionPush:
    id: str
    sent: int = 0  # history lines + bundle entries
    accepted: int = 0
    rejected: int = 0
    expected_rejections: int = 0  # the deliberately invalid resources
    retries: int = 0
    problems: list[str] = field(default_factory=list)  # what went wrong unexpectedly

    def problem(self, text: str) -> None:
        if len(self.problems) < _MAX_PROBLEMS:
            self.problems.append(text)


@dataclass
class PushReport:
    institutions: list[InstitutionPush]

    @property
    def sent(self) -> int:
        return sum(i.sent for i in self.institutions)

    @property
    def accepted(self) -> int:
        return sum(i.accepted for i in self.institutions)

    @property
    def rejected(self) -> int:
        return sum(i.rejected for i in self.institutions)

    @property
    def expected_rejections(self) -> int:
        return sum(i.expected_rejections for i in self.institutions)

    @property
    def unexpected(self) -> list[str]:
        return [f"{i.id}: {p}" for i in self.institutions for p in i.problems]

    @property
    def ok(self) -> bool:
        """Everything accepted except exactly the deliberately invalid resources."""
        return not self.unexpected and self.rejected == self.expected_rejections

    def as_dict(self) -> dict[str, Any]:
        return {
            "sent": self.sent,
            "accepted": self.accepted,
            "rejected": self.rejected,
            "expected_rejections": self.expected_rejections,
            "ok": self.ok,
            "unexpected": self.unexpected,
            "institutions": [i.__dict__ for i in self.institutions],
        }


class _Failed(Exception):
    pass


def push(
    out_dir: Path,
    base_url: str,
    api_keys: dict[str, str],
    senders: int,
    progress: Callable[[int], None] | None = None,
    *,
    timeout: float = 120.0,
    max_attempts: int = 6,
    poll_interval: float = 0.25,
    transport: httpx.BaseTransport | None = None,
    backoff: float = 0.5,
    history: bool = True,
    bundles: Callable[[str, list[str]], list[str]] | None = None,
) -> PushReport:
    """Push ``out_dir`` (written by ``simulate``) to the service at ``base_url`` (its root or
    its ``/fhir`` base). ``api_keys`` maps institution id to API key; ``senders`` institutions
    push at the same time. ``progress`` is called with the number of resources just sent.
    ``transport`` replaces the network (tests); ``backoff`` is the first retry's wait in
    seconds (it doubles, up to 10). A part of the district (the scale benchmark's phases):
    ``history=False`` skips the $import backfills; ``bundles(institution, names)`` chooses
    which of an institution's Bundles (in send order) are sent."""
    out_dir = Path(out_dir)
    manifest = orjson.loads((out_dir / "manifest.json").read_bytes())
    for info in manifest["institutions"]:
        if not history:
            info["history"] = None
        if bundles is not None:
            info["bundles"] = bundles(info["id"], list(info["bundles"]))
    institutions = [i for i in manifest["institutions"] if i["history"] or i["bundles"]]
    missing = [i["id"] for i in institutions if i["id"] not in api_keys]
    if missing:
        raise ValueError(f"no API key for {', '.join(missing)}")
    base = base_url.rstrip("/")
    if not base.endswith("/fhir"):
        base += "/fhir"
    lock = threading.Lock()

    def advance(n: int) -> None:
        if progress is not None and n:
            with lock:
                progress(n)

    def one(info: dict[str, Any]) -> InstitutionPush:
        sender = _Sender(
            base, api_keys[info["id"]], timeout, max_attempts, poll_interval, transport, backoff
        )
        try:
            return sender.run(out_dir, info, advance)
        finally:
            sender.close()

    with ThreadPoolExecutor(max_workers=max(1, senders), thread_name_prefix="push") as pool:
        results = list(pool.map(one, institutions))
    return PushReport(results)


class _Sender:
    def __init__(
        self,
        base: str,
        key: str,
        timeout: float,
        max_attempts: int,
        poll_interval: float,
        transport: httpx.BaseTransport | None,
        backoff: float,
    ) -> None:
        self.backoff = backoff
        self.base = base
        self.client = httpx.Client(
            base_url=base,
            headers={"Authorization": f"Bearer {key}"},
            timeout=timeout,
            transport=transport,
        )
        self.max_attempts = max_attempts
        self.poll_interval = poll_interval
        self.result = InstitutionPush("")

    def close(self) -> None:
        self.client.close()

    def run(
        self, out_dir: Path, info: dict[str, Any], advance: Callable[[int], None]
    ) -> InstitutionPush:
        r = self.result = InstitutionPush(
            info["id"], expected_rejections=info["expected_rejections"]
        )
        try:
            if info["history"]:
                self._history(out_dir / info["history"], info["history_lines"], advance)
            batches = info["batch_bundles"]
            for name in info["bundles"]:
                self._bundle(out_dir / name, name, name in batches, advance)
        except _Failed as exc:
            r.problem(str(exc))
        return r

    def _request(
        self, method: str, url: str, body: Callable[[], Any] | None, headers: dict[str, str]
    ) -> httpx.Response:
        delay = self.backoff
        for attempt in range(1, self.max_attempts + 1):
            try:
                response = self.client.request(
                    method, url, content=body() if body else None, headers=headers
                )
            except httpx.TransportError as exc:
                if attempt == self.max_attempts:
                    raise _Failed(f"{method} {url}: {type(exc).__name__}: {exc}") from exc
            else:
                if response.status_code not in _RETRY_STATUS or attempt == self.max_attempts:
                    return response
            self.result.retries += 1
            time.sleep(delay)
            delay = min(delay * 2, 10.0)
        raise AssertionError("unreachable")

    def _history(self, path: Path, lines: int, advance: Callable[[int], None]) -> None:
        def body() -> Iterator[bytes]:
            with path.open("rb") as fh:
                while chunk := fh.read(1 << 20):
                    yield chunk

        r = self.result
        response = self._request(
            "POST", "/$import", body, {"Content-Type": "application/fhir+ndjson"}
        )
        if response.status_code != 202 or "content-location" not in response.headers:
            r.sent += lines
            r.rejected += lines
            raise _Failed(f"$import: HTTP {response.status_code}: {_diagnostics(response)}")
        status_url = response.headers["content-location"]
        reported = 0
        while True:
            status = self._request("GET", status_url, None, {"Accept": "application/fhir+json"})
            body_json = status.json() if status.content else {}
            done = int(body_json.get("lines_done") or 0)
            advance(done - reported)
            reported = done
            if status.status_code == 202:
                time.sleep(self.poll_interval)
                continue
            break
        report = body_json.get("report")
        if status.status_code != 200 or body_json.get("status") != "done" or report is None:
            raise _Failed(f"$import job ended {body_json.get('status')}: {body_json.get('error')}")
        advance(report["lines"] - reported)
        r.sent += report["lines"]
        r.accepted += report["accepted"]
        r.rejected += report["rejected"]
        for e in report.get("errors", []):
            r.problem(f"{path.name} line {e['line']}: {e['reason']}")

    def _bundle(
        self, path: Path, name: str, is_batch: bool, advance: Callable[[int], None]
    ) -> None:
        r = self.result
        raw = path.read_bytes()
        entries = len(orjson.loads(raw).get("entry") or [])
        response = self._request(
            "POST",
            self.base,  # "POST [base]": exactly the base, no trailing slash
            lambda: raw,
            {"Content-Type": "application/fhir+json", "Prefer": "return=minimal"},
        )
        r.sent += entries
        advance(entries)
        if response.status_code != 200:
            r.rejected += entries
            r.problem(f"{name}: HTTP {response.status_code}: {_diagnostics(response)}")
            return
        for i, entry in enumerate(response.json().get("entry") or []):
            status = str((entry.get("response") or {}).get("status", ""))
            if status[:1] == "2":
                r.accepted += 1
                if is_batch:
                    r.problem(f"{name} entry {i}: an invalid resource was accepted ({status})")
            else:
                r.rejected += 1
                if not is_batch:
                    r.problem(f"{name} entry {i}: {status}")


def _diagnostics(response: httpx.Response) -> str:
    try:
        body = response.json()
    except ValueError:
        return response.text[:300]
    issues = body.get("issue") if isinstance(body, dict) else None
    if not issues:
        return str(body)[:300]
    return "; ".join(
        f"{(i.get('expression') or ['-'])[0]}: {i.get('diagnostics', '')}" for i in issues[:3]
    )[:600]
