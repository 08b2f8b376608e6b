"""The claim lifecycle over REST: edit a visit, void / correct / re-bill a claim, its versions,
the follow-up worklist with its actions, the appeal letter, and a patient's case facts.

* ``PATCH /api/v1/visits/{id}``: edit a saved visit (``visits.write``); its unsent claim is
  re-coded and re-scrubbed as a new version.
* ``POST /api/v1/claims/{id}/void|correct|rebill`` (``claims.write``); ``GET .../versions``.
* ``GET /api/v1/followup``, ``PATCH /api/v1/claims/{id}/followup``,
  ``POST /api/v1/claims/{id}/followup/actions`` (``claims.read`` / ``claims.write``).
* ``POST /api/v1/claims/{id}/appeal-letter`` (``claims.export``): the PDF.
* ``GET /api/v1/patients/{id}/case``: the accident and employment facts later visits carry.

Every route calls the one use case the web pages and the CLI call.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response
from pydantic import BaseModel, ConfigDict, Field

from therabill.entrypoints.api.schemas import ERRORS, NOT_FOUND
from therabill.entrypoints.http import audit
from therabill.entrypoints.http.deps import state
from therabill.entrypoints.http.who import ClaimsExport, ClaimsRead, ClaimsWrite, PatientsRead, VisitsWrite
from therabill.service_layer import appeals, cases, claim_changes, claim_versions, followup
from therabill.service_layer import visits as visits_svc
from therabill.service_layer.accounts import Principal
from therabill.service_layer.patients import patient as patient_record

router = APIRouter(prefix="/api/v1", tags=["claim lifecycle"])
RESPONSES = {**ERRORS, **NOT_FOUND}


def _actor(principal: Principal) -> str:
    return audit.actor_of(principal)


def _today(request: Request) -> date:
    return state(request).now().date()


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RelatedCausesIn(_In):
    """Accident and employment facts (box 10, CLM11, DTP*439, REF*Y4)."""

    employment: bool = False
    auto_accident: bool = False
    auto_accident_state: str | None = Field(default=None, pattern=r"^[A-Z]{2}$")
    other_accident: bool = False
    accident_date: date | None = None
    property_casualty_claim_number: str | None = Field(default=None, min_length=1, max_length=50)
    employer_name: str | None = Field(default=None, min_length=1, max_length=60)


class VisitChanges(_In):
    """The parts of a saved visit to change (each as in the encounter document); only the
    fields given change."""

    start_time: str | None = Field(default=None, pattern=r"^\d{2}:\d{2}$")
    end_time: str | None = Field(default=None, pattern=r"^\d{2}:\d{2}$")
    place_of_service: str | None = Field(default=None, pattern=r"^\d{2}$")
    diagnoses: list[Annotated[str, Field(max_length=10)]] | None = Field(default=None, max_length=12)
    services: list[dict[str, Any]] | None = Field(default=None, max_length=50)
    documentation: dict[str, Any] | None = None
    related_causes: RelatedCausesIn | None = None
    onset_date: date | None = None

    def changes(self) -> dict[str, Any]:
        """The given fields as encounter-document values."""
        return self.model_dump(mode="json", exclude_unset=True)


class VisitEdit(VisitChanges):
    """An edit of a saved visit, with why (kept in the claim's history)."""

    reason: str | None = Field(default=None, max_length=200)

    def changes(self) -> dict[str, Any]:
        """The given fields without the reason."""
        out = super().changes()
        out.pop("reason", None)
        return out


class ClaimChange(_In):
    """A void, correction or re-bill: why, and (correct, re-bill) the visit changes."""

    reason: str | None = Field(default=None, max_length=200)
    changes: VisitChanges | None = None


class ChangePublic(BaseModel):
    """What a change did (``claim_id``: the new version, if one was made)."""

    kind: str
    visit_id: str
    old_claim_id: str | None
    old_status: str | None
    claim_id: str | None
    claim_number: str | None
    frequency: str | None
    status: str | None
    has_errors: bool
    note_version: int | None


class VersionPublic(BaseModel):
    """One version of a claim with who made it, when and why."""

    version: int
    claim_id: str
    claim_number: str
    kind: str
    frequency: str
    status: str
    total_charge_cents: int
    payer_claim_control_number: str | None
    replaces_claim_number: str | None
    created_at: str
    created_by: str
    reason: str | None


class FollowUpPublic(BaseModel):
    """A claim on the follow-up worklist."""

    claim_id: str
    claim_number: str
    status: str
    reason: str
    date_of_service: str
    age_days: int
    aging: str
    patient: str
    payer: str
    total_charge: str
    payer_claim_control_number: str | None
    state: str
    owner: str | None
    next_action_on: str | None
    remark_codes: list[str]
    actions: list[str]
    notes: list[dict[str, Any]]


class FollowUpChange(_In):
    """A note, an owner (``""`` clears it), a state, a next-action date, remark codes."""

    note: str | None = Field(default=None, max_length=2000)
    state: Literal["open", "in_progress", "waiting", "done"] | None = None
    owner: str | None = Field(default=None, max_length=80)
    next_action_on: date | None = None
    remark_codes: list[Annotated[str, Field(max_length=5)]] | None = Field(default=None, max_length=20)


class FollowUpAction(_In):
    """A worklist action with a note (``reason_code``: the CARC of a write-off)."""

    action: Literal["correct", "void", "rebill", "appeal", "write_off", "transfer_to_patient"]
    note: str | None = Field(default=None, max_length=2000)
    reason_code: str | None = Field(default=None, pattern=r"^[A-Z0-9]{1,3}$")


class ActionPublic(BaseModel):
    """What an action did."""

    action: str
    claim_id: str
    new_claim_id: str | None
    entries: int


class AppealIn(_In):
    """The argument of the appeal letter."""

    note: str = Field(min_length=1, max_length=4000)


@router.patch("/visits/{visit_id}", response_model=ChangePublic, responses=RESPONSES)
def edit_visit(request: Request, visit_id: str, body: VisitEdit, principal: VisitsWrite) -> dict[str, Any]:
    """Edit a saved visit until its claim is sent; the claim is re-coded and re-scrubbed."""
    visits_svc.visible_visit(state(request).engine, principal, visit_id)
    result = claim_changes.edit_visit(
        state(request).engine,
        principal.practice_id,
        _actor(principal),
        visit_id,
        body.changes(),
        as_of=_today(request),
        reason=body.reason,
    )
    return result.as_dict()


@router.post("/claims/{claim_id}/void", response_model=ChangePublic, responses=RESPONSES)
def void_claim(
    request: Request, claim_id: str, principal: ClaimsWrite, body: ClaimChange | None = None
) -> dict[str, Any]:
    """Void a claim: in place when the payer never got it, else a frequency-8 claim (REF*F8)."""
    result = claim_changes.void(
        state(request).engine,
        principal.practice_id,
        _actor(principal),
        claim_id,
        reason=body.reason if body else None,
    )
    return result.as_dict()


def _new_version(
    use_case: Callable[..., claim_changes.ChangeResult],
    request: Request,
    principal: Principal,
    claim_id: str,
    body: ClaimChange | None,
) -> dict[str, Any]:
    """A new version of the claim by ``use_case`` (a correction or a re-bill), as of today."""
    return use_case(
        state(request).engine,
        principal.practice_id,
        _actor(principal),
        claim_id,
        as_of=_today(request),
        changes=body.changes.changes() if body and body.changes else None,
        reason=body.reason if body else None,
    ).as_dict()


@router.post("/claims/{claim_id}/correct", response_model=ChangePublic, responses=RESPONSES)
def correct_claim(
    request: Request, claim_id: str, principal: ClaimsWrite, body: ClaimChange | None = None
) -> dict[str, Any]:
    """A corrected claim (frequency 7, REF*F8 = the payer's claim number), re-coded."""
    return _new_version(claim_changes.correct, request, principal, claim_id, body)


@router.post("/claims/{claim_id}/rebill", response_model=ChangePublic, responses=RESPONSES)
def rebill_claim(
    request: Request, claim_id: str, principal: ClaimsWrite, body: ClaimChange | None = None
) -> dict[str, Any]:
    """Bill a rejected claim again as a new original (frequency 1)."""
    return _new_version(claim_changes.rebill, request, principal, claim_id, body)


@router.get("/claims/{claim_id}/versions", response_model=list[VersionPublic], responses=RESPONSES)
def versions_of_claim(request: Request, claim_id: str, principal: ClaimsRead) -> list[dict[str, Any]]:
    """Every version of the claim, first to last, with who made it, when and why."""
    found = claim_versions.versions(state(request).engine, principal.practice_id, _actor(principal), claim_id)
    audit.audit_event(request, principal, "claim.versions", "claim", claim_id)
    return [v.as_dict() for v in found]


@router.get("/followup", response_model=list[FollowUpPublic], responses=ERRORS)
def followup_list(
    request: Request,
    response: Response,
    principal: ClaimsRead,
    days: Annotated[int, Query(ge=0, le=3650)] = followup.DEFAULT_UNPAID_DAYS,
    reason: Literal["denied", "rejected", "unpaid"] | None = None,
    owner: Annotated[str | None, Query(max_length=80)] = None,
    include_done: bool = False,
    limit: Annotated[int | None, Query(ge=1, le=1000)] = None,
) -> list[dict[str, Any]]:
    """Denied, rejected and unpaid claims, oldest date of service first: every one, or the oldest
    ``limit``; the ``X-Total-Count`` header says how many there are in all."""
    items, total = followup.worklist_head(
        state(request).engine,
        principal.practice_id,
        _actor(principal),
        as_of=_today(request),
        rows=limit,
        unpaid_days=days,
        reason=reason,
        owner=owner,
        include_done=include_done,
    )
    audit.audit_event(request, principal, "followup.list", "claim", None)
    response.headers["X-Total-Count"] = str(total)
    return [i.as_dict() for i in items]


@router.get("/claims/{claim_id}/followup", response_model=FollowUpPublic, responses=RESPONSES)
def followup_item(request: Request, claim_id: str, principal: ClaimsRead) -> dict[str, Any]:
    """The claim's follow-up item with its notes."""
    found = followup.item(
        state(request).engine, principal.practice_id, _actor(principal), claim_id, as_of=_today(request)
    )
    return found.as_dict()


@router.patch("/claims/{claim_id}/followup", response_model=FollowUpPublic, responses=RESPONSES)
def followup_update(
    request: Request, claim_id: str, body: FollowUpChange, principal: ClaimsWrite
) -> dict[str, Any]:
    """Add a note; set the owner, state, next-action date or remark codes."""
    found = followup.update(
        state(request).engine,
        principal.practice_id,
        _actor(principal),
        claim_id,
        as_of=_today(request),
        note=body.note,
        state=body.state,
        owner=body.owner,
        next_action_on=body.next_action_on,
        remark_codes=body.remark_codes,
    )
    return found.as_dict()


@router.post("/claims/{claim_id}/followup/actions", response_model=ActionPublic, responses=RESPONSES)
def followup_act(
    request: Request, claim_id: str, body: FollowUpAction, principal: ClaimsWrite
) -> dict[str, Any]:
    """Do a worklist action: correct, void, rebill, appeal, write off, transfer to the patient."""
    done = followup.act(
        state(request).engine,
        principal.practice_id,
        _actor(principal),
        claim_id,
        body.action,
        as_of=_today(request),
        note=body.note,
        reason_code=body.reason_code,
    )
    return done.as_dict()


@router.post(
    "/claims/{claim_id}/appeal-letter",
    responses={**RESPONSES, 200: {"content": {"application/pdf": {}}, "description": "The appeal letter"}},
    response_class=Response,
)
def appeal_letter(request: Request, claim_id: str, body: AppealIn, principal: ClaimsExport) -> Response:
    """The appeal letter (PDF): the note, the diagnoses, the CARC/RARC, the payer's address."""
    pdf, number = appeals.appeal_letter_pdf(
        state(request).engine,
        principal.practice_id,
        _actor(principal),
        claim_id,
        note=body.note,
        as_of=_today(request),
        signer=principal.display_name,
    )
    audit.audit_event(request, principal, "claim.export_appeal", "claim", claim_id)
    safe = "".join(c for c in number if c.isalnum() or c == "-")[:40] or "claim"
    return Response(
        pdf,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="appeal-{safe}.pdf"'},
    )


@router.get("/patients/{patient_id}/case", responses=RESPONSES)
def patient_case(request: Request, patient_id: str, principal: PatientsRead) -> dict[str, Any]:
    """The accident and employment facts the patient's next visits carry (``null`` when none)."""
    engine = state(request).engine
    patient_record(engine, principal.practice_id, _actor(principal), patient_id)
    facts = cases.case_facts(engine, principal.practice_id, _actor(principal), patient_id)
    audit.audit_event(request, principal, "patient.case", "patient", patient_id)
    return {"patient_id": patient_id, "related_causes": facts}
