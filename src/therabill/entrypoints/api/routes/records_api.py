"""REST resources: patients, coverages, authorizations, visits, claims, batches, remittances,
eligibility and reports, all within the caller's practice.

Every lookup goes through the practice-scoped repository, so an id of another practice
answers 404 exactly like a missing one. Searches by name travel in POST bodies. Reads of PHI
are written to the audit log here; writes are audited by the records use cases themselves.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from therabill.adapters.db.tables import (
    authorizations,
    claim_lines,
    claims,
    coverages,
    eligibility_checks,
    patients,
    providers,
    visits,
)
from therabill.domain.errors import NotFoundError, Problem
from therabill.domain.money import from_cents
from therabill.entrypoints.api.schemas import ERRORS, NOT_FOUND, FindingPublic
from therabill.entrypoints.http.audit import audit_event
from therabill.entrypoints.http.deps import state
from therabill.entrypoints.http.errors import ApiError, not_found
from therabill.entrypoints.http.who import (
    AuthorizationsRead,
    AuthorizationsWrite,
    ClaimsExport,
    ClaimsRead,
    ClaimsWrite,
    CoveragesRead,
    CoveragesWrite,
    EligibilityRun,
    PatientsRead,
    PatientsWrite,
    RemittancesPost,
    RemittancesRead,
    ReportsRead,
    VisitsRead,
    VisitsWrite,
)
from therabill.security.permissions import Permission
from therabill.service_layer.accounts import Principal
from therabill.service_layer.visibility import may_see_visit

router = APIRouter(prefix="/api/v1", tags=["records"])
P = Permission
RESPONSES = {**ERRORS, **NOT_FOUND}
MAX_X12_BYTES = 10 * 1024 * 1024


def _actor(principal: Principal) -> str:
    from therabill.entrypoints.http.audit import actor_of

    return actor_of(principal)


def _reader(request: Request, principal: Principal):  # type: ignore[no-untyped-def]
    from therabill.service_layer.uow import UnitOfWork

    return UnitOfWork(state(request).engine, principal.practice_id, _actor(principal), read_only=True)


def _audit(
    request: Request, principal: Principal, action: str, object_type: str, object_id: str | None
) -> None:
    audit_event(request, principal, action, object_type, object_id)


def _today(request: Request) -> date:
    return state(request).now().date()


# --- schemas -----------------------------------------------------------------------------


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class AddressIn(_In):
    """A postal address."""

    line1: str = Field(min_length=1, max_length=55)
    line2: str | None = Field(default=None, max_length=55)
    city: str = Field(min_length=1, max_length=30)
    state: str = Field(pattern=r"^[A-Z]{2}$")
    zip: str = Field(pattern=r"^\d{5}(\d{4})?$")


class PatientSearch(_In):
    """A patient search: part of the name, or the exact chart number."""

    name: str | None = Field(default=None, max_length=100)
    chart_number: str | None = Field(default=None, max_length=30)
    limit: int = Field(default=20, ge=1, le=100)


class PatientCreate(_In):
    """A new patient."""

    chart_number: str = Field(min_length=1, max_length=30, pattern=r"^[A-Za-z0-9.\-]+$")
    first_name: str = Field(min_length=1, max_length=60)
    last_name: str = Field(min_length=1, max_length=60)
    middle_name: str | None = Field(default=None, max_length=60)
    birth_date: date | None = None
    sex: Literal["F", "M", "U"] | None = None
    phone: str | None = Field(default=None, pattern=r"^\d{10}$")
    email: str | None = Field(default=None, max_length=120)
    address: AddressIn | None = None


class PatientPublic(BaseModel):
    """A patient."""

    id: str
    chart_number: str
    first_name: str
    middle_name: str | None
    last_name: str
    birth_date: date | None
    sex: str | None


class CoverageCreate(_In):
    """A new coverage of a patient (the payer is one of the practice's payers)."""

    payer_id: str = Field(min_length=1, max_length=32)
    sequence: Literal["primary", "secondary", "tertiary"] = "primary"
    member_id: str | None = Field(default=None, max_length=80)
    group_number: str | None = Field(default=None, max_length=50)
    plan_name: str | None = Field(default=None, max_length=80)
    relationship: Literal["self", "spouse", "child", "employee", "other"] = "self"
    active_from: date | None = None
    active_to: date | None = None


class CoveragePublic(BaseModel):
    """A coverage."""

    id: str
    patient_id: str
    payer_id: str
    sequence: str
    member_id: str | None
    group_number: str | None
    plan_name: str | None
    relationship: str
    active_from: date | None
    active_to: date | None
    eligibility_verified_on: date | None


class AuthorizationCreate(_In):
    """A prior authorization of a coverage."""

    number: str = Field(min_length=1, max_length=50)
    start_date: date | None = None
    end_date: date | None = None
    codes: list[str] = Field(default_factory=list, max_length=20)
    units_pooled: bool = True
    visits_allowed: int | None = Field(default=None, ge=0, le=1000)
    units_allowed: int | None = Field(default=None, ge=0, le=10000)


class AuthorizationPublic(BaseModel):
    """An authorization with what is used and what remains."""

    id: str
    coverage_id: str
    number: str
    start_date: date | None
    end_date: date | None
    codes: list[str]
    visits_allowed: int | None
    visits_used: int
    visits_remaining: int | None
    units_allowed: int | None
    units_used: int
    units_remaining: int | None


class VisitCreate(_In):
    """A documented visit: the visit part of an encounter document (``spec/encounter.md``)."""

    provider_id: str = Field(min_length=1, max_length=32)
    coverage_id: str | None = Field(default=None, max_length=32)
    date_of_service: date
    document: dict[str, Any] = Field(
        description="start_time, end_time, diagnoses, services, documentation... of the encounter document"
    )


class VisitPublic(BaseModel):
    """A visit."""

    id: str
    patient_id: str
    provider_id: str
    coverage_id: str | None
    date_of_service: date
    start_time: str | None
    end_time: str | None
    status: str
    document: dict[str, Any]


class ClaimLinePublic(BaseModel):
    """A claim line."""

    line_number: int
    code: str
    modifiers: list[str]
    units: int
    minutes: int
    charge: str


class ClaimPublic(BaseModel):
    """A claim."""

    id: str
    claim_number: str
    patient_id: str
    visit_id: str
    status: str
    date_of_service: date
    total_charge: str
    has_errors: bool
    batch_id: str | None


class ClaimDetail(ClaimPublic):
    """A claim with its lines, findings and status history."""

    lines: list[ClaimLinePublic]
    findings: list[FindingPublic]
    history: list[dict[str, Any]]


class BatchPublic(BaseModel):
    """A batch of claims sent together in one 837P."""

    id: str
    control_number: int
    claim_ids: list[str]
    total_charge: str


class WorkItemPublic(BaseModel):
    """Something posting left for a biller to look at."""

    kind: str
    claim: str | None
    amount: str
    reason: str | None
    message: str
    action: str | None = None


class RemittancePosted(BaseModel):
    """What posting one 835 transaction did (the shape ``era post --json`` prints too)."""

    remittance_id: str
    trace_number: str | None
    payer: str | None
    paid: str
    new: bool
    conflict: bool
    claims_matched: int
    claims_unmatched: int
    claims_already_posted: int
    entries: int
    worklist: list[WorkItemPublic]
    next_claims: list[str] = []


class EligibilityPublic(BaseModel):
    """A stored eligibility check."""

    id: str
    coverage_id: str
    checked_at: str
    service_date: date | None
    active: bool | None
    source: str
    result: dict[str, Any] | None


# --- mapping -----------------------------------------------------------------------------


def _patient(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "chart_number": row.chart_number,
        "first_name": row.first_name,
        "middle_name": row.middle_name,
        "last_name": row.last_name,
        "birth_date": row.birth_date,
        "sex": row.sex,
    }


def _coverage(row: Any) -> dict[str, Any]:
    return {k: getattr(row, k) for k in CoveragePublic.model_fields}


def _authorization(row: Any) -> dict[str, Any]:
    def left(allowed: int | None, used: int) -> int | None:
        return None if allowed is None else max(allowed - used, 0)

    return {
        "id": row.id,
        "coverage_id": row.coverage_id,
        "number": row.number,
        "start_date": row.start_date,
        "end_date": row.end_date,
        "codes": list(row.codes or []),
        "visits_allowed": row.visits_allowed,
        "visits_used": row.visits_used,
        "visits_remaining": left(row.visits_allowed, row.visits_used),
        "units_allowed": row.units_allowed,
        "units_used": row.units_used,
        "units_remaining": left(row.units_allowed, row.units_used),
    }


def _visit(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "patient_id": row.patient_id,
        "provider_id": row.provider_id,
        "coverage_id": row.coverage_id,
        "date_of_service": row.date_of_service,
        "start_time": row.start_time,
        "end_time": row.end_time,
        "status": row.status,
        "document": row.encounter_json,
    }


def _claim(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "claim_number": row.claim_number,
        "patient_id": row.patient_id,
        "visit_id": row.visit_id,
        "status": row.status,
        "date_of_service": row.date_of_service,
        "total_charge": str(from_cents(row.total_charge_cents)),
        "has_errors": bool(row.has_errors),
        "batch_id": row.batch_id,
    }


def _own_visit(principal: Principal, row: Any) -> bool:
    """A therapist sees only the notes of their own visits."""
    return may_see_visit(principal, row.provider_id)


def _use_case(call: Any) -> Any:
    """Run a records use case; a missing (or other practice's) object becomes 404."""
    try:
        return call()
    except NotFoundError:
        raise not_found() from None


# --- patients ----------------------------------------------------------------------------


@router.post("/patients/search", response_model=list[PatientPublic], responses=ERRORS)
def search_patients(request: Request, body: PatientSearch, principal: PatientsRead) -> list[dict[str, Any]]:
    """Patients whose name contains ``name`` or whose chart number is ``chart_number``."""
    with _reader(request, principal) as uow:
        everyone = uow.records.patients()
    name = (body.name or "").strip().lower()
    chart = (body.chart_number or "").strip().lower()
    found = [
        p
        for p in everyone
        if (not name or name in f"{p.first_name} {p.middle_name or ''} {p.last_name}".lower())
        and (not chart or chart == p.chart_number.lower())
    ][: body.limit]
    _audit(request, principal, "patient.search", "patient", None)
    return [_patient(p) for p in found]


@router.post("/patients", response_model=PatientPublic, status_code=status.HTTP_201_CREATED, responses=ERRORS)
def create_patient(request: Request, body: PatientCreate, principal: PatientsWrite) -> dict[str, Any]:
    """Register a patient."""
    from therabill.service_layer import patients as patients_svc

    new = patients_svc.register_patient(
        state(request).engine,
        principal.practice_id,
        _actor(principal),
        chart_number=body.chart_number,
        first_name=body.first_name,
        last_name=body.last_name,
        middle_name=body.middle_name,
        birth_date=body.birth_date,
        sex=body.sex,
        phone=body.phone,
        email=body.email,
        address=body.address.model_dump() if body.address else None,
    )
    with _reader(request, principal) as uow:
        return _patient(uow.records.get(patients, new))


@router.get("/patients/{patient_id}", response_model=PatientPublic, responses=RESPONSES)
def get_patient(request: Request, patient_id: str, principal: PatientsRead) -> dict[str, Any]:
    """A patient."""
    with _reader(request, principal) as uow:
        row = uow.records.find(patients, patient_id)
    if row is None:
        raise not_found("patient")
    _audit(request, principal, "patient.read", "patient", patient_id)
    return _patient(row)


@router.get("/patients/{patient_id}/coverages", response_model=list[CoveragePublic], responses=RESPONSES)
def list_coverages(request: Request, patient_id: str, principal: CoveragesRead) -> list[dict[str, Any]]:
    """A patient's coverages."""
    with _reader(request, principal) as uow:
        if uow.records.find(patients, patient_id) is None:
            raise not_found("patient")
        rows = uow.records.coverages_of(patient_id)
    _audit(request, principal, "coverage.list", "patient", patient_id)
    return [_coverage(r) for r in rows]


@router.post(
    "/patients/{patient_id}/coverages",
    response_model=CoveragePublic,
    status_code=status.HTTP_201_CREATED,
    responses=RESPONSES,
)
def create_coverage(
    request: Request,
    patient_id: str,
    body: CoverageCreate,
    principal: CoveragesWrite,
) -> dict[str, Any]:
    """Add a coverage to a patient."""
    from therabill.service_layer import coverages as coverages_svc

    cov = coverages_svc.CoverageInput(**body.model_dump())
    new = _use_case(
        lambda: coverages_svc.add_coverage(
            state(request).engine, principal.practice_id, _actor(principal), patient_id, cov
        )
    )
    with _reader(request, principal) as uow:
        return _coverage(uow.records.get(coverages, new))


@router.get("/coverages/{coverage_id}", response_model=CoveragePublic, responses=RESPONSES)
def get_coverage(request: Request, coverage_id: str, principal: CoveragesRead) -> dict[str, Any]:
    """A coverage."""
    with _reader(request, principal) as uow:
        row = uow.records.find(coverages, coverage_id)
    if row is None:
        raise not_found("coverage")
    _audit(request, principal, "coverage.read", "coverage", coverage_id)
    return _coverage(row)


# --- authorizations ----------------------------------------------------------------------


@router.get(
    "/coverages/{coverage_id}/authorizations", response_model=list[AuthorizationPublic], responses=RESPONSES
)
def list_authorizations(
    request: Request,
    coverage_id: str,
    principal: AuthorizationsRead,
) -> list[dict[str, Any]]:
    """A coverage's authorizations with used and remaining visits and units."""
    with _reader(request, principal) as uow:
        if uow.records.find(coverages, coverage_id) is None:
            raise not_found("coverage")
        rows = uow.records.authorizations_of(coverage_id)
    _audit(request, principal, "authorization.list", "coverage", coverage_id)
    return [_authorization(r) for r in rows]


@router.post(
    "/coverages/{coverage_id}/authorizations",
    response_model=AuthorizationPublic,
    status_code=status.HTTP_201_CREATED,
    responses=RESPONSES,
)
def create_authorization(
    request: Request,
    coverage_id: str,
    body: AuthorizationCreate,
    principal: AuthorizationsWrite,
) -> dict[str, Any]:
    """Record a prior authorization on a coverage."""
    from therabill.service_layer import coverages as coverages_svc

    new = _use_case(
        lambda: coverages_svc.add_authorization(
            state(request).engine,
            principal.practice_id,
            _actor(principal),
            coverage_id=coverage_id,
            **body.model_dump(),
        )
    )
    with _reader(request, principal) as uow:
        return _authorization(uow.records.get(authorizations, new))


@router.get("/authorizations/{authorization_id}", response_model=AuthorizationPublic, responses=RESPONSES)
def get_authorization(
    request: Request,
    authorization_id: str,
    principal: AuthorizationsRead,
) -> dict[str, Any]:
    """An authorization with used and remaining visits and units."""
    with _reader(request, principal) as uow:
        row = uow.records.find(authorizations, authorization_id)
    if row is None:
        raise not_found("authorization")
    _audit(request, principal, "authorization.read", "authorization", authorization_id)
    return _authorization(row)


# --- visits ------------------------------------------------------------------------------


@router.get("/patients/{patient_id}/visits", response_model=list[VisitPublic], responses=RESPONSES)
def list_visits(request: Request, patient_id: str, principal: VisitsRead) -> list[dict[str, Any]]:
    """A patient's visits (a therapist sees their own visits only)."""
    with _reader(request, principal) as uow:
        if uow.records.find(patients, patient_id) is None:
            raise not_found("patient")
        rows = uow.session.execute(
            uow.records.scoped(visits)
            .where(visits.c.patient_id == patient_id)
            .order_by(visits.c.date_of_service)
        ).all()
    _audit(request, principal, "visit.list", "patient", patient_id)
    return [_visit(r) for r in rows if _own_visit(principal, r)]


@router.post(
    "/patients/{patient_id}/visits",
    response_model=VisitPublic,
    status_code=status.HTTP_201_CREATED,
    responses=RESPONSES,
)
def create_visit(
    request: Request,
    patient_id: str,
    body: VisitCreate,
    principal: VisitsWrite,
) -> dict[str, Any]:
    """Document a visit (the note becomes version 1; the whole encounter is validated first)."""
    from therabill.service_layer import visits as visits_svc

    with _reader(request, principal) as uow:
        if uow.records.find(patients, patient_id) is None:
            raise not_found("patient")
        if uow.records.find(providers, body.provider_id) is None:
            raise not_found("provider")
    if principal.role == "therapist" and principal.provider_id and body.provider_id != principal.provider_id:
        raise ApiError(403, "forbidden", "therapists document their own visits")
    new = _use_case(
        lambda: visits_svc.record_visit(
            state(request).engine,
            principal.practice_id,
            _actor(principal),
            patient_id=patient_id,
            provider_id=body.provider_id,
            date_of_service=body.date_of_service,
            document=body.document,
            coverage_id=body.coverage_id,
        )
    )
    with _reader(request, principal) as uow:
        return _visit(uow.records.get(visits, new))


@router.get("/visits/{visit_id}", response_model=VisitPublic, responses=RESPONSES)
def get_visit(request: Request, visit_id: str, principal: VisitsRead) -> dict[str, Any]:
    """A visit with its documentation."""
    with _reader(request, principal) as uow:
        row = uow.records.find(visits, visit_id)
    if row is None or not _own_visit(principal, row):
        raise not_found("visit")
    _audit(request, principal, "visit.read", "visit", visit_id)
    return _visit(row)


@router.post(
    "/visits/{visit_id}/claim",
    response_model=ClaimPublic,
    status_code=status.HTTP_201_CREATED,
    responses=RESPONSES,
)
def create_claim(request: Request, visit_id: str, principal: ClaimsWrite) -> dict[str, Any]:
    """Code and scrub the visit into a claim (its charges go on the ledger in the same transaction)."""
    from therabill.service_layer import claims as claims_svc

    engine = state(request).engine
    coded = _use_case(
        lambda: claims_svc.code_visit(
            engine, principal.practice_id, _actor(principal), visit_id, as_of=_today(request)
        )
    )
    with _reader(request, principal) as uow:
        return _claim(uow.records.get(claims, coded.claim_id))


# --- claims, batches ---------------------------------------------------------------------


ClaimStatusName = Literal[
    "draft",
    "scrubbed",
    "ready",
    "submitted",
    "batch_accepted",
    "batch_rejected",
    "clearinghouse_accepted",
    "clearinghouse_rejected",
    "payer_accepted",
    "payer_rejected",
    "pending",
    "paid",
    "partly_paid",
    "denied",
    "appealed",
    "replaced",
    "voided",
    "crossed_over",
    "transferred_to_secondary",
]


@router.get("/claims", response_model=list[ClaimPublic], responses=ERRORS)
def list_claims(
    request: Request,
    principal: ClaimsRead,
    status_: Annotated[ClaimStatusName | None, Query(alias="status")] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """The practice's claims, newest first, optionally of one status."""
    with _reader(request, principal) as uow:
        query = uow.records.scoped(claims).order_by(claims.c.date_of_service.desc(), claims.c.claim_number)
        if status_:
            query = query.where(claims.c.status == status_)
        rows = uow.session.execute(query.limit(limit)).all()
    _audit(request, principal, "claim.list", "claim", None)
    return [_claim(r) for r in rows]


@router.get("/claims/{claim_id}", response_model=ClaimDetail, responses=RESPONSES)
def get_claim(request: Request, claim_id: str, principal: ClaimsRead) -> dict[str, Any]:
    """A claim with its lines, scrub findings and status history."""
    from therabill.service_layer import claims as claims_svc

    with _reader(request, principal) as uow:
        row = uow.records.find(claims, claim_id)
        if row is None:
            raise not_found("claim")
        lines = uow.session.execute(
            uow.records.scoped(claim_lines)
            .where(claim_lines.c.claim_id == claim_id)
            .order_by(claim_lines.c.line_number)
        ).all()
    history = claims_svc.claim_history(
        state(request).engine, principal.practice_id, _actor(principal), claim_id
    )
    findings = row.findings or []
    if isinstance(findings, dict):
        findings = findings.get("findings", [])
    _audit(request, principal, "claim.read", "claim", claim_id)
    return {
        **_claim(row),
        "lines": [
            {
                "line_number": ln.line_number,
                "code": ln.code,
                "modifiers": list(ln.modifiers or []),
                "units": ln.units,
                "minutes": ln.minutes,
                "charge": str(from_cents(ln.charge_cents)),
            }
            for ln in lines
        ],
        "findings": findings,
        "history": [json.loads(json.dumps(h, default=str)) for h in history],
    }


@router.post("/claims/{claim_id}/ready", response_model=ClaimPublic, responses=RESPONSES)
def claim_ready(request: Request, claim_id: str, principal: ClaimsWrite) -> dict[str, Any]:
    """Mark a scrubbed claim without errors ready to send."""
    from therabill.service_layer import claims as claims_svc

    _use_case(
        lambda: claims_svc.mark_ready(
            state(request).engine, principal.practice_id, _actor(principal), claim_id
        )
    )
    with _reader(request, principal) as uow:
        return _claim(uow.records.get(claims, claim_id))


@router.get(
    "/claims/{claim_id}/cms1500",
    responses={**RESPONSES, 200: {"content": {"application/pdf": {}}, "description": "The CMS-1500 PDF."}},
    response_class=Response,
)
def claim_cms1500(request: Request, claim_id: str, principal: ClaimsExport) -> Response:
    """The claim's CMS-1500 (02/12) PDF with the form drawn."""
    from therabill.service_layer import documents

    pdf, _ = _use_case(
        lambda: documents.claim_cms1500_pdf(
            state(request).engine,
            principal.practice_id,
            _actor(principal),
            claim_id,
            signed_on=_today(request),
        )
    )
    _audit(request, principal, "claim.export_cms1500", "claim", claim_id)
    return Response(pdf, media_type="application/pdf")


class BatchCreate(_In):
    """Which ready claims to batch (all ready claims when omitted)."""

    claim_ids: list[str] | None = Field(default=None, max_length=1000)


@router.post("/batches", response_model=BatchPublic, status_code=status.HTTP_201_CREATED, responses=RESPONSES)
def create_batch(request: Request, body: BatchCreate, principal: ClaimsExport) -> dict[str, Any]:
    """Put ready claims into a batch; they become submitted."""
    from therabill.service_layer import batches

    st = state(request)
    batch = _use_case(
        lambda: batches.build_batch(
            st.engine, principal.practice_id, _actor(principal), body.claim_ids, envelope=st.envelope()
        )
    )
    return {
        "id": batch.batch_id,
        "control_number": batch.control_number,
        "claim_ids": list(batch.claim_ids),
        "total_charge": str(from_cents(batch.total_charge_cents)),
    }


@router.get(
    "/batches/{batch_id}/837",
    responses={**RESPONSES, 200: {"content": {"application/edi-x12": {}}, "description": "The 837P file."}},
    response_class=Response,
)
def batch_837(request: Request, batch_id: str, principal: ClaimsExport) -> Response:
    """The batch's 837P (005010X222A1) file, byte for byte as it was built."""
    from therabill.service_layer import batches

    st = state(request)
    built = _use_case(
        lambda: batches.batch_file(
            st.engine, principal.practice_id, _actor(principal), batch_id, st.envelope()
        )
    )
    _audit(request, principal, "batch.export_837", "claim_batch", batch_id)
    return Response(built.data, media_type="application/edi-x12")


@router.get("/batches", response_model=list[dict[str, Any]], responses=ERRORS)
def list_batches(request: Request, principal: ClaimsRead) -> list[dict[str, Any]]:
    """The practice's batches, newest first."""
    from therabill.service_layer import batches

    rows = batches.recent_batches(state(request).engine, principal.practice_id, _actor(principal))
    return [
        {
            "id": r.id,
            "control_number": r.control_number,
            "status": r.status,
            "claim_count": r.claim_count,
            "total_charge": str(from_cents(r.total_charge_cents)),
        }
        for r in rows
    ]


# --- remittances -------------------------------------------------------------------------

X12_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/edi-x12": {"schema": {"type": "string"}},
            "text/plain": {"schema": {"type": "string"}},
        },
    }
}


async def _x12_body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_X12_BYTES:
        raise ApiError(413, "too-large", f"the file is larger than {MAX_X12_BYTES} bytes")
    data = await request.body()
    if len(data) > MAX_X12_BYTES:
        raise ApiError(413, "too-large", f"the file is larger than {MAX_X12_BYTES} bytes")
    if data.lstrip(b"\xef\xbb\xbf \r\n\t")[:3] != b"ISA":
        raise ApiError(
            422,
            "upload-not-x12",
            "the body is not an X12 interchange",
            (Problem("upload-not-x12", "body", "must start with an ISA segment"),),
        )
    return data


@router.post("/remittances", response_model=list[RemittancePosted], responses=ERRORS, openapi_extra=X12_BODY)
async def post_remittance(request: Request, principal: RemittancesPost) -> list[dict[str, Any]]:
    """Post an 835: each transaction once (a re-send posts nothing twice)."""
    from therabill.service_layer import remittances

    data = await _x12_body(request)
    results = remittances.post_835(state(request).engine, principal.practice_id, _actor(principal), data)
    if results and all(r.result.conflict for r in results):
        raise ApiError(
            409,
            "remittance-conflict",
            "this remittance was already received with other claims; nothing was posted",
            [Problem("remittance-conflict", "file", r.result.worklist[0].message) for r in results],
        )
    return [r.as_dict() for r in results]


@router.get("/remittances/denials", response_model=list[dict[str, Any]], responses=ERRORS)
def denials(request: Request, principal: RemittancesRead) -> list[dict[str, Any]]:
    """Denied and partly paid claim lines with their reasons in plain words and the likely fix."""
    from therabill.service_layer import remittances

    _audit(request, principal, "remittance.denials", "remittance", None)
    return remittances.denial_worklist(state(request).engine, principal.practice_id, _actor(principal))


@router.get("/remittances/worklist", response_model=list[dict[str, Any]], responses=ERRORS)
def posting_worklist(request: Request, principal: RemittancesRead) -> list[dict[str, Any]]:
    """What did not post: unmatched claims or lines, unbalanced transactions, PLB adjustments."""
    from therabill.service_layer import remittances

    return remittances.worklist(state(request).engine, principal.practice_id, _actor(principal))


# --- eligibility -------------------------------------------------------------------------


@router.get(
    "/coverages/{coverage_id}/eligibility", response_model=list[EligibilityPublic], responses=RESPONSES
)
def eligibility_history(
    request: Request,
    coverage_id: str,
    principal: EligibilityRun,
) -> list[dict[str, Any]]:
    """The coverage's eligibility checks, newest first."""
    with _reader(request, principal) as uow:
        if uow.records.find(coverages, coverage_id) is None:
            raise not_found("coverage")
        rows = uow.session.execute(
            uow.records.scoped(eligibility_checks)
            .where(eligibility_checks.c.coverage_id == coverage_id)
            .order_by(eligibility_checks.c.checked_at.desc())
        ).all()
    _audit(request, principal, "eligibility.list", "coverage", coverage_id)
    return [
        {
            "id": r.id,
            "coverage_id": r.coverage_id,
            "checked_at": r.checked_at.isoformat(),
            "service_date": r.service_date,
            "active": r.active,
            "source": r.source,
            "result": r.result,
        }
        for r in rows
    ]


@router.post(
    "/coverages/{coverage_id}/eligibility/271",
    response_model=EligibilityPublic,
    status_code=status.HTTP_201_CREATED,
    responses=RESPONSES,
    openapi_extra=X12_BODY,
)
async def eligibility_from_271(
    request: Request,
    coverage_id: str,
    principal: EligibilityRun,
) -> dict[str, Any]:
    """Read a 271 eligibility answer for this coverage and store the check."""
    from therabill.adapters.x12.x271_005010X279A1 import read_271
    from therabill.entrypoints.cli.eligibility import summary_json
    from therabill.service_layer import coverages as coverages_svc

    with _reader(request, principal) as uow:
        if uow.records.find(coverages, coverage_id) is None:
            raise not_found("coverage")
    data = await _x12_body(request)
    answers = list(read_271(data.decode("latin-1")))
    if not answers:
        raise ApiError(422, "eligibility-empty", "the 271 holds no answer")
    summary = json.loads(json.dumps(summary_json(answers[0]), default=str))
    new = coverages_svc.record_eligibility_check(
        state(request).engine,
        principal.practice_id,
        _actor(principal),
        coverage_id=coverage_id,
        service_date=_today(request),
        active=answers[0].active,
        source="271",
        result=summary,
    )
    with _reader(request, principal) as uow:
        r = uow.records.get(eligibility_checks, new)
    return {
        "id": r.id,
        "coverage_id": r.coverage_id,
        "checked_at": r.checked_at.isoformat(),
        "service_date": r.service_date,
        "active": r.active,
        "source": r.source,
        "result": r.result,
    }


# --- reports -----------------------------------------------------------------------------


class StatusLine(BaseModel):
    """Claims of one status."""

    status: str
    claims: int
    total_charge: str


@router.get("/reports/claims-by-status", response_model=list[StatusLine], responses=ERRORS)
def claims_by_status(request: Request, principal: ReportsRead) -> list[dict[str, Any]]:
    """How many claims are in each status, and their charges (no PHI)."""
    with _reader(request, principal) as uow:
        rows = uow.session.execute(
            select(claims.c.status, func.count(), func.coalesce(func.sum(claims.c.total_charge_cents), 0))
            .where(claims.c.practice_id == principal.practice_id)
            .group_by(claims.c.status)
            .order_by(claims.c.status)
        ).all()
    return [{"status": s, "claims": n, "total_charge": str(from_cents(int(t)))} for s, n, t in rows]
