"""``therabill examples`` and ``therabill run``: code and check the example encounters; serve the app."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from therabill.clock import current_date
from therabill.entrypoints.cli.common import EXIT_INVALID, option_day, read_input, stderr, stdout
from therabill.entrypoints.cli.scrub import render_result
from therabill.entrypoints.cli.serve import run_demo
from therabill.entrypoints.cli.units import render_units
from therabill.schemas.encounter import DocumentError, parse_encounter
from therabill.scrubber import scrub
from therabill.service_layer.coding import units_of


def example_files() -> list[Path]:
    """The shipped example encounter documents (from the working folder or the source tree)."""
    candidates = [Path.cwd() / "examples", Path(__file__).resolve().parents[4] / "examples"]
    for folder in candidates:
        if folder.is_dir():
            return sorted(folder.glob("*.json"))
    return []


def examples_command(
    files: Annotated[
        list[str] | None, typer.Argument(help="Encounter documents; default: the shipped examples.")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="The day the claims would be sent (YYYY-MM-DD); default today."),
    ] = None,
) -> None:
    """Code and check the example encounters: units by the payer's method, then the scrubber's findings."""
    paths = [Path(f) for f in files] if files else example_files()
    as_of_day = option_day(as_of, "--as-of", current_date())
    if not paths:
        stderr.print("no example documents found (looked for ./examples)")
        raise typer.Exit(EXIT_INVALID)
    status = 0
    for path in paths:
        try:
            enc = parse_encounter(read_input(str(path)))
        except DocumentError as exc:
            stderr.print(f"[red]{path.name}: invalid document[/]")
            for p in exc.problems:
                stderr.print(f"  {p}")
            status = EXIT_INVALID
            continue
        stdout.rule(
            f"{path.name} · {enc.encounter_id} · {enc.date_of_service} · {enc.payer_profile or 'no profile'}"
        )
        render_units(units_of(enc.services, enc.payer_profile), title="Units")
        codes = [s.code for s in enc.services]
        render_result(scrub(enc, as_of=as_of_day), codes)
    raise typer.Exit(status)


def run_command(
    data_dir: Annotated[
        str | None, typer.Option("--data-dir", help="Data folder (same as THERABILL_DATA_DIR).")
    ] = None,
) -> None:
    """The program's main job: create the database, load the demo practice once, print the
    demo logins and serve the web app on http://127.0.0.1:8000."""
    run_demo(data_dir)
