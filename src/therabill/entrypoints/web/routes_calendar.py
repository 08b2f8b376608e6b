"""The calendar pages: day, week and per-therapist views; book, reschedule, statuses, check-in.

Every route calls the calendar services (``appointments``, ``availability``, ``schedule_setup``,
``appointment_series``) and renders; reading needs
``schedule.read``, changing ``schedule.write``. Times shown and typed are the practice's local
time. Moves and status changes post from small forms; with htmx they swap the appointment's
card in place, without it the browser follows the redirect. People read names, dates and
prices, never ids.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from therabill.domain.errors import Problem, TherabillError
from therabill.domain.schedule import ScheduleError
from therabill.entrypoints.http.audit import audit_event
from therabill.entrypoints.http.deps import requires, state
from therabill.entrypoints.web.pages import actor, render
from therabill.security.permissions import Permission, allowed
from therabill.service_layer import (
    appointment_series,
    appointments,
    availability,
    calendar_feed,
    reminders,
    schedule_setup,
)
from therabill.service_layer.accounts import Principal

router = APIRouter(include_in_schema=False)

ScheduleRead = Annotated[Principal, Depends(requires(Permission.SCHEDULE_READ))]
ScheduleWrite = Annotated[Principal, Depends(requires(Permission.SCHEDULE_WRITE))]

STATUS_ACTIONS = (
    ("confirmed", "Confirm"),
    ("arrived", "Check in"),
    ("completed", "Complete"),
    ("no_show", "No-show"),
    ("scheduled", "Re-book"),
)


def _args(request: Request, principal: Principal) -> tuple[Any, str, str]:
    return state(request).engine, principal.practice_id, actor(principal)


def _day(text: str | None, request: Request, principal: Principal) -> date:
    if text:
        try:
            return date.fromisoformat(text)
        except ValueError:
            pass
    return appointments.local_today(*_args(request, principal))


@router.get("/calendar", response_class=HTMLResponse)
def calendar_page(
    request: Request,
    principal: ScheduleRead,
    day: Annotated[str | None, Query()] = None,
    view: Annotated[str, Query(pattern="^(day|week)$")] = "day",
    therapist: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    """The day (grouped by therapist) or the week (grouped by day), optionally one therapist's."""
    first = _day(day, request, principal)
    if view == "week":
        first = first - timedelta(days=first.weekday())
    days = 7 if view == "week" else 1
    setup = schedule_setup.calendar_setup(*_args(request, principal))
    found = appointments.appointments_on(
        *_args(request, principal), first, days=days, provider_id=therapist or None
    )
    groups: list[tuple[str, list[appointments.Appointment]]]
    if view == "week":
        groups = [
            (f"{d:%a %b %-d}", [a for a in found if a.start_local.date() == d])
            for d in (first + timedelta(days=i) for i in range(7))
        ]
    else:
        names = dict(setup.therapists)
        shown = [therapist] if therapist else [t for t, _ in setup.therapists]
        groups = [(names.get(t, ""), [a for a in found if a.provider_id == t]) for t in shown]
    audit_event(request, principal, "schedule.view", "calendar", None)
    step = timedelta(days=days)
    return render(
        request,
        "calendar.html",
        {
            "user": principal,
            "view": view,
            "first": first,
            "last": first + step - timedelta(days=1),
            "previous": first - step,
            "next": first + step,
            "therapist": therapist or "",
            "therapists": setup.therapists,
            "groups": groups,
            "count": len(found),
        },
    )


def _book_context(
    request: Request, principal: Principal, values: dict[str, str], problems: tuple[Problem, ...] = ()
) -> dict[str, Any]:
    setup = schedule_setup.calendar_setup(*_args(request, principal))
    return {"user": principal, "setup": setup, "values": values, "problems": problems}


@router.get("/calendar/book", response_class=HTMLResponse)
def book_form(
    request: Request,
    principal: ScheduleWrite,
    day: Annotated[str | None, Query()] = None,
    patient: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    """The booking form (a weekly series too)."""
    values = {"day": _day(day, request, principal).isoformat(), "patient_id": patient or "", "time": "10:00"}
    return render(request, "calendar_book.html", _book_context(request, principal, values))


@router.get("/calendar/slots", response_class=HTMLResponse)
def slots_fragment(
    request: Request,
    principal: ScheduleRead,
    service_id: Annotated[str | None, Query()] = None,
    day: Annotated[str | None, Query()] = None,
    provider_id: Annotated[str | None, Query()] = None,
) -> HTMLResponse:
    """Free starts for the chosen service and day (the booking form's htmx panel)."""
    slots: list[availability.Slot] = []
    message = "Choose a service to see free times."
    if service_id:
        try:
            slots = availability.availability(
                *_args(request, principal),
                service_id=service_id,
                day=_day(day, request, principal),
                provider_id=provider_id or None,
            )
            message = "" if slots else "No free time that day (working hours on file are needed)."
        except TherabillError as exc:
            message = str(exc)
    return render(request, "_calendar_slots.html", {"slots": slots, "message": message})


def _local(day: str, at: str, loc: str) -> datetime:
    try:
        return datetime.fromisoformat(f"{day}T{at}")
    except ValueError:
        raise ScheduleError(
            "check the date and time", (Problem("time-invalid", loc, "give a date and a time"),)
        ) from None


@router.post("/calendar/book", response_class=HTMLResponse)
async def book_submit(request: Request, principal: ScheduleWrite) -> Response:
    """Book from the form; a refused booking shows the form again with each reason."""
    form = {k: str(v) for k, v in (await request.form()).items() if k != "csrf_token"}
    try:
        start = _local(form.get("day", ""), form.get("time", ""), "time")
        common: dict[str, Any] = {
            "patient_id": form.get("patient_id", ""),
            "provider_id": form.get("provider_id", ""),
            "service_id": form.get("service_id") or None,
            "room_id": form.get("room_id") or None,
            "reason": form.get("reason") or None,
        }
        if not common["service_id"]:
            common["end_local"] = start + timedelta(minutes=int(form.get("minutes") or 60))
        weeks = int(form.get("weeks") or 1)
        if weeks > 1:
            result = appointment_series.book_weekly(
                *_args(request, principal), first_local=start, count=weeks, **common
            )
            first = result.booked[0]
        else:
            first = appointments.book(*_args(request, principal), start_local=start, **common)
    except ValueError:
        problems: tuple[Problem, ...] = (
            Problem("number-invalid", "weeks", "weeks and minutes are whole numbers"),
        )
        return render(request, "calendar_book.html", _book_context(request, principal, form, problems), 422)
    except TherabillError as exc:
        problems = tuple(exc.problems) or (Problem(exc.code, "form", str(exc)),)
        return render(request, "calendar_book.html", _book_context(request, principal, form, problems), 422)
    return RedirectResponse(f"/calendar?day={first.start_local.date().isoformat()}", status_code=303)


def _appointment_context(
    request: Request,
    principal: Principal,
    appointment: appointments.Appointment,
    problems: tuple[Problem, ...] = (),
) -> dict[str, Any]:
    return {
        "user": principal,
        "a": appointment,
        "actions": [(s, label) for s, label in STATUS_ACTIONS if s != appointment.status],
        "problems": problems,
        "setup": schedule_setup.calendar_setup(*_args(request, principal)),
    }


@router.get("/calendar/appointments/{appointment_id}", response_class=HTMLResponse)
def appointment_page(request: Request, appointment_id: str, principal: ScheduleRead) -> HTMLResponse:
    """One appointment: reschedule, change its status, cancel, check in."""
    found = appointments.get_appointment(*_args(request, principal), appointment_id)
    audit_event(request, principal, "schedule.view", "appointment", appointment_id)
    return render(request, "calendar_appointment.html", _appointment_context(request, principal, found))


def _after_change(
    request: Request, principal: Principal, appointment_id: str, problems: tuple[Problem, ...] = ()
) -> Response:
    found = appointments.get_appointment(*_args(request, principal), appointment_id)
    context = _appointment_context(request, principal, found, problems)
    if request.headers.get("hx-request"):
        return render(request, "_calendar_card.html", context, 422 if problems else 200)
    if problems:
        return render(request, "calendar_appointment.html", context, 422)
    return RedirectResponse(f"/calendar/appointments/{appointment_id}", status_code=303)


@router.post("/calendar/appointments/{appointment_id}/move", response_class=HTMLResponse)
async def move_submit(request: Request, appointment_id: str, principal: ScheduleWrite) -> Response:
    """Reschedule this appointment, or it and the rest of its series."""
    form = await request.form()
    try:
        start = _local(str(form.get("day", "")), str(form.get("time", "")), "time")
        if form.get("scope") == "rest":
            appointment_series.move_series_from(*_args(request, principal), appointment_id, start_local=start)
        else:
            appointments.reschedule(
                *_args(request, principal),
                appointment_id,
                start_local=start,
                provider_id=str(form.get("provider_id") or "") or None,
            )
    except TherabillError as exc:
        if exc.code == "not-found":
            raise
        return _after_change(request, principal, appointment_id, tuple(exc.problems))
    return _after_change(request, principal, appointment_id)


@router.post("/calendar/appointments/{appointment_id}/status", response_class=HTMLResponse)
async def status_submit(request: Request, appointment_id: str, principal: ScheduleWrite) -> Response:
    """Change the status (cancel: late cancel inside the policy's window; no-show: the fee)."""
    form = await request.form()
    wanted = str(form.get("status", ""))
    try:
        if wanted == "cancel":
            if form.get("scope") == "rest":
                appointment_series.cancel_series_from(*_args(request, principal), appointment_id)
            else:
                appointments.cancel(*_args(request, principal), appointment_id)
        elif wanted == "arrived":
            return check_in_submit(request, appointment_id, principal)
        else:
            appointments.set_status(*_args(request, principal), appointment_id, wanted)
    except TherabillError as exc:
        if exc.code == "not-found":
            raise
        return _after_change(request, principal, appointment_id, tuple(exc.problems))
    return _after_change(request, principal, appointment_id)


@router.post("/calendar/appointments/{appointment_id}/check-in", response_class=HTMLResponse)
def check_in_submit(request: Request, appointment_id: str, principal: ScheduleWrite) -> Response:
    """Check the client in and show what the visit note starts with, the authorization and intake."""
    try:
        done = appointments.check_in(*_args(request, principal), appointment_id)
    except TherabillError as exc:
        if exc.code == "not-found":
            raise
        return _after_change(request, principal, appointment_id, tuple(exc.problems))
    audit_event(request, principal, "appointments.check_in", "appointment", appointment_id)
    return render(request, "calendar_checkin.html", {"user": principal, "c": done})


# -- setup: reminders, services, rooms, time off, calendar feeds --------------------------------

SettingsManage = Annotated[Principal, Depends(requires(Permission.SETTINGS_MANAGE))]


def _setup_context(
    request: Request, principal: Principal, problems: tuple[Problem, ...] = (), feed_url: str = ""
) -> dict[str, Any]:
    args = _args(request, principal)
    setup = schedule_setup.calendar_setup(*args)
    feedable = [
        (t, name)
        for t, name in setup.therapists
        if principal.role != "therapist" or principal.provider_id == t
    ]
    return {
        "user": principal,
        "reminders": reminders.reminder_policy(*args),
        "services": schedule_setup.list_services(*args),
        "rooms": schedule_setup.list_rooms(*args),
        "room_names": {r.id: r.name for r in schedule_setup.list_rooms(*args)},
        "time_off": schedule_setup.list_time_off(*args),
        "therapists": setup.therapists,
        "feedable": feedable,
        "can_manage": allowed(principal.role, Permission.SETTINGS_MANAGE, principal.scopes),
        "can_write": allowed(principal.role, Permission.SCHEDULE_WRITE, principal.scopes),
        "problems": problems,
        "feed_url": feed_url,
    }


def _setup_page(
    request: Request, principal: Principal, problems: tuple[Problem, ...] = (), feed_url: str = ""
) -> HTMLResponse:
    status = 422 if problems else 200
    return render(
        request, "calendar_setup.html", _setup_context(request, principal, problems, feed_url), status
    )


def _refused(exc: TherabillError) -> tuple[Problem, ...]:
    return tuple(exc.problems) or (Problem(exc.code, "form", str(exc)),)


@router.get("/calendar/setup", response_class=HTMLResponse)
def setup_page(request: Request, principal: ScheduleRead) -> HTMLResponse:
    """Reminders, services, rooms, time off and calendar feeds."""
    return _setup_page(request, principal)


@router.post("/calendar/setup/reminders", response_class=HTMLResponse)
async def reminders_submit(request: Request, principal: SettingsManage) -> Response:
    """Set when and how reminders go."""
    form = await request.form()
    hours = str(form.get("hours_before", "")).strip()
    try:
        reminders.set_reminder_policy(
            *_args(request, principal),
            hours_before=int(hours) if hours else None,
            email=form.get("email") == "on",
            sms=form.get("sms") == "on",
        )
    except ValueError:
        return _setup_page(
            request, principal, (Problem("number-invalid", "hours_before", "hours are a whole number"),)
        )
    except TherabillError as exc:
        return _setup_page(request, principal, _refused(exc))
    return RedirectResponse("/calendar/setup", status_code=303)


@router.post("/calendar/setup/services/{service_id}", response_class=HTMLResponse)
async def service_submit(request: Request, service_id: str, principal: SettingsManage) -> Response:
    """Change a service (what is booked keeps its times)."""
    form = await request.form()
    try:
        schedule_setup.update_service(
            *_args(request, principal),
            service_id,
            name=str(form.get("name", "")),
            duration_minutes=int(str(form.get("duration_minutes", ""))),
            price=Decimal(str(form.get("price", ""))),
            buffer_minutes=int(str(form.get("buffer_minutes", "0") or 0)),
            active=form.get("active") == "on",
        )
    except (ValueError, InvalidOperation):
        problem = Problem("number-invalid", "service", "minutes are whole numbers and the price an amount")
        return _setup_page(request, principal, (problem,))
    except TherabillError as exc:
        if exc.code == "not-found":
            raise
        return _setup_page(request, principal, _refused(exc))
    return RedirectResponse("/calendar/setup#services", status_code=303)


@router.post("/calendar/setup/rooms/{room_id}", response_class=HTMLResponse)
async def room_submit(request: Request, room_id: str, principal: SettingsManage) -> Response:
    """Rename a room or take it out of use."""
    form = await request.form()
    try:
        schedule_setup.update_room(
            *_args(request, principal),
            room_id,
            name=str(form.get("name", "")),
            active=form.get("active") == "on",
        )
    except TherabillError as exc:
        if exc.code == "not-found":
            raise
        return _setup_page(request, principal, _refused(exc))
    return RedirectResponse("/calendar/setup#rooms", status_code=303)


@router.post("/calendar/setup/time-off", response_class=HTMLResponse)
async def time_off_submit(request: Request, principal: ScheduleWrite) -> Response:
    """Block a therapist's time."""
    form = await request.form()
    try:
        schedule_setup.add_time_off(
            *_args(request, principal),
            str(form.get("provider_id", "")),
            start_local=_local(str(form.get("start_day", "")), str(form.get("start_time", "")), "start_time"),
            end_local=_local(str(form.get("end_day", "")), str(form.get("end_time", "")), "end_time"),
            reason=str(form.get("reason", "")).strip()[:200] or None,
        )
    except TherabillError as exc:
        return _setup_page(request, principal, _refused(exc))
    return RedirectResponse("/calendar/setup#time-off", status_code=303)


@router.post("/calendar/setup/time-off/{time_off_id}/delete", response_class=HTMLResponse)
def time_off_delete(request: Request, time_off_id: str, principal: ScheduleWrite) -> Response:
    """Remove a stretch of time off."""
    schedule_setup.delete_time_off(*_args(request, principal), time_off_id)
    return RedirectResponse("/calendar/setup#time-off", status_code=303)


@router.post("/calendar/setup/feed", response_class=HTMLResponse)
async def feed_submit(request: Request, principal: ScheduleRead) -> Response:
    """A new signed calendar-feed URL for a therapist's phone (shown once)."""
    form = await request.form()
    engine, _, who = _args(request, principal)
    token = calendar_feed.feed_link(engine, principal, who, str(form.get("provider_id", "")))
    base = (request.app.state.settings.public_url or str(request.base_url)).rstrip("/")
    return _setup_page(request, principal, feed_url=f"{base}/calendar/feed/{token}.ics")


@router.post("/calendar/setup/feed/revoke", response_class=HTMLResponse)
async def feed_revoke(request: Request, principal: ScheduleRead) -> Response:
    """Revoke every feed address of a therapist made so far (they answer 410 Gone)."""
    form = await request.form()
    engine, _, who = _args(request, principal)
    calendar_feed.revoke_feed(engine, principal, who, str(form.get("provider_id", "")))
    context = _setup_context(request, principal)
    context["feed_notice"] = "The therapist's calendar feed addresses are revoked."
    return render(request, "calendar_setup.html", context)


@router.post("/calendar/setup/feed/rotate", response_class=HTMLResponse)
async def feed_rotate(request: Request, principal: ScheduleRead) -> Response:
    """Revoke a therapist's feed addresses and make the new one (shown once)."""
    form = await request.form()
    engine, _, who = _args(request, principal)
    token = calendar_feed.rotate_feed(engine, principal, who, str(form.get("provider_id", "")))
    base = (request.app.state.settings.public_url or str(request.base_url)).rstrip("/")
    context = _setup_context(request, principal, feed_url=f"{base}/calendar/feed/{token}.ics")
    context["feed_notice"] = "The old addresses are revoked; here is the new one."
    return render(request, "calendar_setup.html", context)
