"""Remittances: ONE way to post an 835, ONE result shape, for the web, the API, the CLI and fetch.

``post_835`` reads the file (every transaction in it) and posts each remittance with
``remittance_posting.post_remittance``: exactly once, claim by claim, each claim's status moved in the
claim's own transaction. ``PostedRemittance.as_dict`` is the one public shape of what
posting did; every surface shows it (the web in words, the API and ``--json`` as is).
What posting left for a biller is read here too: the posting worklist, the denials, and
the practice-level (PLB) entries.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select

from therabill.adapters.db.ledger_tables import (
    ledger_entries,
    posting_worklist,
    practice_ledger_entries,
    remittance_claims,
    remittance_lines,
    remittances,
)
from therabill.adapters.db.tables import claim_lines, claims
from therabill.adapters.x12.x835_005010X221A1 import read_835
from therabill.domain.denials import explain
from therabill.domain.ledger import EntryKind, balances_by
from therabill.domain.money import ZERO, from_cents
from therabill.domain.remittance import Remittance
from therabill.refdata.codes import denial_table
from therabill.service_layer import ledger, remittance_posting
from therabill.service_layer.remittance_posting import RemittanceResult
from therabill.service_layer.uow import UnitOfWork

__all__ = [
    "PostedRemittance",
    "claim_adjudications",
    "denial_worklist",
    "post_835",
    "provider_adjustments",
    "worklist",
]


@dataclass(frozen=True, slots=True)
class PostedRemittance:
    """What posting one 835 transaction did.

    Attributes:
        trace_number: TRN02 (the check or EFT number).
        payer: the payer as the 835 names it (N1*PR name, else its id).
        payment: BPR02, the money of the transaction.
        result: the ledger's account of the posting.
    """

    trace_number: str | None
    payer: str | None
    payment: Decimal
    result: RemittanceResult

    @property
    def new(self) -> bool:
        """False when the remittance was already on file (nothing was posted twice)."""
        return self.result.new

    @property
    def matched_claims(self) -> int:
        """Claims of ours that the 835 paid, adjusted or denied, posted now."""
        return self.result.matched_claims

    @property
    def unmatched_claims(self) -> int:
        """Claims processed now that went to the worklist instead of the ledger."""
        return self.result.posted_claims - self.result.matched_claims

    def as_dict(self) -> dict[str, Any]:
        """The one public shape (API responses, ``era post --json``, fetch results)."""
        r = self.result
        return {
            "remittance_id": r.remittance_id,
            "trace_number": self.trace_number,
            "payer": self.payer,
            "paid": str(self.payment),
            "new": r.new,
            "conflict": r.conflict,
            "claims_matched": r.matched_claims,
            "claims_unmatched": r.posted_claims - r.matched_claims,
            "claims_already_posted": r.skipped_claims,
            "entries": r.entries,
            "worklist": [
                {
                    "kind": w.kind,
                    "claim": w.claim_number,
                    "amount": str(w.amount),
                    "reason": w.reason,
                    "message": w.message,
                    "action": w.action,
                }
                for w in r.worklist
            ],
            "next_claims": list(r.next_claims),
        }


def post_835(
    engine: Engine, practice_id: str, actor: str, data: bytes | str, *, file_sha256: str | None = None
) -> list[PostedRemittance]:
    """Read an 835 file and post every remittance in it (exactly once each).

    Raises:
        X12Error: the file cannot be read (naming the segment); nothing is posted.
    """
    raw = data if isinstance(data, bytes) else data.encode("latin-1")
    digest = file_sha256 or hashlib.sha256(raw).hexdigest()
    remittances: list[Remittance] = list(read_835(raw.decode("latin-1")))
    return [
        PostedRemittance(
            rem.trace_number,
            rem.payer_name or rem.payer_id,
            rem.payment_amount,
            remittance_posting.post_remittance(engine, practice_id, actor, rem, file_sha256=digest),
        )
        for rem in remittances
    ]


# --- reading -----------------------------------------------------------------------------


def provider_adjustments(engine: Engine, practice_id: str, actor: str) -> list[dict[str, Any]]:
    """The practice-level ledger: PLB adjustments posted from remittances, oldest first."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        rows = uow.session.execute(
            select(practice_ledger_entries, remittances.c.trace_number)
            .join(remittances, remittances.c.id == practice_ledger_entries.c.remittance_id, isouter=True)
            .where(practice_ledger_entries.c.practice_id == practice_id)
            .order_by(practice_ledger_entries.c.posted_at, practice_ledger_entries.c.segment_number)
        ).all()
    return [
        {
            "id": r.id,
            "kind": r.kind,
            "reason": r.reason,
            "reference": r.reference,
            "amount": str(from_cents(r.amount_cents)),
            "payer_id": r.payer_id,
            "remittance_id": r.remittance_id,
            "trace_number": r.trace_number,
        }
        for r in rows
    ]


def _explain(group: str, reason: str) -> tuple[str, str | None]:
    """The reason in words and a likely fix (the denial explainer's table of CARC advice)."""
    advice = explain(group, reason, denial_table())
    return advice.words, advice.fix


def denial_worklist(engine: Engine, practice_id: str, actor: str) -> list[dict[str, Any]]:
    """Each denied or partly paid claim line: paid, adjusted, reasons in words, likely fix.

    A line is listed when an unreversed CO/OA/PI adjustment on it has a reason that is not
    routine (``remittance_posting.routine_reasons``: the data file ``refdata/data/routine_adjustments.toml``,
    CARC 45 and 253); it is *denied* when the payer paid nothing.
    """
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        entries = ledger.entries_where(uow, ledger_entries.c.claim_line_id.is_not(None))
        numbers = dict(
            uow.session.execute(
                select(claims.c.id, claims.c.claim_number).where(claims.c.practice_id == practice_id)
            ).all()
        )
        codes = dict(
            uow.session.execute(
                select(claim_lines.c.id, claim_lines.c.code).where(claim_lines.c.practice_id == practice_id)
            ).all()
        )
    reversed_ids = {e.reverses for e in entries if e.reverses}
    live = [e for e in entries if not e.is_reversal and e.entry_id not in reversed_ids]
    routine = remittance_posting.routine_reasons()
    out: list[dict[str, Any]] = []
    for line_id, bal in sorted(balances_by(entries, lambda e: e.claim_line_id).items()):
        reasons = sorted(
            {
                (e.group_code or "", e.reason_code or "")
                for e in live
                if e.claim_line_id == line_id
                and e.kind is EntryKind.ADJUSTMENT
                and e.group_code in ("CO", "OA", "PI", "CR")
                and e.reason_code not in routine
            }
        )
        if not reasons:
            continue
        claim_id = next(e.claim_id for e in entries if e.claim_line_id == line_id)
        explained = []
        for group, reason in reasons:
            words, fix = _explain(group, reason)
            explained.append({"code": f"{group}-{reason}", "words": words, "fix": fix})
        out.append(
            {
                "claim_id": claim_id,
                "claim_number": numbers.get(claim_id),
                "claim_line_id": line_id,
                "code": codes.get(line_id),
                "status": "denied" if bal.insurance_payments == ZERO else "partly paid",
                "charges": str(bal.charges),
                "paid": str(bal.insurance_payments),
                "adjusted": str(bal.adjustments),
                "reasons": explained,
            }
        )
    return out


def worklist(engine: Engine, practice_id: str, actor: str, *, open_only: bool = True) -> list[dict[str, Any]]:
    """The posting worklist (unmatched claims and lines, crossovers, PLB, unbalanced)."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        q = select(posting_worklist).where(posting_worklist.c.practice_id == practice_id)
        if open_only:
            q = q.where(posting_worklist.c.resolved_at.is_(None))
        rows = uow.session.execute(
            q.order_by(posting_worklist.c.created_at, posting_worklist.c.segment_number)
        ).all()
    return [
        {
            "kind": r.kind,
            "claim_number": r.claim_number,
            "line": r.line,
            "amount": str(from_cents(r.amount_cents)),
            "reason": r.reason,
            "message": r.message,
            "action": r.action,
        }
        for r in rows
    ]


def claim_adjudications(engine: Engine, practice_id: str, actor: str, claim_id: str) -> list[dict[str, Any]]:
    """Every remittance that adjudicated a claim, oldest first: who paid, CLP02, the claim's
    remark codes, and each service line with its adjustments (CARC) and remark codes (RARC)."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        uow.records.get(claims, claim_id)
        rows = uow.session.execute(
            select(remittance_claims, remittances.c.trace_number, remittances.c.payment_date)
            .join(remittances, remittances.c.id == remittance_claims.c.remittance_id)
            .where(remittance_claims.c.practice_id == practice_id, remittance_claims.c.claim_id == claim_id)
            .order_by(remittance_claims.c.posted_at, remittance_claims.c.ordinal)
        ).all()
        lines = {
            r.id: uow.session.execute(
                select(remittance_lines)
                .where(remittance_lines.c.remittance_claim_id == r.id)
                .order_by(remittance_lines.c.ordinal)
            ).all()
            for r in rows
        }
    return [
        {
            "trace_number": r.trace_number,
            "payment_date": r.payment_date.isoformat() if r.payment_date else None,
            "payer_id": r.payer_id,
            "status": r.status,
            "posted": r.posted,
            "paid": str(from_cents(r.paid_cents)),
            "patient_responsibility": str(from_cents(r.patient_responsibility_cents)),
            "payer_claim_control_number": r.payer_claim_control_number,
            "remarks": list(r.remarks or ()),
            "lines": [
                {
                    "code": ln.code,
                    "line_id": ln.line_id,
                    "claim_line_id": ln.claim_line_id,
                    "charge": str(from_cents(ln.charge_cents)),
                    "paid": str(from_cents(ln.paid_cents)),
                    "adjustments": [f"{g}-{c} {a}" for g, c, a in ln.adjustments],
                    "remarks": list(ln.remarks),
                }
                for ln in lines[r.id]
            ],
        }
        for r in rows
    ]
