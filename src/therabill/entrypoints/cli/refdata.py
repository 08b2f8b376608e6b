"""``therabill refdata``: import the official reference files (NCCI PTP, MUE, fee schedule)."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from therabill.domain.errors import TherabillError
from therabill.entrypoints.cli.common import JsonOption, fail, fail_from, option_day, print_json, stdout
from therabill.refdata.fees import import_fees
from therabill.refdata.ncci import import_mue, import_ptp
from therabill.refdata.pfs import import_pfs

refdata_app = typer.Typer(
    help="Import official reference data (NCCI, MUE, PFS relative values, fees).", no_args_is_help=True
)


def _existing(paths: list[Path]) -> list[Path]:
    for p in paths:
        if not p.is_file():
            fail(f"cannot read {p}: no such file")
    return paths


@refdata_app.command("import-ncci")
def import_ncci_command(
    files: Annotated[
        list[Path], typer.Argument(help="CMS practitioner PTP files (ccipra-*.txt or .zip), all parts.")
    ],
    as_json: JsonOption = False,
) -> None:
    """Replace the NCCI PTP table with the CMS practitioner PTP files (all or nothing)."""
    try:
        n = import_ptp(_existing(files))
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json({"imported": n, "what": "PTP edits"})
        return
    stdout.print(f"Imported {n} PTP edits from {', '.join(p.name for p in files)}.")


@refdata_app.command("import-mue")
def import_mue_command(
    file: Annotated[
        Path,
        typer.Argument(
            help="CMS MCR_MUE_PractitionerServices_Eff_MM-DD-YYYY.csv, or the zip CMS distributes it in."
        ),
    ],
    effective: Annotated[
        str | None,
        typer.Option(
            "--effective",
            help="Effective date when neither the file name nor the CSV in the zip has one (YYYY-MM-DD).",
        ),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Add one quarter's MUE practitioner file (applied by date of service)."""
    eff = option_day(effective, "--effective")
    try:
        n = import_mue(_existing([file])[0], eff)
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json({"imported": n, "what": "MUEs"})
        return
    stdout.print(f"Imported {n} MUEs from {file.name}.")


@refdata_app.command("import-pfs")
def import_pfs_command(
    file: Annotated[
        Path, typer.Argument(help="CMS PFS relative value file PPRRVU<yy>_<JAN|APR|JUL|OCT>.csv, or its zip.")
    ],
    effective: Annotated[
        str | None,
        typer.Option("--effective", help="Effective date when the file name has none (YYYY-MM-DD)."),
    ] = None,
    as_json: JsonOption = False,
) -> None:
    """Add one PFS relative value file: status indicators, Medicare amounts and MPPR by date."""
    eff = option_day(effective, "--effective")
    try:
        n = import_pfs(_existing([file])[0], eff)
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json({"imported": n, "what": "PFS codes"})
        return
    stdout.print(f"Imported {n} PFS codes from {file.name}.")


@refdata_app.command("import-fees")
def import_fees_command(
    file: Annotated[
        Path, typer.Argument(help="Fee schedule CSV (code, practice_fee, medicare_amount, ...).")
    ],
    as_json: JsonOption = False,
) -> None:
    """Replace the fee schedule (practice fees and Medicare PFS amounts) used for estimates."""
    try:
        n = import_fees(_existing([file])[0])
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json({"imported": n, "what": "fee rows"})
        return
    stdout.print(f"Imported {n} fee rows from {file.name}.")


__all__ = ["refdata_app"]
