"""Check-out and the patient's money as people see it: balance, ledger, packages, what to collect.

The money itself moves only through ``service_layer.ledger`` (payments, refunds, write-offs,
transfers, packages and gift certificates, each idempotent). This module reads what the
check-out page, the patient page, the API and the CLI show: the patient's account in words
and money (never internal ids as the only label), the open items a payment or write-off can
go to, the packages and gift certificates with what is left and when they expire, the copay
the payer's last 271 answer expects, and the visit being checked out.

``derived_key`` is the one rule for an idempotency key the caller did not give: the hash of
the request's own fields and the day, so the same payment entered twice the same day posts
once, and a second, identical payment on purpose needs its own key.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine

from therabill.adapters.db.ledger_tables import ledger_entries, prepaid_instruments
from therabill.adapters.db.tables import (
    appointments,
    claim_lines,
    claims,
    eligibility_checks,
    patients,
    payers,
    providers,
    visits,
)
from therabill.domain.errors import NotFoundError, Problem, TherabillError
from therabill.domain.ledger import (
    Bucket,
    ChargeType,
    EntryKind,
    PrepaidType,
    balance_of,
    balances_by,
    patient_account,
    prepaid_remaining,
)
from therabill.domain.money import ZERO, D, MoneyError
from therabill.refdata.catalog import default_catalog
from therabill.service_layer import ledger, schedule_setup
from therabill.service_layer.ledger import Posted, to_entry
from therabill.service_layer.uow import UnitOfWork

__all__ = [
    "CheckoutVisit",
    "ExpectedCopay",
    "Instrument",
    "LedgerRow",
    "OpenItem",
    "PatientMoney",
    "charge_fee",
    "checkout_visit",
    "derived_key",
    "patient_money",
    "resolve_patient",
]

_KIND_WORDS = {
    EntryKind.CHARGE: "Charge",
    EntryKind.INSURANCE_PAYMENT: "Insurance paid",
    EntryKind.ADJUSTMENT: "Insurance adjustment",
    EntryKind.WRITE_OFF: "Write-off",
    EntryKind.TRANSFER: "Moved",
    EntryKind.PATIENT_PAYMENT: "Payment",
    EntryKind.TIP: "Tip",
    EntryKind.PREPAID_SALE: "Sold",
    EntryKind.REDEMPTION: "Redeemed",
    EntryKind.REFUND: "Refund",
}


@dataclass(frozen=True, slots=True)
class LedgerRow:
    """One ledger entry in words.

    Attributes:
        entry_id: the entry (for a reversal).
        posted_on: the day it was posted.
        what: what it is, in words.
        amount: its amount (as posted; a reversal is negative).
        whose: ``insurance``, ``patient``, ``prepaid`` or ``tips``.
        payment_ref: the idempotency key of a patient payment (its receipt's reference).
        reversible: a correction may reverse it (not a reversal, not reversed).
    """

    entry_id: str
    posted_on: date
    what: str
    amount: Decimal
    whose: str
    payment_ref: str | None
    reversible: bool


@dataclass(frozen=True, slots=True)
class OpenItem:
    """A charge with a balance left (a claim line's service or a fee)."""

    item_id: str
    service_date: date
    description: str
    patient_balance: Decimal
    insurance_balance: Decimal


@dataclass(frozen=True, slots=True)
class Instrument:
    """A package or gift certificate with what is left of it."""

    code: str
    kind: str
    description: str
    sessions: int | None
    sessions_left: int | None
    remaining: Decimal
    expires_on: date | None
    expired: bool


@dataclass(frozen=True, slots=True)
class ExpectedCopay:
    """The copay to collect at check-out, from the last 271 answer of the primary coverage.

    Attributes:
        amount: the copay (``None``: the answer gave none, or there is no answer).
        source: where it comes from, in words.
    """

    amount: Decimal | None
    source: str


@dataclass(frozen=True, slots=True)
class CheckoutVisit:
    """The visit (or appointment) being checked out."""

    visit_id: str | None
    appointment_id: str | None
    service_date: date
    provider_id: str
    provider_name: str
    item_id: str | None
    services: str


@dataclass(slots=True)
class PatientMoney:
    """A patient's account as the money pages show it."""

    patient_id: str
    name: str
    chart_number: str
    email: str | None
    amount_due: Decimal
    patient_balance: Decimal
    insurance_pending: Decimal
    credit: Decimal
    tips: Decimal
    copay: ExpectedCopay
    rows: list[LedgerRow] = field(default_factory=list)
    open_items: list[OpenItem] = field(default_factory=list)
    instruments: list[Instrument] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready data (money as strings)."""
        return {
            "patient_id": self.patient_id,
            "name": self.name,
            "chart_number": self.chart_number,
            "amount_due": str(self.amount_due),
            "patient_balance": str(self.patient_balance),
            "insurance_pending": str(self.insurance_pending),
            "credit": str(self.credit),
            "tips": str(self.tips),
            "expected_copay": None if self.copay.amount is None else str(self.copay.amount),
            "expected_copay_source": self.copay.source,
            "open_items": [
                {
                    "item_id": i.item_id,
                    "service_date": i.service_date.isoformat(),
                    "description": i.description,
                    "patient_balance": str(i.patient_balance),
                    "insurance_balance": str(i.insurance_balance),
                }
                for i in self.open_items
            ],
            "instruments": [
                {
                    "code": i.code,
                    "kind": i.kind,
                    "description": i.description,
                    "sessions": i.sessions,
                    "sessions_left": i.sessions_left,
                    "remaining": str(i.remaining),
                    "expires_on": i.expires_on.isoformat() if i.expires_on else None,
                    "expired": i.expired,
                }
                for i in self.instruments
            ],
            "ledger": [
                {
                    "entry_id": r.entry_id,
                    "posted_on": r.posted_on.isoformat(),
                    "what": r.what,
                    "amount": str(r.amount),
                    "whose": r.whose,
                    "payment_ref": r.payment_ref,
                }
                for r in self.rows
            ],
        }


def derived_key(scope: str, practice_id: str, day: date, **request: object) -> str:
    """The idempotency key of a request sent without one: its fields and the day, hashed.

    The same request repeated the same day (a double click, a re-run command, a retried
    HTTP call) gets the same key and posts once.
    """
    text = json.dumps({"scope": scope, "day": day.isoformat(), **request}, sort_keys=True, default=str)
    return f"{scope}:{hashlib.sha256(f'{practice_id}|{text}'.encode()).hexdigest()[:32]}"


def _copay(uow: UnitOfWork, patient_id: str) -> ExpectedCopay:
    covs = sorted(
        uow.records.coverages_of(patient_id),
        key=lambda c: ("primary", "secondary", "tertiary").index(c.sequence),
    )
    if not covs:
        return ExpectedCopay(None, "no insurance on file: self-pay")
    primary = covs[0]
    checks = uow.records.rows(
        eligibility_checks,
        eligibility_checks.c.coverage_id == primary.id,
        eligibility_checks.c.source == "271",
        order_by=(eligibility_checks.c.checked_at.desc(),),
    )
    if not checks:
        return ExpectedCopay(None, "no 271 answer on file: run an eligibility check")
    last = checks[0]
    raw = (last.result or {}).get("copay")
    when = f"{last.checked_at:%m/%d/%Y}"
    if raw in (None, ""):
        return ExpectedCopay(None, f"the 271 of {when} states no copay")
    try:
        return ExpectedCopay(D(str(raw)), f"the payer's 271 answer of {when}")
    except MoneyError:
        return ExpectedCopay(None, f"the 271 of {when} has an unreadable copay")


def _item_words(uow: UnitOfWork, item_ids: set[str]) -> dict[str, tuple[date, str]]:
    lines = uow.records.rows(claim_lines, claim_lines.c.id.in_(item_ids)) if item_ids else []
    catalog = default_catalog().codes
    out = {}
    for ln in lines:
        info = catalog.get(ln.code)
        units = f" ×{ln.units}" if ln.units > 1 else ""
        words = info.description.split(" (")[0] if info else ""
        out[ln.id] = (ln.date_of_service, f"{ln.code}{units} {words}".strip())
    return out


def _words(detail: str | None) -> str:
    text = (detail or "").replace("-", " ")
    return text[:1].upper() + text[1:]


def patient_money(engine: Engine, practice_id: str, actor: str, patient_id: str) -> PatientMoney:
    """The patient's account: balance, credit, open items, packages, ledger and the copay due.

    Raises:
        NotFoundError: no such patient in the practice.
    """
    le = ledger_entries.c
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        pat = uow.records.get(patients, patient_id)
        rows = uow.records.rows(ledger_entries, le.patient_id == patient_id, order_by=(le.posted_at, le.id))
        insts = uow.records.rows(
            prepaid_instruments,
            prepaid_instruments.c.patient_id == patient_id,
            order_by=(prepaid_instruments.c.sold_at,),
        )
        payer_names = {r.id: r.name for r in uow.records.rows(payers)}
        words = _item_words(uow, {r.item_id for r in rows if r.item_id})
        copay = _copay(uow, patient_id)
        today = uow.now().date()
    entries = [to_entry(r) for r in rows]
    acct = patient_account(patient_id, entries)
    reversed_ids = {e.reverses for e in entries if e.reverses}
    posted = {r.id: r for r in rows}
    fee_words = {
        e.item_id: (posted[e.entry_id].posted_at.date(), _words(e.detail))
        for e in entries
        if e.kind is EntryKind.CHARGE and e.item_id and e.item_id not in words
    }
    words = {**fee_words, **words}
    inst_names = {i.id: f"{_words(i.kind)} {i.code}" for i in insts}
    out_rows = []
    for e in entries:
        r = posted[e.entry_id]
        what = _KIND_WORDS[e.kind]
        if e.item_id in words:
            what += f" · {words[e.item_id][0]:%m/%d/%Y} {words[e.item_id][1]}"
        if e.payer_id in payer_names:
            what += f" · {payer_names[e.payer_id]}"
        if e.kind in (EntryKind.PATIENT_PAYMENT, EntryKind.TIP, EntryKind.REFUND, EntryKind.PREPAID_SALE):
            what += f" · {_words(e.detail)}"
        if e.instrument_id in inst_names:
            what += f" · {inst_names[e.instrument_id]}"
        if e.kind is EntryKind.TRANSFER:
            what += " to your share" if e.bucket is Bucket.PATIENT else " from insurance"
        if e.reason_code:
            what += f" ({'-'.join(p for p in (e.group_code, e.reason_code) if p)})"
        if e.is_reversal:
            what = f"Reversed: {what}"
        out_rows.append(
            LedgerRow(
                entry_id=e.entry_id,
                posted_on=r.posted_at.date(),
                what=what,
                amount=e.amount,
                whose=str(e.bucket),
                payment_ref=r.idempotency_key if e.kind is EntryKind.PATIENT_PAYMENT else None,
                reversible=not e.is_reversal and e.entry_id not in reversed_ids,
            )
        )
    out_rows.reverse()
    items = balances_by(
        [e for e in entries if e.bucket in (Bucket.PATIENT, Bucket.INSURANCE)], lambda e: e.item_id
    )
    open_items = [
        OpenItem(item, words[item][0], words[item][1], b.patient_balance, b.insurance_balance)
        for item, b in items.items()
        if item in words and (b.patient_balance != ZERO or b.insurance_balance != ZERO)
    ]
    open_items.sort(key=lambda i: (i.service_date, i.description))
    remaining = prepaid_remaining(entries)
    instruments = []
    for i in insts:
        used = sum(
            (-1 if e.is_reversal else 1)
            for e in entries
            if e.kind is EntryKind.REDEMPTION and e.instrument_id == i.id
        )
        instruments.append(
            Instrument(
                code=i.code,
                kind=i.kind,
                description=i.description or _words(i.kind),
                sessions=i.sessions,
                sessions_left=(i.sessions - used) if i.kind == PrepaidType.PACKAGE and i.sessions else None,
                remaining=remaining.get(i.id, ZERO),
                expires_on=i.expires_on,
                expired=i.expires_on is not None and i.expires_on < today,
            )
        )
    bal = balance_of(entries)
    name = " ".join(p for p in (pat.first_name, pat.last_name) if p)
    return PatientMoney(
        patient_id=patient_id,
        name=name,
        chart_number=pat.chart_number,
        email=pat.email,
        amount_due=max(acct.balance.patient_balance, ZERO),
        patient_balance=acct.balance.patient_balance,
        insurance_pending=bal.insurance_balance,
        credit=acct.credit,
        tips=acct.tips,
        copay=copay,
        rows=out_rows,
        open_items=open_items,
        instruments=instruments,
    )


def checkout_visit(
    engine: Engine,
    practice_id: str,
    actor: str,
    patient_id: str,
    *,
    visit_id: str | None = None,
    appointment_id: str | None = None,
) -> CheckoutVisit | None:
    """The visit or appointment being checked out (``None`` when neither is named).

    The copay of a coded visit applies to the visit's first claim line (the patient paid for
    that visit; when insurance answers, the patient's share nets against it). An uncoded
    visit or an appointment without a visit takes the payment as a credit.

    Raises:
        NotFoundError: the visit or appointment is not this patient's (or not in the practice).
    """
    if visit_id is None and appointment_id is None:
        return None
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        visit = None
        appt = None
        if visit_id is not None:
            visit = uow.records.get(visits, visit_id)
        else:
            appt = uow.records.get(appointments, appointment_id or "")
            found = uow.records.rows(visits, visits.c.appointment_id == appt.id)
            visit = found[0] if found else None
        owner = visit.patient_id if visit is not None else appt.patient_id if appt is not None else None
        if owner != patient_id:
            raise NotFoundError("no such visit", (Problem("visit-not-found", "visit", "not this patient's"),))
        provider_id = visit.provider_id if visit is not None else appt.provider_id  # type: ignore[union-attr]
        prov = uow.records.get(providers, provider_id)
        item_id = None
        services = ""
        if visit is not None:
            vclaims = uow.records.rows(
                claims,
                claims.c.visit_id == visit.id,
                claims.c.status != "voided",
                order_by=(claims.c.created_at,),
            )
            if vclaims:
                lines = uow.records.lines_of(vclaims[-1].id)
                item_id = lines[0].id if lines else None
                services = ", ".join(f"{ln.code} ×{ln.units}" for ln in lines)
        day = visit.date_of_service if visit is not None else appt.start.date()  # type: ignore[union-attr]
    return CheckoutVisit(
        visit_id=visit.id if visit is not None else None,
        appointment_id=appointment_id,
        service_date=day,
        provider_id=provider_id,
        provider_name=" ".join(p for p in (prov.first_name, prov.last_name, prov.credential) if p),
        item_id=item_id,
        services=services,
    )


FEE_KINDS = {"no-show": ChargeType.NO_SHOW, "late-cancel": ChargeType.LATE_CANCEL}


def charge_fee(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    patient_id: str,
    kind: str,
    key: str,
    amount: Decimal | None = None,
    appointment_id: str | None = None,
) -> Posted:
    """Charge a no-show or late-cancel fee: by default the amount of the practice's policy.

    With ``appointment_id`` the key is the calendar's own (``no-show-fee:<appointment>``), so
    a fee the calendar already posted when the appointment was marked is never posted twice.

    Raises:
        TherabillError: an unknown kind (``fee-kind-invalid``) or no fee in the policy and no
            amount given (``fee-policy-missing``).
    """
    charge_type = FEE_KINDS.get(kind)
    if charge_type is None:
        raise TherabillError(
            "a fee is no-show or late-cancel",
            (Problem("fee-kind-invalid", "kind", "no-show or late-cancel"),),
        )
    if amount is None:
        policy = schedule_setup.calendar_policy(engine, practice_id, actor)
        amount = policy.no_show_fee if charge_type is ChargeType.NO_SHOW else policy.late_cancel_fee
        if amount is None or amount <= ZERO:
            raise TherabillError(
                "the practice's policy has no such fee",
                (
                    Problem(
                        "fee-policy-missing",
                        "amount",
                        f"set a {kind} fee in the calendar policy, or give one",
                    ),
                ),
            )
    if appointment_id is not None:
        with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
            appt = uow.records.get(appointments, appointment_id)
        if appt.patient_id != patient_id:
            raise NotFoundError(
                "no such appointment", (Problem("appointment-not-found", "appointment_id", ""),)
            )
        key = f"{charge_type}:{appointment_id}"
    return ledger.post_charge(
        engine, practice_id, actor, patient_id=patient_id, amount=amount, charge_type=charge_type, key=key
    )


def resolve_patient(engine: Engine, practice_id: str, actor: str, ref: str) -> str:
    """A patient's id from their id or chart number (the CLI and API accept either).

    Raises:
        NotFoundError: no patient has that id or chart number in the practice.
    """
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        found = uow.records.rows(patients, (patients.c.id == ref) | (patients.c.chart_number == ref))
    if len(found) != 1:
        raise NotFoundError(
            "no such patient",
            (Problem("patient-not-found", "patient", f"no patient id or chart number {ref!r}"),),
        )
    return str(found[0].id)
