"""Online booking pages: the public page of a practice, its email links, and the staff side.

Public (no staff session): ``/book/<slug>`` shows the services, therapists and free times
(``service_layer.booking``); ``POST /book/<slug>`` asks for a time (a visitor gets a
confirmation link by email; a client signed in to the portal books at once);
``/book/confirm/<token>`` confirms it (a button, so a mail scanner that opens links does not
use the link up); ``/book/<slug>/signin`` emails an existing client a log-in link. Every
answer is the same whether or not the email belongs to a client; the services limit the rate.

Staff: ``/calendar/online-booking`` shows the practice's settings (the owner changes them,
``settings.manage``) and the bookings waiting for approval (``schedule.write`` approves or
declines; the client is emailed).
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, BackgroundTasks, Depends, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from therabill.domain import schedule as calendar_rules
from therabill.domain.booking import HORIZON_DAYS, BookingError
from therabill.domain.errors import NotFoundError, Problem, TherabillError
from therabill.entrypoints.http.audit import audit_event
from therabill.entrypoints.http.deps import check_csrf, client_ip, requires, state
from therabill.entrypoints.http.errors import not_found
from therabill.entrypoints.web import client_web
from therabill.entrypoints.web.client_web import Public
from therabill.entrypoints.web.pages import actor
from therabill.entrypoints.web.pages import render as staff_render
from therabill.security.permissions import Permission, allowed
from therabill.service_layer import booking, booking_approval, portal, portal_limits
from therabill.service_layer.accounts import Principal

router = APIRouter(include_in_schema=False)

ScheduleRead = Annotated[Principal, Depends(requires(Permission.SCHEDULE_READ))]
ScheduleWrite = Annotated[Principal, Depends(requires(Permission.SCHEDULE_WRITE))]
SettingsManage = Annotated[Principal, Depends(requires(Permission.SETTINGS_MANAGE))]

DAYS_SHOWN = 14


def _practice(request: Request, slug: str) -> booking.PublicPractice:
    try:
        return booking.open_practice(state(request).engine, slug)
    except NotFoundError:
        raise not_found("booking page") from None


def _local_today(request: Request, practice: booking.PublicPractice) -> date:
    return calendar_rules.to_local(state(request).now(), practice.time_zone).date()


def _day(text: str | None, today: date) -> date:
    try:
        chosen = date.fromisoformat(text) if text else today
    except ValueError:
        return today
    return chosen if today <= chosen <= today + timedelta(days=HORIZON_DAYS) else today


def _signed_in(request: Request, practice_id: str) -> portal.Client | None:
    client = client_web.current_client(request)
    return client if client is not None and client.practice_id == practice_id else None


def _page(
    request: Request,
    practice: booking.PublicPractice,
    *,
    service: str | None,
    therapist: str | None,
    day_text: str | None,
    values: dict[str, str] | None = None,
    problems: tuple[Problem, ...] = (),
    status: int = 200,
) -> Response:
    engine = state(request).engine
    offer = booking.offer(engine, practice.id)
    today = _local_today(request, practice)
    day = _day(day_text, today)
    ids = {s.id for s in offer.services}
    chosen = service if service in ids else (offer.services[0].id if offer.services else None)
    therapist_ids = {t for t, _ in offer.therapists}
    who = therapist if therapist in therapist_ids else None
    slots = (
        booking.open_slots(engine, practice.id, service_id=chosen, day=day, provider_id=who) if chosen else []
    )
    token = client_web.visitor_csrf(request)
    client = _signed_in(request, practice.id)
    response = client_web.render(
        request,
        "book.html",
        {
            "practice": practice,
            "offer": offer,
            "service_id": chosen,
            "service": next((s for s in offer.services if s.id == chosen), None),
            "therapist": who or "",
            "day": day,
            "days": [today + timedelta(days=i) for i in range(DAYS_SHOWN)],
            "slots": slots,
            "values": values or {},
            "problems": problems,
            "wrong": {p.loc for p in problems},
            "csrf_token": client.csrf_token if client else token,
            "client": client,
        },
        status,
    )
    return client_web.with_visitor_csrf(request, response, token)


@router.get("/book/{slug}", response_class=HTMLResponse)
def book_page(
    request: Request,
    slug: str,
    _: Public,
    service: Annotated[str | None, Query(max_length=32)] = None,
    therapist: Annotated[str | None, Query(max_length=32)] = None,
    day: Annotated[str | None, Query(max_length=10)] = None,
) -> Response:
    """The practice's booking page: services, therapists, a day's free times, the form."""
    practice = _practice(request, slug)
    return _page(request, practice, service=service, therapist=therapist, day_text=day)


def _slot(text: str) -> tuple[str, datetime]:
    provider_id, _, start = text.partition("|")
    try:
        return provider_id, datetime.fromisoformat(start)
    except ValueError:
        raise BookingError(
            "choose a time", (Problem("slot-missing", "slot", "choose one of the free times"),)
        ) from None


@router.post("/book/{slug}", response_class=HTMLResponse)
async def book_submit(request: Request, slug: str, tasks: BackgroundTasks, _: Public) -> Response:
    """Ask for a time: a visitor is emailed a confirmation link; a signed-in client books at once."""
    practice = _practice(request, slug)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    client = _signed_in(request, practice.id)
    if client is not None:
        await check_csrf(request, client.csrf_token)
    else:
        client_web.check_visitor_csrf(request, form.get("csrf_token", ""))
    engine = state(request).engine
    service_id = form.get("service_id", "")[:32]
    try:
        provider_id, start = _slot(form.get("slot", ""))
        if client is not None:
            done = booking.book_for_client(
                engine,
                practice.id,
                client.patient_id,
                service_id=service_id,
                provider_id=provider_id,
                start_local=start,
                ip=client_ip(request),
                accepted_policies=form.get("accept_policies") == "yes",
            )
            notice = "awaiting" if done.awaiting_approval else "booked"
            return RedirectResponse(f"/portal?notice={notice}", status_code=303)
        mail = booking.request_booking(
            engine,
            practice.id,
            service_id=service_id,
            provider_id=provider_id,
            start_local=start,
            first_name=form.get("first_name", "")[:100],
            last_name=form.get("last_name", "")[:100],
            email=form.get("email", "")[:300],
            phone=form.get("phone", "")[:40],
            accepted_policies=form.get("accept_policies") == "yes",
            ip=client_ip(request),
            link_base=f"{client_web.base_url(request)}/book/confirm/",
        )
    except portal_limits.RateLimitedError as exc:
        return _message(request, practice, "Too many requests", str(exc), 429)
    except TherabillError as exc:
        problems = tuple(exc.problems) or (Problem(exc.code, "form", str(exc)),)
        values = {k: v for k, v in form.items() if k not in ("csrf_token",)}
        return _page(
            request,
            practice,
            service=service_id,
            therapist=form.get("therapist"),
            day_text=form.get("day"),
            values=values,
            problems=problems,
            status=422,
        )
    client_web.send_later(request, tasks, mail)
    return RedirectResponse(f"/book/{practice.slug}/sent", status_code=303)


def _message(
    request: Request, practice: booking.PublicPractice | None, title: str, text: str, status: int = 200
) -> HTMLResponse:
    return client_web.render(
        request, "book_message.html", {"practice": practice, "title": title, "text": text}, status
    )


@router.get("/book/{slug}/sent", response_class=HTMLResponse)
def book_sent(request: Request, slug: str, _: Public) -> HTMLResponse:
    """After asking for a time: the same words whoever asked."""
    practice = _practice(request, slug)
    text = (
        "We emailed you a link to confirm your appointment. Open it within 2 hours to book the time; "
        "nothing is booked until you do. No email? Check the spam folder, or choose the time again."
    )
    return _message(request, practice, "Check your email", text)


@router.get("/book/confirm/{token}", response_class=HTMLResponse)
def confirm_page(request: Request, token: str, _: Public) -> Response:
    """The link in the email: one button confirms (opening the link alone uses nothing)."""
    csrf = client_web.visitor_csrf(request)
    page = client_web.render(
        request,
        "book_link.html",
        {
            "title": "Confirm your appointment",
            "action": f"/book/confirm/{token[:100]}",
            "button": "Confirm my appointment",
            "csrf_token": csrf,
        },
    )
    return client_web.with_visitor_csrf(request, page, csrf)


@router.post("/book/confirm/{token}", response_class=HTMLResponse)
async def confirm_submit(request: Request, token: str, _: Public) -> Response:
    """Use the link: book the time, and sign the client in to the portal."""
    form = await request.form()
    sent = form.get("csrf_token", "")
    client_web.check_visitor_csrf(request, sent if isinstance(sent, str) else "")
    engine = state(request).engine
    try:
        done = booking.confirm_booking(engine, token)
    except TherabillError as exc:
        link_problem = bool(exc.problems) and exc.problems[0].code.startswith("link-")
        title = "This link cannot be used" if link_problem else "That time is no longer free"
        return _message(request, None, title, str(exc), 410 if link_problem else 409)
    session = portal.start_session(engine, done.practice_id, done.patient_id)
    notice = "awaiting" if done.awaiting_approval else "booked"
    response = RedirectResponse(f"/portal?notice={notice}", status_code=303)
    client_web.set_client_cookie(request, response, session)
    return response


@router.get("/book/{slug}/signin", response_class=HTMLResponse)
def signin_page(request: Request, slug: str, _: Public) -> Response:
    """Existing clients: ask for a log-in link by email."""
    practice = _practice(request, slug)
    csrf = client_web.visitor_csrf(request)
    page = client_web.render(
        request, "book_signin.html", {"practice": practice, "csrf_token": csrf, "problems": (), "email": ""}
    )
    return client_web.with_visitor_csrf(request, page, csrf)


@router.post("/book/{slug}/signin", response_class=HTMLResponse)
async def signin_submit(request: Request, slug: str, tasks: BackgroundTasks, _: Public) -> Response:
    """Email a log-in link (or, to an unknown address, a note): the same answer for both."""
    practice = _practice(request, slug)
    form = await request.form()
    sent = form.get("csrf_token", "")
    client_web.check_visitor_csrf(request, sent if isinstance(sent, str) else "")
    email = str(form.get("email", ""))[:300]
    base = client_web.base_url(request)
    try:
        mail = portal.request_login(
            state(request).engine,
            practice.id,
            email,
            ip=client_ip(request),
            link_base=f"{base}/portal/link/",
            book_url=f"{base}/book/{practice.slug}",
        )
    except portal_limits.RateLimitedError as exc:
        return _message(request, practice, "Too many requests", str(exc), 429)
    except BookingError as exc:
        csrf = client_web.visitor_csrf(request)
        page = client_web.render(
            request,
            "book_signin.html",
            {"practice": practice, "csrf_token": csrf, "problems": exc.problems, "email": email},
            422,
        )
        return client_web.with_visitor_csrf(request, page, csrf)
    client_web.send_later(request, tasks, mail)
    return RedirectResponse(f"/book/{practice.slug}/signin/sent", status_code=303)


@router.get("/book/{slug}/signin/sent", response_class=HTMLResponse)
def signin_sent(request: Request, slug: str, _: Public) -> HTMLResponse:
    """After asking for a log-in link: the same words whether or not the email is a client's."""
    practice = _practice(request, slug)
    text = (
        "If this address belongs to a client of the practice, a sign-in link is on its way; "
        "it works once, for 30 minutes. No email? Check the spam folder, or ask again."
    )
    return _message(request, practice, "Check your email", text)


# -- staff -----------------------------------------------------------------------------------


def _staff_page(
    request: Request, principal: Principal, problems: tuple[Problem, ...] = (), status: int = 200
) -> HTMLResponse:
    engine = state(request).engine
    settings = booking.booking_settings(engine, principal.practice_id, actor(principal))
    pending = booking_approval.pending_approvals(engine, principal.practice_id, actor(principal))
    slug = booking.practice_slug(engine, principal.practice_id, actor(principal))
    return staff_render(
        request,
        "booking_staff.html",
        {
            "user": principal,
            "settings": settings,
            "pending": pending,
            "slug": slug,
            "problems": problems,
            "can_manage": allowed(principal.role, Permission.SETTINGS_MANAGE, principal.scopes),
            "can_decide": allowed(principal.role, Permission.SCHEDULE_WRITE, principal.scopes),
        },
        status,
    )


@router.get("/calendar/online-booking", response_class=HTMLResponse)
def staff_page(request: Request, principal: ScheduleRead) -> HTMLResponse:
    """Online booking: the settings and the bookings waiting for approval."""
    audit_event(request, principal, "booking.view", "practice", principal.practice_id)
    return _staff_page(request, principal)


@router.post("/calendar/online-booking/settings", response_class=HTMLResponse)
async def staff_settings(request: Request, principal: SettingsManage) -> Response:
    """The owner opens or closes online booking and sets approval, the notice, the policies."""
    form = await request.form()

    def ticked(name: str) -> bool:
        return form.get(name) == "yes"

    try:
        booking.set_booking_settings(
            state(request).engine,
            principal.practice_id,
            actor(principal),
            enabled=ticked("enabled"),
            requires_approval=ticked("requires_approval"),
            card_on_file_notice=ticked("card_on_file_notice"),
            policies=str(form.get("policies", ""))[:12_000],
        )
    except TherabillError as exc:
        return _staff_page(request, principal, tuple(exc.problems), 422)
    return RedirectResponse("/calendar/online-booking", status_code=303)


def _decide(
    request: Request, principal: Principal, request_id: str, tasks: BackgroundTasks, *, approve: bool
) -> Response:
    try:
        mail = booking_approval.decide(
            state(request).engine, principal.practice_id, actor(principal), request_id, approve=approve
        )
    except NotFoundError:
        raise not_found("booking") from None
    except TherabillError as exc:
        return _staff_page(request, principal, tuple(exc.problems), 422)
    client_web.send_later(request, tasks, mail)
    return RedirectResponse("/calendar/online-booking", status_code=303)


@router.post("/calendar/online-booking/{request_id}/approve", response_class=HTMLResponse)
def staff_approve(
    request: Request, request_id: str, tasks: BackgroundTasks, principal: ScheduleWrite
) -> Response:
    """Approve an online booking: the appointment is confirmed and the client emailed."""
    return _decide(request, principal, request_id, tasks, approve=True)


@router.post("/calendar/online-booking/{request_id}/decline", response_class=HTMLResponse)
def staff_decline(
    request: Request, request_id: str, tasks: BackgroundTasks, principal: ScheduleWrite
) -> Response:
    """Decline an online booking: the appointment is cancelled (no fee) and the client emailed."""
    return _decide(request, principal, request_id, tasks, approve=False)
