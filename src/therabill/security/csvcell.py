"""CSV cells that a spreadsheet will not run as formulas (OWASP "CSV Injection").

A cell that begins with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return is read by
spreadsheet programs as a formula (``=HYPERLINK(...)``, ``@SUM(...)``, ``-2+3+cmd|...``).
``safe_cell`` prefixes such a cell with a single quote, which spreadsheets show as text and
do not evaluate. A plain number (``-12.50``) is left as it is, so negative amounts stay numbers.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
_NUMBER = re.compile(r"-?\d+(\.\d+)?")


def safe_cell(value: object) -> str:
    """``value`` as CSV cell text that no spreadsheet evaluates."""
    text = "" if value is None else str(value)
    if text.startswith(_TRIGGERS) and not _NUMBER.fullmatch(text):
        return "'" + text
    return text


def safe_row(values: Iterable[object]) -> list[str]:
    """Every cell of a row through ``safe_cell``."""
    return [safe_cell(v) for v in values]
