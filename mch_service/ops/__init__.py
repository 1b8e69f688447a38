"""Operating the service: health and readiness, Prometheus metrics, backup and restore, the
settings reference (docs/operations.md)."""
