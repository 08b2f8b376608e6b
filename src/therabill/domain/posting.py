"""Remittance posting: an 835 claim payment becomes ledger entries, or a worklist item.

``post_claim_payment`` turns one ``ClaimPayment`` (one CLP) of a remittance, matched to
one of our claims (``ClaimRef``), into ledger entries:

* the line's paid amount (SVC03) → an insurance payment;
* each CO, OA, PI (or CR) adjustment → an adjustment with its group and reason;
* each PR adjustment → a transfer of that amount from the paying payer to the next payer
  of the patient for the date of service (the secondary after the primary, the tertiary
  after the secondary, or the payer a crossover names), else to the patient;
* a payer after the first (``ClaimRef.prior_payer_adjudicated``) reports the earlier
  payer's adjudication as CARC 23 (``OA-23``): that amount is not the payer's own
  adjustment and is not posted;
* a reversal (CLP02 = 22) carries the original's amounts negated: each becomes a reversal
  of the matching posted entry, or, when none matches, a negative entry and a worklist
  item;
* claim-level amounts (CAS in loop 2100, or a claim paid without service lines) are
  split across the claim's lines in proportion to their charges (largest remainder).

Nothing is ever dropped: a claim we cannot match, a line we cannot match, a claim that
does not balance, a crossover, a provider-level adjustment (PLB) each become a
``WorkItem``. A claim with a problem posts nothing at all (all or nothing per claim).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

from therabill.domain.ledger import (
    Bucket,
    Entry,
    EntryKind,
    allocate,
    new_id,
    payer_balances,
    reversal_of,
    transfer,
)
from therabill.domain.money import ZERO
from therabill.domain.remittance import Adjustment, ClaimPayment, Remittance, ServicePayment

__all__ = [
    "PATIENT_GROUP",
    "PRIOR_PAYER_REASON",
    "negative_payer_items",
    "payer_problem",
    "responsibility_mismatch",
    "ClaimPosting",
    "ClaimRef",
    "LineRef",
    "WorkItem",
    "claim_keys",
    "claim_status_after",
    "match_lines",
    "post_claim_payment",
    "provider_adjustment_items",
]

PATIENT_GROUP = "PR"
"""The CAS group that moves a balance to the patient."""

PRIOR_PAYER_REASON = "23"
"""CARC 23: the impact of prior payer(s) adjudication (what the earlier payer paid and adjusted)."""

REFUND = "refund"
"""The action of a worklist item for money we must not keep (a duplicate, an overpayment)."""


@dataclass(frozen=True, slots=True)
class LineRef:
    """One of our claim lines, as posting needs it.

    Attributes:
        claim_line_id: the line's record id (the ledger item).
        line_id: our line item control number (REF*6R).
        code: the procedure code billed.
        charge: the line charge.
        date_of_service: the line's date of service.
    """

    claim_line_id: str
    line_id: str
    code: str
    charge: Decimal
    date_of_service: date | None = None


@dataclass(frozen=True, slots=True)
class ClaimRef:
    """One of our claims, as posting needs it.

    Attributes:
        claim_id: the claim's record id.
        claim_number: our claim id sent as CLM01 (returned as CLP01).
        patient_id: the patient.
        payer_id: the payer whose money is posted (whose insurance bucket it moves).
        lines: the claim lines (the ledger items).
        next_payer_id: the payer after ``payer_id`` for the date of service (the secondary
            after the primary, the tertiary after the secondary, or the payer a crossover
            names); its patient responsibility moves there instead of to the patient.
        billed_claim_id: the claim the payer adjudicated, when it is not ``claim_id`` (a
            secondary claim: its money posts on the primary claim's lines, its status moves).
        prior_payer_adjudicated: ``payer_id`` is not the first payer of these lines: its
            CARC 23 adjustments repeat an earlier payer's and are not posted.
    """

    claim_id: str
    claim_number: str
    patient_id: str
    payer_id: str
    lines: tuple[LineRef, ...]
    next_payer_id: str | None = None
    billed_claim_id: str | None = None
    prior_payer_adjudicated: bool = False

    @property
    def status_claim_id(self) -> str:
        """The claim whose status the remittance moves."""
        return self.billed_claim_id or self.claim_id


@dataclass(frozen=True, slots=True)
class WorkItem:
    """Something a biller must look at; posting never drops money silently.

    Attributes:
        kind: stable id: ``claim-unmatched``, ``line-unmatched``, ``claim-unbalanced``,
            ``remittance-unbalanced``, ``reversal-unmatched``, ``crossover``,
            ``provider-adjustment``, ``denied``, ``payer-not-on-claim``, ``payment-duplicate``,
            ``payer-overpaid``, ``responsibility-mismatch``, ``secondary-claim``.
        message: what happened, for a person.
        claim_number: CLP01, when the item concerns a claim.
        line: the line's REF*6R or code, when it concerns a line.
        amount: the money concerned.
        reason: codes concerned (e.g. ``CO-50``, ``PLB WO``).
        segment_number: where in the file.
        action: what the biller is to do, when it is one thing (``refund``).
    """

    kind: str
    message: str
    claim_number: str | None = None
    line: str | None = None
    amount: Decimal = ZERO
    reason: str | None = None
    segment_number: int = 0
    action: str | None = None


@dataclass(frozen=True, slots=True)
class ClaimPosting:
    """What one CLP posts.

    Attributes:
        entries: the ledger entries (empty when the claim cannot be posted).
        worklist: items for a biller.
        crossover: the payer forwarded the claim to another payer; do not bill it.
        paid: CLP04.
        posted: True when the claim's entries are to be posted.
        notes: remarks for the person posting (crossover).
    """

    entries: tuple[Entry, ...] = ()
    worklist: tuple[WorkItem, ...] = ()
    crossover: bool = False
    paid: Decimal = ZERO
    posted: bool = False
    notes: tuple[str, ...] = field(default_factory=tuple)


def claim_keys(remittance: Remittance) -> list[str]:
    """One idempotency key per CLP: transaction key + CLP01 + CLP07 + CLP02 + ordinal.

    The ordinal tells apart identical CLP01/CLP07/CLP02 triples inside one transaction.
    """
    seen: Counter[tuple[str, str, str]] = Counter()
    keys = []
    for cp in remittance.claims:
        triple = (cp.claim_id, cp.payer_claim_control_number or "", cp.status)
        seen[triple] += 1
        keys.append("|".join((remittance.idempotency_key, *triple, str(seen[triple]))))
    return keys


def match_lines(
    lines: Sequence[ServicePayment], ours: Sequence[LineRef]
) -> tuple[dict[int, LineRef], list[int]]:
    """Match remittance lines to our lines: REF*6R first, then (code, date of service).

    Returns the matches by index into ``lines`` and the indexes left unmatched.
    """
    by_ref = {ln.line_id: ln for ln in ours}
    used: set[str] = set()
    matched: dict[int, LineRef] = {}
    for i, sp in enumerate(lines):
        ref = by_ref.get(sp.line_id or "")
        if ref is not None and ref.claim_line_id not in used:
            matched[i] = ref
            used.add(ref.claim_line_id)
    unmatched = []
    for i, sp in enumerate(lines):
        if i in matched:
            continue
        candidates = [
            ln
            for ln in ours
            if ln.claim_line_id not in used
            and ln.code == sp.submitted_code
            and (
                sp.service_date is None or ln.date_of_service is None or ln.date_of_service == sp.service_date
            )
        ]
        if candidates:
            matched[i] = candidates[0]
            used.add(candidates[0].claim_line_id)
        else:
            unmatched.append(i)
    return matched, unmatched


@dataclass(slots=True)
class _Amounts:
    """Amounts to post on one of our lines."""

    paid: Decimal = ZERO
    adjustments: list[Adjustment] = field(default_factory=list)


def _split_claim_level(
    paid: Decimal, adjustments: Sequence[Adjustment], targets: Sequence[LineRef], out: dict[str, _Amounts]
) -> None:
    weights = [ln.charge if ln.charge > ZERO else Decimal(1) for ln in targets]
    if paid != ZERO:
        for ln, part in zip(targets, allocate(paid, weights), strict=True):
            out[ln.claim_line_id].paid += part
    for adj in adjustments:
        for ln, part in zip(targets, allocate(adj.amount, weights), strict=True):
            if part != ZERO:
                out[ln.claim_line_id].adjustments.append(Adjustment(adj.group, adj.reason, part))


def _line_entries(
    ref: LineRef, amounts: _Amounts, claim: ClaimRef, payer_id: str, *, denied: bool
) -> list[Entry]:
    common = {
        "patient_id": claim.patient_id,
        "item_id": ref.claim_line_id,
        "claim_id": claim.claim_id,
        "claim_line_id": ref.claim_line_id,
    }
    entries: list[Entry] = []
    if amounts.paid != ZERO:
        entries.append(
            Entry(
                entry_id=new_id(),
                kind=EntryKind.INSURANCE_PAYMENT,
                bucket=Bucket.INSURANCE,
                amount=amounts.paid,
                payer_id=payer_id,
                **common,
            )
        )
    for adj in amounts.adjustments:
        if adj.amount == ZERO:
            continue
        if claim.prior_payer_adjudicated and adj.reason == PRIOR_PAYER_REASON:
            continue
        if adj.group == PATIENT_GROUP:
            to_secondary = claim.next_payer_id is not None
            entries.extend(
                transfer(
                    adj.amount,
                    patient_id=claim.patient_id,
                    item_id=ref.claim_line_id,
                    claim_id=claim.claim_id,
                    from_bucket=Bucket.INSURANCE,
                    from_payer=payer_id,
                    to_bucket=Bucket.INSURANCE if to_secondary else Bucket.PATIENT,
                    to_payer=claim.next_payer_id if to_secondary else None,
                    group_code=adj.group,
                    reason_code=adj.reason,
                )
            )
        else:
            entries.append(
                Entry(
                    entry_id=new_id(),
                    kind=EntryKind.ADJUSTMENT,
                    bucket=Bucket.INSURANCE,
                    amount=adj.amount,
                    payer_id=payer_id,
                    group_code=adj.group,
                    reason_code=adj.reason,
                    detail="denial" if denied else None,
                    **common,
                )
            )
    return entries


def _as_reversals(entries: Sequence[Entry], existing: Sequence[Entry]) -> tuple[list[Entry], list[Entry]]:
    """Turn the negated amounts of a payer reversal into reversals of the posted originals.

    A transfer pair matches a posted, unreversed pair on the same item with the same
    buckets, payers, reason and opposite amounts; any other negative entry matches a posted
    entry of the same kind, item, payer, group (``CR`` matches any) and reason with the
    opposite amount. Returns (entries to post, negative entries no original matched: they
    are posted as they are).
    """
    reversed_ids = {e.reverses for e in existing if e.reverses is not None}
    pool = [e for e in existing if not e.is_reversal and e.entry_id not in reversed_ids]
    journals: dict[str, list[Entry]] = {}
    for e in pool:
        if e.kind is EntryKind.TRANSFER and e.journal_id is not None:
            journals.setdefault(e.journal_id, []).append(e)
    out: list[Entry] = []
    unmatched: list[Entry] = []
    new_pairs: dict[str, list[Entry]] = {}
    for e in entries:
        if e.kind is EntryKind.TRANSFER and e.journal_id is not None:
            new_pairs.setdefault(e.journal_id, []).append(e)
            continue
        if e.amount >= ZERO:
            out.append(e)
            continue
        original = next(
            (
                o
                for o in pool
                if o.kind is e.kind
                and o.bucket is e.bucket
                and o.item_id == e.item_id
                and o.payer_id == e.payer_id
                and (o.group_code == e.group_code or e.group_code == "CR")
                and o.reason_code == e.reason_code
                and o.amount == -e.amount
            ),
            None,
        )
        if original is None:
            out.append(e)
            unmatched.append(e)
        else:
            pool.remove(original)
            out.append(reversal_of(original))
    for legs in new_pairs.values():
        signature = sorted((x.bucket, x.payer_id or "", -x.amount, x.reason_code or "") for x in legs)
        match = next(
            (
                jid
                for jid, olegs in journals.items()
                if olegs[0].item_id == legs[0].item_id
                and sorted((o.bucket, o.payer_id or "", o.amount, o.reason_code or "") for o in olegs)
                == signature
            ),
            None,
        )
        if match is None:
            out.extend(legs)
            if legs[0].bucket is Bucket.INSURANCE and legs[0].amount > ZERO:
                unmatched.append(legs[1])
        else:
            journal = new_id()
            out.extend(reversal_of(o, journal_id=journal) for o in journals.pop(match))
    return out, unmatched


def post_claim_payment(
    cp: ClaimPayment,
    claim: ClaimRef | None,
    payer_id: str,
    existing: Sequence[Entry] = (),
) -> ClaimPosting:
    """Ledger entries and worklist items for one CLP.

    Args:
        cp: the claim payment from the remittance.
        claim: our claim it matched (``None``: unmatched, worklist only).
        payer_id: our id of the payer that sent the remittance.
        existing: the entries already posted on the claim (to match reversals).
    """
    work: list[WorkItem] = []
    at = cp.segment_number
    if claim is None:
        return ClaimPosting(
            worklist=(
                WorkItem(
                    "claim-unmatched",
                    f"claim {cp.claim_id} ({cp.status_words}) matches none of our claims; paid {cp.paid}",
                    cp.claim_id,
                    amount=cp.paid,
                    segment_number=at,
                ),
            ),
            paid=cp.paid,
        )
    if not cp.balanced or cp.problems:
        detail = "; ".join(p.message for p in cp.problems) or "charge - adjustments != paid"
        return ClaimPosting(
            worklist=(
                WorkItem(
                    "claim-unbalanced",
                    f"claim {cp.claim_id} not posted: {detail}",
                    cp.claim_id,
                    amount=cp.paid,
                    segment_number=at,
                ),
            ),
            paid=cp.paid,
        )
    amounts: dict[str, _Amounts] = {ln.claim_line_id: _Amounts() for ln in claim.lines}
    denied_lines: set[str] = set()
    refs = {ln.claim_line_id: ln for ln in claim.lines}
    if cp.lines:
        matched, unmatched = match_lines(cp.lines, claim.lines)
        if unmatched:
            return ClaimPosting(
                worklist=tuple(
                    WorkItem(
                        "line-unmatched",
                        f"claim {cp.claim_id}: line {cp.lines[i].line_id or cp.lines[i].code} matches none of "
                        "the claim's lines; claim not posted",
                        cp.claim_id,
                        line=cp.lines[i].line_id or cp.lines[i].code,
                        amount=cp.lines[i].paid,
                        segment_number=cp.lines[i].segment_number,
                    )
                    for i in unmatched
                ),
                paid=cp.paid,
            )
        for i, ref in matched.items():
            amounts[ref.claim_line_id].paid += cp.lines[i].paid
            amounts[ref.claim_line_id].adjustments.extend(cp.lines[i].adjustments)
        denied_lines = {ref.claim_line_id for i, ref in matched.items() if cp.lines[i].is_denied}
        targets = [matched[i] for i in sorted(matched)]
        if cp.adjustments:
            _split_claim_level(ZERO, cp.adjustments, targets, amounts)
    else:
        if not claim.lines:
            return ClaimPosting(
                worklist=(
                    WorkItem(
                        "line-unmatched", f"claim {cp.claim_id} has no lines", cp.claim_id, segment_number=at
                    ),
                ),
                paid=cp.paid,
            )
        _split_claim_level(cp.paid, cp.adjustments, claim.lines, amounts)
    crossover = cp.is_crossover
    entries: list[Entry] = []
    for line_key, amt in amounts.items():
        entries.extend(
            _line_entries(
                refs[line_key],
                amt,
                claim,
                payer_id,
                denied=cp.is_denied or line_key in denied_lines,
            )
        )
    notes: list[str] = []
    if cp.is_reversal:
        entries, unmatched_neg = _as_reversals(entries, existing)
        work.extend(
            WorkItem(
                "reversal-unmatched",
                f"claim {cp.claim_id}: reversal of {e.kind} {-e.amount} found no posted original; posted as a "
                "negative entry",
                cp.claim_id,
                amount=e.amount,
                reason=f"{e.group_code}-{e.reason_code}" if e.group_code else None,
                segment_number=at,
            )
            for e in unmatched_neg
        )
    if crossover:
        target = claim.next_payer_id
        text = (
            f"claim {cp.claim_id} was crossed over by the payer"
            + (f" to {cp.crossover_payer}" if cp.crossover_payer else "")
            + ": do not bill that payer; wait for its remittance"
        )
        notes.append(text)
        work.append(
            WorkItem(
                "crossover",
                text
                + (
                    ""
                    if target
                    else " (no secondary payer on file: patient responsibility went to the patient)"
                ),
                cp.claim_id,
                amount=cp.patient_responsibility,
                segment_number=at,
            )
        )
    if cp.is_denied:
        reasons = sorted({f"{a.group}-{a.reason}" for a in cp.all_adjustments if a.group != PATIENT_GROUP})
        work.append(
            WorkItem(
                "denied",
                f"claim {cp.claim_id} denied ({', '.join(reasons) or 'no reason given'})",
                cp.claim_id,
                amount=cp.charge,
                reason=", ".join(reasons) or None,
                segment_number=at,
            )
        )
    return ClaimPosting(
        entries=tuple(entries),
        worklist=tuple(work),
        crossover=crossover,
        paid=cp.paid,
        posted=True,
        notes=tuple(notes),
    )


def provider_adjustment_items(remittance: Remittance) -> list[WorkItem]:
    """A worklist item per PLB adjustment (interest, recoupment, forward balance, ...)."""
    return [
        WorkItem(
            "provider-adjustment",
            f"provider-level adjustment {p.reason}"
            + (f" ({p.reference})" if p.reference else "")
            + f": {p.amount} {'taken from' if p.amount > ZERO else 'added to'} the payment",
            claim_number=p.reference,
            amount=p.amount,
            reason=f"PLB {p.reason}",
            segment_number=p.segment_number,
        )
        for p in remittance.provider_adjustments
    ]


def remittance_unbalanced_items(remittance: Remittance) -> list[WorkItem]:
    """Worklist items when the transaction does not balance (then nothing is posted)."""
    if remittance.transaction_balanced:
        return []
    return [
        WorkItem(
            "remittance-unbalanced",
            f"payment {remittance.payment_amount} != claims paid {remittance.claims_paid_total} - provider "
            f"adjustments {remittance.provider_adjustment_total}; nothing posted",
            amount=remittance.payment_amount,
            segment_number=remittance.header.segment_number,
        )
    ]


def entries_total(entries: Iterable[Entry], kind: EntryKind) -> Decimal:
    """The sum of the amounts of ``kind`` among ``entries``."""
    return sum((e.amount for e in entries if e.kind is kind), ZERO)


def counts(items: Iterable[WorkItem]) -> Mapping[str, int]:
    """How many worklist items of each kind."""
    return dict(Counter(i.kind for i in items))


def claim_status_after(cp: ClaimPayment, routine_reasons: frozenset[str]) -> str | None:
    """The claim status a remittance's claim payment implies (a ``ClaimStatus`` value).

    * a payer reversal (CLP02 = 22) → ``pending``: the payer reopened the claim; its
      corrected payment follows;
    * a crossover (CLP02 19/20/21, or remark MA18/N89) → ``crossed_over``;
    * denied (CLP02 = 4, or nothing paid on a charged claim) → ``denied``;
    * paid, but a line paid nothing or carries a CO/OA/PI reason that is not routine
      (``routine_reasons``, e.g. CARC 45; CARC 23 is the earlier payer's share) → ``partly_paid``;
    * otherwise → ``paid``. Predetermination (CLP02 = 25) changes nothing (``None``).
    """
    if cp.is_reversal:
        return "pending"
    if cp.status == "25":
        return None
    if cp.is_crossover:
        return "crossed_over"
    if cp.is_denied or (cp.paid <= ZERO and cp.charge > ZERO):
        return "denied"
    line_unpaid = any(ln.paid <= ZERO < ln.charge for ln in cp.lines)
    non_routine = any(
        a.group in ("CO", "OA", "PI", "CR")
        and a.reason not in routine_reasons
        and a.reason != PRIOR_PAYER_REASON
        and a.amount > ZERO
        for a in cp.all_adjustments
    )
    return "partly_paid" if line_unpaid or non_routine else "paid"


def payer_problem(
    cp: ClaimPayment, claim: ClaimRef, remittance_payer_id: str | None, existing: Sequence[Entry]
) -> WorkItem | None:
    """Why a claim payment must not be posted for the payer that sent it, or ``None``.

    Money is posted to the payer that paid it, never silently to another:

    * ``payer-not-on-claim``: the remittance comes from a payer other than the one the claim
      was billed to (a secondary plan's own 835, or a payment sent to us by mistake): the
      money stays on the worklist until a biller bills that payer or refunds it;
    * ``payment-duplicate``: the payer already paid this claim (net of reversals) and pays it
      again without reversing the first payment: a probable duplicate or overpayment to refund.

    A remittance from a payer not on file (``remittance_payer_id`` ``None``: none of its ids
    or its name is known) is ``payer-not-on-claim`` too. A reversal of posted money is posted.
    """
    if cp.is_reversal and remittance_payer_id is not None:
        return None
    if remittance_payer_id is None:
        return WorkItem(
            "payer-not-on-claim",
            f"claim {cp.claim_id}: the payer of this remittance is not on file; this payment of {cp.paid} "
            "was not posted. Add the payer (its id as the 835 gives it) and post it again, or refund it",
            cp.claim_id,
            amount=cp.paid,
            segment_number=cp.segment_number,
            action=REFUND,
        )
    if remittance_payer_id != claim.payer_id:
        return WorkItem(
            "payer-not-on-claim",
            f"claim {cp.claim_id} was billed to another payer; this payment of {cp.paid} was not posted. "
            "If it is the patient's other plan, post it against that plan's claim; otherwise refund it",
            cp.claim_id,
            amount=cp.paid,
            segment_number=cp.segment_number,
            action=REFUND,
        )
    reversed_ids = {e.reverses for e in existing if e.reverses}
    paid_before = sum(
        (
            e.amount
            for e in existing
            if e.kind is EntryKind.INSURANCE_PAYMENT
            and e.payer_id == claim.payer_id
            and e.reverses is None
            and e.entry_id not in reversed_ids
        ),
        ZERO,
    )
    if paid_before > ZERO and cp.paid > ZERO:
        return WorkItem(
            "payment-duplicate",
            f"claim {cp.claim_id} was already paid {paid_before} by this payer; this second payment of "
            f"{cp.paid} was not posted: a probable duplicate or overpayment (refund it, or ask the payer "
            "to reverse the first one)",
            cp.claim_id,
            amount=cp.paid,
            segment_number=cp.segment_number,
            action=REFUND,
        )
    return None


def responsibility_mismatch(cp: ClaimPayment) -> WorkItem | None:
    """A worklist item when CLP05 (patient responsibility) disagrees with the PR adjustments.

    The PR adjustments are what is posted (they say which reason and line); the item asks a
    biller to confirm the patient's share with the payer before billing the patient.
    """
    from_adjustments = cp.patient_responsibility_from_adjustments
    if cp.patient_responsibility == from_adjustments:
        return None
    return WorkItem(
        "responsibility-mismatch",
        f"claim {cp.claim_id}: CLP05 says the patient owes {cp.patient_responsibility} but the PR "
        f"adjustments add up to {from_adjustments}; the PR adjustments were posted, confirm the "
        "patient's share with the payer before billing the patient",
        cp.claim_id,
        amount=cp.patient_responsibility - from_adjustments,
        reason="CLP05",
        segment_number=cp.segment_number,
    )


def negative_payer_items(
    existing: Sequence[Entry], new: Sequence[Entry], claim_number: str | None, segment_number: int = 0
) -> list[WorkItem]:
    """An item for each payer whose balance on a claim line goes (further) below zero.

    A payer that pays or adjusts more than it owes on a line has overpaid: the money is
    posted as the payer sent it and a biller refunds the overpayment (action ``refund``).
    """
    items = {e.item_id for e in new if e.item_id is not None}
    out: list[WorkItem] = []
    for item in sorted(items):
        before = payer_balances(e for e in existing if e.item_id == item)
        after = payer_balances(
            [*(e for e in existing if e.item_id == item), *(e for e in new if e.item_id == item)]
        )
        for payer, value in sorted(after.items()):
            if value < ZERO and value < before.get(payer, ZERO):
                out.append(
                    WorkItem(
                        "payer-overpaid",
                        f"claim {claim_number}: the payer paid or adjusted {-value} more than it owed on a "
                        "line; refund the overpayment or ask the payer to take it back",
                        claim_number,
                        line=item,
                        amount=-value,
                        segment_number=segment_number,
                        action=REFUND,
                    )
                )
    return out
