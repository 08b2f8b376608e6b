"""Outgoing email: one message shape, one SMTP sender.

Services build an :class:`OutgoingMail` and hand it to a :class:`Mailer`; only this module
speaks SMTP. Nothing here decides what may be written in a message (no PHI in a subject is a
rule of the services that compose them).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import make_msgid
from typing import Protocol


class MailError(Exception):
    """A message could not be handed to the mail server (stable id ``mail-send-failed``)."""

    code = "mail-send-failed"


@dataclass(frozen=True)
class Attachment:
    """A file attached to a message."""

    filename: str
    content: bytes
    mime_type: str = "application/pdf"


@dataclass(frozen=True)
class OutgoingMail:
    """One message to one recipient: plain text, optional HTML, optional attachments."""

    to: str
    subject: str
    text: str
    html: str | None = None
    attachments: tuple[Attachment, ...] = ()
    reply_to: str | None = None


@dataclass(frozen=True)
class SmtpSettings:
    """Where and how to hand mail over.

    Attributes:
        host: the SMTP server.
        port: its port (25, 587 with ``starttls``, 465 with ``tls``).
        sender: the From address (``Practice Name <billing@example.com>``).
        username / password: log-in, when the server wants one.
        starttls: upgrade the connection with STARTTLS.
        tls: connect with TLS from the start (port 465).
        timeout_seconds: give up on a silent server after this long.
    """

    host: str
    sender: str
    port: int = 25
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    starttls: bool = False
    tls: bool = False
    timeout_seconds: float = 10.0


class Mailer(Protocol):
    """Sends one message; returns its Message-ID."""

    def send(self, mail: OutgoingMail) -> str: ...


def compose(mail: OutgoingMail, sender: str) -> EmailMessage:
    """The MIME message for ``mail`` from ``sender``."""
    message = EmailMessage()
    message["From"] = sender
    message["To"] = mail.to
    message["Subject"] = mail.subject
    domain = sender.rsplit("@", 1)[-1].strip(" >") or None
    message["Message-ID"] = make_msgid(domain=domain)
    if mail.reply_to:
        message["Reply-To"] = mail.reply_to
    message.set_content(mail.text)
    if mail.html is not None:
        message.add_alternative(mail.html, subtype="html")
    for item in mail.attachments:
        maintype, _, subtype = item.mime_type.partition("/")
        message.add_attachment(
            item.content, maintype=maintype, subtype=subtype or "octet-stream", filename=item.filename
        )
    return message


class SmtpMailer:
    """A :class:`Mailer` that hands each message to an SMTP server."""

    def __init__(self, settings: SmtpSettings) -> None:
        self.settings = settings

    def send(self, mail: OutgoingMail) -> str:
        s = self.settings
        message = compose(mail, s.sender)
        try:
            if s.tls:
                client: smtplib.SMTP = smtplib.SMTP_SSL(
                    s.host, s.port, timeout=s.timeout_seconds, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(s.host, s.port, timeout=s.timeout_seconds)
            with client:
                if s.starttls:
                    client.starttls(context=ssl.create_default_context())
                if s.username:
                    client.login(s.username, s.password or "")
                client.send_message(message)
        except (OSError, smtplib.SMTPException) as exc:
            raise MailError(f"mail-send-failed: {s.host}:{s.port}: {exc}") from exc
        return str(message["Message-ID"])
