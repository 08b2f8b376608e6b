"""Secondary and tertiary claims, made from the earlier payer's remittance as it posts.

When a payer's 835 posts a claim and the patient has a next coverage for the date of
service (the secondary after the primary, the tertiary after the secondary), the next
payer's claim is made in the same transaction as the posting: the same lines, the next
coverage, and the earlier payers' adjudications (``claims.cob``: 2320 CAS, AMT*D, AMT*EAF,
2330B, 2430 SVD/CAS/DTP*573). It is scrubbed and waits for the biller (``scrubbed``);
no charge is posted for it: the money is the primary claim's lines' (``primary_claim_id``),
whose patient responsibility the posting moved to the next payer.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Row

from therabill.adapters.db.tables import claim_lines, claims, coverages, payers, visits
from therabill.domain.cob import (
    NEXT_SEQUENCE,
    PayerAdjudication,
    adjudication_of,
    cob_problems,
    document_with_adjudications,
)
from therabill.domain.ledger import new_id
from therabill.domain.posting import ClaimRef, WorkItem
from therabill.domain.records import ClaimStatus
from therabill.domain.remittance import ClaimPayment
from therabill.scrubber import scrub
from therabill.service_layer import claim_status, intake
from therabill.service_layer.encounters import (
    CLOSED_CLAIM_STATUSES,
    encounter_document,
    encounter_of_document,
    scrub_context_in,
)
from therabill.service_layer.uow import UnitOfWork

__all__ = ["NextPayer", "coverage_on", "make_next_claim_in", "next_payer_of", "withdraw_next_claims_in"]

_LINE_COLUMNS = (
    "line_number",
    "service_index",
    "code",
    "modifiers",
    "units",
    "minutes",
    "unit_charge_cents",
    "charge_cents",
    "diagnosis_pointers",
    "line_id",
    "date_of_service",
    "place_of_service",
)
"""The columns a next payer's claim line copies from the line it bills again."""

_UNSENT = frozenset({ClaimStatus.DRAFT.value, ClaimStatus.SCRUBBED.value, ClaimStatus.READY.value})


@dataclass(frozen=True, slots=True)
class NextPayer:
    """The coverage billed after a payer.

    Attributes:
        coverage_id: the next coverage.
        payer_id: its payer (our record id).
        sequence: ``secondary`` or ``tertiary``.
    """

    coverage_id: str
    payer_id: str
    sequence: str


def _active(row: Row[Any], day: date) -> bool:
    return (row.active_from is None or row.active_from <= day) and (
        row.active_to is None or day <= row.active_to
    )


def coverage_on(uow: UnitOfWork, patient_id: str, day: date, *, payer_id: str) -> Row[Any] | None:
    """The patient's coverage with this payer in force on ``day``."""
    rows = uow.records.rows(coverages, coverages.c.patient_id == patient_id, coverages.c.payer_id == payer_id)
    return next((r for r in rows if _active(r, day)), None)


def next_payer_of(uow: UnitOfWork, patient_id: str, day: date, sequence: str) -> NextPayer | None:
    """The coverage billed after a payer of ``sequence`` on ``day`` (``None``: the patient is next)."""
    if NEXT_SEQUENCE.get(sequence) is None:
        return None
    return next_payer_among(uow.records.rows(coverages, coverages.c.patient_id == patient_id), day, sequence)


def next_payer_among(rows: Iterable[Row[Any]], day: date, sequence: str) -> NextPayer | None:
    """``next_payer_of`` over the patient's coverage rows already read (a posting reads them
    once for many claims)."""
    nxt = NEXT_SEQUENCE.get(sequence)
    if nxt is None:
        return None
    row = next((r for r in rows if r.sequence == nxt and _active(r, day)), None)
    return None if row is None else NextPayer(row.id, row.payer_id, nxt)


def _claim_number(uow: UnitOfWork) -> str:
    for _ in range(20):
        candidate = "TB" + secrets.token_hex(5).upper()
        if uow.records.claim_by_number(candidate) is None:
            return candidate
    raise RuntimeError("could not find a free claim number")  # pragma: no cover - 16^10 space


def _open_next_claims(uow: UnitOfWork, ledger_claim_id: str, payer_id: str | None = None) -> list[Row[Any]]:
    where = [
        claims.c.primary_claim_id == ledger_claim_id,
        claims.c.status.not_in(list(CLOSED_CLAIM_STATUSES)),
    ]
    if payer_id is not None:
        where.append(claims.c.payer_id == payer_id)
    return uow.records.rows(claims, *where, order_by=[claims.c.created_at])


def make_next_claim_in(
    uow: UnitOfWork,
    *,
    billed: Row[Any],
    ref: ClaimRef,
    cp: ClaimPayment,
    sequence: str,
    nxt: NextPayer,
    payment_date: date | None,
) -> tuple[str | None, list[WorkItem]]:
    """Make the next payer's claim from ``cp`` (inside the posting's unit of work).

    Args:
        billed: the claim the payer adjudicated (the primary, or a secondary for a tertiary).
        ref: the posting's claim reference (the ledger lines).
        cp: the payer's claim payment.
        sequence: the adjudicating payer's place (``primary`` / ``secondary``).
        nxt: the next coverage.
        payment_date: the remittance date (DTP*573).

    Returns the new claim's number (``None`` when none was made) and worklist items: the
    claim to review, or why none was made.
    """
    ledger_claim_id = ref.claim_id
    if _open_next_claims(uow, ledger_claim_id, nxt.payer_id):
        return None, [
            WorkItem(
                "secondary-claim",
                f"claim {cp.claim_id}: the {nxt.sequence} payer already has an open claim for this visit; "
                "none was made (correct it with this remittance if it is not sent yet)",
                cp.claim_id,
                segment_number=cp.segment_number,
            )
        ]
    payer = uow.records.get(payers, ref.payer_id)
    own_lines = uow.records.lines_of(billed.id)
    by_number = {ln.line_number: ln for ln in own_lines}
    ledger_of = {ln.line_id: ln for ln in ref.lines}
    triples = [
        (ln.line_number, ln.service_index, ledger_of[ln.line_id])
        for ln in own_lines
        if ln.line_id in ledger_of
    ]
    adj = adjudication_of(
        cp,
        triples,
        payer_identifier=payer.payer_id or payer.name,
        payer_name=payer.name,
        sequence=sequence,
        adjudication_date=payment_date,
    )
    problems = ["a remittance line matches none of the claim's lines"] if adj is None else cob_problems(adj)
    if adj is None or problems:
        return None, [
            WorkItem(
                "secondary-claim",
                f"claim {cp.claim_id}: no {nxt.sequence} claim was made: " + "; ".join(problems),
                cp.claim_id,
                amount=cp.patient_responsibility,
                segment_number=cp.segment_number,
            )
        ]
    earlier: Sequence[dict[str, Any]] = billed.cob or ()
    cob = [*earlier, adj.as_json()]
    visit = uow.records.get(visits, billed.visit_id)
    under_next = {**visit._mapping, "coverage_id": nxt.coverage_id}
    document = document_with_adjudications(
        encounter_document(uow.records, under_next, exclude_visit=billed.visit_id),
        [PayerAdjudication.from_json(a) for a in cob],
    )
    encounter = encounter_of_document(document)
    number = _claim_number(uow)
    claim_id = new_id()
    now = uow.now()
    uow.records.insert(
        claims,
        id=claim_id,
        visit_id=billed.visit_id,
        patient_id=billed.patient_id,
        payer_id=nxt.payer_id,
        coverage_id=nxt.coverage_id,
        claim_number=number,
        frequency="1",
        status=ClaimStatus.DRAFT.value,
        date_of_service=billed.date_of_service,
        total_charge_cents=billed.total_charge_cents,
        findings=None,
        has_errors=False,
        coded_document=document,
        created_at=now,
        updated_at=now,
        cob=cob,
        primary_claim_id=ledger_claim_id,
    )
    uow.records.insert_many(
        claim_lines,
        [
            {
                "id": new_id(),
                "practice_id": uow.practice_id,
                "claim_id": claim_id,
                **{k: getattr(by_number[n], k) for k in _LINE_COLUMNS},
            }
            for n in sorted(by_number)
        ],
    )
    claim_status.add_status_event_in(
        uow, claim_id, ClaimStatus.DRAFT.value, note=f"{nxt.sequence} claim from the 835 of {payer.name}"
    )
    on_file = intake.on_file(intake.check_in(uow.records, visit), expected=False)
    report = scrub(encounter, now.date(), scrub_context_in(uow.records, visit._mapping, on_file))
    findings = json.loads(json.dumps(report.as_dict(), default=str))
    uow.records.update(
        claims,
        claim_id,
        status=ClaimStatus.SCRUBBED.value,
        findings=findings,
        has_errors=bool(report.has_errors),
    )
    claim_status.add_status_event_in(
        uow, claim_id, ClaimStatus.SCRUBBED.value, findings=findings, note="scrubbed"
    )
    uow.record(
        "claim.create",
        "claim",
        claim_id,
        {"status": ClaimStatus.SCRUBBED.value, "sequence": nxt.sequence, "from_claim": billed.id},
    )
    return number, [
        WorkItem(
            "secondary-claim",
            f"claim {cp.claim_id}: {nxt.sequence} claim {number} was made with {payer.name}'s adjudication "
            f"(patient liability {adj.remaining_patient_liability}); review it and mark it ready",
            number,
            amount=adj.remaining_patient_liability,
            segment_number=cp.segment_number,
        )
    ]


def withdraw_next_claims_in(
    uow: UnitOfWork, ledger_claim_id: str, cp: ClaimPayment, *, keep: str
) -> list[WorkItem]:
    """After a payer's reversal: void the later payers' claims not sent yet (all but ``keep``,
    the reversed claim); a worklist item for those already sent."""
    out: list[WorkItem] = []
    for row in _open_next_claims(uow, ledger_claim_id):
        if row.id == keep:
            continue
        if row.status in _UNSENT:
            claim_status.set_status_in(
                uow, row, ClaimStatus.VOIDED.value, note=f"the earlier payer reversed claim {cp.claim_id}"
            )
        else:
            out.append(
                WorkItem(
                    "secondary-claim",
                    f"claim {row.claim_number} was sent with an adjudication the earlier payer has now reversed "
                    f"(claim {cp.claim_id}): correct or void it",
                    row.claim_number,
                    segment_number=cp.segment_number,
                )
            )
    return out
