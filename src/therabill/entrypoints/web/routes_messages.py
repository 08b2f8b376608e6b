"""Pages of what the practice sends on its own: statement-email runs and clients' opt-outs.

Each handler calls one service function (``statement_emails``, ``contact_preferences``), the
same the API and the CLI call. Statement emails need ``ledger.adjust`` (owner, biller); a
client's opt-out is read with ``patients.read`` and changed with ``patients.write``.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from therabill.domain.errors import NotFoundError, Problem, TherabillError
from therabill.domain.money import ZERO, D, MoneyError
from therabill.entrypoints.http.audit import audit_event
from therabill.entrypoints.http.deps import state
from therabill.entrypoints.http.errors import not_found
from therabill.entrypoints.http.who import LedgerAdjust, PatientsRead, PatientsWrite
from therabill.entrypoints.web.pages import actor, render
from therabill.service_layer import contact_preferences, statement_emails
from therabill.service_layer.accounts import Principal

router = APIRouter(include_in_schema=False)


def _args(request: Request, principal: Principal) -> tuple[Any, str, str]:
    return state(request).engine, principal.practice_id, actor(principal)


def _emails_page(
    request: Request,
    principal: Principal,
    *,
    over: str = "0.00",
    problems: tuple[Problem, ...] = (),
    status: int = 200,
) -> HTMLResponse:
    runs = statement_emails.statement_email_runs_of(*_args(request, principal))
    context = {
        "user": principal,
        "runs": runs,
        "over": over,
        "problems": problems,
        "labels": statement_emails.LABELS,
    }
    return render(request, "statement_emails.html", context, status)


@router.get("/statements/emails", response_class=HTMLResponse)
def statement_emails_page(request: Request, principal: LedgerAdjust) -> HTMLResponse:
    """Statement emails sent by the job runner: schedule a run, see each run's progress."""
    return _emails_page(request, principal)


@router.post("/statements/emails", response_class=HTMLResponse)
async def statement_emails_submit(request: Request, principal: LedgerAdjust) -> Response:
    """Schedule a run: each client owing more than the amount is emailed their statement once."""
    form = await request.form()
    text = str(form.get("over", "")).strip().replace("$", "").replace(",", "")[:20]
    try:
        over = D(text) if text else ZERO
    except MoneyError:
        problem = Problem("statement-threshold-invalid", "over", f"{text!r} is not an amount")
        return _emails_page(request, principal, over=text, problems=(problem,), status=422)
    try:
        run = statement_emails.schedule_statement_emails(*_args(request, principal), over=over)
    except TherabillError as exc:
        return _emails_page(request, principal, over=text, problems=tuple(exc.problems), status=422)
    audit_event(request, principal, "statement_emails.schedule", "statement_email_run", run.run_id)
    return RedirectResponse(f"/statements/emails/{run.run_id}", status_code=303)


@router.get("/statements/emails/{run_id}", response_class=HTMLResponse)
def statement_emails_run(request: Request, run_id: str, principal: LedgerAdjust) -> HTMLResponse:
    """One run, client by client (refresh to follow the job runner)."""
    try:
        run = statement_emails.statement_email_run(*_args(request, principal), run_id)
    except NotFoundError as exc:
        raise not_found("statement email run") from exc
    return render(request, "statement_emails_run.html", {"user": principal, "run": run})


def _preferences(
    request: Request, principal: Principal, patient_id: str, *, message: str = "", status: int = 200
) -> HTMLResponse:
    try:
        prefs = contact_preferences.contact_preferences_of(*_args(request, principal), patient_id)
    except NotFoundError as exc:
        raise not_found("patient") from exc
    context = {"user": principal, "prefs": prefs, "message": message}
    return render(request, "_contact_preferences.html", context, status)


@router.get("/patients/{patient_id}/contact-preferences/fragment", response_class=HTMLResponse)
def contact_preferences_card(request: Request, patient_id: str, principal: PatientsRead) -> HTMLResponse:
    """The patient page's card: whether the client accepts email and text messages."""
    return _preferences(request, principal, patient_id)


@router.post("/patients/{patient_id}/contact-preferences", response_class=HTMLResponse)
async def contact_preferences_submit(request: Request, patient_id: str, principal: PatientsWrite) -> Response:
    """Set the client's opt-outs (an unchecked box: the client accepts that channel)."""
    form = await request.form()
    try:
        contact_preferences.set_contact_preferences(
            *_args(request, principal),
            patient_id,
            email_opt_out=form.get("email_opt_out") == "1",
            sms_opt_out=form.get("sms_opt_out") == "1",
        )
    except NotFoundError as exc:
        raise not_found("patient") from exc
    if request.headers.get("HX-Request") != "true":
        return RedirectResponse(f"/patients/{patient_id}", status_code=303)
    return _preferences(request, principal, patient_id, message="Saved")
