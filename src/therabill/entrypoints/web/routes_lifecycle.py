"""Claim lifecycle pages: edit a saved visit, void / correct / re-bill a claim, the follow-up
worklist (notes, owner, next action, actions) and the appeal letter.

Each route parses the form, calls one use case (``service_layer.claim_changes``,
``service_layer.followup``, ``service_layer.appeals``) and shows the claim again; a refusal is
shown on the page with its problems (422), never half done.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from therabill.domain.errors import NotFoundError, Problem, TherabillError
from therabill.domain.money import from_cents
from therabill.entrypoints.http.audit import audit_event
from therabill.entrypoints.http.deps import state
from therabill.entrypoints.http.errors import not_found
from therabill.entrypoints.http.who import ClaimsExport, ClaimsRead, ClaimsWrite, VisitsWrite
from therabill.entrypoints.web import visit_form
from therabill.entrypoints.web.billing import claim_view
from therabill.entrypoints.web.pages import (
    actor,
    find_visit,
    form_context,
    intake_check,
    render,
    today,
    visit_context,
)
from therabill.service_layer import appeals, claim_changes, followup
from therabill.service_layer import claims as claims_svc
from therabill.service_layer.accounts import Principal

router = APIRouter(include_in_schema=False)


def _text(form: Any, name: str, limit: int = 2000) -> str:
    value = form.get(name, "")
    return value.strip()[:limit] if isinstance(value, str) else ""


def _changes(form: Any, stored: dict[str, Any]) -> dict[str, Any]:
    """The edited parts of a visit from the visit form (fees and billed units kept)."""
    doc = visit_form.visit_document(form)
    doc["services"] = visit_form.keep_service_extras(doc["services"], list(stored.get("services") or []))
    return doc


def _edit_form(
    request: Request,
    principal: Principal,
    visit: Any,
    action: str,
    *,
    values: dict[str, Any] | None = None,
    problems: Any = (),
    status: int = 200,
    title: str = "",
) -> HTMLResponse:
    base = visit_context(request, principal, visit.patient_id)
    shown = values or {
        **visit_form.document_values(visit.encounter_json or {}),
        "date_of_service": visit.date_of_service.isoformat(),
        "provider_id": visit.provider_id,
        "coverage_id": visit.coverage_id or "",
    }
    context = form_context(principal, base, shown, intake_check(request, principal, visit.patient_id))
    context.update(form_action=action, editing=title or "Edit the visit", errors=tuple(problems))
    return render(request, "visit_form.html", context, status)


# --- edit a saved visit ------------------------------------------------------------------


@router.get("/visits/{visit_id}/edit", response_class=HTMLResponse)
def visit_edit_page(request: Request, visit_id: str, principal: VisitsWrite) -> HTMLResponse:
    """The visit form filled with the saved visit (times, services, diagnoses, note, accident)."""
    visit = find_visit(request, principal, visit_id)
    return _edit_form(request, principal, visit, f"/visits/{visit_id}/edit")


@router.post("/visits/{visit_id}/edit", response_class=HTMLResponse)
async def visit_edit(request: Request, visit_id: str, principal: VisitsWrite) -> Response:
    """Save the edited visit; its unsent claim is re-coded and re-scrubbed as a new version."""
    visit = find_visit(request, principal, visit_id)
    form = await request.form()
    try:
        result = claim_changes.edit_visit(
            state(request).engine,
            principal.practice_id,
            actor(principal),
            visit_id,
            _changes(form, visit.encounter_json or {}),
            as_of=today(request),
            reason=_text(form, "reason", 200) or None,
        )
    except NotFoundError:
        raise not_found("visit") from None
    except TherabillError as exc:
        problems = exc.problems or (Problem(exc.code, "visit", str(exc)),)
        return _edit_form(
            request,
            principal,
            visit,
            f"/visits/{visit_id}/edit",
            values=dict(form),
            problems=problems,
            status=422,
        )
    target = f"/claims/{result.claim_id}" if result.claim_id else f"/visits/{visit_id}"
    return RedirectResponse(target, status_code=303)


# --- void, correct, re-bill ------------------------------------------------------------------


def _claim_row(request: Request, principal: Principal, claim_id: str) -> Any:
    try:
        return claims_svc.claim_detail(
            state(request).engine, principal.practice_id, actor(principal), claim_id
        )
    except NotFoundError as exc:
        raise not_found("claim") from exc


@router.post("/claims/{claim_id}/void", response_class=HTMLResponse)
async def claim_void(request: Request, claim_id: str, principal: ClaimsWrite) -> Response:
    """Void the claim (a frequency-8 claim when the payer has it)."""
    form = await request.form()
    _claim_row(request, principal, claim_id)
    try:
        result = claim_changes.void(
            state(request).engine,
            principal.practice_id,
            actor(principal),
            claim_id,
            reason=_text(form, "reason", 200) or None,
        )
    except TherabillError as exc:
        return claim_view(request, principal, claim_id, problems=exc.problems, status=422)
    return RedirectResponse(f"/claims/{result.claim_id or claim_id}", status_code=303)


def _version_form(request: Request, principal: Principal, claim_id: str, kind: str) -> HTMLResponse:
    detail = _claim_row(request, principal, claim_id)
    visit = find_visit(request, principal, detail.claim.visit_id)
    title = "Correct the claim (frequency 7)" if kind == "correct" else "Re-bill the claim"
    return _edit_form(request, principal, visit, f"/claims/{claim_id}/{kind}", title=title)


@router.get("/claims/{claim_id}/correct", response_class=HTMLResponse)
def claim_correct_page(request: Request, claim_id: str, principal: ClaimsWrite) -> HTMLResponse:
    """The visit form to correct a claim the payer has (a replacement claim with REF*F8)."""
    return _version_form(request, principal, claim_id, "correct")


@router.get("/claims/{claim_id}/rebill", response_class=HTMLResponse)
def claim_rebill_page(request: Request, claim_id: str, principal: ClaimsWrite) -> HTMLResponse:
    """The visit form to re-bill a rejected claim as a new original."""
    return _version_form(request, principal, claim_id, "rebill")


async def _new_version(request: Request, principal: Principal, claim_id: str, kind: str) -> Response:
    detail = _claim_row(request, principal, claim_id)
    visit = find_visit(request, principal, detail.claim.visit_id)
    form = await request.form()
    changes = _changes(form, visit.encounter_json or {}) if _text(form, "rc-present") else None
    use_case = claim_changes.correct if kind == "correct" else claim_changes.rebill
    try:
        result = use_case(
            state(request).engine,
            principal.practice_id,
            actor(principal),
            claim_id,
            as_of=today(request),
            changes=changes,
            reason=_text(form, "reason", 200) or None,
        )
    except TherabillError as exc:
        if changes is None:
            return claim_view(request, principal, claim_id, problems=exc.problems, status=422)
        return _edit_form(
            request,
            principal,
            visit,
            f"/claims/{claim_id}/{kind}",
            values=dict(form),
            problems=exc.problems,
            status=422,
        )
    return RedirectResponse(f"/claims/{result.claim_id}", status_code=303)


@router.post("/claims/{claim_id}/correct", response_class=HTMLResponse)
async def claim_correct(request: Request, claim_id: str, principal: ClaimsWrite) -> Response:
    """Send a corrected claim (frequency 7, REF*F8), re-coded from the edited visit."""
    return await _new_version(request, principal, claim_id, "correct")


@router.post("/claims/{claim_id}/rebill", response_class=HTMLResponse)
async def claim_rebill(request: Request, claim_id: str, principal: ClaimsWrite) -> Response:
    """Bill a rejected claim again as a new original (frequency 1)."""
    return await _new_version(request, principal, claim_id, "rebill")


# --- follow-up ---------------------------------------------------------------------------


FOLLOWUP_ROWS = 200
"""Rows the follow-up page lists (the oldest first); the count says how many there are in all,
and the filters narrow the list (the API and the command line give every item)."""


def _days(value: str) -> int:
    return int(value) if value.isdigit() and int(value) <= 3650 else followup.DEFAULT_UNPAID_DAYS


@router.get("/followup", response_class=HTMLResponse)
def followup_page(
    request: Request, principal: ClaimsRead, days: str = "", reason: str = "", owner: str = "", done: str = ""
) -> HTMLResponse:
    """Denied, rejected and unpaid claims with their aging from the date of service."""
    items, total = followup.worklist_head(
        state(request).engine,
        principal.practice_id,
        actor(principal),
        as_of=today(request),
        rows=FOLLOWUP_ROWS,
        unpaid_days=_days(days),
        reason=reason if reason in ("denied", "rejected", "unpaid") else None,
        owner=owner[:80] or None,
        include_done=bool(done),
    )
    audit_event(request, principal, "followup.list", "claim", None)
    return render(
        request,
        "followup.html",
        {
            "user": principal,
            "items": items,
            "total": total,
            "days": _days(days),
            "reason": reason,
            "owner": owner[:80],
            "done": bool(done),
            "money": from_cents,
        },
    )


def _date(value: str) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        raise TherabillError(
            "the date is not valid", (Problem("followup-date-invalid", "next_action_on", "YYYY-MM-DD"),)
        ) from None


@router.post("/claims/{claim_id}/followup", response_class=HTMLResponse)
async def followup_update(request: Request, claim_id: str, principal: ClaimsWrite) -> Response:
    """Add a note, set the owner, state, next-action date or the payer's remark codes."""
    form = await request.form()
    _claim_row(request, principal, claim_id)
    remarks = _text(form, "remark_codes", 200)
    try:
        followup.update(
            state(request).engine,
            principal.practice_id,
            actor(principal),
            claim_id,
            as_of=today(request),
            note=_text(form, "note") or None,
            state=_text(form, "state", 20) or None,
            owner=_text(form, "owner", 120) if "owner" in form else None,
            next_action_on=_date(_text(form, "next_action_on", 20)),
            remark_codes=[c for c in remarks.replace(",", " ").split() if c]
            if "remark_codes" in form
            else None,
        )
    except TherabillError as exc:
        return claim_view(request, principal, claim_id, problems=exc.problems, status=422)
    return RedirectResponse(f"/claims/{claim_id}#followup", status_code=303)


@router.post("/claims/{claim_id}/followup/act", response_class=HTMLResponse)
async def followup_act(request: Request, claim_id: str, principal: ClaimsWrite) -> Response:
    """Do a worklist action (appeal, write off, transfer to the patient, correct, void, re-bill)."""
    form = await request.form()
    _claim_row(request, principal, claim_id)
    try:
        result = followup.act(
            state(request).engine,
            principal.practice_id,
            actor(principal),
            claim_id,
            _text(form, "action", 30),
            as_of=today(request),
            note=_text(form, "note") or None,
            reason_code=_text(form, "reason_code", 5) or None,
        )
    except TherabillError as exc:
        return claim_view(request, principal, claim_id, problems=exc.problems, status=422)
    return RedirectResponse(f"/claims/{result.new_claim_id or claim_id}", status_code=303)


@router.post("/claims/{claim_id}/appeal.pdf")
async def appeal_letter(request: Request, claim_id: str, principal: ClaimsExport) -> Response:
    """The appeal letter of the claim as a PDF (the note is the argument)."""
    form = await request.form()
    _claim_row(request, principal, claim_id)
    try:
        pdf, number = appeals.appeal_letter_pdf(
            state(request).engine,
            principal.practice_id,
            actor(principal),
            claim_id,
            note=_text(form, "note", 4000),
            as_of=today(request),
            signer=principal.display_name,
        )
    except TherabillError as exc:
        return claim_view(request, principal, claim_id, problems=exc.problems, status=422)
    audit_event(request, principal, "claim.export_appeal", "claim", claim_id)
    safe = "".join(c for c in number if c.isalnum() or c == "-")[:40] or "claim"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="appeal-{safe}.pdf"'},
    )
