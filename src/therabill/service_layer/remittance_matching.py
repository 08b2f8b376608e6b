"""Matching the CLPs of a remittance to our claims: whose money, on which lines.

``Reads`` fetches what the claims of one posting transaction need (the claims by CLP01,
their lines, their patients' coverages and ledger entries) with one query each, instead of
several per claim; ``match_claim`` resolves one CLP with it; ``sender_of`` finds the payer
that sent the 835. Used by ``remittance_posting`` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Row, func, or_, select

from therabill.adapters.db.bulk import among
from therabill.adapters.db.tables import claim_lines, claims, coverages, payers
from therabill.domain.ledger import Entry
from therabill.domain.money import from_cents
from therabill.domain.posting import ClaimRef, LineRef
from therabill.domain.remittance import ClaimPayment, Remittance
from therabill.service_layer import ledger, secondary_claims
from therabill.service_layer.claim_moves import ClaimMoves
from therabill.service_layer.encounters import CLOSED_CLAIM_STATUSES
from therabill.service_layer.uow import UnitOfWork

__all__ = ["Match", "Reads", "match_claim", "named_payer", "sender_of", "sequence_of"]


@dataclass(frozen=True, slots=True)
class Match:
    """One CLP resolved to our records: whose money, on which lines, which claim's status.

    Attributes:
        ref: the ledger's view (the lines carrying the money, the paying payer, the next payer).
        billed: the claim the payer adjudicated (its status moves).
        sequence: the paying payer's place for the patient (``primary``, ``secondary``...).
        crossed_to: the payer a crossover named, when we know it.
    """

    ref: ClaimRef
    billed: Row[Any]
    sequence: str | None
    crossed_to: str | None = None


def sender_of(uow: UnitOfWork, rem: Remittance) -> str | None:
    """Our record of the payer that sent the 835: its id (REF*2U / N1*PR N104), TRN03, or N1*PR name."""
    ids = [x for x in (rem.payer_id, rem.header.trace_originator) if x]
    ids += [x[1:] for x in ids if len(x) == 10 and x.startswith("1")]  # TRN03: "1" + the payer's EIN
    for ident in ids:
        found = uow.session.execute(
            select(payers.c.id).where(payers.c.practice_id == uow.practice_id, payers.c.payer_id == ident)
        ).first()
        if found is not None:
            return str(found.id)
    if rem.payer_name:
        found = uow.session.execute(
            select(payers.c.id).where(
                payers.c.practice_id == uow.practice_id,
                func.lower(payers.c.name) == rem.payer_name.strip().lower(),
            )
        ).first()
        if found is not None:
            return str(found.id)
    return None


def named_payer(uow: UnitOfWork, name: str | None) -> str | None:
    """The payer a crossover names (NM1*TT name or id), when it is on file."""
    if not name:
        return None
    found = uow.session.execute(
        select(payers.c.id).where(
            payers.c.practice_id == uow.practice_id,
            or_(func.lower(payers.c.name) == name.strip().lower(), payers.c.payer_id == name.strip()),
        )
    ).first()
    return None if found is None else str(found.id)


def sequence_of(claim: Row[Any], payer_id: str, read: Reads) -> str | None:
    """The place of ``payer_id`` for the claim's patient on its date of service."""
    if claim.payer_id == payer_id and claim.coverage_id:
        row = read.coverage(claim.patient_id, claim.coverage_id)
        return str(row.sequence)
    cov = read.coverage_with(claim.patient_id, claim.date_of_service, payer_id)
    return None if cov is None else str(cov.sequence)


class Reads:
    """What the claims of one posting transaction read, fetched once for all of them.

    The claims by CLP01, their lines, their patients' coverages and ledger entries come in
    one query each instead of several per claim. Entries posted in the transaction are
    added as they are posted (``posted``); after a step that may change more than that (a
    next payer's claim made or withdrawn) ``forget`` drops everything, and what is asked
    for next is read again. A claim is handed out once; asked for again (a second CLP for
    it in the same transaction), it is read again, as it stands then.
    """

    def __init__(self, uow: UnitOfWork, numbers: Sequence[str], moves: ClaimMoves | None = None) -> None:
        self._uow = uow
        self._moves = moves
        self._claims: dict[str, Row[Any]] = {}
        self._missing: set[str] = set()
        self._lines: dict[str, list[Row[Any]]] = {}
        self._coverages: dict[str, list[Row[Any]]] = {}
        self._entries: dict[str, list[Entry]] = {}
        wanted = sorted(set(numbers))
        if not wanted:
            return
        found = _claims_for_update(uow, wanted)
        self._claims = {r.claim_number: r for r in found}
        self._missing = set(wanted) - set(self._claims)
        if moves is not None:
            moves.know(found)
        ids = sorted({r.id for r in found} | {r.primary_claim_id for r in found if r.primary_claim_id})
        people = sorted({r.patient_id for r in found})
        dialect = uow.session.get_bind().dialect.name
        for ln in uow.records.rows(
            claim_lines,
            among(claim_lines.c.claim_id, ids, "claim_ids", dialect),
            order_by=[claim_lines.c.claim_id, claim_lines.c.line_number],
        ):
            self._lines.setdefault(ln.claim_id, []).append(ln)
        for claim_id in ids:
            self._lines.setdefault(claim_id, [])
        for cov in uow.records.rows(coverages, among(coverages.c.patient_id, people, "patient_ids", dialect)):
            self._coverages.setdefault(cov.patient_id, []).append(cov)
        for person in people:
            self._coverages.setdefault(person, [])
            self._entries[person] = []
        for e in ledger.patient_entries(uow, people):
            self._entries[e.patient_id].append(e)

    def claim(self, number: str) -> Row[Any] | None:
        found = self._claims.pop(number, None)
        if found is not None or number in self._missing:
            return found
        self.write_queued()  # read again as it stands: what was queued is written first
        return self._uow.records.claim_by_number(number)

    def write_queued(self) -> None:
        """Write the claim moves queued in the transaction (before reading claims' statuses)."""
        if self._moves is not None:
            self._moves.flush()

    def lines_of(self, claim_id: str) -> list[Row[Any]]:
        found = self._lines.get(claim_id)
        return found if found is not None else self._uow.records.lines_of(claim_id)

    def coverage(self, patient_id: str, coverage_id: str) -> Row[Any]:
        found = next((c for c in self._coverages.get(patient_id, ()) if c.id == coverage_id), None)
        return found if found is not None else self._uow.records.get(coverages, coverage_id)

    def coverage_with(self, patient_id: str, day: date, payer_id: str) -> Row[Any] | None:
        """The patient's coverage with ``payer_id`` in force on ``day`` (``secondary_claims.coverage_on``)."""
        rows = self._coverages.get(patient_id)
        if rows is None:
            return secondary_claims.coverage_on(self._uow, patient_id, day, payer_id=payer_id)
        return next((r for r in rows if r.payer_id == payer_id and secondary_claims._active(r, day)), None)

    def next_payer(self, patient_id: str, day: date, sequence: str) -> secondary_claims.NextPayer | None:
        rows = self._coverages.get(patient_id)
        if rows is None:
            return secondary_claims.next_payer_of(self._uow, patient_id, day, sequence)
        return secondary_claims.next_payer_among(rows, day, sequence)

    def entries_of(self, patient_id: str) -> list[Entry]:
        found = self._entries.get(patient_id)
        if found is None:
            found = self._entries[patient_id] = ledger.patient_entries(self._uow, [patient_id])
        return found

    def posted(self, entries: Sequence[Entry]) -> None:
        for e in entries:
            if e.patient_id in self._entries:
                self._entries[e.patient_id].append(e)

    def forget(self) -> None:
        self._claims, self._lines, self._coverages, self._entries = {}, {}, {}, {}
        self._missing = set()


_POSTING_COLUMNS = [c for c in claims.c if c.name != "coded_document"]
"""The columns of a claim that posting reads (not the coded document: a next payer's claim,
which copies it, reads the claim whole)."""


def _claims_for_update(uow: UnitOfWork, numbers: Sequence[str]) -> list[Row[Any]]:
    """The claims numbered ``numbers`` (without their coded document), locked for the
    transaction (their statuses move)."""
    query = (
        select(*_POSTING_COLUMNS)
        .where(
            claims.c.practice_id == uow.practice_id,
            among(claims.c.claim_number, numbers, "numbers", uow.session.get_bind().dialect.name),
        )
        .with_for_update()
    )
    return list(uow.session.execute(query).all())


def match_claim(
    uow: UnitOfWork,
    cp: ClaimPayment,
    sender: str | None,
    existing: Sequence[Entry],
    read: Reads,
    row: Row[Any],
) -> Match | None:
    """CLP01 + the sending payer → that payer's claim for the patient, and the lines its money goes on.

    The claim numbered CLP01 (``row``) when the sender billed it (or the sender is unknown); else the
    open claim of the same visit billed to the sender (a secondary claim); else, when the
    sender has money on the claim's lines (the patient share was moved to it, e.g. by a
    crossover), the claim itself under the sender. Otherwise the claim as billed, so that the
    payer check sends the money to the worklist.
    """
    billed = row
    payer = row.payer_id
    if sender is not None and sender != row.payer_id:
        read.write_queued()  # the statuses below are read from the database: as they stand now
        sibling = next(
            iter(
                uow.records.rows(
                    claims,
                    claims.c.visit_id == row.visit_id,
                    claims.c.payer_id == sender,
                    claims.c.status.not_in(list(CLOSED_CLAIM_STATUSES)),
                    order_by=[claims.c.created_at],
                )
            ),
            None,
        )
        if sibling is not None:
            billed, payer = sibling, sender
        else:
            ledger_id = row.primary_claim_id or row.id
            on_lines = {e.payer_id for e in existing if e.claim_id == ledger_id and e.payer_id is not None}
            if sender in on_lines:
                payer = sender
    ledger_claim = uow.records.get(claims, billed.primary_claim_id) if billed.primary_claim_id else billed
    own = {ln.line_number: ln for ln in read.lines_of(billed.id)}
    lines = tuple(
        LineRef(
            claim_line_id=ln.id,
            line_id=own[ln.line_number].line_id if ln.line_number in own else ln.line_id,
            code=ln.code,
            charge=from_cents(ln.charge_cents),
            date_of_service=ln.date_of_service,
        )
        for ln in read.lines_of(ledger_claim.id)
    )
    sequence = sequence_of(billed, payer, read) if payer else None
    crossed_to = named_payer(uow, cp.crossover_payer) if cp.is_crossover else None
    nxt = read.next_payer(billed.patient_id, billed.date_of_service, sequence) if sequence else None
    next_payer = crossed_to or (nxt.payer_id if nxt else None)
    ref = ClaimRef(
        claim_id=ledger_claim.id,
        claim_number=billed.claim_number,
        patient_id=billed.patient_id,
        payer_id=payer,
        lines=lines,
        next_payer_id=next_payer if next_payer != payer else None,
        billed_claim_id=billed.id if billed.id != ledger_claim.id else None,
        prior_payer_adjudicated=sequence not in (None, "primary"),
    )
    return Match(ref, billed, sequence, crossed_to)
