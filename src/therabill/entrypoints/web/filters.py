"""How pages show money, dates, times and statuses: one Jinja filter each, used by every template.

- ``money``: ``$2,585.25`` (negative ``-$12.00``). An ``int`` is cents (the database's unit);
  a ``Decimal`` or text is dollars. ``None`` and empty text show nothing.
- ``day``: a date as a US clinic reads it, ``11/23/2026``; ``day_long``: ``Mon, Nov 23, 2026``.
- ``when``: a moment, ``11/23/2026 3:05 PM``.
- ``status``: a status in words, ``partly_paid`` → ``Partly paid``.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from jinja2 import Environment

from therabill.domain.money import usd_text

__all__ = ["cents_text", "day", "day_long", "install", "money", "status", "when"]

_STATUS_WORDS = {
    "partly_paid": "Partly paid",
    "clearinghouse_rejected": "Rejected by the clearinghouse",
    "payer_rejected": "Rejected by the payer",
    "batch_rejected": "Batch rejected",
    "crossed_over": "Crossed over to the secondary",
    "no_show": "No-show",
    "late_cancel": "Late cancellation",
}


def cents_text(cents: int) -> str:
    """``usd_text(from_cents(cents))`` in integer arithmetic (a page shows hundreds of amounts)."""
    whole, part = divmod(-cents if cents < 0 else cents, 100)
    return f"{'-' if cents < 0 else ''}${whole:,}.{part:02d}"


def money(value: Any) -> str:
    """Money as people read it; an ``int`` is cents, a ``Decimal`` or text is dollars."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        raise TypeError("money: a bool is not an amount")
    if isinstance(value, int):
        return cents_text(value)
    if isinstance(value, float):
        raise TypeError("money: amounts are Decimal or integer cents, never float")
    try:
        amount = (
            value if isinstance(value, Decimal) else Decimal(str(value).replace("$", "").replace(",", ""))
        )
    except InvalidOperation:
        return str(value)
    return usd_text(amount)


def _as_date(value: Any) -> date | None:
    if value is None or value == "":
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value)[:10])
    except ValueError:
        return None


def day(value: Any) -> str:
    """``11/23/2026``; text that is not a date is shown as it is."""
    found = _as_date(value)
    if found is None:
        return "" if value is None else str(value)
    return f"{found.month:02d}/{found.day:02d}/{found.year}"


def day_long(value: Any) -> str:
    """``Mon, Nov 23, 2026``."""
    found = _as_date(value)
    if found is None:
        return "" if value is None else str(value)
    return f"{found:%a, %b} {found.day}, {found.year}"


def when(value: Any) -> str:
    """``11/23/2026 3:05 PM`` (the time as stored: UTC unless the page says otherwise)."""
    if not isinstance(value, datetime):
        return day(value)
    hour = value.hour % 12 or 12
    return f"{day(value)} {hour}:{value.minute:02d} {'AM' if value.hour < 12 else 'PM'}"


def status(value: Any) -> str:
    """A status in words: ``partly_paid`` → ``Partly paid``."""
    if value is None:
        return ""
    text = str(value)
    if text in _STATUS_WORDS:
        return _STATUS_WORDS[text]
    words = text.replace("_", " ").replace("-", " ").strip()
    return words[:1].upper() + words[1:]


def install(env: Environment) -> None:
    """Register the filters on the pages' Jinja environment (``usd`` is ``money``'s old name)."""
    env.filters.update(money=money, usd=money, day=day, day_long=day_long, when=when, status=status)
