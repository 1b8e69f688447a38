"""Scheduled work, and the composition root. Every job body calls a service.

* ``tasks``: the jobs, one short function each, in the ``JOBS`` registry.
* ``runner``: run a job now (``mch-service jobs run``) and record the run.
* ``scheduler``: APScheduler with a persistent job store, started by the process that holds
  the scheduler lease (one scheduler at a time, also when two processes start).
* ``assembly``: the loop that assembles queued women.
* ``main``: the composition root (application + workers + job runner + command line);
  ``asgi``: uvicorn's target.
"""
