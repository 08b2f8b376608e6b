"""Pages: dashboard, patients, visit documentation (live units and findings), claims.

Every object is looked up within the caller's practice (``Records`` scopes each query); an id
of another practice answers 404 like a missing one. Ids in URLs are opaque; names are
searched through POST bodies. Each PHI page view or change is written to the audit log.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Depends, Request
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from therabill.domain.errors import NotFoundError, TherabillError
from therabill.domain.intake import VisitNotBillableError
from therabill.domain.money import from_cents
from therabill.entrypoints.http import audit
from therabill.entrypoints.http.audit import audit_event
from therabill.entrypoints.http.deps import public, state
from therabill.entrypoints.http.errors import ApiError, not_found
from therabill.entrypoints.http.who import ClaimsWrite, PatientsRead, VisitsRead, VisitsWrite
from therabill.entrypoints.web import charts, visit_form
from therabill.refdata.icd10 import icd10
from therabill.refdata.profiles import load_profile
from therabill.refdata.status import refdata_status
from therabill.security.permissions import Permission
from therabill.service_layer import appointments, cases, sessions
from therabill.service_layer import claims as claims_svc
from therabill.service_layer import dashboard as board
from therabill.service_layer import intake as intake_svc
from therabill.service_layer import patients as patients_svc
from therabill.service_layer import visits as visits_svc
from therabill.service_layer.accounts import Principal

router = APIRouter(include_in_schema=False)

P = Permission


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """Render a page template with the caller in the context."""
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, name, context, status_code=status
    )
    return response


def actor(principal: Principal) -> str:
    """The audit actor of a principal."""
    return audit.actor_of(principal)


def people_of(request: Request, principal: Principal) -> dict[str, str]:
    """Audit actors (``user:<id>``) of the caller's practice with their display names."""
    with state(request).engine.connect() as conn:
        return sessions.display_names(conn, principal.practice_id)


def today(request: Request) -> date:
    """Today (UTC) by the app's clock."""
    return state(request).now().date()


@router.get("/healthz", include_in_schema=False)
def health(_: None = Depends(public())) -> dict[str, str]:
    """Liveness check (no data)."""
    return {"status": "ok"}


@router.get("/", response_class=HTMLResponse)
def dashboard(request: Request, principal: PatientsRead) -> HTMLResponse:
    """Today's visits, visits not documented, claims needing attention."""
    day = today(request)
    engine, who = state(request).engine, actor(principal)
    with audit.one_read(request, principal) as reads:  # one transaction with its audit row
        todays = appointments.todays_visits(engine, principal.practice_id, who)
        seen = board.dashboard(
            engine, principal.practice_id, who, day=day, billing=principal.role in ("owner", "biller")
        )
        reads.audit("dashboard.view", "practice", principal.practice_id)
    return render(
        request,
        "dashboard.html",
        {
            "user": principal,
            "today": day,
            "todays": todays,
            "undocumented": seen.undocumented,
            "attention": seen.attention,
            "names": seen.patients,
            "running_out": seen.running_out,
            "paid_this_week": from_cents(seen.paid_this_week_cents),
            "queues": seen,
            "refdata_missing": [
                i for i in refdata_status(day) if not i.ok and i.id == "icd10-release-missing"
            ],
        },
    )


# --- patients --------------------------------------------------------------------------


@router.get("/patients", response_class=HTMLResponse)
def patients_page(request: Request, principal: PatientsRead) -> HTMLResponse:
    """The patient search page (the search itself is a POST)."""
    return render(request, "patients.html", {"user": principal, "results": None, "query": ""})


@router.post("/patients/search", response_class=HTMLResponse)
async def patients_search(request: Request, principal: PatientsRead) -> HTMLResponse:
    """Search patients by name or chart number (the text travels in the POST body)."""
    form = await request.form()
    query = str(form.get("q", "")).strip().lower()[:100]
    results = patients_svc.search(state(request).engine, principal, query)
    audit_event(request, principal, "patient.search", "patient", None)
    template = "_patient_results.html" if request.headers.get("hx-request") else "patients.html"
    return render(request, template, {"user": principal, "results": results, "query": query})


@router.get("/patients/{patient_id}", response_class=HTMLResponse)
def patient_page(request: Request, patient_id: str, principal: PatientsRead) -> HTMLResponse:
    """A patient: demographics, coverages with authorizations, visits."""
    try:
        with audit.one_read(request, principal) as reads:  # one transaction with its audit row
            chart = patients_svc.patient_chart(state(request).engine, principal, patient_id)
            check = intake_check(request, principal, patient_id)
            reads.audit("patient.view", "patient", patient_id)
    except NotFoundError as exc:
        raise not_found("patient") from exc
    return render(
        request,
        "patient.html",
        {
            "user": principal,
            "patient": chart.patient,
            "coverages": chart.coverages,
            "auths": chart.authorizations,
            "visits": chart.visits,
            "charts": charts.progress_series(chart.measures) if chart.clinical else [],
            "chart": {"width": charts.WIDTH, "height": charts.HEIGHT, "pad": charts.PAD},
            "clinical": chart.clinical,
            "intake": check,
            "goals": current_goals(chart.visits) if chart.clinical else None,
        },
    )


def current_goals(visits: list[Any]) -> tuple[Any, list[dict[str, Any]]] | None:
    """The goals of the newest visit that set any (visits newest first), with that visit."""
    for v in visits:
        goals = ((v.encounter_json or {}).get("documentation") or {}).get("goals") or []
        if goals:
            return v, list(goals)
    return None


def intake_check(
    request: Request, principal: Principal, patient_id: str, document: dict[str, Any] | None = None
) -> dict[str, Any]:
    """What the current intake means for a session today (or for ``document``): absolute,
    local (regions not to work on) and precautions (``VisitCheck.as_dict()``)."""

    result = intake_svc.check_document(
        state(request).engine,
        principal.practice_id,
        actor(principal),
        patient_id,
        document or {},
        today(request),
    )
    return result.as_dict()


# --- visit documentation ---------------------------------------------------------------


def visit_context(request: Request, principal: Principal, patient_id: str) -> dict[str, Any]:
    """What the visit form needs of the patient (shared by the new-visit and edit-visit pages)."""
    try:
        form = visits_svc.visit_form(
            state(request).engine, principal.practice_id, actor(principal), patient_id
        )
    except NotFoundError as exc:
        raise not_found("patient") from exc
    return {"patient": form.patient, "coverages": form.coverages, "providers": form.providers}


def form_context(
    principal: Principal, base: dict[str, Any], values: dict[str, Any], intake: dict[str, Any] | None = None
) -> dict[str, Any]:
    """The visit form's template context: the patient's, the values shown and the intake check."""
    return {
        "user": principal,
        **base,
        "values": values,
        "rows": range(visit_form.SERVICE_ROWS),
        "rom_rows": range(visit_form.ROM_ROWS),
        "goal_rows": range(visit_form.GOAL_ROWS),
        "note_fields": visit_form.SESSION_FIELDS,
        "note_labels": visit_form.NOTE_LABELS,
        "diagram": visit_form.body_diagram(),
        "avoid": (intake or {}).get("avoid_regions", []),
        "preview": visits_svc.Preview(None, [], (), False, intake),
        "message": "",
    }


@router.get("/patients/{patient_id}/visits/new", response_class=HTMLResponse)
def visit_new(
    request: Request, patient_id: str, principal: VisitsWrite, appointment: str | None = None
) -> HTMLResponse:
    """The SOAP form of a new visit of this patient (pre-filled from a checked-in appointment)."""
    base = visit_context(request, principal, patient_id)
    values = {"date_of_service": today(request).isoformat()}
    values.update(  # the case's accident facts, entered once, carry to each new visit
        visit_form.cause_values(
            cases.case_facts(state(request).engine, principal.practice_id, actor(principal), patient_id)
        )
    )
    if principal.provider_id:
        values["provider_id"] = principal.provider_id
    if appointment:
        prefill = appointments.check_in_details(
            state(request).engine, principal.practice_id, actor(principal), appointment
        ).prefill
        if prefill["patient_id"] != patient_id:
            raise not_found("appointment")
        values.update({k: prefill[k] for k in ("date_of_service", "start_time", "end_time", "provider_id")})
        values["appointment_id"] = appointment
        for i, line in enumerate(prefill["services"]):
            values[f"svc-{i}-code"], values[f"svc-{i}-minutes"] = line["code"], str(line["minutes"])
    check = intake_check(request, principal, patient_id)
    return render(request, "visit_form.html", form_context(principal, base, values, check))


def _require_patient(request: Request, principal: Principal, patient_id: str) -> None:
    try:
        patients_svc.patient(state(request).engine, principal.practice_id, actor(principal), patient_id)
    except NotFoundError as exc:
        raise not_found("patient") from exc


def _ids(form: Any, principal: Principal) -> tuple[str, str | None, date]:
    provider_id = str(form.get("provider_id", "")) or (principal.provider_id or "")
    if principal.role == "therapist" and principal.provider_id and provider_id != principal.provider_id:
        raise ApiError(403, "forbidden", "therapists document their own visits")
    coverage_id = str(form.get("coverage_id", "")) or None
    try:
        dos = date.fromisoformat(str(form.get("date_of_service", "")))
    except ValueError:
        raise ApiError(422, "invalid-input", "the date of service must be YYYY-MM-DD") from None
    return provider_id, coverage_id, dos


@router.post("/patients/{patient_id}/visits/preview", response_class=HTMLResponse)
async def visit_preview(request: Request, patient_id: str, principal: VisitsWrite) -> HTMLResponse:
    """The live panel: units with the 8-minute explanation and the scrubber's findings."""
    form = await request.form()
    document = visit_form.visit_document(form)
    try:
        provider_id, coverage_id, dos = _ids(form, principal)
    except ApiError as exc:
        await run_in_threadpool(_require_patient, request, principal, patient_id)
        result = visits_svc.Preview(None, [], (), False)
        return render(request, "_preview.html", {"preview": result, "message": exc.message})
    result = await run_in_threadpool(
        _preview, request, principal, patient_id, provider_id, coverage_id, dos, document
    )
    return render(request, "_preview.html", {"preview": result, "message": ""})


def _preview(
    request: Request,
    principal: Principal,
    patient_id: str,
    provider_id: str,
    coverage_id: str | None,
    dos: date,
    document: dict[str, Any],
) -> visits_svc.Preview:
    """The preview's use cases in one read (the patient, then the units and the findings)."""
    try:
        with audit.one_read(request, principal):
            _require_patient(request, principal, patient_id)
            return visits_svc.preview_visit(
                state(request).engine,
                principal.practice_id,
                actor(principal),
                patient_id=patient_id,
                provider_id=provider_id,
                coverage_id=coverage_id,
                date_of_service=dos,
                document=document,
                as_of=today(request),
            )
    except NotFoundError:
        raise not_found("patient") from None


@router.post("/patients/{patient_id}/visits", response_class=HTMLResponse)
async def visit_save(request: Request, patient_id: str, principal: VisitsWrite) -> Response:
    """Save the visit (the note becomes version 1) and show it."""

    _require_patient(request, principal, patient_id)
    form = await request.form()
    document = visit_form.visit_document(form)
    provider_id, coverage_id, dos = _ids(form, principal)
    try:
        visit_id = visits_svc.record_visit(
            state(request).engine,
            principal.practice_id,
            actor(principal),
            patient_id=patient_id,
            provider_id=provider_id,
            date_of_service=dos,
            document=document,
            coverage_id=coverage_id,
            appointment_id=str(form.get("appointment_id", "")) or None,
        )
    except NotFoundError:
        raise not_found("patient") from None
    except TherabillError as exc:
        base = visit_context(request, principal, patient_id)
        context = form_context(principal, base, dict(form), intake_check(request, principal, patient_id))
        context["errors"] = exc.problems
        return render(request, "visit_form.html", context, 422)
    return RedirectResponse(f"/visits/{visit_id}", status_code=303)


def find_visit(request: Request, principal: Principal, visit_id: str) -> Any:
    """The visit row, or 404 when missing, of another practice, or another therapist's."""
    try:
        return visits_svc.visible_visit(state(request).engine, principal, visit_id)
    except NotFoundError as exc:
        raise not_found("visit") from exc


def visit_view(
    request: Request,
    principal: Principal,
    visit_id: str,
    *,
    message: str = "",
    problems: Any = (),
    status: int = 200,
) -> HTMLResponse:
    """The visit page: note, units, claim check, the intake check with clearances, claims."""

    visit = find_visit(request, principal, visit_id)
    engine = state(request).engine
    seen = visits_svc.visit_record(engine, principal.practice_id, actor(principal), visit)
    patient, vclaims, versions = seen.patient, seen.claims, seen.note_version
    preview = visits_svc.check_stored_visit(
        engine, principal.practice_id, actor(principal), visit_id, today(request)
    )
    doc = visit.encounter_json or {}
    treated = sorted({r for s in doc.get("services") or [] for r in s.get("body_regions") or []})
    intake = preview.intake or {}
    audit_event(request, principal, "visit.view", "visit", visit_id)
    return render(
        request,
        "visit.html",
        {
            "user": principal,
            "visit": visit,
            "patient": patient,
            "doc": doc,
            "claims": vclaims,
            "note_versions": versions,
            "note_fields": visit_form.NOTE_FIELDS,
            "note_labels": visit_form.NOTE_LABELS,
            "diagram": visit_form.body_diagram(),
            "avoid": intake["avoid_regions"],
            "treated": treated,
            "intake": intake,
            "people": people_of(request, principal),
            "preview": preview,
            "message": message,
            "errors": tuple(problems),
        },
        status,
    )


@router.get("/visits/{visit_id}", response_class=HTMLResponse)
def visit_page(request: Request, visit_id: str, principal: VisitsRead) -> HTMLResponse:
    """A documented visit: the note, units, findings, the intake check, its claims."""
    return visit_view(request, principal, visit_id)


@router.post("/visits/{visit_id}/claim")
def visit_claim(request: Request, visit_id: str, principal: ClaimsWrite) -> Response:
    """Code the visit into a claim (units by the payer's method) and scrub it.

    Refused (422, ``visit-not-billable``) while a treated visit has an uncleared absolute
    contraindication: the visit page is shown again with the reason.
    """

    engine = state(request).engine
    try:
        coded = claims_svc.code_visit(
            engine, principal.practice_id, actor(principal), visit_id, as_of=today(request)
        )
    except NotFoundError:
        raise not_found("visit") from None
    except VisitNotBillableError as exc:
        return visit_view(request, principal, visit_id, message=str(exc), problems=exc.problems, status=422)
    return RedirectResponse(f"/claims/{coded.claim_id}", status_code=303)


@router.post("/icd10/search", response_class=HTMLResponse)
async def icd10_search(request: Request, _principal: VisitsWrite) -> HTMLResponse:
    """ICD-10-CM codes matching the text (code or words), for the diagnosis picker."""

    form = await request.form()
    text = str(form.get("icd-q", ""))[:80]
    try:
        results = icd10().search(text, today(request), limit=15) if len(text.strip()) >= 2 else []
    except TherabillError:
        results = []
    return render(request, "_icd_results.html", {"results": results})


def payer_profiles() -> list[str]:
    """Names of the shipped payer profiles."""
    names = []
    for name in ("commercial", "medicare", "medicare_advantage", "medicaid", "workers_comp", "auto_no_fault"):
        try:
            load_profile(name)
            names.append(name)
        except TherabillError:
            continue
    return names
