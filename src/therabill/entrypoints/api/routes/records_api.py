"""REST resources: patients, coverages, authorizations and payers, within the caller's practice.

Thin routes: parse, call one service function, map to a public shape, audit the PHI read.
Every lookup is practice-scoped in the services, so an id of another practice answers 404
exactly like a missing one. Patients are named by internal id or chart number. Searches by
name travel in POST bodies (names stay out of URLs and logs). Lists answer a plain JSON list
and, when more follow, the next page's cursor in ``X-Next-Cursor`` and ``Link``; a query
parameter an endpoint does not take answers 422.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, File, Form, Query, Request, Response, UploadFile, status

from therabill.domain.errors import Problem
from therabill.entrypoints.api.records_schemas import (
    AuthorizationCreate,
    AuthorizationExtend,
    AuthorizationPublic,
    CoverageCreate,
    CoverageEnd,
    CoveragePublic,
    CoverageUpdate,
    HistoryPublic,
    PatientCreate,
    PatientPublic,
    PatientSearch,
    PatientUpdate,
    PayerPublic,
    ReferralPublic,
)
from therabill.entrypoints.api.schemas import ERRORS, NOT_FOUND
from therabill.entrypoints.http.audit import actor_of, audit_event, one_read
from therabill.entrypoints.http.deps import state
from therabill.entrypoints.http.errors import ApiError
from therabill.entrypoints.http.query import (
    decode_cursor,
    encode_cursor,
    no_unknown_query,
    operation_id,
    set_next_cursor,
)
from therabill.entrypoints.http.who import (
    AuthorizationsRead,
    AuthorizationsWrite,
    CoveragesRead,
    CoveragesWrite,
    PatientsRead,
    PatientsWrite,
)
from therabill.service_layer import authorizations, coverages, patients, payer_setup, referrals

router = APIRouter(
    prefix="/api/v1",
    tags=["records"],
    dependencies=[Depends(no_unknown_query)],
    generate_unique_id_function=operation_id,
)
RESPONSES = {**ERRORS, **NOT_FOUND}
CONFLICT: dict[int | str, dict[str, Any]] = {
    409: {"description": "A patient of this name and birth date exists."}
}


# --- mapping -----------------------------------------------------------------------------


def _address(value: Any) -> dict[str, Any] | None:
    return dict(value) if isinstance(value, dict) and value.get("line1") else None


def patient_public(row: Any) -> dict[str, Any]:
    """A patient row as ``PatientPublic``."""
    return {
        "id": row.id,
        "chart_number": row.chart_number,
        "first_name": row.first_name,
        "middle_name": row.middle_name,
        "last_name": row.last_name,
        "birth_date": row.birth_date,
        "sex": row.sex,
        "phone": row.phone,
        "email": row.email,
        "address": _address(row.address),
    }


def coverage_public(view: coverages.CoverageView) -> dict[str, Any]:
    """A coverage as ``CoveragePublic``."""
    row = view.row
    sub = dict(row.subscriber) if row.subscriber else None
    if sub is not None:
        sub["address"] = _address(sub.get("address"))
    return {
        "id": row.id,
        "patient_id": row.patient_id,
        "payer_id": row.payer_id,
        "payer_name": view.payer_name,
        "sequence": row.sequence,
        "member_id": row.member_id,
        "group_number": row.group_number,
        "plan_name": row.plan_name,
        "relationship": row.relationship,
        "subscriber": sub,
        "active_from": row.active_from,
        "active_to": row.active_to,
        "eligibility_verified_on": row.eligibility_verified_on,
    }


def authorization_public(row: Any) -> dict[str, Any]:
    """An authorization as ``AuthorizationPublic`` (with what remains)."""
    left = authorizations.authorization_remaining(row)
    return {
        "id": row.id,
        "coverage_id": row.coverage_id,
        "number": row.number,
        "start_date": row.start_date,
        "end_date": row.end_date,
        "codes": list(row.codes or []),
        "units_pooled": bool(row.units_pooled),
        "visits_allowed": row.visits_allowed,
        "visits_used": row.visits_used,
        "visits_remaining": left.visits,
        "units_allowed": row.units_allowed,
        "units_used": row.units_used,
        "units_remaining": left.units,
    }


def _subscriber(body: CoverageCreate | CoverageUpdate) -> dict[str, Any] | None:
    return body.subscriber.model_dump(mode="json", exclude_none=True) if body.subscriber else None


# --- patients ----------------------------------------------------------------------------


@router.post("/patients/search", response_model=list[PatientPublic], responses=ERRORS)
def search_patients(request: Request, body: PatientSearch, principal: PatientsRead) -> list[dict[str, Any]]:
    """Patients whose name contains ``name`` or whose chart number is ``chart_number``."""
    with one_read(request, principal) as reads:  # one transaction with its audit row
        found = patients.patient_page(
            state(request).engine, principal, name=body.name, chart_number=body.chart_number, limit=body.limit
        )
        reads.audit("patient.search", "patient", None)
    return [patient_public(p) for p in found.items]


@router.get("/patients", response_model=list[PatientPublic], responses=ERRORS)
def list_patients(
    request: Request,
    response: Response,
    principal: PatientsRead,
    chart_number: Annotated[str | None, Query(max_length=30)] = None,
    birth_date: date | None = None,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """The practice's patients by name, a page at a time (names are searched with POST /patients/search)."""
    page = patients.patient_page(
        state(request).engine,
        principal,
        chart_number=chart_number,
        birth_date=birth_date,
        after=decode_cursor(cursor),
        limit=limit,
    )
    set_next_cursor(request, response, encode_cursor(page.next_key) if page.next_key else None)
    audit_event(request, principal, "patient.list", "patient", None)
    return [patient_public(p) for p in page.items]


@router.post(
    "/patients",
    response_model=PatientPublic,
    status_code=status.HTTP_201_CREATED,
    responses={**ERRORS, **CONFLICT},
)
def create_patient(request: Request, body: PatientCreate, principal: PatientsWrite) -> dict[str, Any]:
    """Register a patient (409 ``patient-duplicate`` when one of the same name and birth date
    exists, unless ``allow_duplicate``)."""
    engine = state(request).engine
    if body.birth_date and not body.allow_duplicate:
        same = patients.same_person(engine, principal, body.first_name, body.last_name, body.birth_date)
        if same:
            raise ApiError(
                409,
                "patient-duplicate",
                "a patient of this name and birth date exists",
                [Problem("patient-duplicate", "body", f"chart {p.chart_number}") for p in same],
            )
    new = patients.register_new_patient(
        engine,
        principal,
        patients.NewPatient(
            chart_number=body.chart_number,
            first_name=body.first_name,
            last_name=body.last_name,
            middle_name=body.middle_name,
            birth_date=body.birth_date,
            sex=body.sex,
            phone=body.phone,
            email=body.email,
            address=body.address.model_dump(exclude_none=True) if body.address else None,
        ),
    )
    return patient_public(patients.find_patient(engine, principal, new))


@router.get("/patients/{patient_id}", response_model=PatientPublic, responses=RESPONSES)
def get_patient(request: Request, patient_id: str, principal: PatientsRead) -> dict[str, Any]:
    """A patient (``patient_id``: the internal id or the chart number)."""
    row = patients.find_patient(state(request).engine, principal, patient_id)
    audit_event(request, principal, "patient.read", "patient", row.id)
    return patient_public(row)


@router.patch("/patients/{patient_id}", response_model=PatientPublic, responses=RESPONSES)
def update_patient(
    request: Request, patient_id: str, body: PatientUpdate, principal: PatientsWrite
) -> dict[str, Any]:
    """Change a patient's demographics (the change is in the audit log with the fields changed)."""
    engine = state(request).engine
    changes = body.model_dump(exclude_unset=True)
    if "address" in changes and changes["address"] is not None:
        changes["address"] = {k: v for k, v in changes["address"].items() if v is not None}
    found = patients.find_patient(engine, principal, patient_id).id
    patients.update_patient(engine, principal, found, changes)
    return patient_public(patients.find_patient(engine, principal, found))


# --- coverages ---------------------------------------------------------------------------


@router.get("/patients/{patient_id}/coverages", response_model=list[CoveragePublic], responses=RESPONSES)
def list_coverages(request: Request, patient_id: str, principal: CoveragesRead) -> list[dict[str, Any]]:
    """A patient's coverages, primary first (ended ones too)."""
    found, views = coverages.coverages_of_patient(state(request).engine, principal, patient_id)
    audit_event(request, principal, "coverage.list", "patient", found.id)
    return [coverage_public(v) for v in views]


@router.post(
    "/patients/{patient_id}/coverages",
    response_model=CoveragePublic,
    status_code=status.HTTP_201_CREATED,
    responses=RESPONSES,
)
def create_coverage(
    request: Request, patient_id: str, body: CoverageCreate, principal: CoveragesWrite
) -> dict[str, Any]:
    """Add a coverage to a patient, with its subscriber when the patient is not the insured."""
    engine = state(request).engine
    data = body.model_dump(exclude={"subscriber"})
    new = coverages.add_patient_coverage(
        engine, principal, patient_id, coverages.CoverageChange(**data, subscriber=_subscriber(body))
    )
    return coverage_public(coverages.coverage_view(engine, principal, new))


@router.get("/coverages/{coverage_id}", response_model=CoveragePublic, responses=RESPONSES)
def get_coverage(request: Request, coverage_id: str, principal: CoveragesRead) -> dict[str, Any]:
    """A coverage."""
    view = coverages.coverage_view(state(request).engine, principal, coverage_id)
    audit_event(request, principal, "coverage.read", "coverage", coverage_id)
    return coverage_public(view)


@router.patch("/coverages/{coverage_id}", response_model=CoveragePublic, responses=RESPONSES)
def update_coverage(
    request: Request, coverage_id: str, body: CoverageUpdate, principal: CoveragesWrite
) -> dict[str, Any]:
    """Change a coverage (member id, order, subscriber, dates...)."""
    engine = state(request).engine
    changes = body.model_dump(exclude_unset=True, exclude={"subscriber"})
    if "subscriber" in body.model_fields_set:
        changes["subscriber"] = _subscriber(body)
    coverages.update_coverage(engine, principal, coverage_id, changes)
    return coverage_public(coverages.coverage_view(engine, principal, coverage_id))


@router.post("/coverages/{coverage_id}/end", response_model=CoveragePublic, responses=RESPONSES)
def end_coverage(
    request: Request, coverage_id: str, body: CoverageEnd, principal: CoveragesWrite
) -> dict[str, Any]:
    """End a coverage on ``active_to`` (it stays on file for the claims made under it)."""
    engine = state(request).engine
    coverages.end_coverage(engine, principal, coverage_id, body.active_to)
    return coverage_public(coverages.coverage_view(engine, principal, coverage_id))


@router.post(
    "/coverages/{coverage_id}/replace",
    response_model=CoveragePublic,
    status_code=status.HTTP_201_CREATED,
    responses=RESPONSES,
)
def replace_coverage(
    request: Request, coverage_id: str, body: CoverageCreate, principal: CoveragesWrite
) -> dict[str, Any]:
    """Replace a coverage (a new card): the old one ends the day before the new one starts."""
    engine = state(request).engine
    data = body.model_dump(exclude={"subscriber"})
    new = coverages.replace_coverage(
        engine, principal, coverage_id, coverages.CoverageChange(**data, subscriber=_subscriber(body))
    )
    return coverage_public(coverages.coverage_view(engine, principal, new))


# --- authorizations ----------------------------------------------------------------------


@router.get(
    "/coverages/{coverage_id}/authorizations", response_model=list[AuthorizationPublic], responses=RESPONSES
)
def list_authorizations(
    request: Request, coverage_id: str, principal: AuthorizationsRead
) -> list[dict[str, Any]]:
    """A coverage's authorizations with used and remaining visits and units."""
    rows = authorizations.authorizations_of_coverage(state(request).engine, principal, coverage_id)
    audit_event(request, principal, "authorization.list", "coverage", coverage_id)
    return [authorization_public(r) for r in rows]


@router.post(
    "/coverages/{coverage_id}/authorizations",
    response_model=AuthorizationPublic,
    status_code=status.HTTP_201_CREATED,
    responses=RESPONSES,
)
def create_authorization(
    request: Request, coverage_id: str, body: AuthorizationCreate, principal: AuthorizationsWrite
) -> dict[str, Any]:
    """Record a prior authorization on a coverage."""
    engine = state(request).engine
    new = authorizations.add_coverage_authorization(engine, principal, coverage_id, **body.model_dump())
    return authorization_public(authorizations.authorization_record(engine, principal, new))


@router.get("/authorizations/{authorization_id}", response_model=AuthorizationPublic, responses=RESPONSES)
def get_authorization(
    request: Request, authorization_id: str, principal: AuthorizationsRead
) -> dict[str, Any]:
    """An authorization with used and remaining visits and units."""
    row = authorizations.authorization_record(state(request).engine, principal, authorization_id)
    audit_event(request, principal, "authorization.read", "authorization", authorization_id)
    return authorization_public(row)


@router.post(
    "/authorizations/{authorization_id}/extend", response_model=AuthorizationPublic, responses=RESPONSES
)
def extend_authorization(
    request: Request, authorization_id: str, body: AuthorizationExtend, principal: AuthorizationsWrite
) -> dict[str, Any]:
    """Grant more visits or units, or a later end date, on an authorization."""
    engine = state(request).engine
    authorizations.extend_authorization(
        engine,
        principal,
        authorization_id,
        end_date=body.end_date,
        add_visits=body.add_visits,
        add_units=body.add_units,
    )
    return authorization_public(authorizations.authorization_record(engine, principal, authorization_id))


# --- payers ------------------------------------------------------------------------------


@router.get("/payers", response_model=list[PayerPublic], responses=ERRORS)
def list_payers(
    request: Request,
    principal: CoveragesRead,
    q: Annotated[str | None, Query(max_length=80, description="Part of the name or the payer id.")] = None,
) -> list[dict[str, Any]]:
    """The practice's payers by name (to choose one for a coverage)."""
    rows = payer_setup.list_payers(state(request).engine, principal.practice_id, actor_of(principal), query=q)
    return [
        {
            "id": r.id,
            "name": r.name,
            "payer_id": r.payer_id,
            "profile": r.profile,
            "claim_filing_indicator": r.claim_filing_indicator,
        }
        for r in rows
    ]


# --- referrals and prescriptions, history -------------------------------------------------


def referral_public(row: Any) -> dict[str, Any]:
    """A referral row as ``ReferralPublic``."""
    return {
        **{k: getattr(row, k) for k in ReferralPublic.model_fields if k != "document_url"},
        "document_url": f"/api/v1/referrals/{row.id}/document" if row.stored_as else None,
    }


@router.get("/patients/{patient_id}/referrals", response_model=list[ReferralPublic], responses=RESPONSES)
def list_referrals(request: Request, patient_id: str, principal: PatientsRead) -> list[dict[str, Any]]:
    """A patient's referrals and prescriptions, newest first."""
    rows = referrals.referrals_of(state(request).engine, principal, patient_id)
    audit_event(request, principal, "referral.list", "patient", rows[0].patient_id if rows else None)
    return [referral_public(r) for r in rows]


@router.post(
    "/patients/{patient_id}/referrals",
    response_model=ReferralPublic,
    status_code=status.HTTP_201_CREATED,
    responses=RESPONSES,
)
async def create_referral(
    request: Request,
    patient_id: str,
    principal: PatientsWrite,
    kind: Annotated[str, Form(pattern="^(referral|prescription)$")],
    number: Annotated[str | None, Form(max_length=50)] = None,
    prescriber_name: Annotated[str | None, Form(max_length=120)] = None,
    prescriber_npi: Annotated[str | None, Form(pattern=r"^\d{10}$")] = None,
    issued_on: Annotated[date | None, Form()] = None,
    expires_on: Annotated[date | None, Form()] = None,
    visits_allowed: Annotated[int | None, Form(ge=1, le=1000)] = None,
    coverage_id: Annotated[str | None, Form(max_length=32)] = None,
    document: Annotated[UploadFile | None, File(description="PDF, PNG or JPEG, at most 10 MB")] = None,
) -> dict[str, Any]:
    """Keep a referral or prescription on file with its signed document (multipart form)."""
    data = await document.read(referrals.MAX_DOCUMENT_BYTES + 1) if document is not None else b""
    st = state(request)
    new = referrals.add_referral(
        st.engine,
        principal,
        patient_id,
        referrals.NewReferral(
            kind=kind,
            number=number,
            prescriber_name=prescriber_name,
            prescriber_npi=prescriber_npi,
            issued_on=issued_on,
            expires_on=expires_on,
            visits_allowed=visits_allowed,
            coverage_id=coverage_id,
            file_name=document.filename if document is not None else None,
            data=data,
        ),
        st.data_dir,
    )
    found = next(r for r in referrals.referrals_of(st.engine, principal, patient_id) if r.id == new)
    return referral_public(found)


@router.get(
    "/referrals/{referral_id}/document",
    responses={**RESPONSES, 200: {"content": {"application/pdf": {}, "image/png": {}, "image/jpeg": {}}}},
    response_class=Response,
)
def referral_document(request: Request, referral_id: str, principal: PatientsRead) -> Response:
    """The referral's document, byte for byte as it was uploaded."""
    st = state(request)
    data, content_type, _ = referrals.referral_document(st.engine, principal, referral_id, st.data_dir)
    audit_event(request, principal, "referral.document", "referral", referral_id)
    return Response(data, media_type=content_type)


@router.get("/patients/{patient_id}/history", response_model=list[HistoryPublic], responses=RESPONSES)
def patient_history(request: Request, patient_id: str, principal: PatientsRead) -> list[dict[str, Any]]:
    """The changes to a patient's details, coverages, authorizations and referrals, newest first."""
    engine = state(request).engine
    found = patients.find_patient(engine, principal, patient_id)
    rows = patients.patient_history(engine, principal, found.id)
    audit_event(request, principal, "patient.history", "patient", found.id)
    return [{**h, "at": h["at"].isoformat()} for h in rows]
