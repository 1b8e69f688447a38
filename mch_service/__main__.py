"""``python -m mch_service``: the same command as the console script ``mch-service``, whose
composition root is ``jobs.main`` (the one intended import of ``jobs`` in this package, named
as an exception in the import-linter contracts)."""

from jobs.main import main

main()
