"""Plain JSON-ready dicts of the X12 records (amounts as strings, never floats)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from therabill.domain.errors import Problem
from therabill.domain.remittance import Adjustment, ClaimPayment, Remittance, ServicePayment

__all__ = ["problem_json", "remittance_json"]


def _units(value: Decimal) -> int | str:
    return int(value) if value == value.to_integral_value() else str(value)


def problem_json(p: Problem) -> dict[str, str]:
    """A problem as ``{code, loc, message}``."""
    return {"code": p.code, "loc": p.loc, "message": p.message}


def _adj(a: Adjustment) -> dict[str, Any]:
    out: dict[str, Any] = {"group": a.group, "reason": a.reason, "amount": str(a.amount)}
    if a.quantity is not None:
        out["quantity"] = _units(a.quantity)
    return out


def _line(ln: ServicePayment) -> dict[str, Any]:
    return {
        "code": ln.code,
        "modifiers": list(ln.modifiers),
        "units": _units(ln.units),
        "charge": str(ln.charge),
        "paid": str(ln.paid),
        "line_id": ln.line_id,
        "date_of_service": ln.service_date.isoformat() if ln.service_date else None,
        "original_code": ln.original_code,
        "allowed_amount": None if ln.allowed_amount is None else str(ln.allowed_amount),
        "adjustments": [_adj(a) for a in ln.adjustments],
        "remarks": list(ln.remarks),
        "balanced": ln.balanced,
    }


def _claim(c: ClaimPayment) -> dict[str, Any]:
    return {
        "claim_id": c.claim_id,
        "payer_claim_control_number": c.payer_claim_control_number,
        "status": c.status,
        "status_words": c.status_words,
        "charge": str(c.charge),
        "paid": str(c.paid),
        "patient_responsibility": str(c.patient_responsibility),
        "reversal": c.is_reversal,
        "crossover": c.is_crossover,
        "crossover_payer": c.crossover_payer,
        "adjustments": [_adj(a) for a in c.adjustments],
        "remarks": list(c.remarks),
        "lines": [_line(ln) for ln in c.lines],
        "balanced": c.balanced,
        "problems": [problem_json(p) for p in c.problems],
    }


def remittance_json(r: Remittance) -> dict[str, Any]:
    """One remittance transaction in the ``therabill era read --json`` shape."""
    h = r.header
    return {
        "payer": h.payer_name,
        "payer_id": h.payer_id,
        "payee": h.payee_name,
        "payee_id": h.payee_id,
        "handling_code": h.handling_code,
        "notice_only": h.is_notice_only,
        "payment_amount": str(h.payment_amount),
        "payment_method": h.payment_method,
        "payment_date": h.payment_date.isoformat() if h.payment_date else None,
        "trace_number": h.trace_number,
        "idempotency_key": h.idempotency_key,
        "balanced": r.balanced,
        "claims": [_claim(c) for c in r.claims],
        "provider_adjustments": [
            {
                "provider_id": p.provider_id,
                "reason": p.reason,
                "reference": p.reference,
                "amount": str(p.amount),
                "fiscal_period_date": p.fiscal_period_date.isoformat() if p.fiscal_period_date else None,
            }
            for p in r.provider_adjustments
        ],
        "problems": [problem_json(p) for p in r.all_problems],
    }
