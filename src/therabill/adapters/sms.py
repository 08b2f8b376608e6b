"""Outgoing text messages: one interface, one Twilio-compatible HTTP client.

Services hand a phone number and a body to an :class:`SmsSender`; only this module speaks
to the provider. :class:`TwilioSms` posts to ``{base_url}/2010-04-01/Accounts/{account}/
Messages.json`` with HTTP basic auth (the account id and its token) and the form fields
``To``, ``From`` and ``Body``, and reads the message id (``sid``) from the JSON answer; any
provider with that API (Twilio, or a compatible gateway) works by changing ``base_url``.
Nothing here decides what may be written in a message (the services that compose them keep
PHI out).
"""

from __future__ import annotations

import base64
import json
import socket
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from typing import Protocol

TWILIO_API = "https://api.twilio.com"
MAX_BODY = 1600
"""The longest body a Twilio message may have (characters)."""


class SmsError(Exception):
    """A message could not be handed to the provider (stable id ``sms-send-failed``).

    Attributes:
        retryable: the provider surely did not take the message (it could not be reached,
            or it answered 429 or 5xx), so sending again cannot make a duplicate.
        uncertain: the request may have reached the provider (a time-out while waiting
            for its answer): sending again could make a duplicate.
    """

    code = "sms-send-failed"

    def __init__(self, message: str, *, retryable: bool = False, uncertain: bool = False) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.uncertain = uncertain


@dataclass(frozen=True)
class SmsSettings:
    """Where and as whom to send.

    Attributes:
        account_sid: the provider account (the path and the basic-auth user).
        auth_token: its secret (the basic-auth password).
        from_number: the sending number, E.164 (``+15551234567``).
        base_url: the provider's API root (default Twilio's).
        timeout_seconds: give up on a silent provider after this long.
    """

    account_sid: str
    auth_token: str = field(repr=False)
    from_number: str
    base_url: str = TWILIO_API
    timeout_seconds: float = 10.0


class SmsSender(Protocol):
    """Sends one text message; returns the provider's message id."""

    def send(self, to: str, body: str) -> str: ...


def e164(number: str, default_country: str = "1") -> str | None:
    """``number`` as E.164 (``+15551234567``), or ``None`` if it cannot be one.

    Ten digits are taken as a North American number; an explicit ``+`` keeps its country.
    """
    text = number.strip()
    digits = "".join(c for c in text if c.isdigit())
    if text.startswith("+"):
        return f"+{digits}" if 8 <= len(digits) <= 15 else None
    if len(digits) == 10:
        return f"+{default_country}{digits}"
    if len(digits) == 11 and digits.startswith("1"):
        return f"+{digits}"
    return None


class TwilioSms:
    """An :class:`SmsSender` speaking Twilio's Messages API over HTTPS (stdlib HTTP client)."""

    def __init__(self, settings: SmsSettings) -> None:
        self.settings = settings

    def send(self, to: str, body: str) -> str:
        s = self.settings
        if len(body) > MAX_BODY:
            raise SmsError(f"sms-send-failed: the message is longer than {MAX_BODY} characters")
        url = (
            f"{s.base_url.rstrip('/')}/2010-04-01/Accounts/"
            f"{urllib.parse.quote(s.account_sid, safe='')}/Messages.json"
        )
        data = urllib.parse.urlencode({"To": to, "From": s.from_number, "Body": body}).encode("ascii")
        auth = base64.b64encode(f"{s.account_sid}:{s.auth_token}".encode()).decode("ascii")
        request = urllib.request.Request(
            url,
            data=data,
            method="POST",
            headers={
                "Authorization": f"Basic {auth}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
        )
        try:
            with urllib.request.urlopen(request, timeout=s.timeout_seconds) as answer:  # noqa: S310
                payload = json.loads(answer.read().decode("utf-8") or "{}")
        except urllib.error.HTTPError as exc:
            transient = exc.code == 429 or exc.code >= 500
            raise SmsError(f"sms-send-failed: the provider answered {exc.code}", retryable=transient) from exc
        except TimeoutError as exc:
            raise SmsError("sms-send-failed: the provider did not answer in time", uncertain=True) from exc
        except urllib.error.URLError as exc:
            refused = isinstance(exc.reason, ConnectionRefusedError | socket.gaierror)
            raise SmsError(
                f"sms-send-failed: cannot reach the provider ({exc.reason})",
                retryable=refused,
                uncertain=not refused,
            ) from exc
        except (OSError, ValueError) as exc:
            raise SmsError(f"sms-send-failed: {exc}", uncertain=True) from exc
        sid = payload.get("sid") if isinstance(payload, dict) else None
        if not isinstance(sid, str) or not sid:
            raise SmsError("sms-send-failed: the provider's answer has no message id", uncertain=True)
        return sid
