"""Errors the record use cases raise (imported by every noun module, so that none imports another for them)."""

from __future__ import annotations

from therabill.domain.errors import Problem, TherabillError

__all__ = ["RecordsError", "refuse"]


class RecordsError(TherabillError):
    """A use case refused its input (the problems say why)."""

    code = "records-invalid"


def refuse(code: str, loc: str, message: str) -> RecordsError:
    """A ``RecordsError`` with one problem (its message is the problem's)."""
    return RecordsError(message, (Problem(code, loc, message),))
