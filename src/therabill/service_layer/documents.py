"""Document use cases: build the view models from encounters, records and the ledger, render PDFs.

The CLI and the web app call these; the PDF adapters only lay out what they are given.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import select

from therabill.adapters.db.ledger_tables import ledger_entries
from therabill.adapters.db.money_tables import issued_documents
from therabill.adapters.db.tables import (
    claim_lines,
    claims,
    patients,
    practices,
    provider_licenses,
    providers,
    visits,
)
from therabill.adapters.pdf.cms1500 import render_cms1500
from therabill.adapters.pdf.note import render_note
from therabill.adapters.pdf.progress import render_progress
from therabill.adapters.pdf.receipt import render_receipt
from therabill.adapters.pdf.superbill import render_superbill
from therabill.adapters.text import transliterated
from therabill.clock import current_date
from therabill.domain.claim import Claim, build_claim
from therabill.domain.encounter import Encounter
from therabill.domain.errors import NotFoundError, Problem, TherabillError
from therabill.domain.forms import (
    Cms1500Form,
    FormError,
    ProgressReportView,
    ReceiptService,
    ReceiptView,
    cms1500_forms,
    note_view,
    printable_tax_id,
    progress_view,
    superbill_view,
)
from therabill.domain.ledger import EntryKind, balance_of
from therabill.domain.money import ZERO, from_cents, usd_text
from therabill.refdata.catalog import default_catalog
from therabill.refdata.icd10 import icd10
from therabill.refdata.profiles import load_profile
from therabill.service_layer.claims import claim_record
from therabill.service_layer.coding import units_of
from therabill.service_layer.encounters import encounter_for_visit
from therabill.service_layer.ledger import to_entry
from therabill.service_layer.statements import (
    IssuedDocument,
    party_from_json,
    statement_pdf_for_patient,
    statement_view_for_patient,
    store_document,
)
from therabill.service_layer.uow import UnitOfWork

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

__all__ = [
    "claim_cms1500_pdf",
    "claim_for",
    "cms1500_pdf",
    "diagnosis_descriptions",
    "note_pdf",
    "note_pdf_for_visit",
    "payment_patient_and_visits",
    "overflow_mode",
    "progress_pdf_for_patient",
    "progress_view_for_patient",
    "issue_receipt",
    "receipt_pdf_for_payment",
    "receipt_view_for_payment",
    "statement_pdf_for_patient",
    "statement_view_for_patient",
    "superbill_pdf",
    "superbill_pdf_for_visit",
]


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

    encounter = encounter_for_visit(engine, practice_id, actor, visit_id)
    return note_pdf(encounter)


# ---------------------------------------------------------------------------- receipt


def _charge_description(charge: Any | None, line: Any | None) -> str:
    """What a patient payment paid, in words: the claim line's service, or the charge's kind."""
    if line is not None:
        return f"Service {line.date_of_service:%m/%d/%Y} {line.code} ×{line.units}"
    if charge is not None:
        kind = (charge.detail or "charge").replace("-", " ")
        return f"{kind[:1].upper()}{kind[1:]} ({charge.posted_at:%m/%d/%Y})"
    return "Earlier charge"


def receipt_view_for_payment(
    engine: Engine, practice_id: str, actor: str, payment_ref: str, *, number: str | None = None
) -> ReceiptView:
    """A receipt for a patient payment, every figure read from the ledger.

    ``payment_ref`` is the payment's idempotency key (``payments post --key``) or the id of
    one of its ledger entries. All the entries posted with that key make the receipt: the
    parts applied to items (a claim line's service, a fee), the unapplied rest (a credit)
    and a tip, each line with how it was paid (a tip is never paid by an HSA or FSA, and the
    receipt says how it was). The services paid for are itemized for an HSA/FSA claim: date
    of service, code and words, provider with licence and NPI, diagnoses. ``balance_after``
    is the patient balance over the entries posted up to and including the payment
    (``balance_of``), so a receipt printed later still shows the balance as it stood.

    Raises:
        NotFoundError: no entry has that key or id.
        TherabillError: the entries are not a patient payment (``receipt-not-a-payment``),
            or the payment was reversed (``receipt-payment-reversed``).
    """
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
        providers_of = _line_providers(uow, list(lines.values()), _state_of(prac.address))
    cutoff = max(r.posted_at for r in paid)
    balance = balance_of(to_entry(r) for r in history if r.posted_at <= cutoff)
    applied: list[tuple[str, Decimal]] = []
    services: list[ReceiptService] = []
    for r in paid:
        amount = from_cents(r.amount_cents)
        how = _method_words(r.detail)
        if r.kind == EntryKind.TIP:
            applied.append((f"Tip for your therapist (paid by {how}; not a medical expense)", amount))
        elif r.item_id is None:
            applied.append((f"Credit on your account (not yet applied; paid by {how})", amount))
        else:
            charge = charges.get(r.item_id)
            line = lines.get(r.claim_line_id or (charge.claim_line_id if charge is not None else None) or "")
            applied.append((f"{_charge_description(charge, line)} (paid by {how})", amount))
            if line is not None:
                services.append(_receipt_service(line, providers_of.get(line.id), amount))
    by_method: dict[str, Decimal] = {}
    for r in paid:
        by_method[_method_words(r.detail)] = by_method.get(_method_words(r.detail), ZERO) + from_cents(
            r.amount_cents
        )
    name = " ".join(p for p in (pat.first_name, pat.last_name) if p)
    return ReceiptView(
        receipt_id=number
        or "RC-" + hashlib.sha256("|".join([practice_id, *sorted(ids)]).encode()).hexdigest()[:10],
        paid_on=min(r.posted_at for r in paid).date(),
        practice=party_from_json(prac.name, prac.address, prac.phone),
        practice_tax_id=printable_tax_id(prac.tax_id, prac.tax_id_type),
        payer_name=name,
        account_id=pat.chart_number,
        amount=sum((a for _, a in applied), ZERO),
        method=(
            next(iter(by_method))
            if len(by_method) == 1
            else "; ".join(f"{m} {usd_text(a)}" for m, a in sorted(by_method.items()))
        ),
        reference=None,
        applied_to=tuple(applied),
        balance_after=balance.patient_balance,
        services=tuple(services),
    )


_METHOD_WORDS = {"hsa": "HSA card", "fsa": "FSA card", "card": "card", "cash": "cash", "check": "check"}


def _method_words(detail: str | None) -> str:
    return _METHOD_WORDS.get(detail or "", detail or "payment")


def _state_of(address: object) -> str | None:
    addr = json.loads(address) if isinstance(address, str) else address
    return str(addr.get("state")) if isinstance(addr, dict) and addr.get("state") else None


@dataclass(frozen=True, slots=True)
class _LineProvider:
    name: str
    license: str
    npi: str
    diagnoses: tuple[str, ...]


def _line_providers(uow: UnitOfWork, lines: Sequence[Any], state: str | None) -> dict[str, _LineProvider]:
    """Per claim line: its visit's provider (name, licence in the practice's state, NPI) and diagnoses."""
    if not lines:
        return {}
    claim_rows = {r.id: r for r in uow.records.rows(claims, claims.c.id.in_({ln.claim_id for ln in lines}))}
    visit_rows = {
        r.id: r for r in uow.records.rows(visits, visits.c.id.in_({c.visit_id for c in claim_rows.values()}))
    }
    prov_ids = {v.provider_id for v in visit_rows.values()}
    provs = {r.id: r for r in uow.records.rows(providers, providers.c.id.in_(prov_ids))}
    licences: dict[str, list[Any]] = {}
    for lic in uow.records.rows(provider_licenses, provider_licenses.c.provider_id.in_(prov_ids)):
        licences.setdefault(lic.provider_id, []).append(lic)
    out: dict[str, _LineProvider] = {}
    for ln in lines:
        visit = visit_rows[claim_rows[ln.claim_id].visit_id]
        prov = provs.get(visit.provider_id)
        mine = sorted(licences.get(visit.provider_id, []), key=lambda x: (x.state != state, x.state))
        codes = list((visit.encounter_json or {}).get("diagnoses") or [])
        pointed = [codes[p - 1] for p in ln.diagnosis_pointers or [] if 0 < int(p) <= len(codes)]
        words = diagnosis_descriptions(pointed, ln.date_of_service)
        name = " ".join(x for x in (prov.first_name, prov.last_name) if x) if prov else ""
        if prov is not None and prov.credential:
            name = f"{name}, {prov.credential}"
        out[ln.id] = _LineProvider(
            name=name,
            license=f"{mine[0].state} {mine[0].number}" if mine else "",
            npi=(prov.npi or "") if prov else "",
            diagnoses=tuple(f"{c} {words.get(c, '')}".strip() for c in pointed),
        )
    return out


def _receipt_service(line: Any, who: _LineProvider | None, paid: Decimal) -> ReceiptService:
    info = default_catalog().codes.get(line.code)
    return ReceiptService(
        service_date=line.date_of_service,
        code=line.code,
        description=(info.description if info else line.code)
        + (f", {line.units} units" if line.units > 1 else ""),
        provider=who.name if who else "",
        license=who.license if who else "",
        npi=who.npi if who else "",
        diagnoses=who.diagnoses if who else (),
        paid=paid,
    )


def payment_patient_and_visits(
    engine: Engine, practice_id: str, actor: str, payment_ref: str
) -> tuple[str, list[str]]:
    """The patient of a payment and the visits whose services it paid (for the payment page)."""
    le = ledger_entries.c
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        found = uow.records.rows(ledger_entries, (le.id == payment_ref) | (le.idempotency_key == payment_ref))
        if not found:
            raise NotFoundError(
                "no such payment", (Problem("payment-not-found", "payment_ref", payment_ref),)
            )
        claim_ids = {r.claim_id for r in found if r.claim_id}
        rows = uow.records.rows(claims, claims.c.id.in_(claim_ids)) if claim_ids else []
    return found[0].patient_id, sorted({r.visit_id for r in rows})


def receipt_pdf_for_payment(engine: Engine, practice_id: str, actor: str, payment_ref: str) -> bytes:
    """The receipt of a patient payment, as PDF, issued and stored as printed."""
    return issue_receipt(engine, practice_id, actor, payment_ref).pdf


def issue_receipt(engine: Engine, practice_id: str, actor: str, payment_ref: str) -> IssuedDocument:
    """Issue the receipt of a payment and store it as printed.

    A payment has one receipt: asking again returns the stored one (the same bytes), so a
    reprint is the receipt the patient was given.
    """
    view = receipt_view_for_payment(engine, practice_id, actor, payment_ref)
    with UnitOfWork(engine, practice_id, actor) as uow:
        stored = uow.records.rows(
            issued_documents,
            issued_documents.c.kind == "receipt",
            issued_documents.c.number == view.receipt_id,
        )
        if stored:
            r = stored[0]
            return IssuedDocument(
                r.id,
                r.kind,
                r.number,
                r.patient_id,
                r.document_date,
                from_cents(r.amount_cents),
                r.pages,
                bytes(r.pdf),
                r.emailed_to,
            )
        patient_id = uow.records.rows(
            ledger_entries,
            (ledger_entries.c.id == payment_ref) | (ledger_entries.c.idempotency_key == payment_ref),
        )[0].patient_id
        return store_document(
            uow,
            kind="receipt",
            number=view.receipt_id,
            patient_id=patient_id,
            document_date=view.paid_on,
            amount=view.amount,
            pdf=render_receipt(view),
        )


def superbill_pdf_for_visit(engine: Engine, practice_id: str, actor: str, visit_id: str) -> bytes:
    """The superbill of one stored visit, from its (latest, not voided) claim: codes, units,
    fees, diagnoses, provider, for the client to file with their plan.

    Raises:
        NotFoundError: no such visit.
        TherabillError: the visit is not coded yet (``superbill-needs-claim``).
    """
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        uow.records.get(visits, visit_id)
        found = uow.records.rows(
            claims,
            claims.c.visit_id == visit_id,
            claims.c.status != "voided",
            order_by=(claims.c.created_at,),
        )
    if not found:
        raise TherabillError(
            "the visit has no claim yet",
            (
                Problem(
                    "superbill-needs-claim", "visit", "code the visit first: the superbill lists its claim"
                ),
            ),
        )
    claim = claim_record(engine, practice_id, actor, found[-1].id)
    codes = list(claim.encounter.diagnoses)
    view = superbill_view(
        [claim],
        document_id="SB-" + hashlib.sha256(f"{practice_id}|{visit_id}".encode()).hexdigest()[:10],
        issued_on=current_date(),
        dx_descriptions=diagnosis_descriptions(codes, claim.encounter.date_of_service),
        code_descriptions=code_descriptions(),
    )
    return render_superbill(view)


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
