"""Helpers every CLI command shares: reading inputs, reporting problems, exit codes.

Exit codes: 0 success, 1 the input was read and something in it is wrong (scrub errors),
2 the input could not be used (not JSON, breaks the schema, unreadable file).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable
from datetime import date
from pathlib import Path
from typing import Annotated, Any, NoReturn, overload

import typer
from rich.console import Console

from therabill.domain.errors import Problem, TherabillError

EXIT_OK = 0
EXIT_FINDINGS = 1
EXIT_INVALID = 2

# Options of the commands that write X12 envelopes.
ControlNumberOption = Annotated[
    int | None,
    typer.Option(
        "--control-number",
        help="ISA13/GS06; default: the next of the practice's one sequence (needs a practice).",
    ),
]
ProductionOption = Annotated[bool, typer.Option("--production", help="Usage indicator P (default T: test).")]
EnvelopeConfigOption = Annotated[
    Path | None, typer.Option("--config", help="TOML file with an x12 table of envelope settings.")
]
CreatedOption = Annotated[
    str | None, typer.Option("--created", help="Creation time written in the envelope (YYYY-MM-DDTHH:MM).")
]

stdout = Console(highlight=False, soft_wrap=True)
stderr = Console(stderr=True, highlight=False, soft_wrap=True)


def read_input(path: str) -> bytes:
    """Read a file, or standard input for ``-``; exit 2 with a clear message on failure."""
    if path == "-":
        return sys.stdin.buffer.read()
    try:
        return Path(path).read_bytes()
    except OSError as exc:
        fail(f"cannot read {path}: {exc.strerror}")


def fail(message: str, problems: Iterable[Problem] = (), *, code: int = EXIT_INVALID) -> NoReturn:
    """Print an error and its problems to stderr and exit (status 2 by default)."""
    stderr.print(f"[bold red]error:[/] {message}", markup=True)
    for p in problems:
        stderr.print(f"  {p.loc}: {p.message}  [dim]({p.code})[/]", markup=True)
    raise typer.Exit(code)


def fail_from(exc: TherabillError) -> NoReturn:
    """Exit 2 for a therabill error, listing its problems."""
    fail(str(exc), exc.problems)


def print_json(data: Any) -> None:
    """Write JSON to stdout (plain, not syntax-coloured, so it can be piped)."""
    sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")


@overload
def option_day(text: str | None, option: str) -> date | None: ...
@overload
def option_day(text: str | None, option: str, default: date) -> date: ...
def option_day(text: str | None, option: str, default: date | None = None) -> date | None:
    """Parse a date option (YYYY-MM-DD); ``default`` when it is not given; exit 2 when it is not a date."""
    if not text:
        return default
    try:
        return date.fromisoformat(text)
    except ValueError:
        fail(f"{option}: {text!r} is not a date (YYYY-MM-DD)")
