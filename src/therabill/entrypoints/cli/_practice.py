"""Shared CLI plumbing of the commands that act on stored records for one practice."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import Engine

from therabill.domain.errors import TherabillError
from therabill.entrypoints.cli.common import fail_from
from therabill.service_layer.database import open_existing
from therabill.service_layer.practice import resolve_practice

PracticeOption = Annotated[
    str | None,
    typer.Option(
        "--practice",
        envvar="THERABILL_PRACTICE",
        help="Practice slug or id (default: THERABILL_PRACTICE, or the only practice).",
    ),
]


def open_practice(practice: str | None) -> tuple[Engine, str]:
    """The engine and the practice id the command acts for (exit 2, with the reason, when
    there is no database yet or no such practice)."""
    try:
        engine = open_existing()
        return engine, resolve_practice(engine, practice)
    except TherabillError as exc:
        fail_from(exc)
