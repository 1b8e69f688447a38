"""Sign-in throttling: exponential back-off per username-and-address, per username and per
address, checked before any password is hashed.

Why not a hard lock: five wrong passwords used to lock an account, so anyone could lock anyone
out. Now wrong passwords from one address slow down that address's attempts for that username
(1 s, 2 s, 4 s, ... up to MCH_LOCKOUT_MINUTES), so the owner signing in from elsewhere is not
affected; guessing one username from many addresses, or many usernames from one address, is
slowed down in the same way past a higher count. A slowed-down attempt is refused at once (429
with Retry-After) without hashing and without waiting: no thread sleeps, nothing queues.

Why our own code and not the ``limits`` package: its storages are memory, Redis, Memcached,
MongoDB and etcd; this service's only shared state is its database, and several server
processes must see the same counts. Its fixed and sliding windows are not a back-off either.

Attempts are counted when they start (before the hash), so a burst of concurrent attempts
cannot all slip past the count; an attempt that turns out right takes its count back.

Known addresses: the username-wide back-off would still let a stranger keep an account waiting
(wrong passwords from rotating addresses, one each time the wait ends). An address from which
the account signed in successfully within KNOWN_FOR is exempt from the username-wide count
(not from its own pair and address counts, which still slow any guessing from it): the owner
at her usual PC signs in while someone elsewhere guesses.
"""

from __future__ import annotations

import math
import threading
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy.orm import Session

from mch_service.auth import repository
from mch_service.auth.models import SignInThrottle
from mch_service.config import Settings
from mch_service.timeutil import to_utc

# The first delay once a key has had its allowed failures; each further failure doubles it.
FIRST_DELAY = timedelta(seconds=1)
# How long a successful sign-in makes its address known for that username.
KNOWN_FOR = timedelta(days=90)


@dataclass(frozen=True)
class Key:
    key: str
    allowed: int  # failures before the back-off starts


class Throttle:
    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.longest = timedelta(minutes=settings.lockout_minutes)
        # Failures older than this (with no failure since) are forgotten.
        self.memory = 4 * self.longest
        # Password hashing (Argon2) is CPU and memory heavy by design: a process checks at
        # most this many at once, and refuses more at once instead of queueing them on the
        # worker threads that every other request needs.
        self.hashing = threading.BoundedSemaphore(settings.sign_in_concurrency)

    def keys(self, username: str, address: str | None) -> list[Key]:
        user, addr = username[:64], (address or "-")[:64]
        s = self.settings
        return sorted(
            [
                Key(f"pair:{addr}|{user}", s.lockout_threshold),
                Key(f"user:{user}", s.sign_in_username_failures),
                Key(f"addr:{addr}", s.sign_in_address_failures),
            ],
            key=lambda k: k.key,  # one order for every process: no deadlock between them
        )

    def effective(
        self, session: Session, keys: list[Key], username: str, address: str | None, now: datetime
    ) -> list[Key]:
        """``keys`` without the username-wide one when the account signed in from this
        address within KNOWN_FOR (module docstring)."""
        known = repository.throttle_row(session, _known(username, address))
        if known is None or now - to_utc(known.last_failure_at) > KNOWN_FOR:
            return keys
        return [k for k in keys if not k.key.startswith("user:")]

    def delay(self, failures: int, allowed: int) -> timedelta:
        over = failures - allowed
        if over < 0:
            return timedelta(0)
        return min(FIRST_DELAY * (2 ** min(over, 30)), self.longest)

    def _forgotten(self, row: SignInThrottle, now: datetime) -> bool:
        return now - to_utc(row.last_failure_at) > self.memory

    def wait(self, session: Session, keys: list[Key], now: datetime) -> int:
        """Seconds until an attempt with these keys may be tried (0: now). Reads only."""
        rows = repository.throttle_rows(session, [k.key for k in keys])
        return _seconds(
            max(
                (
                    to_utc(r.blocked_until) - now
                    for r in rows
                    if r.blocked_until is not None and not self._forgotten(r, now)
                ),
                default=timedelta(0),
            )
        )

    def claim(self, session: Session, keys: list[Key], now: datetime) -> tuple[int, bool]:
        """Count an attempt on every key, under the rows' locks. Returns (seconds to wait,
        False) if another attempt got there first and the back-off now applies (nothing
        counted), else (0, whether this attempt started a back-off)."""
        names = [k.key for k in keys]
        repository.ensure_throttle_rows(session, names, now)
        rows = {r.key: r for r in repository.lock_throttle_rows(session, names)}
        for r in rows.values():
            if self._forgotten(r, now):
                r.failures, r.blocked_until = 0, None
        wait = max(
            (to_utc(r.blocked_until) - now for r in rows.values() if r.blocked_until is not None),
            default=timedelta(0),
        )
        if wait > timedelta(0):
            return _seconds(wait), False
        started = False
        for k in keys:
            r = rows[k.key]
            r.failures += 1
            r.last_failure_at = now
            if r.failures >= k.allowed:
                r.blocked_until = now + self.delay(r.failures, k.allowed)
                started = True
        return 0, started

    def succeeded(
        self,
        session: Session,
        keys: list[Key],
        username: str,
        address: str | None,
        now: datetime,
    ) -> None:
        """The password was right: the username's counts go; the address keeps its count of
        failures (one right password must not wipe a spray over other usernames), less this
        attempt; the address becomes known for the username (its time in last_failure_at)."""
        repository.put_throttle_row(
            session,
            SignInThrottle(
                key=_known(username, address), failures=0, blocked_until=None, last_failure_at=now
            ),
        )
        allowed = {k.key: k.allowed for k in keys}
        for r in repository.lock_throttle_rows(session, list(allowed)):
            if r.key.startswith("addr:"):
                r.failures = max(0, r.failures - 1)
                if r.failures < allowed[r.key]:
                    r.blocked_until = None
            else:
                repository.delete_throttle_row(session, r)

    @staticmethod
    def forget_user(session: Session, username: str) -> None:
        """An administrator set a new password: the username's back-off ends."""
        repository.delete_user_throttle(session, username[:64])

    @staticmethod
    def blocked_users(session: Session, now: datetime) -> set[str]:
        """Usernames whose every sign-in is being slowed down now (for the account list)."""
        return {key[len("user:") :] for key in repository.blocked_user_keys(session, now)}


def _known(username: str, address: str | None) -> str:
    return f"known:{(address or '-')[:64]}|{username[:64]}"


def _seconds(wait: timedelta) -> int:
    return max(0, math.ceil(wait.total_seconds()))
