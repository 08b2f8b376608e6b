"""Text as the claim formats can carry it: one transliteration for the 837P and the CMS-1500.

X12 (the basic character set) and the red CMS-1500 (upper-case letters, digits, spaces and
hyphens) carry plain Latin letters only. ``basic_latin`` transliterates any Unicode text with
``anyascii`` ("Zoë Ñúñez-Łukasiewicz" → "Zoe Nunez-Lukasiewicz"), so a name is written the
same way on both and no letter is silently dropped. ``transliterated`` applies it to every
text field of a claim (or any frozen dataclass tree) before it is printed.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any, TypeVar

from anyascii import anyascii

__all__ = ["basic_latin", "transliterated"]

T = TypeVar("T")


def basic_latin(text: str) -> str:
    """``text`` in ASCII letters (unchanged when it is ASCII already)."""
    return text if text.isascii() else anyascii(text)


def _map(value: Any) -> Any:
    if isinstance(value, str):
        return basic_latin(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        changes = {f.name: _map(getattr(value, f.name)) for f in dataclasses.fields(value) if f.init}
        return dataclasses.replace(value, **changes)
    if isinstance(value, tuple):
        return tuple(_map(v) for v in value)
    if isinstance(value, list):
        return [_map(v) for v in value]
    if isinstance(value, Mapping):
        return type(value)({k: _map(v) for k, v in value.items()}) if isinstance(value, dict) else value
    return value


def transliterated(value: T) -> T:
    """``value`` with every text inside it in ASCII letters (dataclasses, tuples, lists, dicts)."""
    if not _needs(value):
        return value
    result: T = _map(value)
    return result


def _needs(value: Any) -> bool:
    """Whether any text inside ``value`` is not ASCII (a cheap check first: most claims are)."""
    if isinstance(value, str):
        return not value.isascii()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return any(_needs(getattr(value, f.name)) for f in dataclasses.fields(value))
    if isinstance(value, (tuple, list)):
        return any(_needs(v) for v in value)
    if isinstance(value, Mapping):
        return any(_needs(v) for v in value.values())
    return False
