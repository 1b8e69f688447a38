"""The ``mch-service`` command: its commands grouped by what they are about
(``operations``: run and keep an instance; ``data``: institutions, backfills, the derived
record, code tables, keys; ``users``: staff accounts; ``job_runs``: jobs now). The console
script enters through the composition root, ``jobs.main:main``, which calls :func:`main` with
its ``Wiring``."""

from __future__ import annotations

import typer

from mch_service.cli import data, exports, job_runs, operations, users
from mch_service.cli.common import use_wiring
from mch_service.simulator.cli import simulate_command
from mch_service.wiring import Wiring

app = typer.Typer(help="Maternal and child health information service", no_args_is_help=True)
# The order of registration is the order of `mch-service --help`.
app.command("simulate")(simulate_command)
app.command()(operations.serve)
app.command()(operations.demo)
app.command("import")(data.import_ndjson)
app.command("codes-check")(data.codes_check)
app.command()(operations.worker)
app.command()(operations.backup)
app.command()(operations.restore)
app.command("settings")(operations.settings_command)
app.add_typer(operations.db_app, name="db")
app.add_typer(data.inst_app, name="institutions")
app.add_typer(data.streets_app, name="streets")
app.add_typer(exports.clients_app, name="export-clients")
app.add_typer(data.domain_app, name="domain")
app.add_typer(data.pregnancies_app, name="pregnancies")
app.add_typer(job_runs.jobs_app, name="jobs")
app.add_typer(users.users_app, name="users")
app.add_typer(data.keys_app, name="keys")


def main(wiring: Wiring) -> None:
    use_wiring(wiring)
    app()
