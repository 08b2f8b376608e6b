"""The eligibility page of a patient: run a check (the 270 file), read a 271 answer, history.

Every route needs ``eligibility.run`` (owner, biller, front desk). The patient and the
coverage are looked up within the caller's practice (another practice's id answers 404). A
271 upload is checked like an 835 (size, ``ISA`` header, its file name never used); each
answer read is stored as a check of the coverage and audited by the records service; each
page view and each 270 produced is audited here.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Request, UploadFile
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from therabill.adapters.x12.x271_005010X279A1 import read_271
from therabill.domain.errors import NotFoundError, Problem, TherabillError
from therabill.entrypoints.cli.eligibility import summary_json
from therabill.entrypoints.http.audit import audit_event
from therabill.entrypoints.http.deps import requires, state
from therabill.entrypoints.http.errors import ApiError, not_found
from therabill.entrypoints.web.billing import read_upload
from therabill.entrypoints.web.pages import actor, render, today
from therabill.security.permissions import Permission
from therabill.service_layer import coverages as coverages_svc
from therabill.service_layer import eligibility_requests
from therabill.service_layer.accounts import Principal
from therabill.service_layer.eligibility_requests import request_270

router = APIRouter(include_in_schema=False)

EligibilityRun = Annotated[Principal, Depends(requires(Permission.ELIGIBILITY_RUN))]


def _context(request: Request, principal: Principal, patient_id: str) -> dict[str, Any]:
    try:
        seen = eligibility_requests.eligibility_overview(
            state(request).engine, principal.practice_id, actor(principal), patient_id
        )
    except NotFoundError as exc:
        raise not_found("patient") from exc
    patient, covs, payer_rows, checks = seen.patient, seen.coverages, seen.payers, seen.checks
    return {
        "user": principal,
        "patient": patient,
        "coverages": covs,
        "payers": payer_rows,
        "checks": checks,
        "today": today(request),
        "problems": (),
        "message": "",
    }


@router.get("/patients/{patient_id}/eligibility", response_class=HTMLResponse)
def eligibility_page(request: Request, patient_id: str, principal: EligibilityRun) -> HTMLResponse:
    """The patient's coverages, each with its checks (newest first) and the actions."""
    context = _context(request, principal, patient_id)
    audit_event(request, principal, "eligibility.view", "patient", patient_id)
    return render(request, "eligibility.html", context)


def _coverage(request: Request, principal: Principal, coverage_id: str) -> Any:
    try:
        return eligibility_requests.coverage(
            state(request).engine, principal.practice_id, actor(principal), coverage_id
        )
    except NotFoundError as exc:
        raise not_found("coverage") from exc


@router.post("/coverages/{coverage_id}/eligibility/271", response_class=HTMLResponse)
async def eligibility_upload(
    request: Request,
    coverage_id: str,
    principal: EligibilityRun,
    file: Annotated[UploadFile | None, File()] = None,
) -> Response:
    """Read a 271 answer for this coverage, store it as a check and show the history."""
    cov = _coverage(request, principal, coverage_id)
    problems: tuple[Problem, ...] = ()
    try:
        if file is None:
            raise ApiError(
                422,
                "upload-missing",
                "choose a 271 file",
                (Problem("upload-missing", "file", "choose a 271 file"),),
            )
        data = await read_upload(request, file)
        answers = list(read_271(data.decode("latin-1")))
        if not answers:
            raise ApiError(422, "eligibility-empty", "the 271 holds no answer")
        summary = json.loads(json.dumps(summary_json(answers[0]), default=str))
        coverages_svc.record_eligibility_check(
            state(request).engine,
            principal.practice_id,
            actor(principal),
            coverage_id=coverage_id,
            service_date=today(request),
            active=answers[0].active,
            source="271",
            result=summary,
        )
    except ApiError as exc:
        if exc.status == 413:
            raise
        problems = tuple(exc.problems) or (Problem(exc.code, "file", exc.message),)
    except TherabillError as exc:
        problems = tuple(exc.problems) or (Problem(getattr(exc, "code", "x12-invalid"), "file", str(exc)),)
    if problems:
        context = _context(request, principal, cov.patient_id)
        context["problems"] = problems
        return render(request, "eligibility.html", context, 422)
    return RedirectResponse(f"/patients/{cov.patient_id}/eligibility", status_code=303)


@router.post("/coverages/{coverage_id}/eligibility/270")
async def eligibility_270(request: Request, coverage_id: str, principal: EligibilityRun) -> Response:
    """Produce the 270 request file of this coverage (service types BE, AE, 30) to send.

    The check is stored with source ``270`` and its trace number; read the payer's 271 to
    complete it. A coverage that lacks what a 270 needs shows the page with each problem.
    """
    cov = _coverage(request, principal, coverage_id)
    try:
        made = request_270(
            state(request).engine,
            principal.practice_id,
            actor(principal),
            coverage_id,
            today(request),
            envelope=state(request).envelope(),
            created=state(request).now(),
        )
    except TherabillError as exc:
        context = _context(request, principal, cov.patient_id)
        context["problems"] = tuple(exc.problems) or (Problem(exc.code, "coverage", str(exc)),)
        return render(request, "eligibility.html", context, 422)
    return Response(
        made.text,
        media_type="application/edi-x12",
        headers={
            "Content-Disposition": f'attachment; filename="eligibility-270-{made.control_number:09d}.x12"'
        },
    )
