"""The ``therabill`` command: a thin Typer front over the service layer.

Each noun has its own module and sub-app; this file only wires them together.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from therabill import __version__, config
from therabill.entrypoints.cli.ack import ack_app
from therabill.entrypoints.cli.backup import backup_command, restore_command
from therabill.entrypoints.cli.catalog import catalog_app, icd10_app
from therabill.entrypoints.cli.claims import claims_app
from therabill.entrypoints.cli.common import JsonOption
from therabill.entrypoints.cli.db import db_app
from therabill.entrypoints.cli.demo import demo_command
from therabill.entrypoints.cli.doctor import doctor_command
from therabill.entrypoints.cli.eligibility import eligibility_app
from therabill.entrypoints.cli.era import era_app
from therabill.entrypoints.cli.era_work import era_assign  # noqa: F401 - adds worklist/assign/dismiss to era
from therabill.entrypoints.cli.examples import examples_command, run_command
from therabill.entrypoints.cli.followup import followup_app
from therabill.entrypoints.cli.form import form_app
from therabill.entrypoints.cli.init import init_command
from therabill.entrypoints.cli.intake import intake_app
from therabill.entrypoints.cli.interop import register as register_interop
from therabill.entrypoints.cli.ledger import (
    denials_app,
    ledger_app,
    pay_app,
    payments_app,
    prepaid_app,
    statements_app,
)
from therabill.entrypoints.cli.patients import patients_app
from therabill.entrypoints.cli.records import authorizations_app, referrals_app
from therabill.entrypoints.cli.refdata import refdata_app
from therabill.entrypoints.cli.report import report_command
from therabill.entrypoints.cli.schedule import schedule_app
from therabill.entrypoints.cli.scrub import scrub_command
from therabill.entrypoints.cli.serve import serve_command
from therabill.entrypoints.cli.statement_emails import statement_emails_app
from therabill.entrypoints.cli.units import units_command
from therabill.entrypoints.cli.worker import reminders_app, worker_command
from therabill.entrypoints.cli.x12 import x12_app
from therabill.entrypoints.clock import ensure_installed
from therabill.schemas.encounter import UnitsDocument, encounter_json_schema

app = typer.Typer(
    name="therabill",
    help="Practice management and insurance billing for massage and manual therapy.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

schema_app = typer.Typer(help="Print the JSON Schemas of therabill's documents.", no_args_is_help=True)
app.add_typer(schema_app, name="schema")


@schema_app.command("encounter")
def schema_encounter(as_json: JsonOption = False) -> None:
    """Print the JSON Schema of the encounter document (JSON either way)."""
    del as_json
    typer.echo(json.dumps(encounter_json_schema(), indent=2))


@schema_app.command("units")
def schema_units(as_json: JsonOption = False) -> None:
    """Print the JSON Schema of the partial document the units calculator accepts (JSON either way)."""
    del as_json
    typer.echo(json.dumps(UnitsDocument.model_json_schema(), indent=2))


app.command("units")(units_command)
app.command("doctor")(doctor_command)
app.command("examples")(examples_command)
app.command("run")(run_command)
app.command("init")(init_command)
app.add_typer(catalog_app, name="catalog")
app.add_typer(icd10_app, name="icd10")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"therabill {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Practice management and insurance billing for massage and manual therapy."""
    del version  # handled by its eager callback
    ensure_installed()
    ctx.with_resource(config.using(config.from_environ()))


# Sub-apps of the other nouns register below, one line each.
register_interop(app)
app.command("report")(report_command)
app.add_typer(intake_app, name="intake")
app.add_typer(payments_app, name="payments")
app.add_typer(ledger_app, name="ledger")
app.add_typer(denials_app, name="denials")
app.add_typer(prepaid_app, name="prepaid")
app.add_typer(statements_app, name="statements")
app.add_typer(pay_app, name="pay")
app.command("serve")(serve_command)
app.add_typer(form_app, name="form")
app.command("scrub")(scrub_command)
app.add_typer(refdata_app, name="refdata")
app.add_typer(db_app, name="db")
app.add_typer(patients_app, name="patients")
app.add_typer(authorizations_app, name="authorizations")
app.add_typer(referrals_app, name="referrals")
app.add_typer(claims_app, name="claims")
app.add_typer(followup_app, name="followup")
app.command("demo")(demo_command)
app.command("backup")(backup_command)
app.command("restore")(restore_command)
app.add_typer(x12_app, name="x12")
app.add_typer(era_app, name="era")
app.add_typer(eligibility_app, name="eligibility")
app.add_typer(ack_app, name="ack")
app.add_typer(schedule_app, name="schedule")
app.command("worker")(worker_command)
app.add_typer(reminders_app, name="reminders")
app.add_typer(statement_emails_app, name="statement-emails")


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":
    main()
