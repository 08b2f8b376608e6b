"""``/api/v1/patients/{id}/intake``: the client's health history; a visit's intake check.

* ``GET  /api/v1/patients/{id}/intake``: the current version and the list of versions
  (``patients.read``).
* ``POST /api/v1/patients/{id}/intake``: a new version from the intake document
  (``patients.write``: the front desk enters what the client filled in).
* ``POST /api/v1/patients/{id}/intake/sign``: the therapist signs the current version
  (``visits.write``).
* ``GET  /api/v1/visits/{id}/intake-check``: the visit checked against the intake
  (``visits.read``): absolute, local (with regions not to work on) and precautions, and
  whether the visit may be billed.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status

from therabill.domain.intake import IntakeVersion, intake_to_dict
from therabill.entrypoints.api.routes.coding import read_document
from therabill.entrypoints.api.schemas import ERRORS, NOT_FOUND
from therabill.entrypoints.http import audit
from therabill.entrypoints.http.deps import requires, state
from therabill.entrypoints.http.errors import ApiError
from therabill.security.permissions import Permission
from therabill.service_layer import intake as svc
from therabill.service_layer.accounts import Principal

router = APIRouter(prefix="/api/v1", tags=["intake"])


def version_dict(v: IntakeVersion) -> dict[str, Any]:
    """The JSON shape of an intake version."""
    return {
        "id": v.id,
        "patient_id": v.patient_id,
        "version": v.version,
        "created_by": v.created_by,
        "created_at": v.created_at.isoformat(),
        "signed_by": v.signed_by,
        "signed_at": v.signed_at.isoformat() if v.signed_at else None,
        "content": intake_to_dict(v.record),
    }


_audit = audit.audit_event


def _actor(principal: Principal) -> str:
    return audit.actor_of(principal)


@router.get("/patients/{patient_id}/intake", responses={**ERRORS, **NOT_FOUND})
def get_intake(
    request: Request,
    patient_id: str,
    principal: Annotated[Principal, Depends(requires(Permission.PATIENTS_READ))],
) -> dict[str, Any]:
    """The patient's current health history and the list of its versions (newest first)."""
    history = svc.intake_history(state(request).engine, principal.practice_id, _actor(principal), patient_id)
    _audit(request, principal, "intake.view", "patient", patient_id)
    return {
        "current": version_dict(history[0]) if history else None,
        "versions": [
            {
                "version": v.version,
                "created_by": v.created_by,
                "created_at": v.created_at.isoformat(),
                "signed_by": v.signed_by,
            }
            for v in history
        ],
    }


@router.post(
    "/patients/{patient_id}/intake", status_code=status.HTTP_201_CREATED, responses={**ERRORS, **NOT_FOUND}
)
async def post_intake(
    request: Request,
    patient_id: str,
    principal: Annotated[Principal, Depends(requires(Permission.INTAKE_WRITE))],
) -> dict[str, Any]:
    """Store a new version of the health history (the body is the intake document)."""
    import json

    try:
        data = json.loads(await read_document(request))
    except ValueError:
        raise ApiError(422, "invalid-input", "the body must be a JSON intake document") from None
    version = svc.record_intake(
        state(request).engine, principal.practice_id, _actor(principal), patient_id, data
    )
    return version_dict(version)


@router.post("/patients/{patient_id}/intake/sign", responses={**ERRORS, **NOT_FOUND})
def sign_intake(
    request: Request,
    patient_id: str,
    principal: Annotated[Principal, Depends(requires(Permission.VISITS_WRITE))],
    version: Annotated[int | None, Query(description="The version to sign (default: current).")] = None,
) -> dict[str, Any]:
    """The therapist reviews and signs a version."""
    signed = svc.sign_intake(
        state(request).engine, principal.practice_id, _actor(principal), patient_id, version
    )
    return version_dict(signed)


@router.get("/visits/{visit_id}/intake-check", responses={**ERRORS, **NOT_FOUND})
def visit_check(
    request: Request,
    visit_id: str,
    principal: Annotated[Principal, Depends(requires(Permission.VISITS_READ))],
    reported: Annotated[list[str] | None, Query(description="What the client reports today.")] = None,
) -> dict[str, Any]:
    """The visit checked against the current intake, and whether it may be billed."""
    result = svc.check_visit_intake(
        state(request).engine,
        principal.practice_id,
        _actor(principal),
        visit_id,
        reported=reported or (),
        viewer=principal,
    )
    _audit(request, principal, "intake.check", "visit", visit_id)
    return result.as_dict()
