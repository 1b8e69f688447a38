"""The records and controls of scheduled work: job runs, the scheduler lease, the job-run port
(``JobRunner``, filled by the composition root in ``jobs/main.py``) and the HTTP routes that
list and start runs. The scheduler and the job bodies live in the top-level ``jobs`` package."""
