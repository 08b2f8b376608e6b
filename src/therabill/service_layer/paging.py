"""One page of a list and where the next one starts (keyset paging, stable under inserts)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Generic, TypeVar

T = TypeVar("T")

MAX_PAGE = 500
"""The most rows one page may hold."""


@dataclass(frozen=True, slots=True)
class Page(Generic[T]):
    """Rows of one page and the sort key after which the next page starts.

    Attributes:
        items: the rows, in the list's order.
        next_key: the sort key of the last row when more rows follow, else ``None``.
    """

    items: list[T]
    next_key: list[Any] | None


def page_limit(limit: int) -> int:
    """The page size, bounded to 1..``MAX_PAGE``."""
    return max(1, min(int(limit), MAX_PAGE))
