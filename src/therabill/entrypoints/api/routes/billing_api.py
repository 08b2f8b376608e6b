"""REST resources: visits, claims, batches, remittances, eligibility checks and claim counts
(the claim lifecycle is ``claims_api.py``).

Thin routes over the visits, claims, batches, remittances, ledger and coverages services.
Patients are named by internal id or chart number, claims by internal id or claim number.
The claim list pages with a cursor (``X-Next-Cursor`` and ``Link`` headers) and filters by
patient, payer, status and dates of service; an unknown query parameter answers 422.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, Response, status

from therabill.domain.errors import Problem
from therabill.domain.money import from_cents
from therabill.entrypoints.api.records_schemas import (
    AssignedPublic,
    AssignIn,
    BatchCreate,
    BatchPublic,
    CandidateClaim,
    ClaimDetail,
    ClaimPublic,
    ClaimStatusName,
    DepositIn,
    DismissIn,
    EligibilityPublic,
    ReceivedPaymentPublic,
    RemittancePosted,
    StatusLine,
    VisitCreate,
    VisitPublic,
    WorkItemView,
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
    ClaimsExport,
    ClaimsRead,
    ClaimsWrite,
    EligibilityRun,
    RemittancesPost,
    RemittancesRead,
    ReportsRead,
    VisitsRead,
    VisitsWrite,
)
from therabill.service_layer import (
    adjudication,
    batches,
    claims,
    coverages,
    documents,
    edi,
    received_payments,
    remittance_work,
    remittances,
    visits,
)
from therabill.service_layer.errors import RecordsError

router = APIRouter(
    prefix="/api/v1",
    tags=["billing"],
    dependencies=[Depends(no_unknown_query)],
    generate_unique_id_function=operation_id,
)
RESPONSES = {**ERRORS, **NOT_FOUND}
MAX_X12_BYTES = 10 * 1024 * 1024


def _today(request: Request) -> date:
    return state(request).now().date()


def visit_public(row: Any) -> dict[str, Any]:
    """A visit row as ``VisitPublic``."""
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


def claim_public(row: Any) -> dict[str, Any]:
    """A claim row as ``ClaimPublic``."""
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


def eligibility_public(r: Any) -> dict[str, Any]:
    """A stored eligibility check as ``EligibilityPublic``."""
    return {
        "id": r.id,
        "coverage_id": r.coverage_id,
        "checked_at": r.checked_at.isoformat(),
        "service_date": r.service_date,
        "active": r.active,
        "source": r.source,
        "result": r.result,
    }


# --- visits ------------------------------------------------------------------------------


@router.get("/patients/{patient_id}/visits", response_model=list[VisitPublic], responses=RESPONSES)
def list_visits(request: Request, patient_id: str, principal: VisitsRead) -> list[dict[str, Any]]:
    """A patient's visits (a therapist sees their own visits only)."""
    rows = visits.visits_of_patient(state(request).engine, principal, patient_id)
    audit_event(request, principal, "visit.list", "patient", rows[0].patient_id if rows else None)
    return [visit_public(r) for r in rows]


@router.post(
    "/patients/{patient_id}/visits",
    response_model=VisitPublic,
    status_code=status.HTTP_201_CREATED,
    responses=RESPONSES,
)
def create_visit(
    request: Request, patient_id: str, body: VisitCreate, principal: VisitsWrite
) -> dict[str, Any]:
    """Document a visit (the note becomes version 1; the whole encounter is validated first)."""
    engine = state(request).engine
    try:
        found = visits.visit_parties(engine, principal, patient_id, body.provider_id)
    except RecordsError as exc:
        raise ApiError(403, "forbidden", str(exc), exc.problems) from None
    new = visits.record_visit(
        engine,
        principal.practice_id,
        actor_of(principal),
        patient_id=found,
        provider_id=body.provider_id,
        date_of_service=body.date_of_service,
        document=body.document,
        coverage_id=body.coverage_id,
    )
    return visit_public(visits.visible_visit(engine, principal, new))


@router.get("/visits/{visit_id}", response_model=VisitPublic, responses=RESPONSES)
def get_visit(request: Request, visit_id: str, principal: VisitsRead) -> dict[str, Any]:
    """A visit with its documentation."""
    row = visits.visible_visit(state(request).engine, principal, visit_id)
    audit_event(request, principal, "visit.read", "visit", visit_id)
    return visit_public(row)


@router.post(
    "/visits/{visit_id}/claim",
    response_model=ClaimPublic,
    status_code=status.HTTP_201_CREATED,
    responses=RESPONSES,
)
def create_claim(request: Request, visit_id: str, principal: ClaimsWrite) -> dict[str, Any]:
    """Code and scrub the visit into a claim (its charges go on the ledger in the same transaction)."""
    engine = state(request).engine
    actor = actor_of(principal)
    coded = claims.code_visit(engine, principal.practice_id, actor, visit_id, as_of=_today(request))
    return claim_public(claims.find_claim(engine, principal.practice_id, actor, coded.claim_id))


# --- claims ------------------------------------------------------------------------------


@router.get("/claims", response_model=list[ClaimPublic], responses=ERRORS)
def list_claims(
    request: Request,
    response: Response,
    principal: ClaimsRead,
    status_: Annotated[list[ClaimStatusName] | None, Query(alias="status")] = None,
    patient: Annotated[str | None, Query(max_length=40, description="Internal id or chart number.")] = None,
    payer: Annotated[
        str | None, Query(max_length=80, description="Internal id or electronic payer id.")
    ] = None,
    date_from: Annotated[date | None, Query(alias="from", description="First date of service.")] = None,
    date_to: Annotated[date | None, Query(alias="to", description="Last date of service.")] = None,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> list[dict[str, Any]]:
    """The practice's claims, newest date of service first, filtered, a page at a time."""
    with one_read(request, principal) as reads:  # one transaction with its audit row
        page = claims.claim_page(
            state(request).engine,
            principal,
            claims.ClaimFilter(
                patient=patient,
                payer=payer,
                statuses=tuple(status_ or ()),
                date_from=date_from,
                date_to=date_to,
            ),
            after=decode_cursor(cursor),
            limit=limit,
        )
        reads.audit("claim.list", "claim", None)
    set_next_cursor(request, response, encode_cursor(page.next_key) if page.next_key else None)
    return [claim_public(r) for r in page.items]


@router.get("/claims/{claim_id}", response_model=ClaimDetail, responses=RESPONSES)
def get_claim(request: Request, claim_id: str, principal: ClaimsRead) -> dict[str, Any]:
    """A claim (by internal id or claim number) with its lines, scrub findings and status history."""
    engine = state(request).engine
    with one_read(request, principal) as reads:  # one transaction with its audit row
        detail = claims.claim_detail(engine, principal.practice_id, actor_of(principal), claim_id)
        paid = adjudication.claim_adjudication(
            engine, principal.practice_id, actor_of(principal), detail.claim.id
        )
        reads.audit("claim.read", "claim", detail.claim.id)
    return {
        **claim_public(detail.claim),
        "lines": [
            {
                "line_number": ln.line_number,
                "code": ln.code,
                "modifiers": list(ln.modifiers or []),
                "units": ln.units,
                "minutes": ln.minutes,
                "charge": str(from_cents(ln.charge_cents)),
            }
            for ln in detail.lines
        ],
        "findings": detail.findings,
        "history": [json.loads(json.dumps(h, default=str)) for h in detail.history],
        "adjudication": paid.as_dict(),
    }


@router.post("/claims/{claim_id}/ready", response_model=ClaimPublic, responses=RESPONSES)
def claim_ready(request: Request, claim_id: str, principal: ClaimsWrite) -> dict[str, Any]:
    """Mark a scrubbed claim without errors ready to send."""
    engine = state(request).engine
    actor = actor_of(principal)
    found = claims.find_claim(engine, principal.practice_id, actor, claim_id).id
    claims.mark_ready(engine, principal.practice_id, actor, found)
    return claim_public(claims.find_claim(engine, principal.practice_id, actor, found))


@router.get(
    "/claims/{claim_id}/cms1500",
    responses={**RESPONSES, 200: {"content": {"application/pdf": {}}, "description": "The CMS-1500 PDF."}},
    response_class=Response,
)
def claim_cms1500(request: Request, claim_id: str, principal: ClaimsExport) -> Response:
    """The claim's CMS-1500 (02/12) PDF with the form drawn."""
    engine = state(request).engine
    actor = actor_of(principal)
    found = claims.find_claim(engine, principal.practice_id, actor, claim_id).id
    pdf, _ = documents.claim_cms1500_pdf(
        engine, principal.practice_id, actor, found, signed_on=_today(request)
    )
    audit_event(request, principal, "claim.export_cms1500", "claim", found)
    return Response(pdf, media_type="application/pdf")


# --- batches -----------------------------------------------------------------------------


@router.post("/batches", response_model=BatchPublic, status_code=status.HTTP_201_CREATED, responses=RESPONSES)
def create_batch(request: Request, body: BatchCreate, principal: ClaimsExport) -> dict[str, Any]:
    """Put ready claims into a batch; they become submitted."""
    st = state(request)
    batch = batches.build_batch(
        st.engine, principal.practice_id, actor_of(principal), body.claim_ids, envelope=st.envelope()
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
    st = state(request)
    built = batches.batch_file(st.engine, principal.practice_id, actor_of(principal), batch_id, st.envelope())
    audit_event(request, principal, "batch.export_837", "claim_batch", batch_id)
    return Response(built.data, media_type="application/edi-x12")


@router.get("/batches", response_model=list[dict[str, Any]], responses=ERRORS)
def list_batches(request: Request, principal: ClaimsRead) -> list[dict[str, Any]]:
    """The practice's batches, newest first."""
    rows = batches.recent_batches(state(request).engine, principal.practice_id, actor_of(principal))
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
    data = await _x12_body(request)
    results = remittances.post_835(state(request).engine, principal.practice_id, actor_of(principal), data)
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
    audit_event(request, principal, "remittance.denials", "remittance", None)
    return remittances.denial_worklist(state(request).engine, principal.practice_id, actor_of(principal))


@router.get("/remittances/worklist", response_model=list[dict[str, Any]], responses=ERRORS)
def posting_worklist(request: Request, principal: RemittancesRead) -> list[dict[str, Any]]:
    """What did not post: unmatched claims or lines, unbalanced transactions, PLB adjustments."""
    return remittances.worklist(state(request).engine, principal.practice_id, actor_of(principal))


@router.get("/remittances/work-items", response_model=list[WorkItemView], responses=ERRORS)
def work_items(
    request: Request,
    principal: RemittancesRead,
    open_only: Annotated[bool, Query(alias="open", description="Open items only.")] = True,
) -> list[dict[str, Any]]:
    """The posting worklist with ids for its actions (assign an unmatched claim, dismiss)."""
    items = remittance_work.worklist_items(
        state(request).engine, principal.practice_id, actor_of(principal), open_only=open_only
    )
    return [w.as_dict() for w in items]


@router.get(
    "/remittances/work-items/{item_id}/candidates", response_model=list[CandidateClaim], responses=RESPONSES
)
def work_item_candidates(
    request: Request,
    item_id: str,
    principal: RemittancesRead,
    q: Annotated[str | None, Query(max_length=80, description="Claim number, patient name or date.")] = None,
) -> list[dict[str, Any]]:
    """Our claims the item may belong to: by ``q``, else by the patient and date the payer sent."""
    engine, who = state(request).engine, actor_of(principal)
    item = remittance_work.work_item(engine, principal.practice_id, who, item_id)
    query = q if q is not None else remittance_work.default_query(item)
    return [c.as_dict() for c in remittance_work.candidate_claims(engine, principal.practice_id, who, query)]


@router.post("/remittances/work-items/{item_id}/assign", response_model=AssignedPublic, responses=RESPONSES)
def assign_work_item(
    request: Request, item_id: str, body: AssignIn, principal: RemittancesPost
) -> dict[str, Any]:
    """Assign an unmatched 835 claim to one of our claims: it posts as if the payer had sent our number."""
    done = remittance_work.assign_work_item(
        state(request).engine, principal.practice_id, actor_of(principal), item_id, body.claim
    )
    return done.as_dict()


@router.post("/remittances/work-items/{item_id}/dismiss", response_model=WorkItemView, responses=RESPONSES)
def dismiss_work_item(
    request: Request, item_id: str, body: DismissIn, principal: RemittancesPost
) -> dict[str, Any]:
    """Close a worklist item with the reason nothing more is to be done."""
    engine, who = state(request).engine, actor_of(principal)
    remittances.dismiss_work_item(engine, principal.practice_id, who, item_id, body.reason)
    return remittance_work.work_item(engine, principal.practice_id, who, item_id).as_dict()


@router.get("/remittances/received", response_model=list[ReceivedPaymentPublic], responses=ERRORS)
def list_received_payments(
    request: Request, principal: RemittancesRead, limit: Annotated[int, Query(ge=1, le=500)] = 50
) -> list[dict[str, Any]]:
    """Received payments (835 / EFT), newest first: posted, denied and unmatched claims, and the
    bank deposit each was reconciled with (a mismatch when the amounts differ)."""
    rows = received_payments.received_payments(
        state(request).engine, principal.practice_id, actor_of(principal), limit=limit
    )
    return [r.as_dict() for r in rows]


@router.put("/remittances/{remittance_id}/deposit", response_model=ReceivedPaymentPublic, responses=RESPONSES)
def record_deposit(
    request: Request, remittance_id: str, body: DepositIn, principal: RemittancesPost
) -> dict[str, Any]:
    """Record the bank deposit (amount, date) a received payment arrived as."""
    row = received_payments.record_deposit(
        state(request).engine,
        principal.practice_id,
        actor_of(principal),
        remittance_id,
        body.amount,
        body.deposit_date,
        body.note,
    )
    return row.as_dict()


# --- eligibility -------------------------------------------------------------------------


@router.get(
    "/coverages/{coverage_id}/eligibility", response_model=list[EligibilityPublic], responses=RESPONSES
)
def eligibility_history(
    request: Request, coverage_id: str, principal: EligibilityRun
) -> list[dict[str, Any]]:
    """The coverage's eligibility checks, newest first."""
    rows = edi.eligibility_checks_of(state(request).engine, principal, coverage_id)
    audit_event(request, principal, "eligibility.list", "coverage", coverage_id)
    return [eligibility_public(r) for r in rows]


@router.post(
    "/coverages/{coverage_id}/eligibility/271",
    response_model=EligibilityPublic,
    status_code=status.HTTP_201_CREATED,
    responses=RESPONSES,
    openapi_extra=X12_BODY,
)
async def eligibility_from_271(
    request: Request, coverage_id: str, principal: EligibilityRun
) -> dict[str, Any]:
    """Read a 271 eligibility answer for this coverage and store the check."""
    engine = state(request).engine
    coverages.coverage_record(engine, principal, coverage_id)
    data = await _x12_body(request)
    new = edi.eligibility_from_271(engine, principal, coverage_id, data, _today(request))
    return eligibility_public(edi.eligibility_check_record(engine, principal, new))


# --- reports -----------------------------------------------------------------------------


@router.get("/reports/claims-by-status", response_model=list[StatusLine], responses=ERRORS)
def claims_by_status(request: Request, principal: ReportsRead) -> list[dict[str, Any]]:
    """How many claims are in each status, and their charges (no PHI)."""
    rows = claims.claims_by_status(state(request).engine, principal.practice_id, actor_of(principal))
    return [{"status": s, "claims": n, "total_charge": str(from_cents(t))} for s, n, t in rows]
