"""``/api/v1``: the calendar. Services, rooms, working hours, time off, appointments, free slots.

Every route calls one function of the calendar services (``schedule_setup``, ``appointments``,
``availability``, ``appointment_series``). Times in bodies and answers
are the practice's local wall-clock time (``start_local``, ISO without offset); answers also
carry the stored UTC (``start``, ``...Z``). Bodies refuse unknown fields (422).

* services, rooms, calendar and reminder policy: read ``schedule.read``, write ``settings.manage``;
* hours, time off, appointments: read ``schedule.read``, write ``schedule.write``;
* a therapist's calendar feed URL (issue, revoke, rotate): the therapist for themselves, owner
  and front desk for anyone.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Query, Request, Response, status
from pydantic import BaseModel, ConfigDict, Field

from therabill.entrypoints.api.schemas import ERRORS, NOT_FOUND
from therabill.entrypoints.http import audit
from therabill.entrypoints.http.deps import client_ip, requires, state
from therabill.security.permissions import Permission
from therabill.service_layer import appointment_series, appointments, calendar_feed, reminders, schedule_setup
from therabill.service_layer import availability as free_times
from therabill.service_layer.accounts import Principal

router = APIRouter(prefix="/api/v1", tags=["schedule"])

Reader = Annotated[Principal, Depends(requires(Permission.SCHEDULE_READ))]
Writer = Annotated[Principal, Depends(requires(Permission.SCHEDULE_WRITE))]
Manager = Annotated[Principal, Depends(requires(Permission.SETTINGS_MANAGE))]
RESPONSES: dict[int | str, dict[str, Any]] = {**ERRORS, **NOT_FOUND}


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ServiceCreate(_In):
    """A new service."""

    name: str = Field(min_length=1, max_length=120)
    duration_minutes: int = Field(ge=5, le=480)
    price: Decimal = Field(ge=0, max_digits=10, decimal_places=2)
    buffer_minutes: int = Field(default=0, ge=0, le=120)
    codes: list[str] = Field(default_factory=list, max_length=4)
    provider_ids: list[str] = Field(default_factory=list)
    room_ids: list[str] = Field(default_factory=list)


class RoomCreate(_In):
    """A new room or table."""

    name: str = Field(min_length=1, max_length=80)


class ServiceUpdate(_In):
    """What changes of a service (fields left out stay)."""

    name: str | None = Field(default=None, min_length=1, max_length=120)
    duration_minutes: int | None = Field(default=None, ge=5, le=480)
    price: Decimal | None = Field(default=None, ge=0, max_digits=10, decimal_places=2)
    buffer_minutes: int | None = Field(default=None, ge=0, le=120)
    codes: list[str] | None = Field(default=None, max_length=4)
    provider_ids: list[str] | None = None
    room_ids: list[str] | None = None
    active: bool | None = None


class RoomUpdate(_In):
    """What changes of a room (fields left out stay)."""

    name: str | None = Field(default=None, min_length=1, max_length=80)
    active: bool | None = None


class ReminderPolicyPut(_In):
    """When and how reminders go (``hours_before`` null: off)."""

    hours_before: int | None = Field(ge=1, le=168)
    email: bool = True
    sms: bool = False


class HoursIn(_In):
    """A working stretch: weekday 0 (Monday) to 6, ``HH:MM`` local."""

    weekday: int = Field(ge=0, le=6)
    start: str = Field(pattern=r"^\d{2}:\d{2}$")
    end: str = Field(pattern=r"^\d{2}:\d{2}$")


class HoursPut(_In):
    """The whole week of a therapist (replaces what is on file)."""

    hours: list[HoursIn]


class TimeOffCreate(_In):
    """Time a therapist is away (local times)."""

    start_local: datetime
    end_local: datetime
    reason: str | None = Field(default=None, max_length=200)


class AppointmentCreate(_In):
    """A booking; with ``weekly_count`` or ``weekly_until`` a weekly series."""

    patient_id: str
    provider_id: str
    start_local: datetime
    service_id: str | None = None
    room_id: str | None = None
    end_local: datetime | None = None
    reason: str | None = Field(default=None, max_length=200)
    weekly_count: int | None = Field(default=None, ge=1, le=104)
    weekly_until: date | None = None
    skip_conflicts: bool = False


class AppointmentMove(_In):
    """A reschedule of one occurrence, or of it and the rest of its series."""

    start_local: datetime
    provider_id: str | None = None
    room_id: str | None = None
    scope: Literal["one", "rest"] = "one"


class StatusChange(_In):
    """A status: scheduled, confirmed, arrived, completed, no_show, late_cancel, cancelled."""

    status: str


class CancelIn(_In):
    """Cancel one occurrence, or it and the rest of its series."""

    scope: Literal["one", "rest"] = "one"


class PolicyPut(_In):
    """The practice's zone and no-show / late-cancel policy (fields left out stay)."""

    time_zone: str | None = None
    no_show_fee: Decimal | None = Field(default=None, ge=0, max_digits=10, decimal_places=2)
    late_cancel_fee: Decimal | None = Field(default=None, ge=0, max_digits=10, decimal_places=2)
    late_cancel_window_hours: int | None = Field(default=None, ge=0, le=168)


def _actor(principal: Principal) -> str:
    return audit.actor_of(principal)


def _args(request: Request, principal: Principal) -> tuple[Any, str, str]:
    return state(request).engine, principal.practice_id, _actor(principal)


def _audit_view(request: Request, principal: Principal, object_type: str, object_id: str | None) -> None:
    st = state(request)
    with st.engine.begin() as conn:
        audit.record(
            conn,
            principal,
            action="schedule.view",
            object_type=object_type,
            object_id=object_id,
            at=st.now(),
            ip=client_ip(request),
        )


def _service_dict(s: schedule_setup.Service) -> dict[str, Any]:
    out = asdict(s)
    out["price"] = str(s.price)
    for key in ("codes", "provider_ids", "room_ids"):
        out[key] = list(out[key])
    return out


def _policy_dict(p: schedule_setup.CalendarPolicy) -> dict[str, Any]:
    return {
        "time_zone": p.time_zone,
        "no_show_fee": str(p.no_show_fee) if p.no_show_fee is not None else None,
        "late_cancel_fee": str(p.late_cancel_fee) if p.late_cancel_fee is not None else None,
        "late_cancel_window_hours": p.late_cancel_window_hours,
    }


# -- policy, services, rooms ---------------------------------------------------------------------


@router.get("/calendar-policy", responses=ERRORS)
def get_policy(request: Request, principal: Reader) -> dict[str, Any]:
    """The practice's time zone and no-show / late-cancel policy."""
    return _policy_dict(schedule_setup.calendar_policy(*_args(request, principal)))


@router.put("/calendar-policy", responses=ERRORS)
def put_policy(request: Request, body: PolicyPut, principal: Manager) -> dict[str, Any]:
    """Change the time zone or the fee policy."""
    return _policy_dict(schedule_setup.set_calendar_policy(*_args(request, principal), **body.model_dump()))


@router.get("/services", responses=ERRORS)
def list_services(request: Request, principal: Reader) -> list[dict[str, Any]]:
    """The services the practice offers."""
    return [_service_dict(s) for s in schedule_setup.list_services(*_args(request, principal))]


@router.post("/services", status_code=status.HTTP_201_CREATED, responses=RESPONSES)
def create_service(request: Request, body: ServiceCreate, principal: Manager) -> dict[str, Any]:
    """Offer a service."""
    return _service_dict(schedule_setup.add_service(*_args(request, principal), **body.model_dump()))


@router.get("/services/{service_id}", responses=RESPONSES)
def get_service(request: Request, service_id: str, principal: Reader) -> dict[str, Any]:
    """One service."""
    return _service_dict(schedule_setup.get_service(*_args(request, principal), service_id))


@router.get("/rooms", responses=ERRORS)
def list_rooms(request: Request, principal: Reader) -> list[dict[str, Any]]:
    """The practice's rooms and tables."""
    return [asdict(r) for r in schedule_setup.list_rooms(*_args(request, principal))]


@router.post("/rooms", status_code=status.HTTP_201_CREATED, responses=ERRORS)
def create_room(request: Request, body: RoomCreate, principal: Manager) -> dict[str, Any]:
    """Add a room or table."""
    return asdict(schedule_setup.add_room(*_args(request, principal), name=body.name))


@router.patch("/services/{service_id}", responses=RESPONSES)
def update_service(
    request: Request, service_id: str, body: ServiceUpdate, principal: Manager
) -> dict[str, Any]:
    """Change a service; booked appointments keep their times."""
    changes = body.model_dump(exclude_unset=True)
    return _service_dict(schedule_setup.update_service(*_args(request, principal), service_id, **changes))


@router.patch("/rooms/{room_id}", responses=RESPONSES)
def update_room(request: Request, room_id: str, body: RoomUpdate, principal: Manager) -> dict[str, Any]:
    """Rename a room or take it out of use."""
    return asdict(
        schedule_setup.update_room(*_args(request, principal), room_id, **body.model_dump(exclude_unset=True))
    )


def _reminder_dict(p: reminders.ReminderPolicy) -> dict[str, Any]:
    return {"hours_before": p.hours_before, "email": p.email, "sms": p.sms}


@router.get("/reminder-policy", responses=ERRORS)
def get_reminder_policy(request: Request, principal: Reader) -> dict[str, Any]:
    """When and how appointment reminders go."""
    return _reminder_dict(reminders.reminder_policy(*_args(request, principal)))


@router.put("/reminder-policy", responses=ERRORS)
def put_reminder_policy(request: Request, body: ReminderPolicyPut, principal: Manager) -> dict[str, Any]:
    """Set when and how appointment reminders go."""
    return _reminder_dict(reminders.set_reminder_policy(*_args(request, principal), **body.model_dump()))


# -- hours and time off ------------------------------------------------------------------------


def _hours_list(hours: list[Any]) -> list[dict[str, Any]]:
    return [{"weekday": h.weekday, "start": f"{h.start:%H:%M}", "end": f"{h.end:%H:%M}"} for h in hours]


@router.get("/providers/{provider_id}/hours", responses=RESPONSES)
def get_hours(request: Request, provider_id: str, principal: Reader) -> list[dict[str, Any]]:
    """A therapist's weekly working hours."""
    return _hours_list(schedule_setup.working_hours_of(*_args(request, principal), provider_id))


@router.put("/providers/{provider_id}/hours", responses=RESPONSES)
def put_hours(request: Request, provider_id: str, body: HoursPut, principal: Writer) -> list[dict[str, Any]]:
    """Replace a therapist's weekly working hours."""
    hours = [(h.weekday, h.start, h.end) for h in body.hours]
    schedule_setup.set_working_hours(*_args(request, principal), provider_id, hours)
    return _hours_list(schedule_setup.working_hours_of(*_args(request, principal), provider_id))


@router.post("/providers/{provider_id}/time-off", status_code=status.HTTP_201_CREATED, responses=RESPONSES)
def create_time_off(
    request: Request, provider_id: str, body: TimeOffCreate, principal: Writer
) -> dict[str, Any]:
    """Block a therapist's time."""
    new = schedule_setup.add_time_off(*_args(request, principal), provider_id, **body.model_dump())
    return {"id": new, "provider_id": provider_id, **body.model_dump(mode="json")}


@router.get("/time-off", responses=RESPONSES)
def list_time_off(
    request: Request,
    principal: Reader,
    provider_id: Annotated[str | None, Query(max_length=32)] = None,
    include_past: bool = False,
) -> list[dict[str, Any]]:
    """Time off, soonest first (every therapist's, or one's); ended stretches if asked."""
    found = schedule_setup.list_time_off(
        *_args(request, principal), provider_id=provider_id, include_past=include_past
    )
    return [t.as_dict() for t in found]


@router.delete("/time-off/{time_off_id}", status_code=status.HTTP_204_NO_CONTENT, responses=RESPONSES)
def delete_time_off(request: Request, time_off_id: str, principal: Writer) -> Response:
    """Remove a stretch of time off."""
    schedule_setup.delete_time_off(*_args(request, principal), time_off_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/providers/{provider_id}/calendar-feed", status_code=status.HTTP_201_CREATED, responses=RESPONSES
)
def create_calendar_feed(request: Request, provider_id: str, principal: Reader) -> dict[str, Any]:
    """A new signed iCalendar feed URL of a therapist's appointments (valid a year)."""
    token = calendar_feed.feed_link(state(request).engine, principal, _actor(principal), provider_id)
    base = (request.app.state.settings.public_url or str(request.base_url)).rstrip("/")
    return {"url": f"{base}/calendar/feed/{token}.ics", "provider_id": provider_id}


@router.delete(
    "/providers/{provider_id}/calendar-feed", status_code=status.HTTP_204_NO_CONTENT, responses=RESPONSES
)
def revoke_calendar_feed(request: Request, provider_id: str, principal: Reader) -> Response:
    """Revoke every feed URL of the therapist issued so far (they answer 410 Gone)."""
    calendar_feed.revoke_feed(state(request).engine, principal, _actor(principal), provider_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post(
    "/providers/{provider_id}/calendar-feed/rotate", status_code=status.HTTP_201_CREATED, responses=RESPONSES
)
def rotate_calendar_feed(request: Request, provider_id: str, principal: Reader) -> dict[str, Any]:
    """Revoke the therapist's feed URLs and issue the new one, at once."""
    token = calendar_feed.rotate_feed(state(request).engine, principal, _actor(principal), provider_id)
    base = (request.app.state.settings.public_url or str(request.base_url)).rstrip("/")
    return {"url": f"{base}/calendar/feed/{token}.ics", "provider_id": provider_id}


# -- appointments --------------------------------------------------------------------------------


@router.get("/appointments", responses=ERRORS)
def list_appointments(
    request: Request,
    principal: Reader,
    day: Annotated[date | None, Query(description="First local day (default: today).")] = None,
    days: Annotated[int, Query(ge=1, le=31)] = 1,
    provider_id: Annotated[str | None, Query()] = None,
) -> list[dict[str, Any]]:
    """Appointments starting on the local days asked for."""
    engine, pid, actor = _args(request, principal)
    first = day or appointments.local_today(engine, pid, actor)
    found = appointments.appointments_on(engine, pid, actor, first, days=days, provider_id=provider_id)
    _audit_view(request, principal, "calendar", None)
    return [a.as_dict() for a in found]


@router.post("/appointments", status_code=status.HTTP_201_CREATED, responses=RESPONSES)
def create_appointment(request: Request, body: AppointmentCreate, principal: Writer) -> dict[str, Any]:
    """Book an appointment, or a weekly series (``weekly_count`` / ``weekly_until``)."""
    data = body.model_dump(exclude={"weekly_count", "weekly_until", "skip_conflicts"})
    if body.weekly_count is None and body.weekly_until is None:
        return {
            "appointments": [appointments.book(*_args(request, principal), **data).as_dict()],
            "conflicts": [],
        }
    first = data.pop("start_local")
    result = appointment_series.book_weekly(
        *_args(request, principal),
        first_local=first,
        count=body.weekly_count,
        until=body.weekly_until,
        skip_conflicts=body.skip_conflicts,
        **data,
    )
    return {
        "series_id": result.series_id,
        "rule": result.rule,
        "appointments": [a.as_dict() for a in result.booked],
        "conflicts": [{"code": p.code, "loc": p.loc, "message": p.message} for p in result.conflicts],
    }


@router.get("/appointments/{appointment_id}", responses=RESPONSES)
def get_appointment(request: Request, appointment_id: str, principal: Reader) -> dict[str, Any]:
    """One appointment."""
    found = appointments.get_appointment(*_args(request, principal), appointment_id)
    _audit_view(request, principal, "appointment", appointment_id)
    return found.as_dict()


@router.patch("/appointments/{appointment_id}", responses=RESPONSES)
def move_appointment(
    request: Request, appointment_id: str, body: AppointmentMove, principal: Writer
) -> list[dict[str, Any]]:
    """Reschedule one occurrence, or it and the rest of its series (all or nothing)."""
    if body.scope == "rest":
        moved = appointment_series.move_series_from(
            *_args(request, principal), appointment_id, start_local=body.start_local
        )
        return [a.as_dict() for a in moved]
    one = appointments.reschedule(
        *_args(request, principal),
        appointment_id,
        start_local=body.start_local,
        provider_id=body.provider_id,
        room_id=body.room_id,
    )
    return [one.as_dict()]


@router.post("/appointments/{appointment_id}/status", responses=RESPONSES)
def change_status(
    request: Request, appointment_id: str, body: StatusChange, principal: Writer
) -> dict[str, Any]:
    """Move an appointment to a status (a no-show posts the policy's fee)."""
    return appointments.set_status(*_args(request, principal), appointment_id, body.status).as_dict()


@router.post("/appointments/{appointment_id}/cancel", responses=RESPONSES)
def cancel_appointment(
    request: Request, appointment_id: str, body: CancelIn, principal: Writer
) -> list[dict[str, Any]]:
    """Cancel (late cancel with the policy's fee inside the window), or cancel the rest of the series."""
    if body.scope == "rest":
        return [
            a.as_dict()
            for a in appointment_series.cancel_series_from(*_args(request, principal), appointment_id)
        ]
    return [appointments.cancel(*_args(request, principal), appointment_id).as_dict()]


@router.post("/appointments/{appointment_id}/check-in", responses=RESPONSES)
def check_in(request: Request, appointment_id: str, principal: Writer) -> dict[str, Any]:
    """Check the client in: the visit-note pre-fill, current authorizations and intake status."""
    done = appointments.check_in(*_args(request, principal), appointment_id)
    return {
        "appointment": done.appointment.as_dict(),
        "prefill": done.prefill,
        "authorizations": [
            {**a, "start_date": str(a["start_date"] or ""), "end_date": str(a["end_date"] or "")}
            for a in done.authorizations
        ],
        "intake": done.intake,
    }


@router.get("/appointments/{appointment_id}/reminders", responses=RESPONSES)
def appointment_reminders(request: Request, appointment_id: str, principal: Reader) -> list[dict[str, Any]]:
    """The reminders recorded for an appointment (``Not confirmed``: may or may not have gone)."""
    return [
        {
            "channel": r.channel,
            "start_local": r.start_local.isoformat(),
            "status": r.status,
            "status_label": r.status_label,
            "at": r.at.isoformat(),
            "error": r.error,
        }
        for r in reminders.reminders_of(*_args(request, principal), appointment_id)
    ]


@router.get("/availability", responses=RESPONSES)
def availability(
    request: Request,
    principal: Reader,
    service_id: Annotated[str, Query()],
    day: Annotated[date, Query()],
    provider_id: Annotated[str | None, Query()] = None,
    room_id: Annotated[str | None, Query()] = None,
) -> list[dict[str, Any]]:
    """Free starts for a service on a local day."""
    slots = free_times.availability(
        *_args(request, principal), service_id=service_id, day=day, provider_id=provider_id, room_id=room_id
    )
    return [
        {
            "start_local": s.start_local.isoformat(),
            "start": s.start.isoformat() + "Z",
            "provider_id": s.provider_id,
            "provider_name": s.provider_name,
            "room_id": s.room_id,
        }
        for s in slots
    ]
