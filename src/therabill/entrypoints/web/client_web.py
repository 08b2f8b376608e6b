"""What the public booking pages and the client portal share: the client session cookie,
CSRF for visitors without a session, the links in emails and sending them.

The client session cookie (``tb_portal``) is not the staff session cookie (``tb_session``):
a client session carries no role and opens no staff page, and a staff session opens no
portal page. Visitors without a session get a double-submit CSRF cookie (``tb_csrf``, as
the staff log-in form). Emails are sent after the answer is written (a background task), so
the answer takes as long whether or not an email is sent.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any

from fastapi import BackgroundTasks, Depends, Request
from fastapi.responses import HTMLResponse, Response

from therabill.adapters.mail import MailError, OutgoingMail, SmtpMailer
from therabill.entrypoints.http.deps import PRE_CSRF_COOKIE, check_csrf, public, state
from therabill.entrypoints.http.errors import ApiError
from therabill.entrypoints.http.settings import Settings
from therabill.security.tokens import new_token, same
from therabill.service_layer import portal
from therabill.service_layer.portal import Client

log = logging.getLogger("therabill.web")

PORTAL_COOKIE = "tb_portal"

Public = Annotated[None, Depends(public())]


def render(request: Request, name: str, context: dict[str, Any], status: int = 200) -> HTMLResponse:
    """Render a page of the public pages or the portal (no staff user in the context)."""
    response: HTMLResponse = request.app.state.templates.TemplateResponse(
        request, name, {"user": None, **context}, status_code=status
    )
    return response


def visitor_csrf(request: Request) -> str:
    """The visitor's double-submit CSRF token (made on first sight)."""
    return request.cookies.get(PRE_CSRF_COOKIE) or new_token()


def with_visitor_csrf(request: Request, response: Response, token: str) -> Response:
    """Set the visitor's CSRF cookie on a page that carries ``token`` in its forms."""
    response.set_cookie(
        PRE_CSRF_COOKIE, token, httponly=True, samesite="strict", secure=state(request).secure_cookies
    )
    return response


def check_visitor_csrf(request: Request, sent: str) -> None:
    """Refuse a visitor's form whose CSRF token does not match the cookie (403)."""
    expected = request.cookies.get(PRE_CSRF_COOKIE, "")
    if not expected or not sent or not same(sent, expected):
        raise ApiError(403, "csrf-failed", "the form expired; reload the page and try again")


def base_url(request: Request) -> str:
    """The site's address for links in emails: ``THERABILL_PUBLIC_URL`` when set (always set
    it behind a proxy or on a public host: the request's Host header is the caller's to
    choose), else the address the request came to."""
    settings: Settings = request.app.state.settings
    configured = settings.public_url
    return (configured or str(request.base_url)).rstrip("/")


def send_later(request: Request, tasks: BackgroundTasks, mail: OutgoingMail | None) -> None:
    """Send ``mail`` after the answer is written (nothing when no mail server is set)."""
    if mail is None:
        return
    settings: Settings = request.app.state.settings
    smtp = settings.mail()
    if smtp is None:
        log.warning("no mail server is set (THERABILL_SMTP_HOST): a client email was not sent")
        return

    def deliver() -> None:
        try:
            SmtpMailer(smtp).send(mail)
        except MailError as exc:
            log.error("client email not sent: %s", exc.code)

    tasks.add_task(deliver)


def set_client_cookie(request: Request, response: Response, token: str) -> None:
    """Start the client session in the browser (its own cookie, not the staff one)."""
    response.set_cookie(
        PORTAL_COOKIE,
        token,
        httponly=True,
        samesite="strict",
        secure=state(request).secure_cookies,
        path="/",
    )


class ClientLoginRequiredError(ApiError):
    """No valid client session: the portal shows how to sign in."""

    def __init__(self) -> None:
        super().__init__(401, "not-authenticated", "sign in with the link your practice emails you")


def current_client(request: Request) -> Client | None:
    """The signed-in client, or ``None``."""
    token = request.cookies.get(PORTAL_COOKIE, "")
    return portal.client_of(state(request).engine, token) if token else None


async def _client(request: Request) -> Client:
    client = current_client(request)
    if client is None:
        raise ClientLoginRequiredError()
    await check_csrf(request, client.csrf_token)
    return client


def client_required() -> Any:
    """The dependency of portal routes: a signed-in client (CSRF checked on unsafe requests).

    Marked public for the staff permission table: a client holds no staff permission.
    """
    _client.__therabill_permission__ = "public"  # type: ignore[attr-defined]
    return _client


SignedIn = Annotated[Client, Depends(client_required())]
