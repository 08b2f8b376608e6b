"""How the payers adjudicated a claim, line by line, from the stored 835 postings.

``claim_adjudication`` is the one reading: the web claim page shows it and the API claim read
returns it (``ClaimAdjudication.as_dict``). For each remittance claim posted on the claim:
who paid, when, CLP02 in words, and for each service line the charge, units, paid, every
adjustment with its group and reason (CARC) and its words, the remark codes (RARC) with
their words, and the patient's share (the PR adjustments). The claim's denial reason is the
latest adjudication's adjustments that are not routine (``remittance_posting.routine_reasons``)
and not the patient's share, in words with a likely fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from therabill.adapters.db.ledger_tables import (
    remittance_claim_payments,
    remittance_claims,
    remittance_lines,
    remittances,
)
from therabill.adapters.db.tables import claim_lines, claims, payers
from therabill.domain.denials import GROUP_WORDS, explain, explain_remark
from therabill.domain.money import ZERO, from_cents
from therabill.domain.remittance import CLAIM_STATUS_WORDS
from therabill.domain.remittance_data import claim_payment_from_data
from therabill.refdata.codes import denial_table, describe
from therabill.service_layer.remittance_posting import routine_reasons
from therabill.service_layer.uow import UnitOfWork

__all__ = [
    "AdjustmentWords",
    "ClaimAdjudication",
    "LineAdjudication",
    "RemarkWords",
    "RemittanceAdjudication",
    "claim_adjudication",
]


@dataclass(frozen=True, slots=True)
class AdjustmentWords:
    """One adjustment: group (``CO``...) and reason (CARC) with their words, and the amount."""

    group: str
    reason: str
    amount: Decimal
    group_words: str
    words: str

    @property
    def code(self) -> str:
        """``CO-45``."""
        return f"{self.group}-{self.reason}"

    def as_dict(self) -> dict[str, Any]:
        """The public shape."""
        return {
            "group": self.group,
            "reason": self.reason,
            "code": self.code,
            "amount": str(self.amount),
            "group_words": self.group_words,
            "words": self.words,
        }


@dataclass(frozen=True, slots=True)
class RemarkWords:
    """A remark code (RARC) and its words."""

    code: str
    words: str

    def as_dict(self) -> dict[str, str]:
        """The public shape."""
        return {"code": self.code, "words": self.words}


@dataclass(frozen=True, slots=True)
class LineAdjudication:
    """One service line as the payer adjudicated it.

    Attributes:
        line_number: our line's number (``None`` when the payer's line matched none of ours).
        code: the procedure code the payer adjudicated; ``modifiers`` its modifiers.
        units: the units billed on our line (the payer's SVC05 when the line is not ours).
        units_paid: the units the payer paid (SVC05).
        charge, paid: the line charge and the payment.
        adjustments: each CAS reason with words; ``remarks``: RARCs with words.
        patient_share: the sum of the PR adjustments.
    """

    line_number: int | None
    code: str
    modifiers: tuple[str, ...]
    units: Decimal
    units_paid: Decimal | None
    charge: Decimal
    paid: Decimal
    adjustments: tuple[AdjustmentWords, ...]
    remarks: tuple[RemarkWords, ...]
    patient_share: Decimal

    def as_dict(self) -> dict[str, Any]:
        """The public shape."""
        return {
            "line_number": self.line_number,
            "code": self.code,
            "modifiers": list(self.modifiers),
            "units": str(self.units),
            "units_paid": None if self.units_paid is None else str(self.units_paid),
            "charge": str(self.charge),
            "paid": str(self.paid),
            "adjustments": [a.as_dict() for a in self.adjustments],
            "remarks": [r.as_dict() for r in self.remarks],
            "patient_share": str(self.patient_share),
        }


@dataclass(frozen=True, slots=True)
class RemittanceAdjudication:
    """One remittance's adjudication of the claim (one CLP)."""

    trace_number: str | None
    payment_date: date | None
    payer: str | None
    status: str
    status_words: str
    posted: bool
    charge: Decimal
    paid: Decimal
    patient_share: Decimal
    payer_claim_control_number: str | None
    claim_adjustments: tuple[AdjustmentWords, ...]
    remarks: tuple[RemarkWords, ...]
    lines: tuple[LineAdjudication, ...]

    def as_dict(self) -> dict[str, Any]:
        """The public shape."""
        return {
            "trace_number": self.trace_number,
            "payment_date": None if self.payment_date is None else self.payment_date.isoformat(),
            "payer": self.payer,
            "status": self.status,
            "status_words": self.status_words,
            "posted": self.posted,
            "charge": str(self.charge),
            "paid": str(self.paid),
            "patient_share": str(self.patient_share),
            "payer_claim_control_number": self.payer_claim_control_number,
            "claim_adjustments": [a.as_dict() for a in self.claim_adjustments],
            "remarks": [r.as_dict() for r in self.remarks],
            "lines": [ln.as_dict() for ln in self.lines],
        }


@dataclass(frozen=True, slots=True)
class DenialReason:
    """Why the payer did not pay (a non-routine adjustment), in words, with a likely fix."""

    code: str
    words: str
    fix: str | None

    def as_dict(self) -> dict[str, Any]:
        """The public shape."""
        return {"code": self.code, "words": self.words, "fix": self.fix}


@dataclass(frozen=True, slots=True)
class ClaimAdjudication:
    """Every adjudication of a claim (oldest first) and the claim's denial reasons."""

    claim_id: str
    remittances: tuple[RemittanceAdjudication, ...]
    denial_reasons: tuple[DenialReason, ...]

    @property
    def paid(self) -> Decimal:
        """What the posted adjudications paid, together."""
        return sum((r.paid for r in self.remittances if r.posted), ZERO)

    def as_dict(self) -> dict[str, Any]:
        """The public shape (the API's ``adjudication`` field)."""
        return {
            "remittances": [r.as_dict() for r in self.remittances],
            "paid": str(self.paid),
            "denial_reasons": [d.as_dict() for d in self.denial_reasons],
        }


def _adjustment(group: str, reason: str, amount: Decimal) -> AdjustmentWords:
    words = describe("carc", reason) or f"Adjustment reason {reason} (not in the code list)"
    return AdjustmentWords(group, reason, amount, GROUP_WORDS.get(group, group), words)


def _remarks(codes: Any) -> tuple[RemarkWords, ...]:
    table = denial_table()
    return tuple(RemarkWords(str(c), explain_remark(str(c), table).words) for c in codes or ())


def _denials(latest: RemittanceAdjudication | None) -> tuple[DenialReason, ...]:
    if latest is None or not latest.posted or latest.status == "22":
        return ()
    routine = routine_reasons()
    table = denial_table()
    seen: dict[str, DenialReason] = {}
    for adj in (*latest.claim_adjustments, *(a for ln in latest.lines for a in ln.adjustments)):
        if adj.group == "PR" or adj.reason in routine or adj.amount <= ZERO or adj.code in seen:
            continue
        advice = explain(adj.group, adj.reason, table)
        seen[adj.code] = DenialReason(adj.code, advice.words, advice.fix)
    return tuple(seen.values())


def claim_adjudication(engine: Engine, practice_id: str, actor: str, claim_id: str) -> ClaimAdjudication:
    """How the payers adjudicated the claim, from the stored 835 postings (oldest first).

    Raises:
        NotFoundError: no such claim in the practice.
    """
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        claim = uow.records.get(claims, claim_id)
        rows = uow.session.execute(
            select(
                remittance_claims,
                remittances.c.trace_number,
                remittances.c.payment_date,
                remittances.c.payer_name,
                payers.c.name.label("our_payer_name"),
                remittance_claim_payments.c.payment,
            )
            .join(remittances, remittances.c.id == remittance_claims.c.remittance_id)
            .outerjoin(payers, payers.c.id == remittance_claims.c.payer_id)
            .outerjoin(
                remittance_claim_payments,
                remittance_claim_payments.c.remittance_claim_id == remittance_claims.c.id,
            )
            .where(remittance_claims.c.practice_id == practice_id, remittance_claims.c.claim_id == claim.id)
            .order_by(remittance_claims.c.posted_at, remittance_claims.c.ordinal)
        ).all()
        line_rows: dict[str, list[Any]] = {r.id: [] for r in rows}
        if rows:  # the lines of every posting at once, not a statement per posting
            for ln in uow.session.execute(
                select(remittance_lines)
                .where(
                    remittance_lines.c.practice_id == practice_id,
                    remittance_lines.c.remittance_claim_id.in_(list(line_rows)),
                )
                .order_by(remittance_lines.c.remittance_claim_id, remittance_lines.c.ordinal)
            ):
                line_rows[ln.remittance_claim_id].append(ln)
        wanted = sorted(
            {ln.claim_line_id for lines in line_rows.values() for ln in lines if ln.claim_line_id}
        )
        ours = (
            {
                ln.id: ln
                for ln in uow.session.execute(
                    select(claim_lines).where(
                        claim_lines.c.practice_id == practice_id, claim_lines.c.id.in_(wanted)
                    )
                )
            }
            if wanted
            else {}
        )
    found: list[RemittanceAdjudication] = []
    for r in rows:
        sent = claim_payment_from_data(r.payment) if r.payment else None
        lines = []
        for ln in line_rows[r.id]:
            our = ours.get(ln.claim_line_id) if ln.claim_line_id else None
            svc = sent.lines[ln.ordinal - 1] if sent is not None and ln.ordinal <= len(sent.lines) else None
            adjustments = tuple(_adjustment(str(g), str(c), Decimal(str(a))) for g, c, a in ln.adjustments)
            lines.append(
                LineAdjudication(
                    line_number=our.line_number if our is not None else None,
                    code=ln.code,
                    modifiers=svc.modifiers if svc is not None else tuple(our.modifiers or ()) if our else (),
                    units=Decimal(our.units) if our is not None else (svc.units if svc else Decimal(1)),
                    units_paid=svc.units if svc is not None else None,
                    charge=from_cents(ln.charge_cents),
                    paid=from_cents(ln.paid_cents),
                    adjustments=adjustments,
                    remarks=_remarks(ln.remarks),
                    patient_share=sum((a.amount for a in adjustments if a.group == "PR"), ZERO),
                )
            )
        claim_level = tuple(
            _adjustment(a.group, a.reason, a.amount) for a in (sent.adjustments if sent else ())
        )
        found.append(
            RemittanceAdjudication(
                trace_number=r.trace_number,
                payment_date=r.payment_date,
                payer=r.our_payer_name or r.payer_name,
                status=r.status,
                status_words=CLAIM_STATUS_WORDS.get(r.status, f"status {r.status}"),
                posted=bool(r.posted),
                charge=from_cents(r.charge_cents),
                paid=from_cents(r.paid_cents),
                patient_share=from_cents(r.patient_responsibility_cents),
                payer_claim_control_number=r.payer_claim_control_number,
                claim_adjustments=claim_level,
                remarks=_remarks(r.remarks),
                lines=tuple(lines),
            )
        )
    latest = next((a for a in reversed(found) if a.posted), None)
    return ClaimAdjudication(claim.id, tuple(found), _denials(latest))
