"""``/api/v1/booking``: a practice's public booking data, for a booking widget on its own site.

Open to anyone, like the public page ``/book/<slug>`` (no PHI: services, therapists' names,
free starts); a practice that has not opened online booking answers 404, like one that does
not exist. Both surfaces call the same service functions (``booking.offer``,
``booking.open_slots``), so the API lists exactly the times the page offers (a contract test
says so). Booking itself goes through the page: its confirmation link is emailed.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from therabill.domain.errors import NotFoundError
from therabill.entrypoints.api.schemas import ERRORS, NOT_FOUND
from therabill.entrypoints.http.deps import public, state
from therabill.entrypoints.http.errors import not_found
from therabill.service_layer import booking

router = APIRouter(prefix="/api/v1/booking", tags=["online booking"])

Anyone = Annotated[None, Depends(public())]
RESPONSES: dict[int | str, dict[str, Any]] = {**ERRORS, **NOT_FOUND}


def _practice(request: Request, slug: str) -> booking.PublicPractice:
    try:
        return booking.open_practice(state(request).engine, slug)
    except NotFoundError:
        raise not_found("booking page") from None


@router.get("/{slug}", responses=RESPONSES)
def practice_offer(request: Request, slug: str, _: Anyone) -> dict[str, Any]:
    """The practice's name, services (price as text), therapists, and whether it approves bookings."""
    practice = _practice(request, slug)
    offer = booking.offer(state(request).engine, practice.id)
    return {
        "name": practice.name,
        "time_zone": practice.time_zone,
        "requires_approval": practice.settings.requires_approval,
        "card_on_file_notice": practice.settings.card_on_file_notice,
        "policies": practice.settings.policies,
        "services": [
            {"id": s.id, "name": s.name, "duration_minutes": s.duration_minutes, "price": str(s.price)}
            for s in offer.services
        ],
        "therapists": [{"id": t, "name": name} for t, name in offer.therapists],
        "book_url": f"/book/{practice.slug}",
    }


@router.get("/{slug}/slots", responses=RESPONSES)
def practice_slots(
    request: Request,
    slug: str,
    _: Anyone,
    service_id: Annotated[str, Query(max_length=32)],
    day: Annotated[date, Query()],
    provider_id: Annotated[str | None, Query(max_length=32)] = None,
) -> list[dict[str, Any]]:
    """Free starts a client may book online for the service on a local day."""
    practice = _practice(request, slug)
    slots = booking.open_slots(
        state(request).engine, practice.id, service_id=service_id, day=day, provider_id=provider_id
    )
    return [
        {
            "start_local": s.start_local.isoformat(),
            "start": s.start.isoformat() + "Z",
            "provider_id": s.provider_id,
            "provider_name": s.provider_name,
        }
        for s in slots
    ]
