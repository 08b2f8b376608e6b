"""What the command-line tests share: running a command, reading its ``--json`` output."""

from __future__ import annotations

import json
from typing import Any

from typer.testing import CliRunner, Result

from therabill.entrypoints.cli.main import app

runner = CliRunner()


def run(*args: str) -> Result:
    """``therabill ARGS...`` in this process."""
    return runner.invoke(app, list(args))


def as_json(*args: str) -> Any:
    """``therabill ARGS... --json``, which must succeed; its output parsed."""
    result = run(*args, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)
