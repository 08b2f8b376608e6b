"""Remittance work a biller does after posting: unmatched claims, received payments, the bank.

- ``worklist_items``: the posting worklist with what the payer sent (patient, date of service).
- ``candidate_claims``: our claims an unmatched 835 claim may belong to (by claim number,
  patient name or date of service).
- ``assign_work_item``: assign an unmatched 835 claim to one of our claims: it then posts
  through ``remittance_posting.post_claim_in``, the one way a claim payment posts, exactly as
  if the payer had sent our claim number, and the item closes.
(Received payments and their bank deposits: ``service_layer.received_payments``.)
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, or_, select, update

from therabill.adapters.db.ledger_tables import (
    posting_worklist,
    remittance_assignments,
    remittance_claim_payments,
    remittance_claims,
    remittances,
)
from therabill.adapters.db.tables import claims, patients
from therabill.domain.errors import NotFoundError, Problem
from therabill.domain.ledger import new_id
from therabill.domain.money import from_cents
from therabill.domain.remittance_data import claim_payment_from_data
from therabill.service_layer.errors import refuse
from therabill.service_layer.remittance_posting import Received, RemittanceResult, post_claim_in
from therabill.service_layer.remittances import KIND_WORDS, UNMATCHED_KINDS
from therabill.service_layer.uow import UnitOfWork

__all__ = [
    "ASSIGNABLE_KINDS",
    "Assigned",
    "Candidate",
    "WorkItemView",
    "assign_work_item",
    "candidate_claims",
    "default_query",
    "work_item",
    "worklist_items",
]

ASSIGNABLE_KINDS = frozenset({"claim-unmatched"})
"""Worklist kinds a biller can assign to one of our claims (a whole claim payment that matched none)."""


@dataclass(frozen=True, slots=True)
class WorkItemView:
    """A posting-worklist item with what the payer sent.

    Attributes:
        id: the item; ``kind`` / ``kind_words``: what it is.
        unmatched: the money matched none of our claims; ``assignable``: it can be assigned.
        claim_number: the claim number as the payer sent it; ``claim_id``: ours when matched.
        amount: the money concerned; ``message``: what happened.
        patient: the patient's name as the payer sent it; ``service_date``: the first date of service.
        trace_number: the check or EFT number; ``payer``: the payer's name.
        created_at: when; ``resolution`` / ``resolution_note``: how and why it was closed.
    """

    id: str
    kind: str
    kind_words: str
    unmatched: bool
    assignable: bool
    claim_number: str | None
    claim_id: str | None
    amount: Decimal
    message: str
    patient: str | None
    service_date: date | None
    trace_number: str | None
    payer: str | None
    created_at: datetime
    resolution: str | None
    resolution_note: str | None

    def as_dict(self) -> dict[str, Any]:
        """The public shape (API and ``era worklist --json``)."""
        return {
            "id": self.id,
            "kind": self.kind,
            "kind_words": self.kind_words,
            "unmatched": self.unmatched,
            "assignable": self.assignable,
            "claim_number": self.claim_number,
            "claim_id": self.claim_id,
            "amount": str(self.amount),
            "message": self.message,
            "patient": self.patient,
            "service_date": None if self.service_date is None else self.service_date.isoformat(),
            "trace_number": self.trace_number,
            "payer": self.payer,
            "created_at": self.created_at.isoformat(),
            "resolution": self.resolution,
            "resolution_note": self.resolution_note,
        }


def _item_query() -> Any:
    return (
        select(
            posting_worklist,
            remittances.c.trace_number,
            remittances.c.payer_name,
            remittance_claim_payments.c.payment,
        )
        .outerjoin(remittances, remittances.c.id == posting_worklist.c.remittance_id)
        .outerjoin(
            remittance_claim_payments,
            remittance_claim_payments.c.remittance_claim_id == posting_worklist.c.remittance_claim_id,
        )
    )


def _view(r: Any) -> WorkItemView:
    sent = claim_payment_from_data(r.payment) if r.payment else None
    patient = None
    service_date = None
    if sent is not None:
        patient = " ".join(x for x in (sent.patient_first_name, sent.patient_last_name) if x).title() or None
        dates: list[date | None] = [ln.service_date for ln in sent.lines] + [sent.statement_from]
        service_date = min((d for d in dates if d is not None), default=None)
    return WorkItemView(
        id=r.id,
        kind=r.kind,
        kind_words=KIND_WORDS.get(r.kind, r.kind.replace("-", " ").capitalize()),
        unmatched=r.kind in UNMATCHED_KINDS,
        assignable=r.kind in ASSIGNABLE_KINDS and r.resolved_at is None and sent is not None,
        claim_number=r.claim_number,
        claim_id=r.claim_id,
        amount=from_cents(int(r.amount_cents)),
        message=r.message,
        patient=patient,
        service_date=service_date,
        trace_number=r.trace_number,
        payer=r.payer_name,
        created_at=r.created_at,
        resolution=r.resolution,
        resolution_note=r.resolution_note,
    )


def worklist_items(
    engine: Engine, practice_id: str, actor: str, *, open_only: bool = True, limit: int = 200
) -> list[WorkItemView]:
    """The posting worklist, oldest first (open items only unless ``open_only`` is False)."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        q = _item_query().where(posting_worklist.c.practice_id == practice_id)
        if open_only:
            q = q.where(posting_worklist.c.resolved_at.is_(None))
        rows = uow.session.execute(
            q.order_by(posting_worklist.c.created_at, posting_worklist.c.segment_number).limit(limit)
        ).all()
    return [_view(r) for r in rows]


def work_item(engine: Engine, practice_id: str, actor: str, item_id: str) -> WorkItemView:
    """One worklist item.

    Raises:
        NotFoundError: no such item in the practice.
    """
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        row = uow.session.execute(
            _item_query().where(
                posting_worklist.c.practice_id == practice_id, posting_worklist.c.id == item_id
            )
        ).first()
    if row is None:
        raise NotFoundError("no such worklist item", (Problem("not-found", "id", f"no item {item_id!r}"),))
    return _view(row)


@dataclass(frozen=True, slots=True)
class Candidate:
    """One of our claims an unmatched claim payment may belong to."""

    claim_id: str
    claim_number: str
    patient: str
    date_of_service: date
    total_charge: Decimal
    status: str

    def as_dict(self) -> dict[str, Any]:
        """The public shape."""
        return {
            "claim_id": self.claim_id,
            "claim_number": self.claim_number,
            "patient": self.patient,
            "date_of_service": self.date_of_service.isoformat(),
            "total_charge": str(self.total_charge),
            "status": self.status,
        }


def _as_date(text: str) -> date | None:
    for parse in (date.fromisoformat, lambda t: datetime.strptime(t, "%m/%d/%Y").date()):
        try:
            return parse(text)
        except ValueError:
            continue
    return None


def default_query(item: WorkItemView) -> str:
    """What to search our claims by when the biller gave nothing: the patient's last name the
    payer sent, else the date of service, else the claim number as sent."""
    if item.patient:
        return item.patient.split()[-1]
    if item.service_date is not None:
        return item.service_date.isoformat()
    return item.claim_number or ""


def candidate_claims(
    engine: Engine, practice_id: str, actor: str, query: str, *, limit: int = 20
) -> list[Candidate]:
    """Our claims matching ``query``: a claim number (or part), a patient's name (each word
    matches a first or last name), or a date of service (``11/09/2026`` or ``2026-11-09``);
    newest date of service first."""
    words = query.split()[:4]
    if not words:
        return []
    conditions = []
    for word in words:
        day = _as_date(word)
        if day is not None:
            conditions.append(claims.c.date_of_service == day)
            continue
        like = f"%{word.lower()[:40]}%"
        conditions.append(
            or_(
                func.lower(claims.c.claim_number).like(like),
                func.lower(patients.c.first_name).like(like),
                func.lower(patients.c.last_name).like(like),
            )
        )
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        rows = uow.session.execute(
            select(claims, patients.c.first_name, patients.c.last_name)
            .join(patients, patients.c.id == claims.c.patient_id)
            .where(claims.c.practice_id == practice_id, *conditions)
            .order_by(claims.c.date_of_service.desc(), claims.c.claim_number)
            .limit(max(1, min(limit, 100)))
        ).all()
    return [
        Candidate(
            r.id,
            r.claim_number,
            f"{r.first_name} {r.last_name}",
            r.date_of_service,
            from_cents(r.total_charge_cents),
            r.status,
        )
        for r in rows
    ]


@dataclass(frozen=True, slots=True)
class Assigned:
    """What assigning an unmatched claim payment did.

    Attributes:
        claim_id, claim_number: our claim it was assigned to.
        posted: the payment posted on the claim (else it went to the worklist again, e.g.
            when the payer is not the claim's payer).
        entries: ledger entries posted.
        worklist: the worklist items the posting made (their messages).
        next_claims: the secondary claims made from it.
    """

    claim_id: str
    claim_number: str
    posted: bool
    entries: int
    worklist: tuple[str, ...]
    next_claims: tuple[str, ...]

    def as_dict(self) -> dict[str, Any]:
        """The public shape."""
        return {
            "claim_id": self.claim_id,
            "claim_number": self.claim_number,
            "posted": self.posted,
            "entries": self.entries,
            "worklist": list(self.worklist),
            "next_claims": list(self.next_claims),
        }


def assign_work_item(engine: Engine, practice_id: str, actor: str, item_id: str, claim: str) -> Assigned:
    """Assign an unmatched 835 claim to our claim ``claim`` (its id or claim number) and post it.

    The claim payment the payer sent is posted with our claim's number in place of the one
    the payer sent, through the same posting as a remittance (``post_claim_in``), in one
    transaction with the item's closing; the assignment is kept and audited.

    Raises:
        NotFoundError: no such item or claim in the practice.
        RecordsError: ``worklist-item-closed`` (already closed), ``worklist-not-assignable``
            (not an unmatched claim payment, or one received before payments were kept).
    """
    with UnitOfWork(engine, practice_id, actor) as uow:
        item = uow.session.execute(
            select(posting_worklist)
            .where(posting_worklist.c.practice_id == practice_id, posting_worklist.c.id == item_id)
            .with_for_update()
        ).first()
        if item is None:
            raise NotFoundError(
                "no such worklist item", (Problem("not-found", "id", f"no item {item_id!r}"),)
            )
        if item.resolved_at is not None:
            raise refuse("worklist-item-closed", "id", "the item was already closed")
        source = None
        if item.kind in ASSIGNABLE_KINDS and item.remittance_claim_id is not None:
            source = uow.session.execute(
                select(remittance_claims, remittance_claim_payments.c.payment)
                .join(
                    remittance_claim_payments,
                    remittance_claim_payments.c.remittance_claim_id == remittance_claims.c.id,
                )
                .where(remittance_claims.c.id == item.remittance_claim_id)
            ).first()
        if source is None:
            raise refuse(
                "worklist-not-assignable",
                "id",
                "only a claim payment that matched none of our claims (received with this version) can be assigned",
            )
        ours = (
            uow.records.claim_by_number(claim)
            or uow.session.execute(
                select(claims).where(claims.c.practice_id == practice_id, claims.c.id == claim)
            ).first()
        )
        if ours is None:
            raise NotFoundError("no such claim", (Problem("not-found", "claim", f"no claim {claim!r}"),))
        rem = uow.session.execute(select(remittances).where(remittances.c.id == source.remittance_id)).one()
        cp = replace(claim_payment_from_data(source.payment), claim_id=ours.claim_number)
        result = RemittanceResult(rem.id, rem.idempotency_key, False)
        posted_rc = post_claim_in(
            uow,
            cp,
            Received(rem.id, rem.trace_number, rem.payment_date, source.payer_id, True),
            key=f"assign|{item_id}",
            ordinal=-int(source.ordinal),
            result=result,
        )
        note = f"assigned to claim {ours.claim_number}"
        uow.session.execute(
            update(posting_worklist)
            .where(posting_worklist.c.id == item_id)
            .values(
                resolved_at=uow.now(), resolved_by=actor[:100], resolution="assigned", resolution_note=note
            )
        )
        uow.session.execute(
            remittance_assignments.insert().values(
                id=new_id(),
                practice_id=practice_id,
                worklist_id=item_id,
                remittance_claim_id=source.id,
                claim_id=ours.id,
                posted_remittance_claim_id=posted_rc,
                assigned_at=uow.now(),
                assigned_by=actor[:100],
            )
        )
        uow.record(
            "remittance.worklist-assigned",
            "posting_worklist",
            item_id,
            {"claim": ours.claim_number, "sent_as": item.claim_number, "posted": result.matched_claims == 1},
        )
    return Assigned(
        ours.id,
        ours.claim_number,
        result.matched_claims == 1,
        result.entries,
        tuple(w.message for w in result.worklist),
        tuple(result.next_claims),
    )
