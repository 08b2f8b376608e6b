"""The SMTP adapter against a real SMTP server on loopback."""

from __future__ import annotations

import pytest

from tests.conftest import SmtpServer
from therabill.adapters.mail import Attachment, MailError, OutgoingMail, SmtpMailer, SmtpSettings


def test_a_message_with_a_pdf_arrives_whole(smtp_server: SmtpServer) -> None:
    mailer = SmtpMailer(
        SmtpSettings(host=smtp_server.host, port=smtp_server.port, sender="Front Desk <desk@clinic.test>")
    )
    message_id = mailer.send(
        OutgoingMail(
            to="zoe@example.test",
            subject="Your statement from Riverside Massage",
            text="Hello Zoë, your statement is attached.",
            html="<p>Hello Zoë</p>",
            attachments=(Attachment("statement.pdf", b"%PDF-1.4 fake"),),
        )
    )
    assert len(smtp_server.messages) == 1
    got = smtp_server.messages[0]
    assert got["Message-ID"] == message_id
    assert got["To"] == "zoe@example.test"
    assert smtp_server.envelopes[0].rcpt_tos == ["zoe@example.test"]
    body = got.get_body(preferencelist=("plain",))
    assert body is not None and "Zoë" in body.get_content()
    files = [(part.get_filename(), part.get_content()) for part in got.iter_attachments()]
    assert files == [("statement.pdf", b"%PDF-1.4 fake")]


def test_an_unreachable_server_is_a_named_error() -> None:
    mailer = SmtpMailer(SmtpSettings(host="127.0.0.1", port=1, sender="desk@clinic.test", timeout_seconds=2))
    with pytest.raises(MailError, match="mail-send-failed"):
        mailer.send(OutgoingMail(to="a@example.test", subject="s", text="t"))
