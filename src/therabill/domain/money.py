"""Money: ``Decimal`` made through one door, integer cents at the storage edge.

Every amount in therabill is a ``Decimal`` quantized to cents inside the domain and an
``int`` number of cents in the database. Floats are never accepted: ``D(1.1)`` raises.
"""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")
"""The largest amount therabill accepts (12 digits before the point), either sign. Bigger
figures are typing or attack, and sums of them would overflow 64-bit cents columns."""

__all__ = ["CENT", "MAX_AMOUNT", "ZERO", "D", "MoneyError", "from_cents", "quantize", "to_cents", "usd_text"]


class MoneyError(ValueError):
    """An amount that is not a finite decimal with at most two places."""


def D(value: str | int | Decimal) -> Decimal:  # noqa: N802 - the conventional short name
    """Return ``value`` as a cent-quantized ``Decimal``.

    Accepts a decimal string (``"35.00"``), an ``int`` (whole currency units) or a
    ``Decimal``. Rejects floats, NaN, infinities, exponents in strings and sub-cent
    precision, so that no amount is ever silently rounded.
    """
    if isinstance(value, bool) or isinstance(value, float):
        raise MoneyError(f"money must be a decimal string or Decimal, not {type(value).__name__}")
    if isinstance(value, str):
        text = value.strip()
        if not text or any(ch in text for ch in "eEnNiI"):
            raise MoneyError(f"not a decimal amount: {value!r}")
        try:
            amount = Decimal(text)
        except InvalidOperation as exc:
            raise MoneyError(f"not a decimal amount: {value!r}") from exc
    elif isinstance(value, int):
        amount = Decimal(value)
    elif isinstance(value, Decimal):
        amount = value
    else:
        raise MoneyError(f"money must be a decimal string or Decimal, not {type(value).__name__}")
    if not amount.is_finite():
        raise MoneyError(f"not a finite amount: {value!r}")
    if abs(amount) > MAX_AMOUNT:
        raise MoneyError(f"more than 12 digits before the decimal point: {value!r}")
    quantized = amount.quantize(CENT)
    if quantized != amount:
        raise MoneyError(f"more than two decimal places: {value!r}")
    return quantized


def quantize(amount: Decimal) -> Decimal:
    """Round a computed amount to cents, half up (the one rounding boundary we document)."""
    return amount.quantize(CENT, rounding=ROUND_HALF_UP)


def to_cents(amount: Decimal) -> int:
    """Convert a cent-exact ``Decimal`` to integer cents (raises if it is not cent-exact)."""
    exact = D(amount)
    return int(exact * 100)


def from_cents(cents: int) -> Decimal:
    """Convert integer cents to a ``Decimal`` amount."""
    if isinstance(cents, bool) or not isinstance(cents, int):
        raise MoneyError(f"cents must be an int, not {type(cents).__name__}")
    return (Decimal(cents) / 100).quantize(CENT)


def usd_text(amount: Decimal | None) -> str:
    """Money as people read it: ``$1,234.50`` (negative as ``-$12.00``); empty for ``None``."""
    if amount is None:
        return ""
    sign = "-" if amount < 0 else ""
    return f"{sign}${abs(amount):,.2f}"
