"""Shared CLI plumbing of the commands that act on stored records for one practice."""

from __future__ import annotations

from typing import Annotated

import typer
from sqlalchemy import Engine

from therabill.domain.errors import Problem, TherabillError
from therabill.entrypoints.cli.common import fail, fail_from
from therabill.service_layer import batches
from therabill.service_layer.accounts import Principal, command_line_principal
from therabill.service_layer.database import DatabaseNotReadyError, open_existing
from therabill.service_layer.practice import resolve_practice
from therabill.service_layer.uow import system_actor

PracticeOption = Annotated[
    str | None,
    typer.Option(
        "--practice",
        envvar="THERABILL_PRACTICE",
        help="Practice slug or id (default: THERABILL_PRACTICE, or the only practice).",
    ),
]


def control_number_for(given: int | None, practice: str | None) -> int:
    """The interchange control number of a file written from documents: the one given, else
    the next of the practice's one sequence (the one batches, 270s and 276s take theirs from).
    Without a practice database there is no sequence: give ``--control-number``."""
    if given is not None:
        return given
    try:
        engine = open_existing()
        practice_id = resolve_practice(engine, practice)
        return batches.next_control_number(engine, practice_id, system_actor())
    except DatabaseNotReadyError:
        fail(
            "no practice database to take the next control number from",
            [Problem("x12-control-number-needed", "--control-number", "give one, or set up a practice")],
        )
    except TherabillError as exc:
        fail_from(exc)


def open_practice(practice: str | None) -> tuple[Engine, str]:
    """The engine and the practice id the command acts for (exit 2, with the reason, when
    there is no database yet or no such practice)."""
    try:
        engine = open_existing()
        return engine, resolve_practice(engine, practice)
    except TherabillError as exc:
        fail_from(exc)


def open_as_operator(practice: str | None) -> tuple[Engine, Principal]:
    """``open_practice`` with the caller as the services' principal: the operating-system user
    acting for the practice (the audit log names them)."""
    engine, practice_id = open_practice(practice)
    return engine, command_line_principal(practice_id, system_actor())
