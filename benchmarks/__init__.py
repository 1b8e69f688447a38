"""Benchmarks of mch-service, run end to end against a real server and PostgreSQL.

``python -m benchmarks`` runs them all; ``python -m benchmarks ingest --help`` shows one's
options. See benchmarks/README.md.
"""
