"""Pages that need no log-in: the confirm and cancel links of a reminder, a therapist's feed.

``GET /r/confirm/{link_id}`` and ``/r/cancel/{link_id}`` show what the link will do (first name, time, practice;
a late cancel names its fee) without using the link, so mail scanners that open links
change nothing; its form POSTs back, with a double-submit CSRF cookie like the log-in form,
and only then is the link used (once). ``GET /calendar/feed/{feed_id}.ics`` answers a
therapist's iCalendar feed. Every link is checked by ``service_layer.links``.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Path, Request
from fastapi.responses import HTMLResponse, Response

from therabill.domain.errors import TherabillError
from therabill.domain.money import usd_text
from therabill.entrypoints.http.deps import PRE_CSRF_COOKIE, public, state
from therabill.security.tokens import new_token, same
from therabill.service_layer import calendar_feed, reminders
from therabill.service_layer.links import LinkError

router = APIRouter(include_in_schema=False)

Public = Depends(public())
LinkId = Annotated[str, Path(min_length=20, max_length=400, pattern="^[A-Za-z0-9_-]+$")]
"""A signed link's token (opaque: ids, an expiry and a signature; no name)."""
PURPOSES = {"confirm": reminders.CONFIRM, "cancel": reminders.CANCEL}
_GONE = {
    "link-expired": "This link has expired: the appointment has started or passed.",
    "link-used": "This link was already used.",
    "link-invalid": "This link is not valid. Please call the practice.",
    "calendar-feed-revoked": "This calendar feed was revoked. Ask the practice for the new address.",
}


def _page(request: Request, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, "reminder_link.html", {"user": None, **context}, status_code=status
    )
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _refused(request: Request, exc: TherabillError) -> HTMLResponse:
    code = exc.problems[0].code if exc.problems else exc.code
    status = 410 if code in ("link-expired", "link-used") else 404 if isinstance(exc, LinkError) else 409
    message = _GONE.get(code) or (exc.problems[0].message if exc.problems else str(exc))
    return _page(request, {"done": None, "shown": None, "message": message[:200]}, status)


def _show(request: Request, action: str, token: str) -> HTMLResponse:
    """What the link will do, with one button (the link is not used yet)."""
    try:
        shown = reminders.linked_appointment(state(request).engine, token, PURPOSES[action])
    except TherabillError as exc:
        return _refused(request, exc)
    csrf = request.cookies.get(PRE_CSRF_COOKIE) or new_token()
    context = {
        "action": action,
        "token": token,
        "shown": shown,
        "fee": usd_text(shown.late_cancel_fee) if shown.late_cancel_fee else "",
        "csrf_token": csrf,
        "done": None,
        "message": "",
    }
    response = _page(request, context)
    response.set_cookie(
        PRE_CSRF_COOKIE, csrf, httponly=True, samesite="strict", secure=state(request).secure_cookies
    )
    return response


def _use(request: Request, action: str, token: str, csrf_token: str) -> HTMLResponse:
    """Confirm or cancel (the link is used, once, with the change)."""
    expected = request.cookies.get(PRE_CSRF_COOKIE, "")
    if not expected or not csrf_token or not same(csrf_token, expected):
        message = "The form expired. Please open the link from your reminder again."
        return _page(request, {"done": None, "shown": None, "message": message}, 403)
    engine = state(request).engine
    try:
        if action == "confirm":
            done = reminders.confirm_by_link(engine, token)
        else:
            done = reminders.cancel_by_link(engine, token)
    except TherabillError as exc:
        return _refused(request, exc)
    return _page(request, {"action": action, "done": done, "shown": None, "message": ""})


@router.get("/r/confirm/{link_id}", response_class=HTMLResponse)
def confirm_page(request: Request, link_id: LinkId, _: None = Public) -> HTMLResponse:
    """A reminder's confirm link: what it will do, with one button."""
    return _show(request, "confirm", link_id)


@router.post("/r/confirm/{link_id}", response_class=HTMLResponse)
def confirm_submit(
    request: Request, link_id: LinkId, csrf_token: Annotated[str, Form(max_length=128)] = "", _: None = Public
) -> HTMLResponse:
    """Confirm the appointment (the link is used)."""
    return _use(request, "confirm", link_id, csrf_token)


@router.get("/r/cancel/{link_id}", response_class=HTMLResponse)
def cancel_page(request: Request, link_id: LinkId, _: None = Public) -> HTMLResponse:
    """A reminder's cancel link: what it will do (a late cancel names its fee), one button."""
    return _show(request, "cancel", link_id)


@router.post("/r/cancel/{link_id}", response_class=HTMLResponse)
def cancel_submit(
    request: Request, link_id: LinkId, csrf_token: Annotated[str, Form(max_length=128)] = "", _: None = Public
) -> HTMLResponse:
    """Cancel the appointment (the link is used)."""
    return _use(request, "cancel", link_id, csrf_token)


@router.get("/calendar/feed/{feed_id}.ics")
def feed(request: Request, feed_id: LinkId, _: None = Public) -> Response:
    """A therapist's appointments as an iCalendar feed (``text/calendar``)."""
    try:
        body = calendar_feed.therapist_feed(state(request).engine, feed_id)
    except LinkError as exc:
        code = exc.problems[0].code if exc.problems else exc.code
        return Response(
            _GONE.get(code, "not valid"),
            status_code=410 if code in ("link-expired", "calendar-feed-revoked") else 404,
        )
    return Response(
        body,
        media_type="text/calendar; charset=utf-8",
        headers={"Cache-Control": "no-store", "Content-Disposition": 'inline; filename="calendar.ics"'},
    )
