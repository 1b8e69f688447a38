"""Two assembly rounds lock their women in one order: the interleaving that deadlocked them
(a round that had inserted a new woman waiting for an existing one the other round held, the
other round then inserting the same new woman) now waits instead. PostgreSQL only: SQLite has
one writer at a time."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select, text

from mch_service.app import Services
from mch_service.domain import repository
from mch_service.domain.models import Woman


def _waiting_on_a_lock(services: Services, pid: int, timeout: float = 10.0) -> None:
    """Until backend ``pid`` waits for a lock (the first round is blocked on the held woman)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with services.db.reading() as session:
            kind = session.scalar(
                text("SELECT wait_event_type FROM pg_stat_activity WHERE pid = :pid"),
                {"pid": pid},
            )
        if kind == "Lock":
            return
        time.sleep(0.05)
    raise AssertionError("the first round never waited for the held woman")


def test_two_rounds_over_a_new_and_an_existing_woman_do_not_deadlock(
    services: Services,
) -> None:
    if services.db.engine.dialect.name != "postgresql":
        pytest.skip("row locks: PostgreSQL only (SQLite has one writer at a time)")
    existing, new = "woman:a-existing", "woman:b-new"  # the existing one sorts first
    with services.db.transaction() as session:
        repository.lock_women(session, [existing])

    errors: list[BaseException] = []
    started = threading.Event()
    pid: list[int] = []

    def first_round() -> None:
        # both women, in order: it must wait for the existing one (held below) before it
        # makes the new one
        try:
            with services.db.transaction() as session:
                pid.append(int(session.scalar(text("SELECT pg_backend_pid()")) or 0))
                started.set()
                repository.lock_women(session, [existing, new])
        except BaseException as exc:  # noqa: BLE001 - reported by the test
            errors.append(exc)
        finally:
            started.set()

    with services.db.transaction() as second:
        repository.lock_women(second, [existing])  # the second round holds the existing woman
        worker = threading.Thread(target=first_round)
        worker.start()
        assert started.wait(10)
        _waiting_on_a_lock(services, pid[0])
        # ...and now makes the new woman: with the new one made before the existing one was
        # locked, the first round held it and this waited for it while the first waited for
        # this: PostgreSQL broke the deadlock by failing one of them
        repository.lock_women(second, [new])
    worker.join(30)
    assert not worker.is_alive()
    assert errors == []
    with services.db.reading() as session:
        assert sorted(session.scalars(select(Woman.key))) == [existing, new]
