"""Document use cases: build the view models from encounters, records and the ledger, render PDFs.

The CLI and the web app call these; the PDF adapters only lay out what they are given.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from datetime import date, timedelta
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from therabill.adapters.pdf.cms1500 import render_cms1500
from therabill.adapters.pdf.note import render_note
from therabill.adapters.pdf.progress import render_progress
from therabill.adapters.pdf.receipt import render_receipt
from therabill.adapters.pdf.statement import render_statement
from therabill.adapters.pdf.superbill import render_superbill
from therabill.adapters.text import transliterated
from therabill.domain.claim import Claim, build_claim
from therabill.domain.encounter import Encounter
from therabill.domain.errors import NotFoundError, Problem, TherabillError
from therabill.domain.forms import (
    Cms1500Form,
    FormError,
    PartyView,
    ProgressReportView,
    ReceiptView,
    StatementLine,
    StatementView,
    cms1500_forms,
    note_view,
    printable_tax_id,
    progress_view,
    superbill_view,
)
from therabill.domain.money import ZERO, from_cents
from therabill.refdata.catalog import default_catalog
from therabill.refdata.profiles import load_profile
from therabill.service_layer.claims import claim_record
from therabill.service_layer.coding import units_of

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = [
    "claim_cms1500_pdf",
    "claim_for",
    "cms1500_pdf",
    "diagnosis_descriptions",
    "note_pdf",
    "note_pdf_for_visit",
    "overflow_mode",
    "progress_pdf_for_patient",
    "progress_view_for_patient",
    "receipt_pdf_for_payment",
    "receipt_view_for_payment",
    "statement_pdf_for_patient",
    "statement_view_for_patient",
    "superbill_pdf",
]

AGING_BUCKETS = (
    ("Current", 0, 30),
    ("31–60 days", 31, 60),
    ("61–90 days", 61, 90),
    ("Over 90 days", 91, None),
)


def claim_for(encounter: Encounter) -> Claim:
    """The claim of an encounter, with units by its payer profile's method."""
    return build_claim(encounter, units_of(encounter.services, encounter.payer_profile))


def overflow_mode(profile_name: str | None) -> str:
    """The payer profile's ``cms1500_overflow`` setting (``split`` when it has none)."""
    if not profile_name:
        return "split"
    return str(load_profile(profile_name).value("cms1500_overflow", "split"))


def diagnosis_descriptions(codes: Sequence[str], day: date | None) -> dict[str, str]:
    """ICD-10-CM descriptions of ``codes`` (release in force on ``day``); blank when unknown."""
    try:
        from therabill.refdata.icd10 import icd10
    except ImportError:  # the ICD-10 service is optional for documents
        return {}
    service = icd10()
    out: dict[str, str] = {}
    for code in codes:
        try:
            desc = service.check(code, day).description if day else service.describe(code)
        except Exception:  # noqa: BLE001 - a description is a nicety, never a failure
            desc = None
        out[code] = desc or ""
    return out


def code_descriptions() -> Mapping[str, str]:
    """Short descriptions of the catalog's codes."""
    return {code: info.description for code, info in default_catalog().codes.items()}


def cms1500_pdf(
    encounter: Encounter,
    *,
    mode: str,
    signed_on: date,
    overflow: str | None = None,
    box19: str | None = None,
) -> tuple[bytes, tuple[Cms1500Form, ...]]:
    """The CMS-1500 PDF of an encounter and the filled forms it prints."""
    forms = _cms1500_forms(claim_for(encounter), signed_on=signed_on, overflow=overflow, box19=box19)
    return render_cms1500(forms, mode), forms


def _cms1500_forms(
    claim: Claim, *, signed_on: date, overflow: str | None = None, box19: str | None = None
) -> tuple[Cms1500Form, ...]:
    """The filled forms of a claim, its text transliterated as the 837P writes it."""
    return tuple(
        cms1500_forms(
            transliterated(claim),
            signed_on=signed_on,
            overflow=overflow or overflow_mode(claim.encounter.payer_profile),
            box19=box19,
        )
    )


def claim_cms1500_pdf(
    engine: Engine, practice_id: str, actor: str, claim_id: str, *, signed_on: date, mode: str = "full"
) -> tuple[bytes, str]:
    """The CMS-1500 PDF of a stored claim and its claim number (web and API)."""
    claim = claim_record(engine, practice_id, actor, claim_id)
    return render_cms1500(_cms1500_forms(claim, signed_on=signed_on), mode), claim.claim_id


def superbill_pdf(
    encounters: Sequence[Encounter],
    *,
    document_id: str,
    issued_on: date,
    payment_method: str | None = None,
) -> bytes:
    """A superbill over one or more visits of one client."""
    claims = [claim_for(e) for e in encounters]
    codes = [dx for e in encounters for dx in e.diagnoses]
    last = max((e.date_of_service for e in encounters), default=None)
    view = superbill_view(
        claims,
        document_id=document_id,
        issued_on=issued_on,
        dx_descriptions=diagnosis_descriptions(codes, last),
        code_descriptions=code_descriptions(),
        payment_method=payment_method,
    )
    return render_superbill(view)


def note_pdf(encounter: Encounter, *, signed_on: date | None = None) -> bytes:
    """The SOAP note of an encounter, with the units the claim bills."""
    computed = units_of(encounter.services, encounter.payer_profile).lines
    units = {
        i: s.units if s.units is not None else ln.units
        for i, (s, ln) in enumerate(zip(encounter.services, computed, strict=True))
    }
    view = note_view(
        encounter,
        dx_descriptions=diagnosis_descriptions(encounter.diagnoses, encounter.date_of_service),
        code_descriptions=code_descriptions(),
        signed_on=signed_on,
        units=units,
    )
    return render_note(view)


def note_pdf_for_visit(engine: Engine, practice_id: str, actor: str, visit_id: str) -> bytes:
    """The SOAP note of a stored visit (rebuilt from the records)."""
    from therabill.service_layer.encounters import encounter_for_visit

    encounter = encounter_for_visit(engine, practice_id, actor, visit_id)
    return note_pdf(encounter)


def _party_from_json(name: str, address: object, phone: str | None = None) -> PartyView:
    import json

    addr = json.loads(address) if isinstance(address, str) else address
    lines: list[str] = []
    if isinstance(addr, dict):
        street = ", ".join(str(addr[k]) for k in ("line1", "line2") if addr.get(k))
        if street:
            lines.append(street)
        zip_code = str(addr.get("zip") or "")
        zip_code = f"{zip_code[:5]}-{zip_code[5:]}" if len(zip_code) == 9 else zip_code
        lines.append(f"{addr.get('city', '')}, {addr.get('state', '')} {zip_code}".strip(", "))
    return PartyView(name=name, lines=tuple(lines), phone=_phone_text(phone))


def _phone_text(phone: str | None) -> str | None:
    """A 10-digit US number as ``(845) 555-0188``; anything else as stored."""
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}" if len(digits) == 10 else phone


def statement_view_for_patient(
    engine: Engine,
    practice_id: str,
    actor: str,
    patient_id: str,
    *,
    statement_date: date,
    due_days: int = 21,
) -> StatementView:
    """A patient statement from the ledger: every figure is the ledger's (``balance_of``,
    ``patient_account``), the statement only arranges them by posting date.

    A statement is *as of* its date: entries posted after ``statement_date`` are not on it,
    neither as lines nor in the amount due, so a statement printed again later shows what it
    showed then. Its aging row always adds up to the amount due (``age_balances``: credits
    pay the oldest amounts first). Tips and prepaid sales are not on the statement (they are
    not the patient's balance).
    """
    from sqlalchemy import select

    from therabill.adapters.db.ledger_tables import ledger_entries
    from therabill.adapters.db.tables import claim_lines, patients, payers, practices
    from therabill.domain.ledger import Bucket, EntryKind, age_balances, balance_of, patient_account
    from therabill.service_layer.ledger import to_entry
    from therabill.service_layer.uow import UnitOfWork

    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        pat = uow.records.get(patients, patient_id)
        prac = uow.session.execute(select(practices).where(practices.c.id == practice_id)).one()
        rows = uow.records.rows(
            ledger_entries,
            ledger_entries.c.patient_id == patient_id,
            order_by=(ledger_entries.c.posted_at, ledger_entries.c.id),
        )
        item_ids = {r.item_id for r in rows if r.item_id}
        lines_by_id = (
            {r.id: r for r in uow.records.rows(claim_lines, claim_lines.c.id.in_(item_ids))}
            if item_ids
            else {}
        )
        payer_names = (
            {r.id: r.name for r in uow.records.rows(payers)} if any(r.payer_id for r in rows) else {}
        )
    rows = [r for r in rows if r.posted_at.date() <= statement_date]
    entries = [to_entry(r) for r in rows]
    posted = {r.id: r.posted_at.date() for r in rows}
    shown = [e for e in entries if e.bucket in (Bucket.INSURANCE, Bucket.PATIENT)]
    out: list[StatementLine] = []
    so_far = []
    for e in shown:
        so_far.append(e)
        bal = balance_of(so_far)
        line = lines_by_id.get(e.item_id or "")
        what = (
            f"{line.date_of_service:%m/%d/%Y} {line.code} ×{line.units}"
            if line is not None
            else (e.detail or "")
        )
        payer = payer_names.get(e.payer_id or "", "insurance")
        kind = e.kind
        if kind == EntryKind.CHARGE:
            desc, cols = f"Service {what}".strip(), {"charge": e.amount}
        elif kind == EntryKind.INSURANCE_PAYMENT:
            desc, cols = f"Paid by {payer} — {what}", {"insurance_paid": e.amount}
        elif kind in (EntryKind.ADJUSTMENT, EntryKind.WRITE_OFF):
            code = "-".join(p for p in (e.group_code, e.reason_code) if p)
            desc, cols = f"Adjustment {code} — {what}".strip(), {"adjustment": e.amount}
        elif kind in (EntryKind.PATIENT_PAYMENT, EntryKind.REDEMPTION):
            desc, cols = f"Your payment ({e.detail or 'payment'})", {"patient_paid": e.amount}
        elif kind == EntryKind.TRANSFER:
            if e.amount <= 0 or e.bucket != Bucket.PATIENT:
                continue
            desc, cols = f"Your share after insurance — {what}", {}
        elif kind == EntryKind.REFUND:
            desc, cols = "Refund", {"patient_paid": -e.amount}
        else:
            continue
        out.append(StatementLine(posted_on=posted[e.entry_id], description=desc, balance=bal.total, **cols))
    acct = patient_account(patient_id, entries)
    charge_dates = {
        e.item_id: posted[e.entry_id] for e in entries if e.kind == EntryKind.CHARGE and e.item_id
    }
    open_items = [(charge_dates.get(item), bal.patient_balance) for item, bal in acct.items.items()]
    # What belongs to no item (an unapplied payment: a credit) counts too, as undated.
    open_items.append((None, acct.balance.patient_balance - sum((b for _, b in open_items), ZERO)))
    aging = age_balances(open_items, statement_date, AGING_BUCKETS)
    name = " ".join(p for p in (pat.first_name, pat.last_name) if p)
    return StatementView(
        statement_id=f"ST-{hashlib.sha256(f'{patient_id}|{statement_date}'.encode()).hexdigest()[:10]}",
        statement_date=statement_date,
        due_date=statement_date + timedelta(days=due_days),
        practice=_party_from_json(prac.name, prac.address, prac.phone),
        patient=_party_from_json(name, pat.address),
        account_id=pat.chart_number,
        lines=tuple(out),
        amount_due=max(acct.balance.patient_balance, ZERO),
        aging=aging,
        how_to_pay=(
            f"Call {_phone_text(prac.phone)} to pay by card" if prac.phone else "Pay at your next visit",
        ),
        message=None,
    )


def statement_pdf_for_patient(
    engine: Engine, practice_id: str, actor: str, patient_id: str, *, statement_date: date
) -> bytes:
    """The statement of a patient, as PDF."""
    return render_statement(
        statement_view_for_patient(engine, practice_id, actor, patient_id, statement_date=statement_date)
    )


# ---------------------------------------------------------------------------- receipt


def _charge_description(charge: Any | None, line: Any | None) -> str:
    """What a patient payment paid, in words: the claim line's service, or the charge's kind."""
    if line is not None:
        return f"Service {line.date_of_service:%m/%d/%Y} {line.code} ×{line.units}"
    if charge is not None:
        kind = (charge.detail or "charge").replace("-", " ")
        return f"{kind[:1].upper()}{kind[1:]} ({charge.posted_at:%m/%d/%Y})"
    return "Earlier charge"


def receipt_view_for_payment(engine: Engine, practice_id: str, actor: str, payment_ref: str) -> ReceiptView:
    """A receipt for a patient payment, every figure read from the ledger.

    ``payment_ref`` is the payment's idempotency key (``payments post --key``) or the id of
    one of its ledger entries. All the entries posted with that key make the receipt: the
    parts applied to items (a claim line's service, a fee), the unapplied rest (a credit)
    and a tip. ``balance_after`` is the patient balance over the entries posted up to and
    including the payment (``balance_of``), so a receipt printed later still shows the
    balance as it stood.

    Raises:
        NotFoundError: no entry has that key or id.
        TherabillError: the entries are not a patient payment (``receipt-not-a-payment``),
            or the payment was reversed (``receipt-payment-reversed``).
    """
    from sqlalchemy import select

    from therabill.adapters.db.ledger_tables import ledger_entries
    from therabill.adapters.db.tables import claim_lines, patients, practices
    from therabill.domain.ledger import EntryKind, balance_of
    from therabill.service_layer.ledger import to_entry
    from therabill.service_layer.uow import UnitOfWork

    le = ledger_entries.c
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        found = uow.records.rows(ledger_entries, (le.id == payment_ref) | (le.idempotency_key == payment_ref))
        if not found:
            raise NotFoundError(
                "no such payment",
                (Problem("payment-not-found", "payment_ref", f"no ledger entry or key {payment_ref!r}"),),
            )
        key = next((r.idempotency_key for r in found if r.idempotency_key), None)
        if key is not None:
            found = uow.records.rows(
                ledger_entries, le.idempotency_key == key, order_by=(le.posted_at, le.id)
            )
        paid = [
            r
            for r in found
            if r.kind in (EntryKind.PATIENT_PAYMENT, EntryKind.TIP) and r.reverses_entry_id is None
        ]
        if not any(r.kind == EntryKind.PATIENT_PAYMENT for r in paid):
            raise TherabillError(
                "that ledger entry is not a patient payment",
                (
                    Problem(
                        "receipt-not-a-payment",
                        "payment_ref",
                        f"{payment_ref!r} is a {found[0].kind} entry; a receipt is for a patient payment",
                    ),
                ),
            )
        ids = [r.id for r in paid]
        if uow.records.rows(ledger_entries, le.reverses_entry_id.in_(ids)):
            raise TherabillError(
                "the payment was reversed",
                (Problem("receipt-payment-reversed", "payment_ref", "no receipt for a reversed payment"),),
            )
        patient_id = paid[0].patient_id
        pat = uow.records.get(patients, patient_id)
        prac = uow.session.execute(select(practices).where(practices.c.id == practice_id)).one()
        history = uow.records.rows(
            ledger_entries, le.patient_id == patient_id, order_by=(le.posted_at, le.id)
        )
        items = {r.item_id for r in paid if r.item_id}
        charges = {r.item_id: r for r in history if r.kind == EntryKind.CHARGE and r.item_id in items}
        line_ids = {r.claim_line_id for r in charges.values() if r.claim_line_id}
        lines = (
            {r.id: r for r in uow.records.rows(claim_lines, claim_lines.c.id.in_(line_ids))}
            if line_ids
            else {}
        )
    cutoff = max(r.posted_at for r in paid)
    balance = balance_of(to_entry(r) for r in history if r.posted_at <= cutoff)
    applied: list[tuple[str, Decimal]] = []
    for r in paid:
        amount = from_cents(r.amount_cents)
        if r.kind == EntryKind.TIP:
            applied.append(("Tip for your therapist (not applied to your account)", amount))
        elif r.item_id is None:
            applied.append(("Credit on your account (not yet applied)", amount))
        else:
            charge = charges.get(r.item_id)
            line = lines.get(r.claim_line_id or (charge.claim_line_id if charge is not None else None) or "")
            applied.append((_charge_description(charge, line), amount))
    methods = sorted({r.detail for r in paid if r.detail})
    name = " ".join(p for p in (pat.first_name, pat.last_name) if p)
    return ReceiptView(
        receipt_id="RC-" + hashlib.sha256("|".join([practice_id, *sorted(ids)]).encode()).hexdigest()[:10],
        paid_on=min(r.posted_at for r in paid).date(),
        practice=_party_from_json(prac.name, prac.address, prac.phone),
        practice_tax_id=printable_tax_id(prac.tax_id, prac.tax_id_type),
        payer_name=name,
        account_id=pat.chart_number,
        amount=sum((a for _, a in applied), ZERO),
        method=", ".join(methods) or "payment",
        reference=None,
        applied_to=tuple(applied),
        balance_after=balance.patient_balance,
    )


def receipt_pdf_for_payment(engine: Engine, practice_id: str, actor: str, payment_ref: str) -> bytes:
    """The receipt of a patient payment, as PDF."""
    return render_receipt(receipt_view_for_payment(engine, practice_id, actor, payment_ref))


# ---------------------------------------------------------------------------- progress report


def progress_view_for_patient(
    engine: Engine,
    practice_id: str,
    actor: str,
    patient_id: str,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    signed_on: date | None = None,
) -> ProgressReportView:
    """The progress report over a patient's stored visits (each rebuilt from the records).

    Visits between ``date_from`` and ``date_to`` (inclusive, either may be open) that carry
    documentation are taken in date order; each one's encounter is rebuilt with
    ``encounters.encounter_for_visit``, so the report shows what the notes say now.

    Raises:
        NotFoundError: no such patient.
        FormError: a reversed range (``progress-range-invalid``) or no documented visit in
            it (``progress-empty``).
    """
    from therabill.adapters.db.tables import patients, visits
    from therabill.service_layer.encounters import encounter_for_visit
    from therabill.service_layer.uow import UnitOfWork

    if date_from is not None and date_to is not None and date_from > date_to:
        raise FormError(
            "the report's range is reversed",
            (Problem("progress-range-invalid", "--from", f"{date_from} is after {date_to}"),),
        )
    v = visits.c
    where = [v.patient_id == patient_id]
    if date_from is not None:
        where.append(v.date_of_service >= date_from)
    if date_to is not None:
        where.append(v.date_of_service <= date_to)
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        uow.records.get(patients, patient_id)
        visit_ids = [
            r.id for r in uow.records.rows(visits, *where, order_by=(v.date_of_service, v.created_at, v.id))
        ]
    encounters = [encounter_for_visit(engine, practice_id, actor, vid) for vid in visit_ids]
    documented = [e for e in encounters if e.documentation is not None]
    if not documented:
        span = f"{date_from or 'the first visit'} to {date_to or 'the last visit'}"
        raise FormError(
            "no documented visit to report on",
            (Problem("progress-empty", "visits", f"the patient has no documented visit from {span}"),),
        )
    last = max(documented, key=lambda e: e.date_of_service)
    report_id = "PR-" + hashlib.sha256(f"{patient_id}|{date_from}|{date_to}".encode()).hexdigest()[:10]
    return progress_view(
        documented,
        report_id=report_id,
        dx_descriptions=diagnosis_descriptions(last.diagnoses, last.date_of_service),
        signed_on=signed_on,
    )


def progress_pdf_for_patient(
    engine: Engine,
    practice_id: str,
    actor: str,
    patient_id: str,
    *,
    date_from: date | None = None,
    date_to: date | None = None,
    signed_on: date | None = None,
) -> bytes:
    """The progress report of a patient, as PDF."""
    return render_progress(
        progress_view_for_patient(
            engine, practice_id, actor, patient_id, date_from=date_from, date_to=date_to, signed_on=signed_on
        )
    )
