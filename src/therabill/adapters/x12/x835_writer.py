"""A small 835 (005010X221A1) writer: remittances → X12 text that ``read_835`` reads back.

It writes what an example or a test needs (BPR, TRN, DTM*405, N1*PR/PE, CLP with NM1*QC, SVC
with DTM*472, CAS and REF*6R, PLB) and nothing of the rest of the guide; the output balances
when the remittances do (BPR02 = Σ CLP04 − Σ PLB).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from decimal import Decimal

from therabill.domain.remittance import Adjustment, ClaimPayment, Remittance

__all__ = ["write_835"]


def _amount(value: Decimal) -> str:
    text = f"{value:.2f}"
    return text[:-3] if text.endswith(".00") else text.rstrip("0")


def _cas(adjustments: Sequence[Adjustment]) -> list[str]:
    by_group: dict[str, list[str]] = {}
    for a in adjustments:
        by_group.setdefault(a.group, []).extend([a.reason, _amount(a.amount), ""])
    return [  # at most six reason/amount/quantity triples per CAS
        "*".join(["CAS", group, *parts[i : i + 18]]).rstrip("*")
        for group, parts in by_group.items()
        for i in range(0, len(parts), 18)
    ]


def _claim(cp: ClaimPayment) -> list[str]:
    segs = [
        "*".join(
            [
                "CLP",
                cp.claim_id,
                cp.status,
                _amount(cp.charge),
                _amount(cp.paid),
                _amount(cp.patient_responsibility) if cp.patient_responsibility else "",
                cp.filing_indicator or "12",
                cp.payer_claim_control_number or "",
                cp.facility_code or "11",
                cp.frequency or "1",
            ]
        ),
        "*".join(
            [
                "NM1",
                "QC",
                "1",
                cp.patient_last_name or "",
                cp.patient_first_name or "",
                "",
                "",
                "",
                "MI",
                cp.member_id or "",
            ]
        ).rstrip("*"),
    ]
    segs += _cas(cp.adjustments)
    for ln in cp.lines:
        code = ":".join(["HC", ln.code, *ln.modifiers])
        segs.append(f"SVC*{code}*{_amount(ln.charge)}*{_amount(ln.paid)}**{ln.units.normalize():f}")
        if ln.service_date is not None:
            segs.append(f"DTM*472*{ln.service_date:%Y%m%d}")
        segs += _cas(ln.adjustments)
        if ln.line_id:
            segs.append(f"REF*6R*{ln.line_id}")
    return segs


def write_835(
    remittances: Sequence[Remittance],
    *,
    sender: str,
    receiver: str,
    control_number: int,
    created: datetime,
    payee_name: str,
    payee_npi: str,
) -> str:
    """One interchange with one transaction per remittance (segments end ``~`` and a newline)."""
    isa = (
        f"ISA*00*          *00*          *ZZ*{sender[:15]:<15}*ZZ*{receiver[:15]:<15}*"
        f"{created:%y%m%d}*{created:%H%M}*^*00501*{control_number:09d}*0*P*:"
    )
    segs = [isa, f"GS*HP*{sender}*{receiver}*{created:%Y%m%d}*{created:%H%M}*{control_number}*X*005010X221A1"]
    for n, rem in enumerate(remittances, start=1):
        h = rem.header
        body = [
            f"ST*835*{n:04d}",
            f"BPR*{h.handling_code}*{_amount(h.payment_amount)}*{h.credit_debit}*{h.payment_method}"
            + (
                f"*CCP*01*999999992*DA*123456*1512345678**01*999988880*DA*98765*{h.payment_date:%Y%m%d}"
                if h.payment_date
                else ""
            ),
            f"TRN*1*{h.trace_number}*1512345678",
            f"DTM*405*{(h.payment_date or created.date()):%Y%m%d}",
            f"N1*PR*{h.payer_name or ''}",
            *([f"REF*2U*{h.payer_id}"] if h.payer_id else []),
            f"N1*PE*{payee_name}*XX*{payee_npi}",
        ]
        for i, cp in enumerate(rem.claims, start=1):
            body.append(f"LX*{i}")
            body += _claim(cp)
        for plb in rem.provider_adjustments:
            period = plb.fiscal_period_date or created.date()
            reason = f"{plb.reason}:{plb.reference}" if plb.reference else plb.reason
            body.append(f"PLB*{plb.provider_id}*{period:%Y%m%d}*{reason}*{_amount(plb.amount)}")
        body.append(f"SE*{len(body) + 1}*{n:04d}")
        segs += body
    segs += [f"GE*{len(remittances)}*{control_number}", f"IEA*1*{control_number:09d}"]
    return "~\n".join(segs) + "~\n"
