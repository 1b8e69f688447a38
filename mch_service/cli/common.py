"""What every command shares: the error console, failing with a message, logging, and the
instance's services and wiring (given by the composition root, see ``mch_service.wiring``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, NoReturn

import typer
from rich.console import Console

from mch_service.config import Settings, get_settings
from mch_service.wiring import Wiring

if TYPE_CHECKING:
    from mch_service.services import Services

err = Console(stderr=True)


def fail(message: str, code: int = 1) -> NoReturn:
    err.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def configure_logging(settings: Settings) -> None:
    from mch_service.logs import configure_logging as configure

    configure(settings.log_level, production=settings.env == "production")


_wiring: Wiring | None = None  # set once, by the entry point, before any command runs


def use_wiring(given: Wiring) -> None:
    global _wiring
    _wiring = given


def wiring() -> Wiring:
    """The composition root's wiring, handed to the command line by ``main`` (``jobs/main.py``)."""
    if _wiring is None:
        raise RuntimeError("the command line runs through its composition root (jobs.main)")
    return _wiring


def load_services() -> Services:
    """The services of this instance, from the settings in force (with the job runner)."""
    return wiring().build_services(get_settings())
