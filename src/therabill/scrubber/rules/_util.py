"""Small helpers the rule modules share."""

from __future__ import annotations

from collections.abc import Iterable

NCCI_BYPASS = ("59", "XE", "XS", "XP", "XU")
DISCIPLINE = ("GP", "GO", "GN")


def svc(i: int, field: str | None = None) -> str:
    """The location of service line ``i`` (0-based), or of one of its fields."""
    return f"services[{i}]" if field is None else f"services[{i}].{field}"


def line_no(i: int) -> str:
    """A person's name for line ``i`` (1-based, as on the claim form)."""
    return f"line {i + 1}"


def words(items: Iterable[str]) -> str:
    """``a, b and c``."""
    lst = list(items)
    if len(lst) <= 1:
        return "".join(lst)
    return ", ".join(lst[:-1]) + " and " + lst[-1]


def blank(text: str | None) -> bool:
    """True for ``None`` or whitespace only."""
    return text is None or not text.strip()
