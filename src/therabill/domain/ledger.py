"""The money ledger: append-only entries, balances derived from them.

Every money event is an ``Entry``. Entries are never changed or removed: a mistake is
corrected by a *reversal*, an entry of the same kind, bucket and item with the negated
amount that names the entry it reverses (``reverses``). Because a reversal keeps its
original's kind, every per-kind sum (payments, adjustments...) nets out by itself.

Each entry sits in one *bucket*:

* ``insurance``: what a payer (``payer_id``) still owes on an item;
* ``patient``: what the patient owes (negative: a credit);
* ``prepaid``: money taken for packages and gift certificates, a liability until redeemed;
* ``tips``: tips held for the therapist, never revenue and never part of a balance.

An *item* (``item_id``) is what an entry applies to: a claim line (``item_id`` equals
``claim_line_id``) or a charge never billed to insurance (a no-show or late-cancel fee, a
retail sale, its sales tax; ``item_id`` is that charge's entry id). A patient payment with
no item is *unapplied*: it shows as a patient credit until applied.

Effect of an entry on its bucket's balance: charges and refunds add; payments,
redemptions, adjustments and write-offs subtract; a transfer is two or more legs in one
journal (``journal_id``) whose signed amounts sum to zero (insurance → patient for a PR
amount, payer → payer for a secondary). So for every item:

    charges = insurance payments + patient payments + adjustments
              + insurance balance + patient balance

where payments are net of refunds, patient payments include redemptions, and adjustments
include write-offs. ``Balance.holds()`` checks it.
"""

from __future__ import annotations

import secrets
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from decimal import Decimal
from enum import StrEnum

from therabill.domain.errors import Problem, TherabillError
from therabill.domain.money import CENT, ZERO, D

__all__ = [
    "AgingBucket",
    "age_balances",
    "Balance",
    "Bucket",
    "ChargeType",
    "Entry",
    "EntryKind",
    "Ledger",
    "LedgerError",
    "PatientAccount",
    "PaymentMethod",
    "PrepaidType",
    "allocate",
    "apply_payment",
    "balance_of",
    "balances_by",
    "check_entries",
    "effect",
    "new_id",
    "patient_account",
    "payer_balances",
    "prepaid_remaining",
    "reversal_of",
    "transfer",
]


class EntryKind(StrEnum):
    """What an entry records."""

    CHARGE = "charge"
    INSURANCE_PAYMENT = "insurance-payment"
    ADJUSTMENT = "adjustment"
    WRITE_OFF = "write-off"
    TRANSFER = "transfer"
    PATIENT_PAYMENT = "patient-payment"
    TIP = "tip"
    PREPAID_SALE = "prepaid-sale"
    REDEMPTION = "redemption"
    REFUND = "refund"


class Bucket(StrEnum):
    """Whose balance an entry moves."""

    INSURANCE = "insurance"
    PATIENT = "patient"
    PREPAID = "prepaid"
    TIPS = "tips"


class ChargeType(StrEnum):
    """``detail`` of a charge."""

    CLAIM_LINE = "claim-line"
    NO_SHOW = "no-show-fee"
    LATE_CANCEL = "late-cancel-fee"
    RETAIL = "retail"
    SALES_TAX = "sales-tax"
    SELF_PAY = "self-pay"


class PaymentMethod(StrEnum):
    """``detail`` of a patient payment, tip, prepaid sale or refund."""

    CASH = "cash"
    CARD = "card"
    CHECK = "check"
    HSA = "hsa"
    FSA = "fsa"


class PrepaidType(StrEnum):
    """What a prepaid sale sold (kept in ``group_code`` of the sale)."""

    PACKAGE = "package"
    GIFT_CERTIFICATE = "gift-certificate"


# Kinds whose positive amount lowers the bucket's balance.
_REDUCING = frozenset(
    {
        EntryKind.INSURANCE_PAYMENT,
        EntryKind.PATIENT_PAYMENT,
        EntryKind.REDEMPTION,
        EntryKind.ADJUSTMENT,
        EntryKind.WRITE_OFF,
    }
)
# Kinds a payer may send negative (a takeback, an adjustment that raises the payment).
_SIGNED = frozenset({EntryKind.TRANSFER, EntryKind.INSURANCE_PAYMENT, EntryKind.ADJUSTMENT})
# The buckets each kind may use.
_ALLOWED_BUCKETS: Mapping[EntryKind, frozenset[Bucket]] = {
    EntryKind.CHARGE: frozenset({Bucket.INSURANCE, Bucket.PATIENT}),
    EntryKind.INSURANCE_PAYMENT: frozenset({Bucket.INSURANCE}),
    EntryKind.ADJUSTMENT: frozenset({Bucket.INSURANCE, Bucket.PATIENT}),
    EntryKind.WRITE_OFF: frozenset({Bucket.INSURANCE, Bucket.PATIENT}),
    EntryKind.TRANSFER: frozenset({Bucket.INSURANCE, Bucket.PATIENT}),
    EntryKind.PATIENT_PAYMENT: frozenset({Bucket.PATIENT}),
    EntryKind.TIP: frozenset({Bucket.TIPS}),
    EntryKind.PREPAID_SALE: frozenset({Bucket.PREPAID}),
    EntryKind.REDEMPTION: frozenset({Bucket.PATIENT}),
    EntryKind.REFUND: frozenset({Bucket.INSURANCE, Bucket.PATIENT, Bucket.PREPAID}),
}


class LedgerError(TherabillError):
    """Entries that cannot be posted (each problem names the entry and the rule)."""

    code = "ledger-invalid"


def new_id() -> str:
    """A new opaque 32-character id (128 random bits, hex)."""
    return secrets.token_hex(16)


@dataclass(frozen=True, slots=True)
class Entry:
    """One posted money event.

    Attributes:
        entry_id: opaque id (32 hex characters when made by ``new_id``).
        kind: what the entry records.
        bucket: whose balance it moves.
        amount: cent-exact, non-zero amount; positive for an original (transfer legs,
            insurance payments and adjustments may be negative: a payer's takeback), the
            negated original's amount for a reversal.
        patient_id: the patient the money concerns.
        item_id: the claim line or non-insurance charge it applies to; ``None`` for
            unapplied patient payments, tips, prepaid sales.
        claim_id: the claim, for claim-line entries.
        claim_line_id: the claim line, for claim-line entries (equals ``item_id``).
        payer_id: the payer, for insurance-bucket entries and insurance payments.
        group_code: CARC group (CO, OA, PI, PR) of an adjustment or transfer; the prepaid
            type of a prepaid sale.
        reason_code: CARC (or a practice's own write-off reason).
        detail: charge type, payment method, or a note such as ``denial``.
        instrument_id: the package or gift certificate sold or redeemed.
        journal_id: entries posted as one balanced journal (the legs of a transfer).
        reverses: the entry this one reverses.
    """

    entry_id: str
    kind: EntryKind
    bucket: Bucket
    amount: Decimal
    patient_id: str
    item_id: str | None = None
    claim_id: str | None = None
    claim_line_id: str | None = None
    payer_id: str | None = None
    group_code: str | None = None
    reason_code: str | None = None
    detail: str | None = None
    instrument_id: str | None = None
    journal_id: str | None = None
    reverses: str | None = None

    @property
    def is_reversal(self) -> bool:
        """True when this entry reverses another."""
        return self.reverses is not None


def effect(entry: Entry) -> Decimal:
    """The signed change ``entry`` makes to its bucket's balance."""
    if entry.kind in _REDUCING:
        return -entry.amount
    return entry.amount


@dataclass(frozen=True, slots=True)
class Balance:
    """Figures of one item, claim, patient or payer, derived from entries.

    Attributes:
        charges: sum of charges.
        insurance_payments: insurance payments net of insurance refunds.
        patient_payments: patient payments and redemptions, net of patient refunds.
        adjustments: adjustments and write-offs.
        insurance_balance: what payers still owe (negative: overpaid by a payer).
        patient_balance: what the patient owes (negative: a credit).
    """

    charges: Decimal = ZERO
    insurance_payments: Decimal = ZERO
    patient_payments: Decimal = ZERO
    adjustments: Decimal = ZERO
    insurance_balance: Decimal = ZERO
    patient_balance: Decimal = ZERO

    def holds(self) -> bool:
        """The account equation: charges = payments + adjustments + both balances."""
        return self.charges == (
            self.insurance_payments
            + self.patient_payments
            + self.adjustments
            + self.insurance_balance
            + self.patient_balance
        )

    @property
    def total(self) -> Decimal:
        """Insurance plus patient balance."""
        return self.insurance_balance + self.patient_balance

    def as_dict(self) -> dict[str, str]:
        """The figures as strings (for JSON)."""
        return {
            "charges": str(self.charges),
            "insurance_payments": str(self.insurance_payments),
            "patient_payments": str(self.patient_payments),
            "adjustments": str(self.adjustments),
            "insurance_balance": str(self.insurance_balance),
            "patient_balance": str(self.patient_balance),
        }


def balance_of(entries: Iterable[Entry]) -> Balance:
    """The ``Balance`` of a set of entries (tips and prepaid money are left out)."""
    charges = ins_pay = pt_pay = adj = ins_bal = pt_bal = ZERO
    for e in entries:
        if e.bucket not in (Bucket.INSURANCE, Bucket.PATIENT):
            continue
        if e.kind is EntryKind.CHARGE:
            charges += e.amount
        elif e.kind is EntryKind.INSURANCE_PAYMENT:
            ins_pay += e.amount
        elif e.kind in (EntryKind.PATIENT_PAYMENT, EntryKind.REDEMPTION):
            pt_pay += e.amount
        elif e.kind in (EntryKind.ADJUSTMENT, EntryKind.WRITE_OFF):
            adj += e.amount
        elif e.kind is EntryKind.REFUND:
            if e.bucket is Bucket.INSURANCE:
                ins_pay -= e.amount
            else:
                pt_pay -= e.amount
        if e.bucket is Bucket.INSURANCE:
            ins_bal += effect(e)
        else:
            pt_bal += effect(e)
    return Balance(charges, ins_pay, pt_pay, adj, ins_bal, pt_bal)


def balances_by(entries: Iterable[Entry], key: Callable[[Entry], str | None]) -> dict[str, Balance]:
    """Balances grouped by ``key`` (entries whose key is ``None`` are left out)."""
    groups: dict[str, list[Entry]] = defaultdict(list)
    for e in entries:
        k = key(e)
        if k is not None:
            groups[k].append(e)
    return {k: balance_of(v) for k, v in groups.items()}


def payer_balances(entries: Iterable[Entry]) -> dict[str, Decimal]:
    """Insurance balance owed by each payer."""
    out: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for e in entries:
        if e.bucket is Bucket.INSURANCE and e.payer_id is not None:
            out[e.payer_id] += effect(e)
    return dict(out)


@dataclass(frozen=True, slots=True)
class PatientAccount:
    """A patient's account: balances, credit, unapplied money, prepaid and tips.

    Attributes:
        patient_id: the patient.
        balance: the patient's figures over all items and unapplied payments.
        items: balance per item (claim line or non-insurance charge).
        unapplied: patient payments not applied to any item (net of their reversals).
        prepaid: prepaid money not yet redeemed, per package or gift certificate.
        tips: tips held for therapists.
    """

    patient_id: str
    balance: Balance
    items: Mapping[str, Balance]
    unapplied: Decimal
    prepaid: Mapping[str, Decimal]
    tips: Decimal

    @property
    def credit(self) -> Decimal:
        """The patient's credit (positive) when the patient balance is negative, else 0."""
        return -self.balance.patient_balance if self.balance.patient_balance < ZERO else ZERO


def prepaid_remaining(entries: Iterable[Entry]) -> dict[str, Decimal]:
    """Unredeemed value of every package and gift certificate (sales − redemptions − refunds)."""
    out: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for e in entries:
        if e.instrument_id is None:
            continue
        if e.kind is EntryKind.PREPAID_SALE:
            out[e.instrument_id] += e.amount
        elif e.kind is EntryKind.REDEMPTION or (e.kind is EntryKind.REFUND and e.bucket is Bucket.PREPAID):
            out[e.instrument_id] -= e.amount
    return dict(out)


def patient_account(patient_id: str, entries: Iterable[Entry]) -> PatientAccount:
    """The account of one patient from all of the patient's entries."""
    mine = [e for e in entries if e.patient_id == patient_id]
    unapplied = sum(
        (e.amount for e in mine if e.kind is EntryKind.PATIENT_PAYMENT and e.item_id is None),
        ZERO,
    )
    tips = sum((e.amount for e in mine if e.kind is EntryKind.TIP), ZERO)
    return PatientAccount(
        patient_id=patient_id,
        balance=balance_of(mine),
        items=balances_by(mine, lambda e: e.item_id),
        unapplied=unapplied,
        prepaid=prepaid_remaining(mine),
        tips=tips,
    )


# --- building entries ---------------------------------------------------------------------


def reversal_of(original: Entry, entry_id: str | None = None, journal_id: str | None = None) -> Entry:
    """The entry that reverses ``original``: same fields, negated amount, ``reverses`` set."""
    return replace(
        original,
        entry_id=entry_id or new_id(),
        amount=-original.amount,
        reverses=original.entry_id,
        journal_id=journal_id,
    )


def transfer(
    amount: Decimal,
    *,
    patient_id: str,
    item_id: str,
    from_bucket: Bucket,
    to_bucket: Bucket,
    from_payer: str | None = None,
    to_payer: str | None = None,
    claim_id: str | None = None,
    group_code: str | None = None,
    reason_code: str | None = None,
    journal_id: str | None = None,
) -> tuple[Entry, Entry]:
    """Two legs moving ``amount`` of an item's balance from one bucket (or payer) to another."""
    journal = journal_id or new_id()
    common = {
        "kind": EntryKind.TRANSFER,
        "patient_id": patient_id,
        "item_id": item_id,
        "claim_id": claim_id,
        "claim_line_id": item_id if claim_id is not None else None,
        "group_code": group_code,
        "reason_code": reason_code,
        "journal_id": journal,
    }
    out_leg = Entry(entry_id=new_id(), bucket=from_bucket, amount=-amount, payer_id=from_payer, **common)  # type: ignore[arg-type]
    in_leg = Entry(entry_id=new_id(), bucket=to_bucket, amount=amount, payer_id=to_payer, **common)  # type: ignore[arg-type]
    return out_leg, in_leg


# --- allocation ------------------------------------------------------------------------


def allocate(amount: Decimal, weights: Sequence[Decimal]) -> tuple[Decimal, ...]:
    """Split ``amount`` in proportion to ``weights`` so the parts sum exactly to it.

    Largest-remainder method in cents: each part gets the floor of its exact share, and
    the cents left over go one each to the parts with the largest remainders (ties to the
    earlier part). Weights must be non-negative with a positive sum; ``amount`` may be
    negative (the split of a negative amount is the negated split of its absolute value).
    """
    amount = D(amount)
    if not weights:
        raise ValueError("allocate needs at least one weight")
    if any(w < ZERO for w in weights):
        raise ValueError("allocation weights must not be negative")
    total_weight = sum(weights, ZERO)
    if total_weight <= ZERO:
        raise ValueError("allocation weights must have a positive sum")
    sign = -1 if amount < ZERO else 1
    cents = int(abs(amount) / CENT)
    exact = [Decimal(cents) * w / total_weight for w in weights]
    floors = [int(x) for x in exact]
    left = cents - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-(exact[i] - floors[i]), i))
    for i in order[:left]:
        floors[i] += 1
    return tuple((Decimal(sign * c) * CENT).quantize(CENT) for c in floors)


def apply_payment(amount: Decimal, open_items: Mapping[str, Decimal]) -> tuple[dict[str, Decimal], Decimal]:
    """Apply a payment to items with an open balance.

    When the payment covers every open balance, each item is paid in full and the rest is
    unapplied; otherwise the payment is split across the items in proportion to their open
    balances (largest remainder). Returns the amount per item (items getting nothing are
    left out) and the unapplied rest.
    """
    amount = D(amount)
    if amount <= ZERO:
        raise ValueError("a payment must be positive")
    positive = {k: v for k, v in open_items.items() if v > ZERO}
    total_open = sum(positive.values(), ZERO)
    if total_open <= amount:
        return dict(positive), amount - total_open
    keys = sorted(positive)
    parts = allocate(amount, [positive[k] for k in keys])
    return {k: p for k, p in zip(keys, parts, strict=True) if p != ZERO}, ZERO


# --- checks and the ledger ---------------------------------------------------------------


def _entry_problems(e: Entry) -> list[Problem]:
    loc = f"entry {e.entry_id}"
    problems: list[Problem] = []
    try:
        if D(e.amount) != e.amount:
            raise ValueError
    except (ValueError, ArithmeticError):
        return [Problem("ledger-amount-invalid", loc, f"amount {e.amount!r} is not a cent amount")]
    if e.bucket not in _ALLOWED_BUCKETS[e.kind]:
        problems.append(Problem("ledger-bucket-invalid", loc, f"a {e.kind} cannot sit in bucket {e.bucket}"))
    if e.kind not in _SIGNED and not e.is_reversal and e.amount <= ZERO:
        problems.append(Problem("ledger-amount-not-positive", loc, f"{e.kind} amount must be positive"))
    if e.amount == ZERO:
        problems.append(Problem("ledger-amount-zero", loc, "an entry cannot be zero"))
    if e.bucket is Bucket.INSURANCE and e.payer_id is None:
        problems.append(Problem("ledger-payer-missing", loc, "an insurance-bucket entry needs a payer"))
    if e.claim_line_id is not None and e.item_id != e.claim_line_id:
        problems.append(Problem("ledger-item-mismatch", loc, "item_id must equal claim_line_id"))
    if (
        e.kind in (EntryKind.ADJUSTMENT, EntryKind.INSURANCE_PAYMENT, EntryKind.TRANSFER)
        and e.item_id is None
    ):
        problems.append(Problem("ledger-item-missing", loc, f"a {e.kind} must apply to an item"))
    if e.kind is EntryKind.REDEMPTION and (e.item_id is None or e.instrument_id is None):
        problems.append(
            Problem(
                "ledger-redemption-incomplete", loc, "a redemption needs an item and a package/certificate"
            )
        )
    if e.kind is EntryKind.PREPAID_SALE and e.instrument_id is None:
        problems.append(Problem("ledger-instrument-missing", loc, "a prepaid sale needs an instrument id"))
    return problems


def check_entries(existing: Sequence[Entry], new: Sequence[Entry]) -> list[Problem]:
    """Problems that keep ``new`` from being posted after ``existing`` (empty: fine).

    Checks each entry, that ids are new, that every reversal names an existing original
    that is not a reversal and not already reversed and mirrors it exactly, that entries
    applying to an item come after (or with) the item's charge, and that every journal's
    transfer legs sum to zero on one item.
    """
    problems: list[Problem] = []
    by_id = {e.entry_id: e for e in existing}
    reversed_ids = {e.reverses for e in existing if e.reverses is not None}
    items = {e.item_id for e in existing if e.kind is EntryKind.CHARGE}
    items |= {e.item_id for e in new if e.kind is EntryKind.CHARGE and not e.is_reversal}
    for e in new:
        loc = f"entry {e.entry_id}"
        if e.entry_id in by_id:
            problems.append(Problem("ledger-entry-duplicate", loc, "an entry with this id is already posted"))
            continue
        problems.extend(_entry_problems(e))
        if e.is_reversal:
            orig = by_id.get(e.reverses or "")
            if orig is None:
                problems.append(
                    Problem("ledger-reversal-unknown", loc, f"reverses unknown entry {e.reverses}")
                )
            elif orig.is_reversal:
                problems.append(Problem("ledger-reversal-of-reversal", loc, "a reversal cannot be reversed"))
            elif orig.entry_id in reversed_ids:
                problems.append(
                    Problem("ledger-already-reversed", loc, f"entry {orig.entry_id} is already reversed")
                )
            elif (
                replace(
                    e, entry_id=orig.entry_id, amount=-e.amount, reverses=None, journal_id=orig.journal_id
                )
                != orig
            ):
                problems.append(
                    Problem("ledger-reversal-mismatch", loc, "a reversal must mirror its original")
                )
            else:
                reversed_ids.add(orig.entry_id)
        elif e.item_id is not None and e.kind is not EntryKind.CHARGE and e.item_id not in items:
            problems.append(Problem("ledger-item-unknown", loc, f"no charge for item {e.item_id}"))
        by_id[e.entry_id] = e
    journals: dict[str, list[Entry]] = defaultdict(list)
    for e in new:
        if e.kind is EntryKind.TRANSFER and e.journal_id is not None and not e.is_reversal:
            journals[e.journal_id].append(e)
    problems.extend(
        Problem("ledger-transfer-unbalanced", f"entry {e.entry_id}", "a transfer leg needs a journal")
        for e in new
        if e.kind is EntryKind.TRANSFER and e.journal_id is None and not e.is_reversal
    )
    for jid, legs in journals.items():
        if (
            sum((x.amount for x in legs), ZERO) != ZERO
            or len({x.item_id for x in legs}) != 1
            or len(legs) < 2
        ):
            problems.append(
                Problem(
                    "ledger-transfer-unbalanced",
                    f"journal {jid}",
                    "transfer legs must sum to zero on one item",
                )
            )
    # A reversed transfer must be reversed leg by leg in the same posting.
    rev_journals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for e in new:
        orig = by_id.get(e.reverses or "") if e.is_reversal else None
        if e.kind is EntryKind.TRANSFER and orig is not None:
            rev_journals[orig.journal_id or ""] += e.amount
    for jid, total in rev_journals.items():
        if total != ZERO:
            problems.append(
                Problem(
                    "ledger-transfer-unbalanced", f"journal {jid}", "reverse every leg of a transfer at once"
                )
            )
    return problems


@dataclass(frozen=True, slots=True)
class Ledger:
    """An append-only sequence of entries with the idempotency keys already used.

    Attributes:
        entries: posted entries in posting order.
        keys: idempotency keys of the postings made.
    """

    entries: tuple[Entry, ...] = ()
    keys: frozenset[str] = field(default_factory=frozenset)

    def post(self, new: Sequence[Entry], key: str | None = None) -> Ledger:
        """A ledger with ``new`` appended, all or nothing.

        A posting whose ``key`` was used before changes nothing (the same ledger comes
        back). Raises ``LedgerError`` listing every problem when any entry is invalid.
        """
        if key is not None and key in self.keys:
            return self
        problems = check_entries(self.entries, new)
        if problems:
            raise LedgerError("entries cannot be posted", tuple(problems))
        keys = self.keys | {key} if key is not None else self.keys
        return Ledger(self.entries + tuple(new), keys)

    def get(self, entry_id: str) -> Entry:
        """The entry with ``entry_id`` (``KeyError`` when absent)."""
        for e in self.entries:
            if e.entry_id == entry_id:
                return e
        raise KeyError(entry_id)

    def reversed_ids(self) -> frozenset[str]:
        """Ids of entries that have been reversed."""
        return frozenset(e.reverses for e in self.entries if e.reverses is not None)

    def reverse(self, entry_id: str, key: str | None = None) -> Ledger:
        """Reverse an entry (every leg of its journal, for a transfer)."""
        orig = self.get(entry_id)
        journal = new_id()
        if orig.kind is EntryKind.TRANSFER and orig.journal_id is not None:
            legs = [e for e in self.entries if e.journal_id == orig.journal_id and not e.is_reversal]
        else:
            legs = [orig]
        return self.post([reversal_of(leg, journal_id=journal) for leg in legs], key)

    def balance(self) -> Balance:
        """Balance over all entries."""
        return balance_of(self.entries)

    def item_balances(self) -> dict[str, Balance]:
        """Balance per item (claim line or non-insurance charge)."""
        return balances_by(self.entries, lambda e: e.item_id)

    def claim_balances(self) -> dict[str, Balance]:
        """Balance per claim."""
        return balances_by(self.entries, lambda e: e.claim_id)

    def patient_balances(self) -> dict[str, Balance]:
        """Balance per patient."""
        return balances_by(self.entries, lambda e: e.patient_id)

    def payer_balances(self) -> dict[str, Decimal]:
        """Insurance balance per payer."""
        return payer_balances(self.entries)


AgingBucket = tuple[str, int, int | None]
"""An aging bucket: (label, first day, last day or ``None`` for open-ended)."""


def age_balances(
    open_items: Iterable[tuple[date | None, Decimal]],
    as_of: date,
    buckets: Sequence[AgingBucket],
) -> tuple[tuple[str, Decimal], ...]:
    """Age what a patient owes into ``buckets`` so that the buckets add up to the amount due.

    ``open_items`` are (date the item was charged, the patient's balance on it). A positive
    balance goes to the bucket of its age on ``as_of`` (an item dated after ``as_of`` counts
    as current: it cannot be overdue yet); a negative one (a credit, an unapplied payment) is
    applied to the oldest amounts first, as a payment is. So the buckets always sum to
    ``max(Σ balances, 0)``: the amount due. The buckets must start at day 0 and leave no gap.
    """
    if (
        not buckets
        or buckets[0][1] != 0
        or any(b[2] is None or b[2] + 1 != nxt[1] for b, nxt in zip(buckets, buckets[1:], strict=False))
        or buckets[-1][2] is not None
    ):
        raise ValueError("aging buckets must cover day 0 onwards without gaps")
    amounts = [ZERO] * len(buckets)
    credit = ZERO
    for since, amount in open_items:
        if amount <= ZERO:
            credit -= amount
            continue
        age = max((as_of - since).days, 0) if since is not None else 0
        slot = next(i for i, (_, lo, hi) in enumerate(buckets) if lo <= age and (hi is None or age <= hi))
        amounts[slot] += amount
    for i in reversed(range(len(amounts))):
        used = min(credit, amounts[i])
        amounts[i] -= used
        credit -= used
    return tuple((label, amount) for (label, _, _), amount in zip(buckets, amounts, strict=True))
