"""Pages of patient money: check-out, the patient's account, payments and receipts, statements,
statement runs and therapist pay.

Every form that moves money carries a hidden ``idempotency_key`` made when the page was
drawn, so a double click or a resubmitted form posts once. Each route calls one service
function (``ledger``, ``checkout``, ``statements``, ``documents``, ``compensation``); a
refusal shows the page again with each problem (422). Check-out, payments, packages and a
patient's statement need ``payments.take`` (owner, biller, front desk); refunds, write-offs,
transfers, reversals and statement runs ``ledger.adjust``; therapist pay ``reports.read``.
"""

from __future__ import annotations

import uuid
from datetime import date, timedelta
from decimal import Decimal
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from therabill.domain.errors import NotFoundError, Problem, TherabillError
from therabill.domain.ledger import Bucket, PaymentMethod, PrepaidType
from therabill.domain.money import ZERO, D, MoneyError
from therabill.entrypoints.http.audit import audit_event
from therabill.entrypoints.http.deps import state
from therabill.entrypoints.http.errors import ApiError, not_found
from therabill.entrypoints.http.mailer import mailer_of
from therabill.entrypoints.http.who import LedgerAdjust, PaymentsTake, ReportsRead
from therabill.entrypoints.web.pages import actor, render, today
from therabill.service_layer import checkout, compensation, documents, ledger_corrections, prepaid, statements
from therabill.service_layer import ledger as svc
from therabill.service_layer.accounts import Principal

router = APIRouter(include_in_schema=False)

METHODS = (
    ("card", "Card (recorded)"),
    ("cash", "Cash"),
    ("check", "Check"),
    ("hsa", "HSA card"),
    ("fsa", "FSA card"),
)
TIP_METHODS = (("card", "Card"), ("cash", "Cash"), ("check", "Check"))


def _args(request: Request, principal: Principal) -> tuple[Any, str, str]:
    return state(request).engine, principal.practice_id, actor(principal)


def _text(form: Any, name: str, limit: int = 200) -> str:
    value = form.get(name, "")
    return value.strip()[:limit] if isinstance(value, str) else ""


def _money(form: Any, name: str, *, required: bool = True) -> Decimal | None:
    text = _text(form, name, 20).replace("$", "").replace(",", "")
    if not text:
        if required:
            raise TherabillError("an amount is missing", (Problem("money-missing", name, "enter an amount"),))
        return None
    try:
        value = D(text)
    except MoneyError:
        raise TherabillError(
            "not an amount", (Problem("money-invalid", name, f"{text!r} is not an amount"),)
        ) from None
    if value < ZERO or value >= Decimal("100000000"):
        raise TherabillError(
            "amount out of range",
            (Problem("money-invalid", name, "0 to 99,999,999.99"),),
        )
    return value


def _method(form: Any, name: str = "method") -> PaymentMethod:
    try:
        return PaymentMethod(_text(form, name, 10))
    except ValueError:
        raise TherabillError(
            "choose how it was paid", (Problem("method-invalid", name, "choose a method"),)
        ) from None


def _key(form: Any) -> str:
    key = _text(form, "idempotency_key", 80)
    if not key:
        raise TherabillError(
            "the form has no key; reload the page",
            (Problem("idempotency-key-missing", "idempotency_key", "reload the page and try again"),),
        )
    return f"web:{key}"


def _new_key() -> str:
    return uuid.uuid4().hex


def _money_context(request: Request, principal: Principal, patient_id: str) -> dict[str, Any]:
    try:
        money = checkout.patient_money(*_args(request, principal), patient_id)
        docs = statements.issued_documents_of(*_args(request, principal), patient_id)
    except NotFoundError as exc:
        raise not_found("patient") from exc
    return {
        "user": principal,
        "money": money,
        "docs": docs,
        "methods": METHODS,
        "tip_methods": TIP_METHODS,
        "key": _new_key,
        "today": today(request),
        "gift_expiry": today(request).replace(year=today(request).year + 5) + timedelta(days=1),
        "problems": (),
        "message": "",
        "adjust": principal.role in ("owner", "biller"),
    }


def _show(
    request: Request,
    principal: Principal,
    patient_id: str,
    template: str = "money.html",
    *,
    problems: Any = (),
    message: str = "",
    extra: dict[str, Any] | None = None,
) -> HTMLResponse:
    context = _money_context(request, principal, patient_id)
    context.update(extra or {})
    context["problems"], context["message"] = tuple(problems), message
    return render(request, template, context, 422 if problems else 200)


def _visit_of(request: Request, principal: Principal, patient_id: str) -> checkout.CheckoutVisit | None:
    visit = request.query_params.get("visit") or None
    appointment = request.query_params.get("appointment") or None
    try:
        return checkout.checkout_visit(
            *_args(request, principal), patient_id, visit_id=visit, appointment_id=appointment
        )
    except NotFoundError as exc:
        raise not_found("visit") from exc


@router.get("/patients/{patient_id}/money", response_class=HTMLResponse)
def money_page(request: Request, patient_id: str, principal: PaymentsTake) -> HTMLResponse:
    """The patient's account: balance, open items, packages, ledger, documents and the money forms."""
    response = _show(request, principal, patient_id, message=request.query_params.get("done", "")[:120])
    audit_event(request, principal, "money.view", "patient", patient_id)
    return response


@router.get("/patients/{patient_id}/money/summary", response_class=HTMLResponse)
def money_summary(request: Request, patient_id: str, principal: PaymentsTake) -> HTMLResponse:
    """The balance card of the patient page (loaded into it)."""
    context = _money_context(request, principal, patient_id)
    return render(request, "_money_summary.html", context)


@router.get("/patients/{patient_id}/checkout", response_class=HTMLResponse)
def checkout_page(request: Request, patient_id: str, principal: PaymentsTake) -> HTMLResponse:
    """Check-out of a visit or appointment: the copay to collect, a payment, a package."""
    visit = _visit_of(request, principal, patient_id)
    response = _show(request, principal, patient_id, "checkout.html", extra={"visit": visit})
    audit_event(request, principal, "checkout.view", "patient", patient_id)
    return response


@router.post("/patients/{patient_id}/money/payments", response_class=HTMLResponse)
async def take_payment(request: Request, patient_id: str, principal: PaymentsTake) -> Response:
    """Take a payment (and a tip kept apart); show the payment with its receipt buttons."""
    form = await request.form()
    template = "checkout.html" if _text(form, "from") == "checkout" else "money.html"
    visit_id = _text(form, "visit_id", 40) or None
    try:
        visit = checkout.checkout_visit(*_args(request, principal), patient_id, visit_id=visit_id)
    except NotFoundError as exc:
        raise not_found("visit") from exc
    try:
        key = _key(form)
        tip = _money(form, "tip", required=False) or ZERO
        posted = svc.post_patient_payment(
            *_args(request, principal),
            patient_id=patient_id,
            amount=_money(form, "amount") or ZERO,
            method=_method(form),
            key=key,
            item_id=visit.item_id if visit else (_text(form, "item_id", 40) or None),
            tip=tip,
            tip_method=_method(form, "tip_method") if tip > ZERO else None,
            provider_id=visit.provider_id if visit else None,
        )
    except NotFoundError as exc:
        raise not_found("patient") from exc
    except TherabillError as exc:
        extra = {"visit": visit}
        return _show(request, principal, patient_id, template, problems=exc.problems, extra=extra)
    del posted
    return RedirectResponse(f"/payments/{key}", status_code=303)


async def _post(request: Request, principal: Principal, patient_id: str, run: Any, done: str) -> Response:
    form = await request.form()
    try:
        run(form, _key(form))
    except NotFoundError as exc:
        return _show(
            request, principal, patient_id, problems=exc.problems or (Problem("not-found", "item", ""),)
        )
    except TherabillError as exc:
        return _show(
            request, principal, patient_id, problems=exc.problems or (Problem(exc.code, "form", str(exc)),)
        )
    return RedirectResponse(f"/patients/{patient_id}/money?done={done}", status_code=303)


def _require_patient(request: Request, principal: Principal, patient_id: str) -> None:
    _money_context(request, principal, patient_id)


@router.post("/patients/{patient_id}/money/prepaid", response_class=HTMLResponse)
async def sell_prepaid(request: Request, patient_id: str, principal: PaymentsTake) -> Response:
    """Sell a package, a membership period or a gift certificate."""
    _require_patient(request, principal, patient_id)

    def run(form: Any, key: str) -> None:
        try:
            kind = PrepaidType(_text(form, "kind", 20))
        except ValueError:
            raise TherabillError(
                "choose what to sell", (Problem("prepaid-kind-invalid", "kind", ""),)
            ) from None
        sessions = _text(form, "sessions", 4)
        expires = _text(form, "expires_on", 10)
        try:
            expires_on = date.fromisoformat(expires) if expires else None
            count = int(sessions) if sessions else None
        except ValueError:
            raise TherabillError(
                "check the sessions and the date", (Problem("prepaid-invalid", "sessions", ""),)
            ) from None
        prepaid.sell_prepaid(
            *_args(request, principal),
            patient_id=patient_id,
            kind=kind,
            code=_text(form, "code", 40),
            price=_money(form, "price") or ZERO,
            method=_method(form),
            key=key,
            sessions=count,
            description=_text(form, "description") or None,
            expires_on=expires_on,
        )

    return await _post(request, principal, patient_id, run, "Sold")


@router.post("/patients/{patient_id}/money/redeem", response_class=HTMLResponse)
async def redeem(request: Request, patient_id: str, principal: PaymentsTake) -> Response:
    """Apply a package session or gift-certificate value to an open item."""
    _require_patient(request, principal, patient_id)

    def run(form: Any, key: str) -> None:
        prepaid.redeem_prepaid(
            *_args(request, principal),
            code=_text(form, "code", 40),
            item_id=_text(form, "item_id", 40),
            key=key,
            amount=_money(form, "amount", required=False),
        )

    return await _post(request, principal, patient_id, run, "Redeemed")


@router.post("/patients/{patient_id}/money/fees", response_class=HTMLResponse)
async def fee(request: Request, patient_id: str, principal: PaymentsTake) -> Response:
    """Charge a no-show or late-cancel fee by the practice's policy."""
    _require_patient(request, principal, patient_id)

    def run(form: Any, key: str) -> None:
        checkout.charge_fee(
            *_args(request, principal),
            patient_id=patient_id,
            kind=_text(form, "kind", 20),
            key=key,
            amount=_money(form, "amount", required=False),
        )

    return await _post(request, principal, patient_id, run, "Fee charged")


@router.post("/patients/{patient_id}/money/refunds", response_class=HTMLResponse)
async def refund(request: Request, patient_id: str, principal: LedgerAdjust) -> Response:
    """Refund a credit to the patient."""
    _require_patient(request, principal, patient_id)

    def run(form: Any, key: str) -> None:
        svc.refund_patient(
            *_args(request, principal),
            patient_id=patient_id,
            amount=_money(form, "amount") or ZERO,
            method=_method(form),
            key=key,
        )

    return await _post(request, principal, patient_id, run, "Refunded")


@router.post("/patients/{patient_id}/money/write-offs", response_class=HTMLResponse)
async def write_off(request: Request, patient_id: str, principal: LedgerAdjust) -> Response:
    """Write off (part of) an item's balance with a reason."""
    _require_patient(request, principal, patient_id)

    def run(form: Any, key: str) -> None:
        bucket = Bucket.INSURANCE if _text(form, "bucket") == "insurance" else Bucket.PATIENT
        ledger_corrections.write_off(
            *_args(request, principal),
            item_id=_text(form, "item_id", 40),
            amount=_money(form, "amount", required=False),
            bucket=bucket,
            reason_code=_text(form, "reason", 10),
            key=key,
        )

    return await _post(request, principal, patient_id, run, "Written off")


@router.post("/patients/{patient_id}/money/transfers", response_class=HTMLResponse)
async def transfer(request: Request, patient_id: str, principal: LedgerAdjust) -> Response:
    """Move an item's insurance balance to the patient or the secondary payer."""
    _require_patient(request, principal, patient_id)

    def run(form: Any, key: str) -> None:
        ledger_corrections.transfer_balance(
            *_args(request, principal),
            item_id=_text(form, "item_id", 40),
            to=_text(form, "to", 10),
            key=key,
            amount=_money(form, "amount", required=False),
        )

    return await _post(request, principal, patient_id, run, "Moved")


@router.post("/patients/{patient_id}/money/reversals", response_class=HTMLResponse)
async def reverse(request: Request, patient_id: str, principal: LedgerAdjust) -> Response:
    """Reverse a posted entry (a new entry that negates it)."""
    _require_patient(request, principal, patient_id)

    def run(form: Any, key: str) -> None:
        ledger_corrections.reverse_entry(*_args(request, principal), _text(form, "entry_id", 40), key=key)

    return await _post(request, principal, patient_id, run, "Reversed")


@router.post("/patients/{patient_id}/statements", response_class=HTMLResponse)
async def issue_statement(request: Request, patient_id: str, principal: PaymentsTake) -> Response:
    """Issue the patient's statement (stored as printed); email it when asked."""
    _require_patient(request, principal, patient_id)
    form = await request.form()
    args = _args(request, principal)
    doc = statements.issue_statement(*args, patient_id, statement_date=today(request))
    if _text(form, "email"):
        try:
            statements.email_document(*args, doc.document_id, mailer_of(request))
        except (TherabillError, ApiError) as exc:
            problems = getattr(exc, "problems", ()) or (Problem("mail-send-failed", "email", str(exc)),)
            return _show(request, principal, patient_id, problems=problems)
        return RedirectResponse(f"/patients/{patient_id}/money?done=Statement emailed", status_code=303)
    return RedirectResponse(f"/documents/{doc.document_id}", status_code=303)


def _document(request: Request, principal: Principal, document_id: str) -> statements.IssuedDocument:
    try:
        return statements.issued_document(*_args(request, principal), document_id)
    except NotFoundError as exc:
        raise not_found("document") from exc


def _pdf(data: bytes, name: str) -> Response:
    return Response(
        data, media_type="application/pdf", headers={"Content-Disposition": f'inline; filename="{name}"'}
    )


@router.get("/documents/{document_id}")
def document_pdf(request: Request, document_id: str, principal: PaymentsTake) -> Response:
    """An issued statement or receipt as it was printed."""
    doc = _document(request, principal, document_id)
    audit_event(request, principal, f"{doc.kind}.view", "document", document_id)
    return _pdf(doc.pdf, f"{doc.kind}-{doc.number}.pdf")


@router.post("/documents/{document_id}/email", response_class=HTMLResponse)
def document_email(request: Request, document_id: str, principal: PaymentsTake) -> Response:
    """Email an issued statement or receipt to the patient."""
    doc = _document(request, principal, document_id)
    try:
        statements.email_document(*_args(request, principal), document_id, mailer_of(request))
    except (TherabillError, ApiError) as exc:
        problems = getattr(exc, "problems", ()) or (Problem("mail-send-failed", "email", str(exc)),)
        return _show(request, principal, doc.patient_id, problems=problems)
    return RedirectResponse(f"/patients/{doc.patient_id}/money?done=Emailed", status_code=303)


def _receipt_view(request: Request, principal: Principal, payment_ref: str) -> Any:
    try:
        return documents.receipt_view_for_payment(*_args(request, principal), payment_ref)
    except NotFoundError as exc:
        raise not_found("payment") from exc


@router.get("/payments/{payment_ref}", response_class=HTMLResponse)
def payment_page(request: Request, payment_ref: str, principal: PaymentsTake) -> HTMLResponse:
    """A payment: what it paid, how, the balance after; receipt and superbill buttons."""
    try:
        view = _receipt_view(request, principal, payment_ref)
        patient_id, visit_ids = documents.payment_patient_and_visits(*_args(request, principal), payment_ref)
    except TherabillError as exc:
        raise ApiError(404, "not-found", "no such payment", exc.problems) from exc
    audit_event(request, principal, "payment.view", "patient", patient_id)
    return render(
        request,
        "payment.html",
        {
            "user": principal,
            "view": view,
            "ref": payment_ref,
            "patient_id": patient_id,
            "visit_ids": visit_ids,
        },
    )


@router.get("/payments/{payment_ref}/receipt")
def payment_receipt(request: Request, payment_ref: str, principal: PaymentsTake) -> Response:
    """The receipt (PDF), issued once and then shown as stored."""
    try:
        doc = documents.issue_receipt(*_args(request, principal), payment_ref)
    except NotFoundError as exc:
        raise not_found("payment") from exc
    except TherabillError as exc:
        raise ApiError(404, "not-found", "no receipt for this", exc.problems) from exc
    audit_event(request, principal, "receipt.view", "document", doc.document_id)
    return _pdf(doc.pdf, f"receipt-{doc.number}.pdf")


@router.post("/payments/{payment_ref}/receipt/email", response_class=HTMLResponse)
def payment_receipt_email(request: Request, payment_ref: str, principal: PaymentsTake) -> Response:
    """Email the receipt (PDF attached) to the patient."""
    try:
        doc = documents.issue_receipt(*_args(request, principal), payment_ref)
    except NotFoundError as exc:
        raise not_found("payment") from exc
    except TherabillError as exc:
        raise ApiError(404, "not-found", "no receipt for this", exc.problems) from exc
    try:
        statements.email_document(*_args(request, principal), doc.document_id, mailer_of(request))
    except (TherabillError, ApiError) as exc:
        problems = getattr(exc, "problems", ()) or (Problem("mail-send-failed", "email", str(exc)),)
        return _show(request, principal, doc.patient_id, problems=problems)
    return RedirectResponse(f"/patients/{doc.patient_id}/money?done=Receipt emailed", status_code=303)


@router.get("/visits/{visit_id}/superbill")
def visit_superbill(request: Request, visit_id: str, principal: PaymentsTake) -> Response:
    """The superbill of a visit (PDF), for the client to file with their plan."""
    try:
        pdf = documents.superbill_pdf_for_visit(*_args(request, principal), visit_id)
    except NotFoundError as exc:
        raise not_found("visit") from exc
    audit_event(request, principal, "superbill.view", "visit", visit_id)
    return _pdf(pdf, "superbill.pdf")


# --- statement runs and therapist pay ------------------------------------------------------


@router.get("/statements", response_class=HTMLResponse)
def statements_page(request: Request, principal: LedgerAdjust) -> HTMLResponse:
    """Statement runs: every patient owing more than an amount, one PDF each and one to print."""
    return render(
        request,
        "statements.html",
        {
            "user": principal,
            "run": None,
            "over": "0.00",
            "today": today(request),
            "problems": (),
            "names": {},
        },
    )


@router.post("/statements/run", response_class=HTMLResponse)
async def statements_run(request: Request, principal: LedgerAdjust) -> HTMLResponse:
    """Issue the run and show each statement, what was emailed and the merged PDF."""
    form = await request.form()
    try:
        over = _money(form, "over", required=False) or ZERO
        email = bool(_text(form, "email"))
        mailer = mailer_of(request) if email else None
        run = statements.statement_batch(
            *_args(request, principal), statement_date=today(request), over=over, mailer=mailer
        )
    except (TherabillError, ApiError) as exc:
        problems = getattr(exc, "problems", ()) or (Problem("statement-run-failed", "form", str(exc)),)
        context = {
            "user": principal,
            "run": None,
            "over": "0.00",
            "today": today(request),
            "problems": problems,
        }
        return render(request, "statements.html", {**context, "names": {}}, 422)
    names = {
        m.patient_id: m
        for m in (checkout.patient_money(*_args(request, principal), s.patient_id) for s in run.statements)
    }
    audit_event(request, principal, "statement.run", "practice", principal.practice_id)
    return render(
        request,
        "statements.html",
        {
            "user": principal,
            "run": run,
            "over": str(over),
            "today": today(request),
            "problems": (),
            "names": names,
        },
    )


@router.get("/statements/runs/{batch_id}")
def statements_run_pdf(request: Request, batch_id: str, principal: LedgerAdjust) -> Response:
    """The merged PDF of a run, to print."""
    try:
        data = statements.batch_pdf(*_args(request, principal), batch_id)
    except NotFoundError as exc:
        raise not_found("statement run") from exc
    return _pdf(data, "statements.pdf")


def _period(request: Request) -> tuple[date, date]:
    day = today(request)
    try:
        start = date.fromisoformat(request.query_params.get("start") or day.replace(day=1).isoformat())
        end = date.fromisoformat(request.query_params.get("end") or day.isoformat())
    except ValueError:
        raise ApiError(
            422, "invalid-input", "dates are YYYY-MM-DD", (Problem("date-invalid", "start", "YYYY-MM-DD"),)
        ) from None
    return start, end


@router.get("/therapist-pay", response_class=HTMLResponse)
def therapist_pay(request: Request, principal: ReportsRead) -> Response:
    """Therapist pay for a period: services, commissions by rate, tips, package redemptions."""
    start, end = _period(request)
    args = _args(request, principal)
    report = compensation.compensation_report(*args, start=start, end=end)
    audit_event(request, principal, "report.therapist-pay", "practice", principal.practice_id)
    fmt = request.query_params.get("format")
    if fmt == "csv":
        return Response(
            compensation.compensation_csv(report),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="therapist-pay-{start}-{end}.csv"'},
        )
    if fmt == "pdf":
        return _pdf(compensation.compensation_pdf(*args, report), f"therapist-pay-{start}-{end}.pdf")
    return render(
        request, "therapist_pay.html", {"user": principal, "report": report, "start": start, "end": end}
    )
