"""``/api/v1``: patient money. Check-out payments, refunds, write-offs, transfers, fees,
packages and gift certificates, receipts, statements, statement runs and therapist pay.

Every money POST needs an ``Idempotency-Key`` header (1 to 200 characters): a retry with
the same key and the same body posts nothing and answers 200 with the first answer
(``replayed: true``); the same key with another body answers 409
``idempotency-key-reused``. A new posting answers 201. Each route calls one service
function (``service_layer.ledger``, ``checkout``, ``statements``, ``documents``,
``compensation``). Bodies refuse unknown fields (422).

* balance, payments, fees, packages, receipts, one patient's statement: ``payments.take``;
* refunds, write-offs, transfers, reversals, statement runs: ``ledger.adjust``;
* therapist pay: ``reports.read``; commission rates: ``settings.manage``.

A patient in a path is named by id or chart number.
"""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Header, Query, Request, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from therabill.domain.errors import Problem
from therabill.domain.ledger import Bucket, PaymentMethod, PrepaidType
from therabill.entrypoints.api.schemas import ERRORS, NOT_FOUND
from therabill.entrypoints.http import audit
from therabill.entrypoints.http.deps import state
from therabill.entrypoints.http.errors import ApiError
from therabill.entrypoints.http.mailer import mailer_of
from therabill.entrypoints.http.who import LedgerAdjust, PaymentsTake, ReportsRead, SettingsManage
from therabill.service_layer import checkout, compensation, documents, ledger_corrections, prepaid, statements
from therabill.service_layer import ledger as svc
from therabill.service_layer.accounts import Principal
from therabill.service_layer.ledger import IdempotencyConflictError, Posted

router = APIRouter(prefix="/api/v1", tags=["money"])
RESPONSES: dict[int | str, dict[str, Any]] = {**ERRORS, **NOT_FOUND}
PDF_RESPONSES: dict[int | str, dict[str, Any]] = {
    **RESPONSES,
    200: {"content": {"application/pdf": {}}, "description": "The PDF."},
}
PAY_RESPONSES: dict[int | str, dict[str, Any]] = {
    **RESPONSES,
    200: {
        "content": {"application/json": {}, "text/csv": {}, "application/pdf": {}},
        "description": "The report as JSON, CSV or PDF (``format``).",
    },
}
KeyHeader = Annotated[
    str | None,
    Header(alias="Idempotency-Key", description="Makes a retry post once (required).", max_length=200),
]
Money = Annotated[Decimal, Field(gt=0, max_digits=10, decimal_places=2)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PaymentIn(_In):
    """A patient payment taken at check-out (card payments are recorded, not charged here)."""

    amount: Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=2)]
    method: PaymentMethod
    tip: Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=2)] = Decimal("0.00")
    tip_method: PaymentMethod | None = None
    item_id: str | None = None
    visit_id: str | None = None
    provider_id: str | None = None
    apply: bool = True


class RefundIn(_In):
    """Money paid back to the patient from a credit."""

    amount: Money
    method: PaymentMethod


class WriteOffIn(_In):
    """A write-off of (part of) an item's balance, with its reason."""

    reason: str = Field(min_length=1, max_length=10)
    amount: Money | None = None
    bucket: Literal["patient", "insurance"] = "patient"
    group_code: Literal["CO", "OA", "PI", "PR"] = "CO"


class TransferIn(_In):
    """Move an item's insurance balance to the patient or to the secondary payer."""

    to: Literal["patient", "secondary"]
    amount: Money | None = None
    reason: str | None = Field(default=None, max_length=10)


class FeeIn(_In):
    """A no-show or late-cancel fee (default amount: the practice's policy)."""

    kind: Literal["no-show", "late-cancel"]
    amount: Money | None = None
    appointment_id: str | None = None


class PrepaidIn(_In):
    """A package (sessions for a price) or gift certificate sold to the patient."""

    kind: PrepaidType
    code: str = Field(min_length=1, max_length=40)
    price: Money
    method: PaymentMethod
    sessions: int | None = Field(default=None, ge=1, le=200)
    description: str | None = Field(default=None, max_length=200)
    expires_on: date | None = None


class RedeemIn(_In):
    """A package session or gift-certificate value applied to an item."""

    item_id: str
    amount: Money | None = None


class StatementRunIn(_In):
    """Issue statements to every patient owing more than ``over``; email those with an address."""

    over: Annotated[Decimal, Field(ge=0, max_digits=10, decimal_places=2)] = Decimal("0.00")
    statement_date: date | None = None
    email: bool = False


class RateIn(_In):
    """A therapist's commission rate (``code`` ``*``: the default for every service)."""

    percent: Annotated[Decimal, Field(ge=0, le=100, max_digits=5, decimal_places=2)]
    code: str = Field(default="*", min_length=1, max_length=5)


def _args(request: Request, principal: Principal) -> tuple[Any, str, str]:
    return state(request).engine, principal.practice_id, audit.actor_of(principal)


def _patient(request: Request, principal: Principal, patient: str) -> str:
    """The patient named in the path by id or chart number."""
    return checkout.resolve_patient(*_args(request, principal), patient)


def _key(key: str | None) -> str:
    if not key or not key.strip():
        raise ApiError(
            422,
            "idempotency-key-missing",
            "send an Idempotency-Key header with every money request",
            (Problem("idempotency-key-missing", "Idempotency-Key", "required (1 to 200 characters)"),),
        )
    return f"api:{key.strip()}"


def _posted(run: Any, key: str) -> JSONResponse:
    try:
        res: Posted = run()
    except IdempotencyConflictError as exc:
        raise ApiError(409, exc.code, str(exc), exc.problems) from exc
    body = {
        "entry_ids": list(res.entry_ids),
        "replayed": res.replayed,
        "unapplied": str(res.unapplied),
        "payment_ref": key,
    }
    return JSONResponse(body, status_code=200 if res.replayed else 201)


@router.get("/patients/{patient_id}/money", responses=RESPONSES)
def patient_money(request: Request, patient_id: str, principal: PaymentsTake) -> dict[str, Any]:
    """The patient's balance, credit, open items, packages, ledger and the copay to collect."""
    patient_id = _patient(request, principal, patient_id)
    money = checkout.patient_money(*_args(request, principal), patient_id)
    audit.audit_event(request, principal, "money.view", "patient", patient_id)
    return money.as_dict()


@router.post("/patients/{patient_id}/payments", status_code=201, responses=RESPONSES)
def take_payment(
    request: Request, patient_id: str, body: PaymentIn, principal: PaymentsTake, key: KeyHeader = None
) -> JSONResponse:
    """Take a payment (cash, check, card recorded, HSA/FSA) and an optional tip kept apart.

    With ``visit_id`` the payment goes to that visit's service and the tip to its therapist.
    A tip is never taken from an HSA or FSA (``payment-tip-not-eligible``).
    """
    patient_id = _patient(request, principal, patient_id)
    k = _key(key)
    args = _args(request, principal)
    item, provider = body.item_id, body.provider_id
    if body.visit_id:
        seen = checkout.checkout_visit(*args, patient_id, visit_id=body.visit_id)
        if seen is not None:
            item = item or seen.item_id
            provider = provider or seen.provider_id
    return _posted(
        lambda: svc.post_patient_payment(
            *args,
            patient_id=patient_id,
            amount=body.amount,
            method=body.method,
            key=k,
            item_id=item,
            tip=body.tip,
            tip_method=body.tip_method,
            provider_id=provider,
            apply=body.apply,
        ),
        k,
    )


@router.post("/patients/{patient_id}/refunds", status_code=201, responses=RESPONSES)
def refund(
    request: Request, patient_id: str, body: RefundIn, principal: LedgerAdjust, key: KeyHeader = None
) -> JSONResponse:
    """Refund money to the patient from a credit (never more than the credit)."""
    patient_id = _patient(request, principal, patient_id)
    k = _key(key)
    return _posted(
        lambda: svc.refund_patient(
            *_args(request, principal), patient_id=patient_id, amount=body.amount, method=body.method, key=k
        ),
        k,
    )


@router.post("/items/{item_id}/write-offs", status_code=201, responses=RESPONSES)
def write_off(
    request: Request, item_id: str, body: WriteOffIn, principal: LedgerAdjust, key: KeyHeader = None
) -> JSONResponse:
    """Write off (part of) an item's balance with a reason (default: all that is open)."""
    k = _key(key)
    return _posted(
        lambda: ledger_corrections.write_off(
            *_args(request, principal),
            item_id=item_id,
            amount=body.amount,
            bucket=Bucket(body.bucket),
            group_code=body.group_code,
            reason_code=body.reason,
            key=k,
        ),
        k,
    )


@router.post("/items/{item_id}/transfers", status_code=201, responses=RESPONSES)
def transfer(
    request: Request, item_id: str, body: TransferIn, principal: LedgerAdjust, key: KeyHeader = None
) -> JSONResponse:
    """Move an item's insurance balance to the patient or the secondary payer."""
    k = _key(key)
    return _posted(
        lambda: ledger_corrections.transfer_balance(
            *_args(request, principal),
            item_id=item_id,
            to=body.to,
            key=k,
            amount=body.amount,
            reason_code=body.reason,
        ),
        k,
    )


@router.post("/entries/{entry_id}/reversal", status_code=201, responses=RESPONSES)
def reverse(request: Request, entry_id: str, principal: LedgerAdjust, key: KeyHeader = None) -> JSONResponse:
    """Reverse a posted entry (a correction is a new entry; posted ones never change)."""
    k = _key(key)
    return _posted(lambda: ledger_corrections.reverse_entry(*_args(request, principal), entry_id, key=k), k)


@router.post("/patients/{patient_id}/fees", status_code=201, responses=RESPONSES)
def fee(
    request: Request, patient_id: str, body: FeeIn, principal: PaymentsTake, key: KeyHeader = None
) -> JSONResponse:
    """Charge a no-show or late-cancel fee by the practice's policy (once per appointment)."""
    patient_id = _patient(request, principal, patient_id)
    k = _key(key)
    return _posted(
        lambda: checkout.charge_fee(
            *_args(request, principal),
            patient_id=patient_id,
            kind=body.kind,
            key=k,
            amount=body.amount,
            appointment_id=body.appointment_id,
        ),
        k,
    )


@router.post("/patients/{patient_id}/prepaid", status_code=201, responses=RESPONSES)
def sell_prepaid(
    request: Request, patient_id: str, body: PrepaidIn, principal: PaymentsTake, key: KeyHeader = None
) -> JSONResponse:
    """Sell a package, membership period or gift certificate (a liability until redeemed)."""
    patient_id = _patient(request, principal, patient_id)
    k = _key(key)
    return _posted(
        lambda: prepaid.sell_prepaid(
            *_args(request, principal),
            patient_id=patient_id,
            kind=body.kind,
            code=body.code,
            price=body.price,
            method=body.method,
            key=k,
            sessions=body.sessions,
            description=body.description,
            expires_on=body.expires_on,
        ),
        k,
    )


@router.post("/prepaid/{code}/redemptions", status_code=201, responses=RESPONSES)
def redeem(
    request: Request, code: str, body: RedeemIn, principal: PaymentsTake, key: KeyHeader = None
) -> JSONResponse:
    """Apply a package session or gift-certificate value to an item of the same patient."""
    k = _key(key)
    return _posted(
        lambda: prepaid.redeem_prepaid(
            *_args(request, principal), code=code, item_id=body.item_id, key=k, amount=body.amount
        ),
        k,
    )


def _pdf(data: bytes, name: str) -> Response:
    return Response(
        data, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'}
    )


@router.get("/payments/{payment_ref}/receipt", responses=PDF_RESPONSES, response_class=Response)
def receipt(request: Request, payment_ref: str, principal: PaymentsTake) -> Response:
    """The payment's receipt (PDF), itemized for an HSA/FSA; issued once, then the stored copy."""
    doc = documents.issue_receipt(*_args(request, principal), payment_ref)
    audit.audit_event(request, principal, "receipt.view", "document", doc.document_id)
    return _pdf(doc.pdf, f"receipt-{doc.number}.pdf")


@router.post("/payments/{payment_ref}/receipt/email", responses=RESPONSES)
def email_receipt(request: Request, payment_ref: str, principal: PaymentsTake) -> dict[str, Any]:
    """Email the payment's receipt (PDF attached) to the patient's address."""
    args = _args(request, principal)
    doc = documents.issue_receipt(*args, payment_ref)
    sent = statements.email_document(*args, doc.document_id, mailer_of(request))
    return {"document_id": sent.document_id, "number": sent.number, "emailed_to": sent.emailed_to}


@router.post("/patients/{patient_id}/statements", status_code=201, responses=RESPONSES)
def issue_statement(
    request: Request,
    patient_id: str,
    principal: PaymentsTake,
    email: Annotated[bool, Query(description="Also email it to the patient.")] = False,
) -> dict[str, Any]:
    """Issue the patient's statement as of today (stored as printed); optionally email it."""
    patient_id = _patient(request, principal, patient_id)
    args = _args(request, principal)
    doc = statements.issue_statement(*args, patient_id, statement_date=state(request).now().date())
    if email:
        doc = statements.email_document(*args, doc.document_id, mailer_of(request))
    return {
        "document_id": doc.document_id,
        "number": doc.number,
        "amount_due": str(doc.amount),
        "pages": doc.pages,
        "emailed_to": doc.emailed_to,
    }


@router.get("/patients/{patient_id}/documents", responses=RESPONSES)
def patient_documents(request: Request, patient_id: str, principal: PaymentsTake) -> list[dict[str, Any]]:
    """Statements and receipts issued to the patient, newest first."""
    patient_id = _patient(request, principal, patient_id)
    return [
        {
            "document_id": d.document_id,
            "kind": d.kind,
            "number": d.number,
            "date": d.document_date.isoformat(),
            "amount": str(d.amount),
            "pages": d.pages,
            "emailed_to": d.emailed_to,
        }
        for d in statements.issued_documents_of(*_args(request, principal), patient_id)
    ]


@router.get("/documents/{document_id}", responses=PDF_RESPONSES, response_class=Response)
def document_pdf(request: Request, document_id: str, principal: PaymentsTake) -> Response:
    """An issued statement or receipt exactly as it was printed (the stored PDF)."""
    doc = statements.issued_document(*_args(request, principal), document_id)
    audit.audit_event(request, principal, f"{doc.kind}.view", "document", document_id)
    return _pdf(doc.pdf, f"{doc.kind}-{doc.number}.pdf")


@router.post("/documents/{document_id}/email", responses=RESPONSES)
def email_document(request: Request, document_id: str, principal: PaymentsTake) -> dict[str, Any]:
    """Email an issued statement or receipt (the stored PDF) to the patient."""
    sent = statements.email_document(*_args(request, principal), document_id, mailer_of(request))
    return {"document_id": sent.document_id, "number": sent.number, "emailed_to": sent.emailed_to}


@router.post("/statement-runs", status_code=201, responses=RESPONSES)
def statement_run(request: Request, body: StatementRunIn, principal: LedgerAdjust) -> dict[str, Any]:
    """Issue a statement to every patient owing more than ``over`` (one PDF each, one merged)."""
    mailer = mailer_of(request) if body.email else None
    run = statements.statement_batch(
        *_args(request, principal),
        statement_date=body.statement_date or state(request).now().date(),
        over=body.over,
        mailer=mailer,
    )
    return {**run.as_dict(), "merged_pdf": f"/api/v1/statement-runs/{run.batch_id}"}


@router.get("/statement-runs/{batch_id}", responses=PDF_RESPONSES, response_class=Response)
def statement_run_pdf(request: Request, batch_id: str, principal: LedgerAdjust) -> Response:
    """Every statement of a run in one PDF, to print."""
    return _pdf(statements.batch_pdf(*_args(request, principal), batch_id), f"statements-{batch_id[:8]}.pdf")


@router.get("/therapist-pay", responses=PAY_RESPONSES, response_model=None)
def therapist_pay(
    request: Request,
    principal: ReportsRead,
    start: Annotated[date, Query()],
    end: Annotated[date, Query()],
    provider_id: Annotated[str | None, Query()] = None,
    format: Annotated[Literal["json", "csv", "pdf"], Query()] = "json",  # noqa: A002 - the query's name
) -> Any:
    """Each therapist's services, commissions by rate, tips and package redemptions (JSON, CSV, PDF)."""
    args = _args(request, principal)
    report = compensation.compensation_report(*args, start=start, end=end, provider_id=provider_id)
    audit.audit_event(request, principal, "report.therapist-pay", "practice", principal.practice_id)
    if format == "csv":
        return Response(compensation.compensation_csv(report), media_type="text/csv")
    if format == "pdf":
        return _pdf(compensation.compensation_pdf(*args, report), f"therapist-pay-{start}-{end}.pdf")
    return report.as_dict()


@router.put("/providers/{provider_id}/commission-rates", responses=RESPONSES)
def commission_rate(
    request: Request, provider_id: str, body: RateIn, principal: SettingsManage
) -> dict[str, str]:
    """Set a therapist's commission rate, for one service code or as the default (``*``)."""
    compensation.set_commission_rate(
        *_args(request, principal), provider_id=provider_id, percent=body.percent, code=body.code
    )
    return {"provider_id": provider_id, "code": body.code.upper(), "percent": str(body.percent)}
