"""Scheduled work. This package only schedules: every job body calls a service.

* ``runner``: run a job now (``mch-service jobs run``) and record the run.
* ``scheduler``: APScheduler with a persistent job store, started by the process that holds
  the scheduler lease (one scheduler at a time, also when two processes start).
"""
