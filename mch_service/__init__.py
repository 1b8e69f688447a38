"""mch-service: maternal and child health information service."""

__version__ = "0.1.0"
