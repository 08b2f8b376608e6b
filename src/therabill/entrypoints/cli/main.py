"""The ``therabill`` command: a thin Typer front over the service layer.

Each noun has its own module and sub-app; this file only wires them together.
"""

from __future__ import annotations

import json
from typing import Annotated

import typer

from therabill import __version__
from therabill.entrypoints.cli.catalog import catalog_app, icd10_app
from therabill.entrypoints.cli.examples import examples_command, run_command
from therabill.entrypoints.cli.units import units_command
from therabill.entrypoints.cli.era import era_app
from therabill.entrypoints.cli.x12 import x12_app
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
def schema_encounter() -> None:
    """Print the JSON Schema of the encounter document."""
    typer.echo(json.dumps(encounter_json_schema(), indent=2))


@schema_app.command("units")
def schema_units() -> None:
    """Print the JSON Schema of the partial document the units calculator accepts."""
    typer.echo(json.dumps(UnitsDocument.model_json_schema(), indent=2))


app.command("units")(units_command)
app.command("examples")(examples_command)
app.command("run")(run_command)
app.add_typer(catalog_app, name="catalog")
app.add_typer(icd10_app, name="icd10")


def _version(value: bool) -> None:
    if value:
        typer.echo(f"therabill {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: Annotated[
        bool, typer.Option("--version", callback=_version, is_eager=True, help="Print the version.")
    ] = False,
) -> None:
    """Practice management and insurance billing for massage and manual therapy."""


# Sub-apps of the other nouns register below, one line each.
app.add_typer(x12_app, name="x12")
app.add_typer(era_app, name="era")


def main() -> None:
    """Console entry point."""
    app()


if __name__ == "__main__":
    main()
