"""Every ``therabill`` command that prints a result takes ``--json`` (scripts read it).

The test walks the whole Typer app, so a new command without the option fails here. The only
exemptions are the commands that start a long-running server and print no result."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import typer

from therabill.entrypoints.cli.main import app

EXEMPT = {
    "run": "starts the web server (with the demo practice) and runs until stopped",
    "serve": "starts the web server and runs until stopped",
    "worker": "starts the background job worker and runs until stopped",
}


def _commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, Any]]:
    subcommands = getattr(command, "commands", None)
    if subcommands is None:
        yield " ".join(path), command
        return
    for name, sub in subcommands.items():
        yield from _commands(sub, (*path, name))


def _all() -> dict[str, Any]:
    return dict(_commands(typer.main.get_command(app)))


def test_every_command_takes_json() -> None:
    found = _all()
    assert len(found) > 50  # the walk reached the sub-apps
    missing = sorted(
        name
        for name, command in found.items()
        if name not in EXEMPT and not any("--json" in getattr(p, "opts", ()) for p in command.params)
    )
    assert not missing, f"commands without --json: {missing}"


def test_the_exemptions_are_real_commands_that_serve() -> None:
    found = _all()
    for name in EXEMPT:
        assert name in found, f"exempt command {name!r} no longer exists: drop the exemption"
        options = {o for p in found[name].params for o in getattr(p, "opts", ())}
        assert "--json" not in options, f"{name} takes --json now: drop the exemption"
