"""Front desk pages: a new client (with the duplicate check), their details, coverages with
subscriber and order, ending or replacing a coverage, authorizations with their burn-down and
extensions, referrals and prescriptions with the document, and the history of it all.

Thin routes: parse the form, call one service function, show the page again with each problem
next to its field (422), or go back to the client's front-desk page (303). The same services
are behind the API (``api/routes/records_api.py``). Every page is phone-first.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from starlette.datastructures import UploadFile

from therabill.domain.errors import NotFoundError, Problem, TherabillError
from therabill.entrypoints.http.audit import actor_of, audit_event
from therabill.entrypoints.http.deps import state
from therabill.entrypoints.http.errors import ApiError, not_found
from therabill.entrypoints.http.who import AuthorizationsWrite, CoveragesWrite, PatientsRead, PatientsWrite
from therabill.entrypoints.web.pages import render
from therabill.security.permissions import Permission, allowed
from therabill.service_layer import authorizations, coverages, patients, payer_setup, referrals
from therabill.service_layer.accounts import Principal

router = APIRouter(include_in_schema=False)

SEX = (("F", "Female"), ("M", "Male"), ("U", "Unknown"))
RELATIONSHIPS = (
    ("self", "Self (the client is the insured)"),
    ("spouse", "Spouse"),
    ("child", "Child"),
    ("employee", "Employee (employer plan)"),
    ("other", "Other"),
)
SEQUENCES = (("primary", "Primary"), ("secondary", "Secondary"), ("tertiary", "Tertiary"))


def _us_day(text: Any) -> str:
    try:
        return date.fromisoformat(str(text)).strftime("%b %-d, %Y") if text else ""
    except ValueError:
        return ""


# --- parsing -----------------------------------------------------------------------------


async def _form(request: Request) -> dict[str, str]:
    form = await request.form()
    return {k: v.strip()[:500] for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}


def _opt(form: dict[str, str], key: str) -> str | None:
    return form.get(key, "").strip() or None


class _FormError(Exception):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems


def _day(form: dict[str, str], key: str, problems: list[Problem]) -> date | None:
    text = form.get(key, "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError:
        problems.append(Problem("form-date-invalid", key, "must be a date"))
        return None


def _int(form: dict[str, str], key: str, problems: list[Problem]) -> int | None:
    text = form.get(key, "").strip()
    if not text:
        return None
    if not text.isdigit() or len(text) > 6:
        problems.append(Problem("form-number-invalid", key, "must be a whole number"))
        return None
    return int(text)


def _address(form: dict[str, str], prefix: str = "") -> dict[str, str] | None:
    keys = ("line1", "line2", "city", "state", "zip")
    values = {k: form.get(prefix + k, "").strip() for k in keys}
    if not any(values.values()):
        return None
    values["state"] = values["state"].upper()
    values["zip"] = values["zip"].replace("-", "").replace(" ", "")
    return {k: v for k, v in values.items() if v}


def _demographics(form: dict[str, str], problems: list[Problem]) -> dict[str, Any]:
    return {
        "first_name": form.get("first_name", ""),
        "middle_name": _opt(form, "middle_name"),
        "last_name": form.get("last_name", ""),
        "birth_date": _day(form, "birth_date", problems),
        "sex": _opt(form, "sex"),
        "phone": "".join(ch for ch in form.get("phone", "") if ch.isdigit()) or None,
        "email": _opt(form, "email"),
        "address": _address(form),
    }


def _problems(exc: TherabillError) -> list[Problem]:
    return list(exc.problems) or [Problem(getattr(exc, "code", "invalid"), "form", str(exc))]


def _bad_fields(problems: list[Problem]) -> set[str]:
    return {p.loc.split("[")[0] for p in problems} | {p.loc.split(".")[0] for p in problems}


# --- new client --------------------------------------------------------------------------


def _new_page(
    request: Request, principal: Principal, form: dict[str, str], problems: list[Problem], same: list[Any]
) -> HTMLResponse:
    return render(
        request,
        "frontdesk/new_client.html",
        {
            "user": principal,
            "form": form,
            "problems": problems,
            "bad": _bad_fields(problems),
            "same": same,
            "sexes": SEX,
            "today_iso": state(request).now().date().isoformat(),
        },
        422 if problems or same else 200,
    )


@router.get("/patients/new", response_class=HTMLResponse)
def new_client(request: Request, principal: PatientsWrite) -> HTMLResponse:
    """The new client form."""
    return _new_page(request, principal, {}, [], [])


@router.post("/patients/new", response_class=HTMLResponse)
async def new_client_save(request: Request, principal: PatientsWrite) -> Response:
    """Register the client; a client of the same name and birth date is shown first."""
    form = await _form(request)
    problems: list[Problem] = []
    values = _demographics(form, problems)
    if problems:
        return _new_page(request, principal, form, problems, [])
    engine = state(request).engine
    if values["birth_date"] and form.get("confirm_new") != "yes":
        same = patients.same_person(
            engine, principal, values["first_name"], values["last_name"], values["birth_date"]
        )
        if same:
            return _new_page(request, principal, form, [], same)
    try:
        new = patients.register_new_patient(
            engine, principal, patients.NewPatient(chart_number=_opt(form, "chart_number"), **values)
        )
    except TherabillError as exc:
        return _new_page(request, principal, form, _problems(exc), [])
    return RedirectResponse(f"/patients/{new}/desk", status_code=303)


# --- the client's front-desk page --------------------------------------------------------


def _patient_form(p: Any) -> dict[str, str]:
    address = p.address if isinstance(p.address, dict) else {}
    return {
        "first_name": p.first_name,
        "middle_name": p.middle_name or "",
        "last_name": p.last_name,
        "birth_date": p.birth_date.isoformat() if p.birth_date else "",
        "sex": p.sex or "",
        "phone": p.phone or "",
        "email": p.email or "",
        **{k: str(address.get(k) or "") for k in ("line1", "line2", "city", "state", "zip")},
    }


def _desk_page(
    request: Request,
    principal: Principal,
    patient_id: str,
    *,
    problems: list[Problem] | None = None,
    forms: dict[str, dict[str, str]] | None = None,
    open_form: str = "",
) -> HTMLResponse:
    engine = state(request).engine
    try:
        patient, views = coverages.coverages_of_patient(engine, principal, patient_id)
    except NotFoundError as exc:
        raise not_found("patient") from exc
    today = state(request).now().date()
    auths = {
        v.row.id: [
            (a, authorizations.authorization_remaining(a))
            for a in authorizations.authorizations_of_coverage(engine, principal, v.row.id)
        ]
        for v in views
    }
    problems = problems or []
    forms = forms or {}
    held = {p for p in Permission if allowed(principal.role, p, principal.scopes)}
    return render(
        request,
        "frontdesk/client.html",
        {
            "user": principal,
            "patient": patient,
            "coverages": views,
            "auths": auths,
            "referrals": referrals.referrals_of(engine, principal, patient.id),
            "history": patients.patient_history(engine, principal, patient.id),
            "born": {v.row.id: _us_day((v.row.subscriber or {}).get("birth_date")) for v in views},
            "payers": payer_setup.list_payers(engine, principal.practice_id, actor_of(principal)),
            "today": today,
            "problems": problems,
            "bad": _bad_fields(problems),
            "open_form": open_form,
            "details": forms.get("details") or _patient_form(patient),
            "cov_form": forms.get("coverage", {}),
            "auth_form": forms.get("authorization", {}),
            "ref_form": forms.get("referral", {}),
            "sexes": SEX,
            "relationships": RELATIONSHIPS,
            "sequences": SEQUENCES,
            "may_edit": Permission.PATIENTS_WRITE in held,
            "may_cover": Permission.COVERAGES_WRITE in held,
            "may_authorize": Permission.AUTHORIZATIONS_WRITE in held,
            "max_mb": referrals.MAX_DOCUMENT_BYTES // (1024 * 1024),
        },
        422 if problems else 200,
    )


@router.get("/patients/{patient_id}/desk", response_class=HTMLResponse)
def client_desk(request: Request, patient_id: str, principal: PatientsRead) -> HTMLResponse:
    """The client's details, coverages, authorizations, referrals and their history."""
    page = _desk_page(request, principal, patient_id)
    audit_event(request, principal, "patient.view", "patient", patient_id)
    return page


def _back(patient_id: str, anchor: str = "") -> RedirectResponse:
    return RedirectResponse(f"/patients/{patient_id}/desk{anchor}", status_code=303)


@router.post("/patients/{patient_id}/details", response_class=HTMLResponse)
async def client_details_save(request: Request, patient_id: str, principal: PatientsWrite) -> Response:
    """Save the client's demographics (the fields that changed are named in the history)."""
    form = await _form(request)
    problems: list[Problem] = []
    values = _demographics(form, problems)
    try:
        if problems:
            raise _FormError(problems)
        found = patients.find_patient(state(request).engine, principal, patient_id)
        patients.update_patient(state(request).engine, principal, found.id, values)
    except NotFoundError as exc:
        raise not_found("patient") from exc
    except _FormError as bad:
        return _desk_page(
            request,
            principal,
            patient_id,
            problems=bad.problems,
            forms={"details": form},
            open_form="details",
        )
    except TherabillError as exc:
        return _desk_page(
            request,
            principal,
            patient_id,
            problems=_problems(exc),
            forms={"details": form},
            open_form="details",
        )
    return _back(patient_id, "#details")


# --- coverages ---------------------------------------------------------------------------


def _coverage_change(form: dict[str, str], problems: list[Problem]) -> coverages.CoverageChange:
    relationship = form.get("relationship", "self")
    subscriber = None
    if relationship != "self":
        subscriber = {
            "first_name": form.get("sub_first_name", ""),
            "last_name": form.get("sub_last_name", ""),
            "birth_date": form.get("sub_birth_date") or None,
            "sex": form.get("sub_sex") or None,
            "address": _address(form, "sub_"),
        }
    return coverages.CoverageChange(
        payer_id=form.get("payer_id", ""),
        sequence=form.get("sequence", "primary"),
        member_id=_opt(form, "member_id"),
        group_number=_opt(form, "group_number"),
        plan_name=_opt(form, "plan_name"),
        relationship=relationship,
        subscriber=subscriber,
        active_from=_day(form, "active_from", problems),
        active_to=_day(form, "active_to", problems),
    )


@router.post("/patients/{patient_id}/coverages", response_class=HTMLResponse)
async def coverage_add(request: Request, patient_id: str, principal: CoveragesWrite) -> Response:
    """Add a coverage (or, with ``replaces``, replace one: the old one ends the day before)."""
    form = await _form(request)
    problems: list[Problem] = []
    change = _coverage_change(form, problems)
    engine = state(request).engine
    try:
        if problems:
            raise _FormError(problems)
        if form.get("replaces"):
            coverages.replace_coverage(engine, principal, form["replaces"], change)
        else:
            coverages.add_patient_coverage(engine, principal, patient_id, change)
    except NotFoundError as exc:
        if exc.problems and exc.problems[0].code == "payer-not-found":
            return _desk_page(
                request,
                principal,
                patient_id,
                problems=list(exc.problems),
                forms={"coverage": form},
                open_form="coverage",
            )
        raise not_found("coverage") from exc
    except _FormError as bad:
        return _desk_page(
            request,
            principal,
            patient_id,
            problems=bad.problems,
            forms={"coverage": form},
            open_form="coverage",
        )
    except TherabillError as exc:
        return _desk_page(
            request,
            principal,
            patient_id,
            problems=_problems(exc),
            forms={"coverage": form},
            open_form="coverage",
        )
    return _back(patient_id, "#coverages")


@router.post("/coverages/{coverage_id}/end", response_class=HTMLResponse)
async def coverage_end(request: Request, coverage_id: str, principal: CoveragesWrite) -> Response:
    """End a coverage on the day given."""
    form = await _form(request)
    engine = state(request).engine
    try:
        view = coverages.coverage_view(engine, principal, coverage_id)
    except NotFoundError as exc:
        raise not_found("coverage") from exc
    problems: list[Problem] = []
    last = _day(form, "active_to", problems)
    if last is None and not problems:
        problems.append(Problem("form-date-missing", "active_to", "give the last day of the coverage"))
    try:
        if problems or last is None:
            raise _FormError(problems)
        coverages.end_coverage(engine, principal, coverage_id, last)
    except _FormError as bad:
        return _desk_page(request, principal, view.row.patient_id, problems=bad.problems)
    except TherabillError as exc:
        return _desk_page(request, principal, view.row.patient_id, problems=_problems(exc))
    return _back(view.row.patient_id, "#coverages")


# --- authorizations ----------------------------------------------------------------------


@router.post("/coverages/{coverage_id}/authorizations", response_class=HTMLResponse)
async def authorization_add(request: Request, coverage_id: str, principal: AuthorizationsWrite) -> Response:
    """Record an authorization on a coverage."""
    form = await _form(request)
    engine = state(request).engine
    try:
        view = coverages.coverage_view(engine, principal, coverage_id)
    except NotFoundError as exc:
        raise not_found("coverage") from exc
    problems: list[Problem] = []
    start, end = _day(form, "start_date", problems), _day(form, "end_date", problems)
    visits_allowed, units_allowed = (
        _int(form, "visits_allowed", problems),
        _int(form, "units_allowed", problems),
    )
    codes = [c for c in form.get("codes", "").replace(",", " ").split() if c]
    try:
        if problems:
            raise _FormError(problems)
        authorizations.add_coverage_authorization(
            engine,
            principal,
            coverage_id,
            number=form.get("number", ""),
            start_date=start,
            end_date=end,
            codes=codes,
            visits_allowed=visits_allowed,
            units_allowed=units_allowed,
        )
    except _FormError as bad:
        return _desk_page(
            request,
            principal,
            view.row.patient_id,
            problems=bad.problems,
            forms={"authorization": {**form, "coverage_id": coverage_id}},
            open_form="authorization",
        )
    except TherabillError as exc:
        return _desk_page(
            request,
            principal,
            view.row.patient_id,
            problems=_problems(exc),
            forms={"authorization": {**form, "coverage_id": coverage_id}},
            open_form="authorization",
        )
    return _back(view.row.patient_id, "#coverages")


@router.post("/authorizations/{authorization_id}/extend", response_class=HTMLResponse)
async def authorization_extend(
    request: Request, authorization_id: str, principal: AuthorizationsWrite
) -> Response:
    """Grant more visits or units, or a later end date."""
    form = await _form(request)
    engine = state(request).engine
    try:
        row = authorizations.authorization_record(engine, principal, authorization_id)
        patient_id = coverages.coverage_view(engine, principal, row.coverage_id).row.patient_id
    except NotFoundError as exc:
        raise not_found("authorization") from exc
    problems: list[Problem] = []
    end = _day(form, "end_date", problems)
    more_visits, more_units = _int(form, "add_visits", problems), _int(form, "add_units", problems)
    try:
        if problems:
            raise _FormError(problems)
        authorizations.extend_authorization(
            engine,
            principal,
            authorization_id,
            end_date=end,
            add_visits=more_visits or 0,
            add_units=more_units or 0,
        )
    except _FormError as bad:
        return _desk_page(request, principal, patient_id, problems=bad.problems)
    except TherabillError as exc:
        return _desk_page(request, principal, patient_id, problems=_problems(exc))
    return _back(patient_id, "#coverages")


# --- referrals and prescriptions ---------------------------------------------------------


@router.post("/patients/{patient_id}/referrals", response_class=HTMLResponse)
async def referral_add(request: Request, patient_id: str, principal: PatientsWrite) -> Response:
    """Keep a referral or prescription on file, with its document (PDF, PNG or JPEG)."""
    limit = referrals.MAX_DOCUMENT_BYTES
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit + 64 * 1024:
        raise ApiError(413, "too-large", f"the document is larger than {limit // (1024 * 1024)} MB")
    raw = await request.form()
    form = {k: v.strip()[:500] for k, v in raw.items() if isinstance(v, str) and k != "csrf_token"}
    upload = raw.get("document")
    data, name = b"", None
    if isinstance(upload, UploadFile) and upload.filename:
        data = await upload.read(limit + 1)
        name = upload.filename
    problems: list[Problem] = []
    new = referrals.NewReferral(
        kind=form.get("kind", "referral"),
        number=_opt(form, "number"),
        prescriber_name=_opt(form, "prescriber_name"),
        prescriber_npi=_opt(form, "prescriber_npi"),
        issued_on=_day(form, "issued_on", problems),
        expires_on=_day(form, "expires_on", problems),
        visits_allowed=_int(form, "visits_allowed", problems),
        coverage_id=_opt(form, "coverage_id"),
        file_name=name,
        data=data,
    )
    try:
        if problems:
            raise _FormError(problems)
        referrals.add_referral(state(request).engine, principal, patient_id, new, state(request).data_dir)
    except _FormError as bad:
        return _desk_page(
            request,
            principal,
            patient_id,
            problems=bad.problems,
            forms={"referral": form},
            open_form="referral",
        )
    except NotFoundError as exc:
        raise not_found("patient") from exc
    except TherabillError as exc:
        return _desk_page(
            request,
            principal,
            patient_id,
            problems=_problems(exc),
            forms={"referral": form},
            open_form="referral",
        )
    return _back(patient_id, "#referrals")


@router.get("/referrals/{referral_id}/document")
def referral_document(request: Request, referral_id: str, principal: PatientsRead) -> Response:
    """The referral's document, as it was uploaded (never shown inline from another origin)."""
    try:
        data, content_type, name = referrals.referral_document(
            state(request).engine, principal, referral_id, state(request).data_dir
        )
    except NotFoundError as exc:
        raise not_found("document") from exc
    audit_event(request, principal, "referral.document", "referral", referral_id)
    return Response(
        data,
        media_type=content_type,
        headers={"Content-Disposition": f'inline; filename="{name}"', "X-Content-Type-Options": "nosniff"},
    )
