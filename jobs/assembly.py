"""The loop that assembles queued women (MCH_DOMAIN_ASSEMBLY=queued), in serve or worker."""

from __future__ import annotations

import logging
import threading

from mch_service.services import Services

log = logging.getLogger("mch_service.jobs")


class AssemblyLoop:
    def __init__(self, services: Services) -> None:
        self.services = services
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="mch-assembly", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                self.services.domain.process_queue(self.services.db)
            except Exception as exc:  # noqa: BLE001 - the rows stay queued; try again
                log.warning("assembly round failed: %s", type(exc).__name__)
            self._stop.wait(self.services.settings.assembly_interval_seconds)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(10)
