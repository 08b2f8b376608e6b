"""The client portal: sign in by emailed link, appointments, intake, documents, balance.

``/portal/link/<token>`` is the log-in link (a button uses it, so a mail scanner opening
the link does not); ``/portal`` the client's home: upcoming appointments (cancel or move
them outside the practice's window), the health history to fill in and sign, the
balance, the statement and receipts as PDF. Every route reads the client from the client
session (``client_web.SignedIn``) and calls ``service_layer.portal`` with it: another
client's appointment or receipt answers 404. Forms carry the session's CSRF token.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any

from fastapi import APIRouter, FastAPI, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from therabill.domain.booking import BookingError
from therabill.domain.errors import NotFoundError, Problem, TherabillError
from therabill.domain.intake import IntakeError
from therabill.entrypoints.http.deps import state
from therabill.entrypoints.http.errors import not_found
from therabill.entrypoints.web import client_web, intake_form, visit_form
from therabill.entrypoints.web.client_web import ClientLoginRequiredError, Public, SignedIn
from therabill.refdata.catalog import body_regions
from therabill.service_layer import portal

router = APIRouter(include_in_schema=False)

NOTICES = {
    "booked": "Your appointment is booked. We look forward to seeing you.",
    "awaiting": "Your appointment is requested: the practice confirms it by email.",
    "cancelled": "Your appointment is cancelled.",
    "moved": "Your appointment is moved.",
    "intake": "Thank you: your health history is signed and sent to your therapist.",
    "messages": "Your message preferences are saved.",
}


def install(app: FastAPI) -> None:
    """Register the portal's routes and its sign-in page for a missing client session."""

    @app.exception_handler(ClientLoginRequiredError)
    async def _signin(request: Request, _exc: ClientLoginRequiredError) -> Response:
        return client_web.render(
            request,
            "book_message.html",
            {
                "practice": None,
                "title": "Please sign in",
                "text": "Your session has ended or you are not signed in. Use the sign-in link on your "
                "practice's booking page: we email you a new link.",
            },
            401,
        )

    app.include_router(router)


@router.get("/portal/link/{token}", response_class=HTMLResponse)
def link_page(request: Request, token: str, _: Public) -> Response:
    """The log-in link in the email: one button signs in."""
    csrf = client_web.visitor_csrf(request)
    page = client_web.render(
        request,
        "book_link.html",
        {
            "title": "Sign in to your client portal",
            "action": f"/portal/link/{token[:100]}",
            "button": "Sign in",
            "csrf_token": csrf,
        },
    )
    return client_web.with_visitor_csrf(request, page, csrf)


@router.post("/portal/link/{token}", response_class=HTMLResponse)
async def link_submit(request: Request, token: str, _: Public) -> Response:
    """Use the log-in link: a client session starts."""
    form = await request.form()
    sent = form.get("csrf_token", "")
    client_web.check_visitor_csrf(request, sent if isinstance(sent, str) else "")
    try:
        session = portal.log_in(state(request).engine, token)
    except TherabillError as exc:
        return client_web.render(
            request,
            "book_message.html",
            {"practice": None, "title": "This link cannot be used", "text": str(exc)},
            410,
        )
    response = RedirectResponse("/portal", status_code=303)
    client_web.set_client_cookie(request, response, session)
    return response


@router.post("/portal/logout")
async def logout(request: Request, _client: SignedIn) -> Response:
    """End the client session."""
    portal.end_session(state(request).engine, request.cookies.get(client_web.PORTAL_COOKIE, ""))
    response = RedirectResponse("/portal/signed-out", status_code=303)
    response.delete_cookie(client_web.PORTAL_COOKIE, path="/")
    return response


@router.get("/portal/signed-out", response_class=HTMLResponse)
def signed_out(request: Request, _: Public) -> HTMLResponse:
    """After logging out."""
    return client_web.render(
        request,
        "book_message.html",
        {"practice": None, "title": "You are signed out", "text": "You can close this page."},
    )


def _home(
    request: Request, client: portal.Client, problems: tuple[Problem, ...] = (), status: int = 200
) -> HTMLResponse:
    found = portal.home(state(request).engine, client)
    notice = NOTICES.get(str(request.query_params.get("notice", "")), "")
    return client_web.render(
        request,
        "portal_home.html",
        {"client": client, "home": found, "notice": notice, "problems": problems},
        status,
    )


@router.get("/portal", response_class=HTMLResponse)
def home(request: Request, client: SignedIn) -> HTMLResponse:
    """The client's home page."""
    portal.note_view(state(request).engine, client, "home")
    return _home(request, client)


@router.post("/portal/appointments/{appointment_id}/cancel", response_class=HTMLResponse)
def cancel(request: Request, appointment_id: str, client: SignedIn) -> Response:
    """Cancel an appointment (outside the practice's window)."""
    try:
        portal.cancel_appointment(state(request).engine, client, appointment_id)
    except NotFoundError:
        raise not_found("appointment") from None
    except TherabillError as exc:
        return _home(request, client, tuple(exc.problems), 422)
    return RedirectResponse("/portal?notice=cancelled", status_code=303)


def _move_page(
    request: Request,
    client: portal.Client,
    appointment_id: str,
    day: date | None,
    problems: tuple[Problem, ...] = (),
    status: int = 200,
) -> HTMLResponse:
    engine = state(request).engine
    found = next(
        (p for p in portal.home(engine, client).upcoming if p.appointment.id == appointment_id), None
    )
    if found is None:
        raise not_found("appointment")
    shown = day or found.appointment.start_local.date()
    slots = portal.reschedule_slots(engine, client, appointment_id, shown)
    return client_web.render(
        request,
        "portal_move.html",
        {"client": client, "p": found, "day": shown, "slots": slots, "problems": problems},
        status,
    )


@router.get("/portal/appointments/{appointment_id}/move", response_class=HTMLResponse)
def move_page(
    request: Request,
    appointment_id: str,
    client: SignedIn,
    day: Annotated[str | None, Query(max_length=10)] = None,
) -> HTMLResponse:
    """Free times to move an appointment to (same service, same therapist)."""
    try:
        chosen = date.fromisoformat(day) if day else None
    except ValueError:
        chosen = None
    try:
        return _move_page(request, client, appointment_id, chosen)
    except NotFoundError:
        raise not_found("appointment") from None


@router.post("/portal/appointments/{appointment_id}/move", response_class=HTMLResponse)
async def move_submit(request: Request, appointment_id: str, client: SignedIn) -> Response:
    """Move the appointment to the chosen free time."""
    form = await request.form()
    try:
        start = datetime.fromisoformat(str(form.get("start", "")))
    except ValueError:
        return _move_page(
            request, client, appointment_id, None, (Problem("slot-missing", "start", "choose a time"),), 422
        )
    try:
        portal.reschedule_appointment(state(request).engine, client, appointment_id, start)
    except NotFoundError:
        raise not_found("appointment") from None
    except TherabillError as exc:
        return _move_page(request, client, appointment_id, start.date(), tuple(exc.problems), 422)
    return RedirectResponse("/portal?notice=moved", status_code=303)


def _labels() -> dict[str, str]:
    return {rid: r.label for rid, r in body_regions().items()}


def _intake_page(
    request: Request,
    client: portal.Client,
    values: dict[str, Any],
    problems: tuple[Problem, ...] = (),
    status: int = 200,
) -> HTMLResponse:
    return client_web.render(
        request,
        "portal_intake.html",
        {
            "client": client,
            "values": values,
            "problems": problems,
            "choices": intake_form.CHOICES,
            "consents": intake_form.CONSENTS,
            "rows": {
                "cond": range(intake_form.CONDITION_ROWS),
                "med": range(intake_form.MEDICATION_ROWS),
                "allergy": range(intake_form.ALLERGY_ROWS),
                "event": range(intake_form.EVENT_ROWS),
                "device": range(intake_form.DEVICE_ROWS),
            },
            "diagram": visit_form.body_diagram(),
            "avoid": [r for r in str(values.get("avoid_regions", "")).split(",") if r],
            "labels": _labels(),
        },
        status,
    )


@router.get("/portal/intake", response_class=HTMLResponse)
def intake_page(request: Request, client: SignedIn) -> HTMLResponse:
    """The health history form, filled with the current version (signing makes a new one)."""
    portal.note_view(state(request).engine, client, "intake")
    current = portal.intake_document(state(request).engine, client)
    return _intake_page(request, client, intake_form.form_values(current) if current else {})


@router.post("/portal/intake", response_class=HTMLResponse)
async def intake_submit(request: Request, client: SignedIn) -> Response:
    """Sign and send the health history (a new version the therapist reviews)."""
    form = await request.form()
    document = intake_form.intake_document(form)
    try:
        portal.sign_intake(
            state(request).engine, client, document, signed_name=str(form.get("signed_name", ""))[:130]
        )
    except (IntakeError, BookingError) as exc:
        values = {k: v for k, v in form.items() if isinstance(v, str) and k != "csrf_token"}
        return _intake_page(request, client, values, tuple(exc.problems), 422)
    return RedirectResponse("/portal?notice=intake", status_code=303)


def _pdf(content: bytes, name: str) -> Response:
    return Response(
        content,
        media_type="application/pdf",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@router.get("/portal/statement.pdf")
def statement(request: Request, client: SignedIn) -> Response:
    """The client's statement as of today."""
    portal.note_view(state(request).engine, client, "statement")
    return _pdf(portal.statement_pdf(state(request).engine, client), "statement.pdf")


@router.get("/portal/receipts/{payment_id}.pdf")
def receipt(request: Request, payment_id: str, client: SignedIn) -> Response:
    """The receipt of one of the client's payments."""
    try:
        content = portal.receipt_pdf(state(request).engine, client, payment_id[:64])
    except NotFoundError:
        raise not_found("receipt") from None
    return _pdf(content, "receipt.pdf")


@router.get("/portal/superbills/{visit_id}.pdf")
def superbill(request: Request, visit_id: str, client: SignedIn) -> Response:
    """The superbill of one of the client's visits (to file with their plan)."""
    try:
        content = portal.superbill_pdf(state(request).engine, client, visit_id[:64])
    except NotFoundError:
        raise not_found("superbill") from None
    return _pdf(content, "superbill.pdf")


@router.post("/portal/messages", response_class=HTMLResponse)
async def messages_submit(request: Request, client: SignedIn) -> Response:
    """The client opts out of (or back into) email and text messages."""
    form = await request.form()
    portal.set_contact_preferences(
        state(request).engine,
        client,
        email_opt_out=form.get("email_opt_out") == "1",
        sms_opt_out=form.get("sms_opt_out") == "1",
    )
    return RedirectResponse("/portal?notice=messages", status_code=303)
