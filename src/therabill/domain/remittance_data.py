"""A claim payment (one CLP as read from an 835) as plain data and back, without loss.

The stored copy of what the payer sent for one claim: the claim page reads its adjustments
and units, and a claim that matched none of ours is posted from it once a biller assigns
it to one of our claims. Amounts are strings (exact decimals), dates ISO text.
"""

from __future__ import annotations

from dataclasses import fields
from datetime import date
from decimal import Decimal
from typing import Any

from therabill.domain.errors import Problem
from therabill.domain.remittance import Adjustment, ClaimPayment, ServicePayment

__all__ = ["claim_payment_from_data", "claim_payment_to_data"]

_DECIMALS = frozenset(
    {
        "amount",
        "quantity",
        "charge",
        "paid",
        "units",
        "original_units",
        "allowed_amount",
        "patient_responsibility",
    }
)
_DATES = frozenset({"service_date", "service_date_end", "statement_from", "statement_to", "received_date"})
_TUPLES_OF_TEXT = frozenset({"modifiers", "original_modifiers", "remarks"})


def _plain(value: Any) -> Any:
    if value is None or type(value) in (str, int, bool):
        return value
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Adjustment | ServicePayment):
        return _record(value)
    if isinstance(value, Problem):
        return {"code": value.code, "loc": value.loc, "message": value.message}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    return value


_NAMES: dict[type, tuple[str, ...]] = {}
"""The field names of each record type met (``fields`` is slow to ask once per record)."""


def _record(obj: Any) -> dict[str, Any]:
    kind = type(obj)
    names = _NAMES.get(kind)
    if names is None:
        names = _NAMES[kind] = tuple(f.name for f in fields(obj))
    return {name: _plain(getattr(obj, name)) for name in names}


def claim_payment_to_data(cp: ClaimPayment) -> dict[str, Any]:
    """The claim payment as JSON-ready data (every field, lines and adjustments included)."""
    return _record(cp)


def _value(name: str, value: Any) -> Any:
    if value is None:
        return None
    if name in _DECIMALS:
        return Decimal(str(value))
    if name in _DATES:
        return date.fromisoformat(str(value))
    if name in _TUPLES_OF_TEXT:
        return tuple(str(v) for v in value)
    if name == "adjustments":
        return tuple(Adjustment(**{k: _value(k, v) for k, v in a.items()}) for a in value)
    if name == "lines":
        return tuple(ServicePayment(**{k: _value(k, v) for k, v in ln.items()}) for ln in value)
    if name == "problems":
        return tuple(Problem(str(p["code"]), str(p["loc"]), str(p["message"])) for p in value)
    return value


def claim_payment_from_data(data: dict[str, Any]) -> ClaimPayment:
    """The claim payment back from ``claim_payment_to_data``'s output (equal to the original)."""
    known = {f.name for f in fields(ClaimPayment)}
    return ClaimPayment(**{k: _value(k, v) for k, v in data.items() if k in known})
