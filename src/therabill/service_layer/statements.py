"""Statements and the documents a patient is given: built from the ledger, stored as issued.

A statement shows one row per service (dated with its date of service) with what insurance
paid, adjusted and still owes, the patient's share and what the patient paid, plus the
payments not applied to a service; its amount due is the ledger's patient balance and its
aging always adds up to it (``domain.ledger.age_balances``). A statement is *as of* its date:
entries posted later are not on it.

Issued documents are snapshots: ``issue_statement`` (and ``documents.issue_receipt``) store
the PDF bytes as printed (``issued_documents``); showing, printing or emailing it again
reads those bytes, never rebuilds them. ``statement_batch`` issues a statement to every
patient owing more than a threshold, one PDF each and one merged PDF to print, and emails
those with an email address (not those who opted out of email). No subject line carries PHI:
it names the practice only.
"""

from __future__ import annotations

import hashlib
import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, func, select

from therabill.adapters.db.ledger_tables import ledger_entries
from therabill.adapters.db.money_tables import issued_documents
from therabill.adapters.db.tables import claim_lines, patients, payers, practices
from therabill.adapters.mail import Attachment, Mailer, MailError, OutgoingMail
from therabill.adapters.pdf.merge import merge_pdfs, page_count
from therabill.adapters.pdf.statement import render_statement
from therabill.domain.errors import NotFoundError, Problem, TherabillError
from therabill.domain.forms import PartyView, StatementLine, StatementView
from therabill.domain.ledger import (
    Bucket,
    Entry,
    EntryKind,
    age_balances,
    balance_of,
    balances_by,
    new_id,
    patient_account,
)
from therabill.domain.money import ZERO, from_cents, to_cents, usd_text
from therabill.refdata.catalog import default_catalog
from therabill.service_layer.contact_preferences import contact_preferences_of
from therabill.service_layer.ledger import to_entry
from therabill.service_layer.uow import UnitOfWork

__all__ = [
    "AGING_BUCKETS",
    "IssuedDocument",
    "StatementBatch",
    "batch_pdf",
    "email_document",
    "issue_statement",
    "issued_document",
    "issued_documents_of",
    "party_from_json",
    "patients_owing",
    "phone_text",
    "statement_batch",
    "statement_pdf_for_patient",
    "statement_view_for_patient",
    "store_document",
]

AGING_BUCKETS = (
    ("Current", 0, 30),
    ("31–60 days", 31, 60),
    ("61–90 days", 61, 90),
    ("Over 90 days", 91, None),
)
PERIOD_DAYS = 90
"""A settled service stays on statements this many days after its last activity."""
DUE_DAYS = 21


@dataclass(frozen=True, slots=True)
class IssuedDocument:
    """A statement or receipt as it was issued (the PDF is the stored bytes).

    Attributes:
        document_id: the stored document.
        kind: ``statement`` or ``receipt``.
        number: the number printed on it (``ST-000012``, ``RC-…``).
        patient_id: whose it is.
        document_date: its date.
        amount: the amount due (statement) or received (receipt).
        pages: its page count.
        pdf: the PDF bytes (empty in listings).
        emailed_to: the address it was last emailed to.
        batch_id: the statement run it belongs to.
    """

    document_id: str
    kind: str
    number: str
    patient_id: str
    document_date: date
    amount: Decimal
    pages: int
    pdf: bytes = b""
    emailed_to: str | None = None
    batch_id: str | None = None


@dataclass(slots=True)
class StatementBatch:
    """What a statement run did.

    Attributes:
        batch_id: the run (its merged PDF: ``batch_pdf``).
        statements: one issued statement per patient owing more than the threshold.
        merged_pdf: every statement in one PDF, to print.
        emailed: numbers of the statements emailed.
        not_emailed: (statement number, reason) of those that were not.
    """

    batch_id: str
    statements: list[IssuedDocument] = field(default_factory=list)
    merged_pdf: bytes = b""
    emailed: list[str] = field(default_factory=list)
    not_emailed: list[tuple[str, str]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The run as JSON-ready data (no PDF bytes)."""
        return {
            "batch_id": self.batch_id,
            "statements": [
                {
                    "document_id": s.document_id,
                    "number": s.number,
                    "patient_id": s.patient_id,
                    "amount_due": str(s.amount),
                    "pages": s.pages,
                }
                for s in self.statements
            ],
            "emailed": self.emailed,
            "not_emailed": [{"number": n, "reason": r} for n, r in self.not_emailed],
        }


# --- shared parts of the documents ---------------------------------------------------------


def party_from_json(name: str, address: object, phone: str | None = None) -> PartyView:
    """A name and a stored address (JSON) as the lines a document prints."""
    addr = json.loads(address) if isinstance(address, str) else address
    lines: list[str] = []
    if isinstance(addr, dict):
        street = ", ".join(str(addr[k]) for k in ("line1", "line2") if addr.get(k))
        if street:
            lines.append(street)
        zip_code = str(addr.get("zip") or "")
        zip_code = f"{zip_code[:5]}-{zip_code[5:]}" if len(zip_code) == 9 else zip_code
        lines.append(f"{addr.get('city', '')}, {addr.get('state', '')} {zip_code}".strip(", "))
    return PartyView(name=name, lines=tuple(lines), phone=phone_text(phone))


def phone_text(phone: str | None) -> str | None:
    """A 10-digit US number as ``(845) 555-0188``; anything else as stored."""
    digits = "".join(ch for ch in phone or "" if ch.isdigit())
    return f"({digits[:3]}) {digits[3:6]}-{digits[6:]}" if len(digits) == 10 else phone


def _words(detail: str | None) -> str:
    text = (detail or "charge").replace("-", " ")
    return text[:1].upper() + text[1:]


# --- the statement ----------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Item:
    service_date: date
    description: str
    entries: list[Entry]


def _statement_view(uow: UnitOfWork, patient_id: str, statement_date: date, number: str) -> StatementView:
    """The statement of one patient as of ``statement_date`` (reads in ``uow``)."""
    pat = uow.records.get(patients, patient_id)
    prac = uow.session.execute(select(practices).where(practices.c.id == uow.practice_id)).one()
    le = ledger_entries.c
    rows = [
        r
        for r in uow.records.rows(ledger_entries, le.patient_id == patient_id, order_by=(le.posted_at, le.id))
        if r.posted_at.date() <= statement_date
    ]
    line_ids = {r.claim_line_id for r in rows if r.claim_line_id}
    lines = (
        {r.id: r for r in uow.records.rows(claim_lines, claim_lines.c.id.in_(line_ids))} if line_ids else {}
    )
    payer_names = {r.id: r.name for r in uow.records.rows(payers)} if any(r.payer_id for r in rows) else {}
    posted = {r.id: r.posted_at.date() for r in rows}
    entries = [to_entry(r) for r in rows]
    shown = [e for e in entries if e.bucket in (Bucket.INSURANCE, Bucket.PATIENT)]
    catalog = default_catalog().codes
    items: dict[str, _Item] = {}
    loose: list[Entry] = []
    for e in shown:
        if e.item_id is None:
            loose.append(e)
            continue
        if e.item_id not in items:
            line = lines.get(e.item_id)
            if line is not None:
                info = catalog.get(line.code)
                what = f"{line.code} {info.description.split(' (')[0]}" if info is not None else line.code
                units = f", {line.units} units" if line.units > 1 else ""
                payer = payer_names.get(e.payer_id or "")
                billed = f" (billed to {payer})" if payer else ""
                items[e.item_id] = _Item(line.date_of_service, f"{what}{units}{billed}", [])
            else:
                items[e.item_id] = _Item(posted[e.entry_id], _words(e.detail), [])
        items[e.item_id].entries.append(e)
    since = statement_date - timedelta(days=PERIOD_DAYS)
    out: list[StatementLine] = []
    open_items: list[tuple[date | None, Decimal]] = []
    for item in sorted(items.values(), key=lambda i: (i.service_date, i.description)):
        bal = balance_of(item.entries)
        recent = max(posted[e.entry_id] for e in item.entries) >= since
        if bal.patient_balance != ZERO:
            open_items.append((item.service_date, bal.patient_balance))
        if bal.patient_balance == ZERO and bal.insurance_balance == ZERO and not recent:
            continue
        share = sum(
            (
                e.amount
                for e in item.entries
                if e.bucket is Bucket.PATIENT and e.kind in (EntryKind.CHARGE, EntryKind.TRANSFER)
            ),
            ZERO,
        )
        out.append(
            StatementLine(
                item.service_date,
                item.description,
                charge=bal.charges,
                insurance_paid=bal.insurance_payments,
                adjustment=bal.adjustments,
                patient_paid=bal.patient_payments,
                balance=bal.patient_balance,
                insurance_pending=bal.insurance_balance,
                your_share=share,
            )
        )
    # Payments not applied to a service, and refunds: recent ones one by one, older ones as one row.
    older = ZERO
    reversed_ids = {e.reverses for e in loose if e.reverses}
    for e in loose:
        if e.is_reversal or e.entry_id in reversed_ids:
            continue
        sign = Decimal(-1) if e.kind is EntryKind.REFUND else Decimal(1)
        if posted[e.entry_id] < since:
            older += sign * e.amount
            continue
        words = (
            "Refund to you"
            if e.kind is EntryKind.REFUND
            else f"Payment received ({_words(e.detail).lower()}), not yet applied to a service"
        )
        out.append(
            StatementLine(posted[e.entry_id], words, patient_paid=sign * e.amount, balance=-sign * e.amount)
        )
    if older != ZERO:
        out.insert(
            0, StatementLine(since, "Earlier payments on your account", patient_paid=older, balance=-older)
        )
    acct = patient_account(patient_id, entries)
    item_total = sum((b for _, b in open_items), ZERO)
    open_items.append((None, acct.balance.patient_balance - item_total))
    aging = age_balances(open_items, statement_date, AGING_BUCKETS)
    pending = sum((ln.insurance_pending for ln in out), ZERO)
    name = " ".join(p for p in (pat.first_name, pat.last_name) if p)
    practice = party_from_json(prac.name, prac.address, prac.phone)
    how = [f"By phone with a card: {phone_text(prac.phone)}"] if prac.phone else []
    how += ["By check: mail it with the stub below", "In person at your next visit"]
    return StatementView(
        statement_id=number,
        statement_date=statement_date,
        due_date=statement_date + timedelta(days=DUE_DAYS),
        practice=practice,
        patient=party_from_json(name, pat.address),
        account_id=pat.chart_number,
        lines=tuple(out),
        amount_due=max(acct.balance.patient_balance, ZERO),
        aging=aging,
        how_to_pay=tuple(how),
        message=(
            f"Insurance has not yet paid {usd_text(pending)}; it is not part of the amount due."
            if pending > ZERO
            else None
        ),
        remit_to=practice,
    )


def _preview_number(patient_id: str, statement_date: date) -> str:
    return f"ST-{hashlib.sha256(f'{patient_id}|{statement_date}'.encode()).hexdigest()[:10]}"


def statement_view_for_patient(
    engine: Engine, practice_id: str, actor: str, patient_id: str, *, statement_date: date
) -> StatementView:
    """A statement to look at (not issued: nothing is stored, the number is a preview's)."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return _statement_view(uow, patient_id, statement_date, _preview_number(patient_id, statement_date))


def statement_pdf_for_patient(
    engine: Engine, practice_id: str, actor: str, patient_id: str, *, statement_date: date
) -> bytes:
    """The statement of a patient, as PDF, issued and stored as printed."""
    return issue_statement(engine, practice_id, actor, patient_id, statement_date=statement_date).pdf


def store_document(
    uow: UnitOfWork,
    *,
    kind: str,
    number: str,
    patient_id: str,
    document_date: date,
    amount: Decimal,
    pdf: bytes,
    batch_id: str | None = None,
) -> IssuedDocument:
    """Store an issued document's bytes (in ``uow``'s transaction) and audit it."""
    doc_id = new_id()
    pages = page_count(pdf)
    uow.records.insert(
        issued_documents,
        id=doc_id,
        patient_id=patient_id,
        kind=kind,
        number=number,
        document_date=document_date,
        amount_cents=to_cents(amount),
        batch_id=batch_id,
        pdf=pdf,
        sha256=hashlib.sha256(pdf).hexdigest(),
        pages=pages,
        created_at=uow.now(),
        created_by=uow.actor,
    )
    uow.record(f"{kind}.issue", kind, doc_id, {"number": number, "batch": batch_id})
    return IssuedDocument(doc_id, kind, number, patient_id, document_date, amount, pages, pdf, None, batch_id)


def next_number(uow: UnitOfWork, kind: str, prefix: str) -> str:
    """The next number of a kind of document in this practice (``ST-000001``)."""
    count = uow.session.execute(
        select(func.count())
        .select_from(issued_documents)
        .where(issued_documents.c.practice_id == uow.practice_id, issued_documents.c.kind == kind)
    ).scalar_one()
    return f"{prefix}-{int(count) + 1:06d}"


def issue_statement(
    engine: Engine,
    practice_id: str,
    actor: str,
    patient_id: str,
    *,
    statement_date: date,
    batch_id: str | None = None,
) -> IssuedDocument:
    """Issue a statement: number it, render it and store the PDF as printed (one transaction)."""
    with UnitOfWork(engine, practice_id, actor) as uow:
        view = _statement_view(uow, patient_id, statement_date, next_number(uow, "statement", "ST"))
        pdf = render_statement(view)
        return store_document(
            uow,
            kind="statement",
            number=view.statement_id,
            patient_id=patient_id,
            document_date=statement_date,
            amount=view.amount_due,
            pdf=pdf,
            batch_id=batch_id,
        )


def patients_owing(
    engine: Engine, practice_id: str, actor: str, *, as_of: date, over: Decimal = ZERO
) -> list[tuple[str, Decimal]]:
    """(patient id, patient balance) of every patient owing more than ``over`` on ``as_of``."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        rows = uow.records.rows(ledger_entries, ledger_entries.c.bucket == str(Bucket.PATIENT))
    entries = [to_entry(r) for r in rows if r.posted_at.date() <= as_of]
    owed = balances_by(entries, lambda e: e.patient_id)
    return sorted((p, b.patient_balance) for p, b in owed.items() if b.patient_balance > over)


def _mail_for(
    kind: str, number: str, practice_name: str, amount: Decimal, pdf: bytes, to: str
) -> OutgoingMail:
    """The message of an issued document: the subject names the practice, never the patient."""
    if kind == "statement":
        subject = f"Your statement from {practice_name}"
        text = (
            f"Hello,\n\nYour statement {number} from {practice_name} is attached as a PDF.\n"
            f"Amount due: {usd_text(amount)}.\n\nQuestions? Reply to this message or call us.\n"
        )
    else:
        subject = f"Your receipt from {practice_name}"
        text = (
            f"Hello,\n\nThank you for your payment. Receipt {number} from {practice_name} is attached "
            "as a PDF; keep it for your records (it is itemized for an HSA or FSA claim).\n"
        )
    return OutgoingMail(
        to=to,
        subject=subject,
        text=text,
        attachments=(Attachment(f"{kind}-{number}.pdf", pdf),),
    )


def _document_row(uow: UnitOfWork, document_id: str) -> Any:
    row = uow.records.find(issued_documents, document_id)
    if row is None:
        raise NotFoundError("no such document", (Problem("document-not-found", "document_id", document_id),))
    return row


def _issued(row: Any, *, with_pdf: bool) -> IssuedDocument:
    return IssuedDocument(
        row.id,
        row.kind,
        row.number,
        row.patient_id,
        row.document_date,
        from_cents(row.amount_cents),
        row.pages,
        bytes(row.pdf) if with_pdf else b"",
        row.emailed_to,
        row.batch_id,
    )


def email_document(
    engine: Engine, practice_id: str, actor: str, document_id: str, mailer: Mailer, *, to: str | None = None
) -> IssuedDocument:
    """Email an issued statement or receipt (the stored PDF) to the patient's address.

    Raises:
        NotFoundError: no such document.
        TherabillError: no address (``email-address-missing``) or the server refused it
            (``mail-send-failed``).
    """
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        row = _document_row(uow, document_id)
        pat = uow.records.get(patients, row.patient_id)
        prac_name = uow.session.execute(
            select(practices.c.name).where(practices.c.id == practice_id)
        ).scalar_one()
    address = (to or pat.email or "").strip()
    if "@" not in address:
        raise TherabillError(
            "the patient has no email address",
            (Problem("email-address-missing", "email", "add the patient's email address first"),),
        )
    doc = _issued(row, with_pdf=True)
    try:
        mailer.send(_mail_for(doc.kind, doc.number, prac_name, doc.amount, doc.pdf, address))
    except MailError as exc:
        raise TherabillError(
            "the mail server refused", (Problem("mail-send-failed", "smtp", str(exc)),)
        ) from exc
    with UnitOfWork(engine, practice_id, actor) as uow:
        uow.records.update(issued_documents, document_id, emailed_to=address, emailed_at=uow.now())
        uow.record(f"{doc.kind}.email", doc.kind, document_id, {"number": doc.number})
    return replace(doc, emailed_to=address)


def statement_batch(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    statement_date: date,
    over: Decimal = ZERO,
    mailer: Mailer | None = None,
) -> StatementBatch:
    """Issue a statement to every patient owing more than ``over``; email those with an address.

    Each statement is issued in its own transaction (a failure leaves the others issued);
    the merged PDF holds every statement, emailed or not, so the run can be printed whole.
    """
    if over < ZERO:
        raise TherabillError(
            "the threshold cannot be negative", (Problem("statement-threshold-invalid", "over", str(over)),)
        )
    batch = StatementBatch(new_id())
    for patient_id, _ in patients_owing(engine, practice_id, actor, as_of=statement_date, over=over):
        doc = issue_statement(
            engine, practice_id, actor, patient_id, statement_date=statement_date, batch_id=batch.batch_id
        )
        batch.statements.append(doc)
        if mailer is None:
            continue
        if contact_preferences_of(engine, practice_id, actor, patient_id).email_opt_out:
            batch.not_emailed.append((doc.number, "opted-out"))  # the client refuses email
            continue
        try:
            email_document(engine, practice_id, actor, doc.document_id, mailer)
            batch.emailed.append(doc.number)
        except TherabillError as exc:
            batch.not_emailed.append((doc.number, exc.problems[0].code if exc.problems else str(exc)))
    batch.merged_pdf = merge_pdfs([d.pdf for d in batch.statements]) if batch.statements else b""
    return batch


def batch_pdf(engine: Engine, practice_id: str, actor: str, batch_id: str) -> bytes:
    """The merged PDF of a statement run, from the stored statements."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        rows = uow.records.rows(
            issued_documents, issued_documents.c.batch_id == batch_id, order_by=(issued_documents.c.number,)
        )
    if not rows:
        raise NotFoundError(
            "no such statement run", (Problem("statement-batch-not-found", "batch_id", batch_id),)
        )
    return merge_pdfs([bytes(r.pdf) for r in rows])


def issued_document(engine: Engine, practice_id: str, actor: str, document_id: str) -> IssuedDocument:
    """An issued document with its stored PDF."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return _issued(_document_row(uow, document_id), with_pdf=True)


def issued_documents_of(
    engine: Engine, practice_id: str, actor: str, patient_id: str, *, kinds: Sequence[str] = ()
) -> list[IssuedDocument]:
    """The documents issued to a patient, newest first (without their bytes)."""
    d = issued_documents.c
    where = [d.patient_id == patient_id] + ([d.kind.in_(list(kinds))] if kinds else [])
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        uow.records.get(patients, patient_id)
        rows = uow.records.rows(issued_documents, *where, order_by=(d.created_at.desc(), d.number.desc()))
    return [_issued(r, with_pdf=False) for r in rows]


def statement_totals(view: StatementView) -> dict[str, Decimal]:
    """Column totals of a statement's rows (for checks and the web preview)."""
    totals: dict[str, Decimal] = defaultdict(lambda: ZERO)
    for ln in view.lines:
        for name in (
            "charge",
            "insurance_paid",
            "adjustment",
            "insurance_pending",
            "your_share",
            "patient_paid",
            "balance",
        ):
            totals[name] += getattr(ln, name)
    return dict(totals)
