"""Errors and problems with stable ids.

A ``Problem`` is one thing wrong with an input (a document field, an X12 segment, a CSV
row): a stable ``code``, a ``loc`` naming where, and a ``message`` for a person. Errors
raised across layers carry a tuple of problems so that every problem is reported at once.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Problem:
    """One problem with an input.

    Attributes:
        code: stable id, e.g. ``schema-greater-than-equal`` or ``x12-segment-unknown``.
        loc: where: a document path (``services[1].minutes``), a segment (``#12 CLP02``), a row.
        message: what is wrong, for a person.
    """

    code: str
    loc: str
    message: str

    def __str__(self) -> str:
        return f"{self.loc}: {self.message}"


class TherabillError(Exception):
    """Base of the errors therabill raises on bad input; carries stable problem codes."""

    code = "therabill-error"

    def __init__(self, message: str, problems: tuple[Problem, ...] = ()) -> None:
        super().__init__(message)
        self.problems = problems


class ReferenceDataError(TherabillError):
    """A reference data file is missing, malformed or of the wrong format."""

    code = "refdata-invalid"


class NotFoundError(TherabillError):
    """A requested record does not exist (or is not visible to the caller)."""

    code = "not-found"
