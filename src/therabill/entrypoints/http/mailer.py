"""The app's outgoing mail: an SMTP mailer from the settings, or none when no server is set."""

from __future__ import annotations

from fastapi import Request

from therabill.adapters.mail import Mailer, SmtpMailer
from therabill.domain.errors import Problem
from therabill.entrypoints.http.errors import ApiError


def mailer_of(request: Request) -> Mailer:
    """The mailer of the app's settings (``smtp_*``); 422 ``mail-not-configured`` without one."""
    settings = request.app.state.settings.mail()
    if settings is None:
        raise ApiError(
            422,
            "mail-not-configured",
            "no mail server is set",
            (Problem("mail-not-configured", "smtp_host", "set THERABILL_SMTP_HOST to email documents"),),
        )
    return SmtpMailer(settings)
