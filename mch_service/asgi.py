"""ASGI entry point for uvicorn workers: ``mch_service.asgi:app``."""

from mch_service.app import create_app

app = create_app()
