"""``therabill scrub``: check encounters before their claims go out."""

from __future__ import annotations

from typing import Annotated

import typer

from therabill.clock import current_date
from therabill.domain.errors import TherabillError
from therabill.entrypoints.cli.common import (
    EXIT_FINDINGS,
    EXIT_OK,
    fail,
    fail_from,
    option_day,
    print_json,
    read_input,
    stdout,
)
from therabill.schemas.encounter import DocumentError, parse_encounters
from therabill.scrubber import ScrubResult, scrub
from therabill.scrubber.finding import Severity

_MARK = {
    Severity.ERROR: "[bold red]ERROR[/]",
    Severity.WARNING: "[yellow]warning[/]",
    Severity.INFO: "[cyan]info[/]",
}


def _line_of(loc: str) -> int | None:
    if loc.startswith("services["):
        return int(loc[9 : loc.index("]")])
    return None


def render_result(result: ScrubResult, codes: list[str]) -> None:
    """Print one encounter's findings grouped by line, errors first."""
    head = {"clean": "[green]clean[/]", "warnings": "[yellow]warnings[/]", "errors": "[bold red]errors[/]"}
    counts = {s: sum(1 for f in result.findings if f.severity is s) for s in Severity}
    stdout.print(
        f"[bold]Encounter {result.encounter_id}[/]: {head[result.status]} "
        f"({counts[Severity.ERROR]} errors, {counts[Severity.WARNING]} warnings, {counts[Severity.INFO]} notes)"
    )
    groups: dict[int | None, list[int]] = {}
    for k, f in enumerate(result.findings):
        groups.setdefault(_line_of(f.loc), []).append(k)
    order = sorted(groups, key=lambda g: -1 if g is None else g)
    for g in order:
        title = "Claim" if g is None else f"Line {g + 1} ({codes[g] if g < len(codes) else '?'})"
        stdout.print(f"  [bold]{title}[/]")
        for k in groups[g]:
            f = result.findings[k]
            stdout.print(f"    {_MARK[f.severity]} {f.message}  [dim]({f.rule_id} at {f.loc})[/]")
            stdout.print(f"      fix: {f.fix}")
            stdout.print(f"      [dim]source: {f.source}[/]")
    stdout.print()


def scrub_command(
    files: Annotated[
        list[str], typer.Argument(help="Encounter documents (JSON: one, or a list), - for stdin.")
    ],
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON list, one object per encounter.")
    ] = False,
    as_of: Annotated[
        str | None,
        typer.Option("--as-of", help="The day the claim would be sent (YYYY-MM-DD); default today."),
    ] = None,
) -> None:
    """Check encounters for billing mistakes: exit 0 clean or warnings, 1 any error, 2 bad input."""
    day = option_day(as_of, "--as-of", current_date())
    encounters = []
    for path in files:
        text = read_input(path)
        try:
            encounters.extend(parse_encounters(text))
        except DocumentError as exc:
            fail(f"{path}: the document breaks the schema", exc.problems)
    try:
        results = [(scrub(e, as_of=day), e) for e in encounters]
    except TherabillError as exc:
        fail_from(exc)
    if as_json:
        print_json([r.as_dict() for r, _ in results])
    else:
        for r, e in results:
            render_result(r, [s.code for s in e.services])
    raise typer.Exit(EXIT_FINDINGS if any(r.has_errors for r, _ in results) else EXIT_OK)


__all__ = ["render_result", "scrub_command"]
