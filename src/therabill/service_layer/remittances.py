"""Remittances: ONE way to post an 835, ONE result shape, for the web, the API, the CLI and fetch.

``post_835`` reads the file (every transaction in it) and posts each remittance with
``remittance_posting.post_remittance``: exactly once, claim by claim, each claim's status moved in the
transaction that posts the claim. ``PostedRemittance.as_dict`` is the one public shape of what
posting did; every surface shows it (the web in words, the API and ``--json`` as is).
What posting left for a biller is read here too: the posting worklist, the denials, and
the practice-level (PLB) entries.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, select, update

from therabill.adapters.db.ledger_tables import (
    ledger_entries,
    posting_worklist,
    practice_ledger_entries,
    remittance_claims,
    remittance_lines,
    remittances,
)
from therabill.adapters.db.tables import claim_lines, claims, patients, payers, practices
from therabill.adapters.x12.x835_005010X221A1 import read_835
from therabill.adapters.x12.x835_writer import write_835
from therabill.clock import current_time
from therabill.domain.denials import explain
from therabill.domain.errors import NotFoundError, Problem
from therabill.domain.ledger import EntryKind, balances_by
from therabill.domain.money import ZERO, from_cents, quantize
from therabill.domain.remittance import Adjustment, ClaimPayment, Remittance, RemittanceHeader, ServicePayment
from therabill.refdata.codes import denial_table
from therabill.service_layer import ledger, remittance_posting
from therabill.service_layer.errors import refuse
from therabill.service_layer.remittance_posting import RemittanceResult
from therabill.service_layer.uow import UnitOfWork

__all__ = [
    "KIND_WORDS",
    "UNMATCHED_KINDS",
    "PostedRemittance",
    "WorkRow",
    "dismiss_work_item",
    "example_835",
    "open_work",
    "received",
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
    def not_matched(self) -> int:
        """Claims of the 835 that matched none of ours (on the worklist, nothing posted)."""
        return sum(1 for w in self.result.worklist if w.kind == "claim-unmatched")

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


UNMATCHED_KINDS = frozenset({"claim-unmatched", "line-unmatched", "reversal-unmatched"})
"""Worklist kinds for money that matched none of our claims (or lines)."""
KIND_WORDS = {
    "claim-unmatched": "Claim not ours",
    "line-unmatched": "Line not on the claim",
    "reversal-unmatched": "Reversal of nothing posted",
    "claim-unbalanced": "Claim does not balance",
    "claim-not-postable": "Claim could not be posted",
    "payer-not-on-claim": "Payer not on the claim",
    "payment-duplicate": "Paid twice",
    "provider-adjustment": "Provider adjustment (PLB)",
    "remittance-conflict": "Remittance received twice, different claims",
    "remittance-unbalanced": "Remittance does not balance",
    "status-not-updated": "Claim status not moved",
}


@dataclass(frozen=True, slots=True)
class WorkRow:
    """An open item of the posting worklist, as the remittance page lists it.

    Attributes:
        id: the item (for its actions).
        kind: the kind id; ``kind_words``: the kind in words.
        unmatched: True when the money matched none of our claims.
        claim_number: the claim number as the 835 gave it; ``claim_id``: ours when matched.
        amount_cents: the money concerned.
        message: what happened, in words.
        trace_number: the check or EFT number of its remittance; ``created_at``: when.
    """

    id: str
    kind: str
    kind_words: str
    unmatched: bool
    claim_number: str | None
    claim_id: str | None
    amount_cents: int
    message: str
    trace_number: str | None
    created_at: Any


def open_work(engine: Engine, practice_id: str, actor: str, *, limit: int = 200) -> list[WorkRow]:
    """The open worklist items (oldest first), each with its remittance's trace number."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        rows = uow.session.execute(
            select(posting_worklist, remittances.c.trace_number)
            .outerjoin(remittances, remittances.c.id == posting_worklist.c.remittance_id)
            .where(posting_worklist.c.practice_id == practice_id, posting_worklist.c.resolved_at.is_(None))
            .order_by(posting_worklist.c.created_at, posting_worklist.c.segment_number)
            .limit(limit)
        ).all()
    return [
        WorkRow(
            r.id,
            r.kind,
            KIND_WORDS.get(r.kind, r.kind.replace("-", " ").capitalize()),
            r.kind in UNMATCHED_KINDS,
            r.claim_number,
            r.claim_id,
            int(r.amount_cents),
            r.message,
            r.trace_number,
            r.created_at,
        )
        for r in rows
    ]


def dismiss_work_item(engine: Engine, practice_id: str, actor: str, item_id: str, reason: str) -> None:
    """Close a worklist item with the reason why nothing more is to be done (audited).

    Raises:
        RecordsError: no reason (``worklist-reason-missing``) or already closed
            (``worklist-item-closed``).
        NotFoundError: no such item in the practice.
    """
    why = " ".join(reason.split())[:200]
    if not why:
        raise refuse("worklist-reason-missing", "reason", "say why the item needs nothing more")
    with UnitOfWork(engine, practice_id, actor) as uow:
        row = uow.session.execute(
            select(posting_worklist.c.id, posting_worklist.c.resolved_at).where(
                posting_worklist.c.practice_id == practice_id, posting_worklist.c.id == item_id
            )
        ).first()
        if row is None:
            raise NotFoundError(
                "no such worklist item", (Problem("not-found", "id", f"no item {item_id!r}"),)
            )
        if row.resolved_at is not None:
            raise refuse("worklist-item-closed", "id", "the item was already closed")
        uow.session.execute(
            update(posting_worklist)
            .where(posting_worklist.c.id == item_id)
            .values(
                resolved_at=uow.now(), resolved_by=actor[:100], resolution="dismissed", resolution_note=why
            )
        )
        uow.record("remittance.worklist-dismissed", "posting_worklist", item_id, {"reason": why})


def received(engine: Engine, practice_id: str, actor: str, *, limit: int = 50) -> list[Any]:
    """The remittances received (835s: payer, check or EFT number, amount, date), newest first,
    to reconcile with the bank."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return list(
            uow.session.execute(
                select(remittances)
                .where(remittances.c.practice_id == practice_id)
                .order_by(remittances.c.received_at.desc())
                .limit(limit)
            ).all()
        )


AWAITING_PAYMENT = ("submitted", "batch_accepted", "clearinghouse_accepted", "payer_accepted", "pending")
"""Claim statuses an example 835 pays."""


def _example_line(line: Any, denied: bool) -> ServicePayment:
    charge = from_cents(line.charge_cents)
    allowed = ZERO if denied else quantize(charge * Decimal("0.80"))
    adjustment = Adjustment("CO", "97", charge) if denied else Adjustment("CO", "45", charge - allowed)
    return ServicePayment(
        code=line.code,
        qualifier="HC",
        modifiers=tuple(line.modifiers or ()),
        charge=charge,
        paid=allowed,
        units=Decimal(line.units),
        service_date=line.date_of_service,
        line_id=line.line_id,
        adjustments=(adjustment,) if adjustment.amount else (),
    )


def example_835(engine: Engine, practice_id: str, actor: str) -> str:
    """An 835 paying the practice's claims that await payment, one transaction per payer, so
    that a newcomer can post a remittance that matches (the demo's claims): each line paid 80 %
    of its charge (CO-45 for the rest), and the last line of the first claim with two lines
    denied (CO-97), so the denial worklist explains one. Empty text when nothing awaits payment.
    """
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        waiting = uow.records.rows(
            claims,
            claims.c.status.in_(AWAITING_PAYMENT),
            order_by=[claims.c.date_of_service, claims.c.claim_number],
        )
        lines = {
            c.id: uow.records.rows(
                claim_lines, claim_lines.c.claim_id == c.id, order_by=[claim_lines.c.line_number]
            )
            for c in waiting
        }
        people = {p.id: p for p in uow.records.rows(patients)}
        payer_rows = {p.id: p for p in uow.records.rows(payers)}
        practice = uow.session.execute(select(practices).where(practices.c.id == practice_id)).one()
    if not waiting:
        return ""
    by_payer: dict[str, list[Any]] = {}
    for c in waiting:
        by_payer.setdefault(c.payer_id or "", []).append(c)
    now = current_time()
    denied_one = False
    found: list[Remittance] = []
    for n, (payer_id, its_claims) in enumerate(sorted(by_payer.items()), start=1):
        payments = []
        for c in its_claims:
            deny_last = not denied_one and len(lines[c.id]) > 1
            denied_one = denied_one or deny_last
            paid_lines = tuple(
                _example_line(ln, deny_last and i == len(lines[c.id]) - 1) for i, ln in enumerate(lines[c.id])
            )
            person = people.get(c.patient_id)
            payments.append(
                ClaimPayment(
                    claim_id=c.claim_number,
                    status="1",
                    charge=sum((ln.charge for ln in paid_lines), ZERO),
                    paid=sum((ln.paid for ln in paid_lines), ZERO),
                    payer_claim_control_number=f"EX{c.claim_number[-8:]}",
                    patient_last_name=person.last_name.upper() if person else None,
                    patient_first_name=person.first_name.upper() if person else None,
                    lines=paid_lines,
                )
            )
        payer = payer_rows.get(payer_id)
        header = RemittanceHeader(
            handling_code="I",
            payment_amount=sum((p.paid for p in payments), ZERO),
            credit_debit="C",
            payment_method="ACH",
            payment_date=now.date(),
            trace_number=f"EXAMPLE{now:%Y%m%d}{n:03d}",
            payer_name=payer.name if payer else "PAYER",
            payer_id=payer.payer_id if payer else None,
        )
        found.append(Remittance(header, tuple(payments)))
    return write_835(
        found,
        sender="EXAMPLEPAYER",
        receiver="THERABILL",
        control_number=int(f"{now:%j%H%M}") % 1_000_000_000 or 1,
        created=now,
        payee_name=practice.name,
        payee_npi=practice.npi or "",
    )
