"""The folder of prometheus-client's multiprocess mode. Kept apart from ``ops.metrics``: this
must run before prometheus-client is first imported (it picks its mode at import time)."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"


def prepare_multiprocess_dir(environ: Mapping[str, str] | None = None) -> Path:
    """The folder for multiprocess metrics, emptied: files left by processes of an earlier run
    would otherwise be summed into this run's counters. Uses PROMETHEUS_MULTIPROC_DIR when set,
    else a new temporary folder, and sets the variable so that the workers inherit it."""
    env = os.environ if environ is None else environ
    configured = env.get(MULTIPROC_ENV)
    if configured:
        folder = Path(configured)
        if folder.exists():
            for child in folder.iterdir():
                if child.is_dir():
                    shutil.rmtree(child)
                else:
                    child.unlink()
        folder.mkdir(parents=True, exist_ok=True)
    else:
        folder = Path(tempfile.mkdtemp(prefix="mch-metrics-"))
        # Ours to remove when serve (the process that made it, the workers' parent) exits.
        atexit.register(shutil.rmtree, folder, ignore_errors=True)
    os.environ[MULTIPROC_ENV] = str(folder)
    return folder
