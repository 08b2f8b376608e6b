"""``therabill examples`` and ``therabill run``: code and check the example encounters; serve the app."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from therabill.clock import current_date
from therabill.entrypoints.cli.common import (
    EXIT_INVALID,
    JsonOption,
    option_day,
    print_json,
    read_input,
    stderr,
    stdout,
)
from therabill.entrypoints.cli.scrub import render_result
from therabill.entrypoints.cli.serve import DEFAULT_HOST, DEFAULT_PORT, run_demo
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
    as_json: JsonOption = False,
) -> None:
    """Code and check the example encounters: units by the payer's method, then the scrubber's findings."""
    paths = [Path(f) for f in files] if files else example_files()
    as_of_day = option_day(as_of, "--as-of", current_date())
    if not paths:
        stderr.print("no example documents found (looked for ./examples)")
        raise typer.Exit(EXIT_INVALID)
    status = 0
    found: list[dict[str, object]] = []
    for path in paths:
        try:
            enc = parse_encounter(read_input(str(path)))
        except DocumentError as exc:
            found.append(
                {
                    "file": path.name,
                    "problems": [{"code": p.code, "loc": p.loc, "message": p.message} for p in exc.problems],
                }
            )
            stderr.print(f"[red]{path.name}: invalid document[/]")
            for p in exc.problems:
                stderr.print(f"  {p}")
            status = EXIT_INVALID
            continue
        units, result = units_of(enc.services, enc.payer_profile), scrub(enc, as_of=as_of_day)
        if as_json:
            found.append(
                {
                    "file": path.name,
                    "encounter_id": enc.encounter_id,
                    "date_of_service": enc.date_of_service.isoformat(),
                    "payer_profile": enc.payer_profile,
                    "units": units.as_dict(),
                    "scrub": result.as_dict(),
                }
            )
            continue
        stdout.rule(
            f"{path.name} · {enc.encounter_id} · {enc.date_of_service} · {enc.payer_profile or 'no profile'}"
        )
        render_units(units, title="Units")
        render_result(result, [s.code for s in enc.services])
    if as_json:
        print_json(found)
    raise typer.Exit(status)


def run_command(
    data_dir: Annotated[
        str | None, typer.Option("--data-dir", help="Data folder (same as THERABILL_DATA_DIR).")
    ] = None,
    host: Annotated[str, typer.Option("--host", help="Address to listen on.")] = DEFAULT_HOST,
    port: Annotated[int, typer.Option("--port", min=1, max=65535, help="Port to listen on.")] = DEFAULT_PORT,
) -> None:
    """The program's main job: create the database, load the demo practice once, print the
    demo logins and serve the web app (http://127.0.0.1:8000 unless --host/--port)."""
    run_demo(data_dir, host=host, port=port)
