"""Pages of the client's health history (intake), clearances and note versions.

* ``/patients/{id}/intake``: the current version (or ``?version=N``), what it means before
  treating, the list of versions; **Sign** for a therapist or owner (``visits.write``).
* ``/patients/{id}/intake/edit`` and ``POST /patients/{id}/intake``: the intake form the front
  desk (or the client at the desk) fills in; saving makes a new version (``patients.write``).
* ``/patients/{id}/intake/print``: the printable version (a blank form when there is none).
* ``POST /visits/{id}/clearance``: the therapist records that an absolute contraindication
  was cleared for the visit (``visits.write``, own visits).
* ``/visits/{id}/note/edit``, ``POST /visits/{id}/note``: edit a saved note; each save is a new
  version. ``/visits/{id}/notes``: every version (``visits.read``, own visits).

Objects are looked up within the caller's practice; another practice's id answers 404.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from therabill.domain.errors import NotFoundError, TherabillError
from therabill.domain.intake import IntakeError, IntakeVersion, intake_to_dict
from therabill.entrypoints.http.audit import audit_event
from therabill.entrypoints.http.deps import state
from therabill.entrypoints.http.errors import not_found
from therabill.entrypoints.http.who import IntakeWrite, PatientsRead, VisitsRead, VisitsWrite
from therabill.entrypoints.web import intake_form, visit_form
from therabill.entrypoints.web.pages import (
    actor,
    find_visit,
    intake_check,
    people_of,
    render,
    visit_view,
)
from therabill.refdata.catalog import body_regions
from therabill.security.permissions import Permission, allowed
from therabill.service_layer import intake as svc
from therabill.service_layer import patients as patients_svc
from therabill.service_layer import visits as visits_svc
from therabill.service_layer.accounts import Principal

router = APIRouter(include_in_schema=False)


def _patient(request: Request, principal: Principal, patient_id: str) -> Any:
    try:
        return patients_svc.patient(
            state(request).engine, principal.practice_id, actor(principal), patient_id
        )
    except NotFoundError as exc:
        raise not_found("patient") from exc


def _history(request: Request, principal: Principal, patient_id: str) -> list[IntakeVersion]:
    try:
        return svc.intake_history(state(request).engine, principal.practice_id, actor(principal), patient_id)
    except NotFoundError:
        raise not_found("patient") from None


def _pick(history: list[IntakeVersion], version: int | None) -> IntakeVersion | None:
    if version is None:
        return history[0] if history else None
    found = next((v for v in history if v.version == version), None)
    if found is None:
        raise not_found("intake version")
    return found


def _labels() -> dict[str, str]:
    return {rid: r.label for rid, r in body_regions().items()}


def _form_page(
    request: Request,
    principal: Principal,
    patient: Any,
    values: dict[str, Any],
    errors: Any = (),
    status: int = 200,
) -> HTMLResponse:
    return render(
        request,
        "intake_form.html",
        {
            "user": principal,
            "patient": patient,
            "values": values,
            "errors": tuple(errors),
            "choices": intake_form.CHOICES,
            "consents": intake_form.CONSENTS,
            "rows": {
                "cond": range(intake_form.CONDITION_ROWS),
                "event": range(intake_form.EVENT_ROWS),
                "med": range(intake_form.MEDICATION_ROWS),
                "allergy": range(intake_form.ALLERGY_ROWS),
                "device": range(intake_form.DEVICE_ROWS),
            },
            "diagram": visit_form.body_diagram(),
            "avoid": [r for r in str(values.get("avoid_regions", "")).split(",") if r],
            "labels": _labels(),
        },
        status,
    )


@router.get("/patients/{patient_id}/intake", response_class=HTMLResponse)
def intake_page(
    request: Request, patient_id: str, principal: PatientsRead, version: int | None = None
) -> HTMLResponse:
    """The health history: a version, what it means before treating, and every version."""
    patient = _patient(request, principal, patient_id)
    history = _history(request, principal, patient_id)
    shown = _pick(history, version)
    check = intake_check(request, principal, patient_id)
    audit_event(request, principal, "intake.view", "patient", patient_id)
    return render(
        request,
        "intake.html",
        {
            "user": principal,
            "patient": patient,
            "history": history,
            "shown": shown,
            "record": intake_to_dict(shown.record) if shown else None,
            "current": bool(shown and history and shown.version == history[0].version),
            "intake": check,
            "labels": _labels(),
            "consents_labels": intake_form.CONSENTS,
            "diagram": visit_form.body_diagram(),
            "avoid": check["avoid_regions"],
            "people": people_of(request, principal),
            "can_sign": allowed(principal.role, Permission.VISITS_WRITE, principal.scopes),
            "can_edit": allowed(principal.role, Permission.INTAKE_WRITE, principal.scopes),
        },
    )


@router.get("/patients/{patient_id}/intake/print", response_class=HTMLResponse)
def intake_print(
    request: Request, patient_id: str, principal: PatientsRead, version: int | None = None
) -> HTMLResponse:
    """The printable health history (the current version, ``?version=N``, or a blank form)."""
    patient = _patient(request, principal, patient_id)
    shown = _pick(_history(request, principal, patient_id), version)
    audit_event(request, principal, "intake.print", "patient", patient_id)
    return render(
        request,
        "intake_print.html",
        {
            "user": principal,
            "patient": patient,
            "shown": shown,
            "record": intake_to_dict(shown.record) if shown else None,
            "labels": _labels(),
            "consents": intake_form.CONSENTS,
            "people": people_of(request, principal),
            "diagram": visit_form.body_diagram(),
            "avoid": [a["region"] for a in intake_to_dict(shown.record)["areas_to_avoid"]] if shown else [],
        },
    )


@router.get("/patients/{patient_id}/intake/edit", response_class=HTMLResponse)
def intake_edit(request: Request, patient_id: str, principal: IntakeWrite) -> HTMLResponse:
    """The intake form, filled with the current version (saving makes a new version)."""
    patient = _patient(request, principal, patient_id)
    history = _history(request, principal, patient_id)
    values = intake_form.form_values(intake_to_dict(history[0].record)) if history else {}
    return _form_page(request, principal, patient, values)


@router.post("/patients/{patient_id}/intake", response_class=HTMLResponse)
async def intake_save(request: Request, patient_id: str, principal: IntakeWrite) -> Response:
    """Save the form as a new version of the health history (the old ones stay)."""
    patient = _patient(request, principal, patient_id)
    form = await request.form()
    document = intake_form.intake_document(form)
    try:
        svc.record_intake(
            state(request).engine, principal.practice_id, actor(principal), patient_id, document
        )
    except NotFoundError:
        raise not_found("patient") from None
    except IntakeError as exc:
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
        return _form_page(request, principal, patient, values, exc.problems, 422)
    return RedirectResponse(f"/patients/{patient_id}/intake", status_code=303)


@router.post("/patients/{patient_id}/intake/sign")
async def intake_sign(request: Request, patient_id: str, principal: VisitsWrite) -> Response:
    """The reviewing therapist signs a version (``version`` field; default the current one)."""
    _patient(request, principal, patient_id)
    form = await request.form()
    raw = str(form.get("version", "")).strip()
    version = int(raw) if raw.isdigit() else None
    try:
        svc.sign_intake(state(request).engine, principal.practice_id, actor(principal), patient_id, version)
    except NotFoundError:
        raise not_found("patient") from None
    return RedirectResponse(f"/patients/{patient_id}/intake", status_code=303)


@router.post("/visits/{visit_id}/clearance", response_class=HTMLResponse)
async def visit_clearance(request: Request, visit_id: str, principal: VisitsWrite) -> Response:
    """Record that an absolute contraindication was cleared for this visit (and by what)."""
    find_visit(request, principal, visit_id)
    form = await request.form()
    rule_id = str(form.get("rule_id", "")).strip()[:80]
    document = str(form.get("document", "")).strip()
    note = str(form.get("note", "")).strip() or None
    try:
        svc.record_clearance(
            state(request).engine,
            principal.practice_id,
            actor(principal),
            visit_id,
            rule_id,
            document,
            note=note,
        )
    except NotFoundError:
        raise not_found("visit") from None
    except IntakeError as exc:
        return visit_view(request, principal, visit_id, message=str(exc), problems=exc.problems, status=422)
    return RedirectResponse(f"/visits/{visit_id}", status_code=303)


def _note_page(
    request: Request,
    principal: Principal,
    visit: Any,
    values: dict[str, Any],
    errors: Any = (),
    status: int = 200,
) -> HTMLResponse:
    patient = patients_svc.patient(
        state(request).engine, principal.practice_id, actor(principal), visit.patient_id
    )
    return render(
        request,
        "note_form.html",
        {
            "user": principal,
            "visit": visit,
            "patient": patient,
            "values": values,
            "errors": tuple(errors),
            "note_fields": visit_form.NOTE_FIELDS,
            "note_labels": visit_form.NOTE_LABELS,
            "rom_rows": range(visit_form.ROM_ROWS),
            "goal_rows": range(visit_form.GOAL_ROWS),
        },
        status,
    )


@router.get("/visits/{visit_id}/note/edit", response_class=HTMLResponse)
def note_edit(request: Request, visit_id: str, principal: VisitsWrite) -> HTMLResponse:
    """The saved note in a form; saving it makes a new version."""
    visit = find_visit(request, principal, visit_id)
    values = visit_form.note_values((visit.encounter_json or {}).get("documentation"))
    return _note_page(request, principal, visit, values)


@router.post("/visits/{visit_id}/note", response_class=HTMLResponse)
async def note_save(request: Request, visit_id: str, principal: VisitsWrite) -> Response:
    """Save the edited note as a new version (the earlier versions stay and can be read)."""

    visit = find_visit(request, principal, visit_id)
    form = await request.form()
    try:
        visits_svc.edit_note(
            state(request).engine,
            principal.practice_id,
            actor(principal),
            visit_id,
            visit_form.documentation(form),
        )
    except NotFoundError:
        raise not_found("visit") from None
    except TherabillError as exc:
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
        return _note_page(request, principal, visit, values, exc.problems, 422)
    return RedirectResponse(f"/visits/{visit_id}", status_code=303)


@router.get("/visits/{visit_id}/notes", response_class=HTMLResponse)
def note_history(request: Request, visit_id: str, principal: VisitsRead) -> HTMLResponse:
    """Every version of the visit's note, newest first, with who saved it and when."""

    visit = find_visit(request, principal, visit_id)
    versions = visits_svc.note_versions(
        state(request).engine, principal.practice_id, actor(principal), visit_id
    )
    patient = patients_svc.patient(
        state(request).engine, principal.practice_id, actor(principal), visit.patient_id
    )
    audit_event(request, principal, "note.history", "visit", visit_id)
    return render(
        request,
        "note_versions.html",
        {
            "user": principal,
            "visit": visit,
            "patient": patient,
            "versions": list(reversed(versions)),
            "people": people_of(request, principal),
            "note_fields": visit_form.NOTE_FIELDS,
            "note_labels": visit_form.NOTE_LABELS,
        },
    )
