"""ASGI entry point for uvicorn workers: ``jobs.asgi:app`` (``mch-service serve``)."""

from jobs.main import create_app
from mch_service.config import get_settings
from mch_service.logs import configure_logging

# Each worker process of `serve --workers N` imports this module: the logging is set up here
# (uvicorn runs with log_config=None and adds no handler of its own).
_settings = get_settings()
configure_logging(_settings.log_level, production=_settings.env == "production")
app = create_app(_settings)
