"""Stateless coding endpoints: ``POST /api/v1/units`` and ``POST /api/v1/scrub``.

Both take the encounter document of ``spec/encounter.md`` as the JSON body (units also
accepts the partial document: services and ``coverage.payer_profile``). Nothing is stored.
"""

from __future__ import annotations

import importlib
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from therabill.domain.timing import UnitMethod
from therabill.entrypoints.api.schemas import ERRORS, ScrubPublic, UnitsPublic
from therabill.entrypoints.http.deps import now, requires
from therabill.entrypoints.http.errors import ApiError
from therabill.schemas.encounter import parse_encounter, parse_units_request
from therabill.security.permissions import Permission
from therabill.service_layer.accounts import Principal
from therabill.service_layer.coding import units_of

router = APIRouter(prefix="/api/v1", tags=["coding"])

MAX_DOCUMENT_BYTES = 1024 * 1024


def _body(name: str) -> dict[str, Any]:
    return {
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{name}"}}},
        }
    }


async def read_document(request: Request) -> bytes:
    """The raw JSON body, refused when larger than ``MAX_DOCUMENT_BYTES``."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > MAX_DOCUMENT_BYTES:
        raise ApiError(413, "too-large", f"the document is larger than {MAX_DOCUMENT_BYTES} bytes")
    body = await request.body()
    if len(body) > MAX_DOCUMENT_BYTES:
        raise ApiError(413, "too-large", f"the document is larger than {MAX_DOCUMENT_BYTES} bytes")
    return body


def scrub_document(encounter: Any, as_of: date) -> dict[str, Any]:
    """Run the scrubber (``therabill.scrubber.scrub``) and shape its result for the API."""
    try:
        scrub = importlib.import_module("therabill.scrubber").scrub
    except AttributeError:
        raise ApiError(503, "not-available", "the claim scrubber is not installed") from None
    result = scrub(encounter, as_of)
    data = dict(result.as_dict())
    findings = [f if isinstance(f, dict) else f.as_dict() for f in data.get("findings", [])]
    data["findings"] = findings
    data["as_of"] = as_of.isoformat()
    data.setdefault("ok", not any(f.get("severity") == "error" for f in findings))
    return data


@router.post(
    "/units",
    response_model=UnitsPublic,
    responses=ERRORS,
    openapi_extra=_body("UnitsRequest"),
    summary="Units from minutes by the 8-minute rule, explained",
)
async def units(
    request: Request,
    _: Annotated[Principal, Depends(requires(Permission.CODING_USE))],
    method: Annotated[UnitMethod | None, Query(description="Override the payer profile's method.")] = None,
) -> dict[str, Any]:
    """Compute billable units of the services (the payer profile's method unless overridden)."""
    doc = parse_units_request(await read_document(request))
    profile = doc.coverage.payer_profile if doc.coverage else None
    return units_of(doc.services, profile, method).as_dict()


@router.post(
    "/scrub",
    response_model=ScrubPublic,
    responses=ERRORS,
    openapi_extra=_body("Encounter"),
    summary="Check an encounter against the claim rules before a claim is made",
)
async def scrub(
    request: Request,
    _: Annotated[Principal, Depends(requires(Permission.CODING_USE))],
    as_of: Annotated[date | None, Query(description="The day to check as of (default: today, UTC).")] = None,
) -> dict[str, Any]:
    """Scrub the encounter: every finding with its rule id, severity, fix and source."""
    encounter = parse_encounter(await read_document(request))
    return scrub_document(encounter, as_of or now(request).date())
