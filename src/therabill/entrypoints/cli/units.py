"""``therabill units``: units from minutes by the 8-minute rule, explained."""

from __future__ import annotations

from typing import Annotated

import typer
from rich.table import Table

from therabill.domain.errors import TherabillError
from therabill.domain.timing import UnitMethod, UnitsResult
from therabill.entrypoints.cli.common import fail, fail_from, print_json, read_input, stdout
from therabill.schemas.encounter import DocumentError, parse_units_request
from therabill.service_layer.coding import units_of

_STATUS_TEXT = {"supported": "ok", "too_many": "too many", "too_few": "too few", None: ""}


def render_units(result: UnitsResult, title: str = "Units") -> None:
    """Print a units result as a table and its explanation."""
    table = Table(title=f"{title} ({result.method.value} method)", title_justify="left")
    table.add_column("#", justify="right")
    table.add_column("code")
    table.add_column("minutes", justify="right")
    table.add_column("counted as")
    table.add_column("units", justify="right")
    table.add_column("billed", justify="right")
    for i, ln in enumerate(result.lines, start=1):
        billed = "" if ln.billed_units is None else f"{ln.billed_units} {_STATUS_TEXT[ln.billed_status]}"
        table.add_row(str(i), ln.code, str(ln.minutes), ln.model, str(ln.units), billed)
    table.add_section()
    table.add_row("", "total", str(result.total_timed_minutes) + " timed", "", str(result.total_units), "")
    stdout.print(table)
    for sentence in result.explanation:
        stdout.print(f"  • {sentence}")


def units_command(
    file: Annotated[str, typer.Argument(help="Encounter document (JSON), or - for standard input.")],
    method: Annotated[
        UnitMethod | None,
        typer.Option("--method", help="Override the payer profile's method."),
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON instead of a table.")] = False,
) -> None:
    """Compute billable units from minutes (8-minute rule) and explain them line by line.

    Accepts a full encounter document or a partial one: services (code, minutes, units)
    and coverage.payer_profile.
    """
    text = read_input(file)
    try:
        doc = parse_units_request(text)
    except DocumentError as exc:
        fail("the document breaks the schema", exc.problems)
    profile = doc.coverage.payer_profile if doc.coverage else None
    try:
        result = units_of(doc.services, profile, method)
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json(result.as_dict())
    else:
        render_units(result)


__all__ = ["fail", "render_units", "units_command"]
