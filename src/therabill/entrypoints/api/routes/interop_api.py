"""``GET /api/v1/patients/{patient_id}/fhir``: the patient's record as a FHIR R4 Bundle.

The Bundle is checked with the ``fhir.resources`` R4B models before it is returned; the
export is written to the audit log (it is a read of PHI). An id of another practice answers
404 exactly like a missing one.
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from therabill.entrypoints.api.schemas import ERRORS, NOT_FOUND
from therabill.entrypoints.http.audit import actor_of
from therabill.entrypoints.http.deps import requires, state
from therabill.security.permissions import Permission
from therabill.service_layer.accounts import Principal
from therabill.service_layer.interop import patient_bundle, validate_bundle
from therabill.service_layer.visibility import record_view

router = APIRouter(prefix="/api/v1", tags=["interoperability"])


@router.get(
    "/patients/{patient_id}/fhir",
    responses={**ERRORS, **NOT_FOUND, 200: {"content": {"application/fhir+json": {}}}},
    summary="A patient's record as a FHIR R4 Bundle",
)
def patient_fhir(
    patient_id: str,
    request: Request,
    principal: Annotated[Principal, Depends(requires(Permission.PATIENTS_READ))],
) -> Any:
    """Patient, Coverage, Encounter, Condition, Procedure, Observation, Claim, ExplanationOfBenefit.

    Only what the caller may see: visits and their diagnoses, procedures and measures need
    ``visits.read`` (a therapist: their own visits only), claims and EOBs ``claims.read``.
    """
    from fastapi.responses import Response

    st = state(request)
    view = record_view(principal)
    bundle = patient_bundle(
        st.engine,
        principal.practice_id,
        actor_of(principal),
        patient_id,
        now=st.now(),
        clinical=view.clinical,
        billing=view.billing,
        provider_id=view.provider_id,
    )
    model = validate_bundle(bundle)
    body = json.dumps(json.loads(model.model_dump_json(exclude_none=True)))
    return Response(content=body, media_type="application/fhir+json")
