"""``therabill doctor``: the state of the reference data (what is loaded, what is missing)."""

from __future__ import annotations

from typing import Annotated

import typer

from therabill.clock import current_date
from therabill.entrypoints.cli.common import option_day, print_json, stdout
from therabill.refdata.status import refdata_status


def doctor_command(
    day: Annotated[
        str | None, typer.Option("--date", help="The date of service to check for (default: today).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Report the reference data: ICD-10-CM releases, NCCI/MUE tables, PFS, fees, catalog."""
    when = option_day(day, "--date", current_date())
    items = refdata_status(when)
    if as_json:
        print_json([{"id": i.id, "ok": i.ok, "message": i.message, "fix": i.fix} for i in items])
        return
    for i in items:
        stdout.print(f"{'ok     ' if i.ok else 'MISSING'} {i.message}", markup=False, highlight=False)
        if i.fix:
            stdout.print(f"        fix: {i.fix}", markup=False, highlight=False)


__all__ = ["doctor_command"]
