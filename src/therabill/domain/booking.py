"""Rules of online booking and the client portal (pure, stdlib only).

* ``check_contact``: what a new client types on the public page (name, email, phone) and
  whether they accepted the practice's policies; every problem at once, by field.
* ``bookable``: a start a client may choose online: far enough ahead (``MIN_NOTICE``) and not
  too far (``HORIZON_DAYS``).
* ``client_may_change``: a client may cancel or move an appointment online only outside the
  practice's late-cancel window (inside it they call the practice, who applies the policy).
* ``signature_matches``: the typed signature of the intake is the client's own name.
* ``policies_digest``: what the client accepted, fixed by its SHA-256.
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

from therabill.domain.errors import Problem, TherabillError

MIN_NOTICE = timedelta(hours=2)
"""A client books online at least this long before the start."""

HORIZON_DAYS = 90
"""A client books online at most this many days ahead."""

DEFAULT_WINDOW_HOURS = 24
"""The change window when the practice set no late-cancel window."""

_EMAIL = re.compile(
    r"^[^@\s<>()\[\],;:\"]{1,64}@[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,62}[A-Za-z0-9])?)+$"
)
_NAME = re.compile(r"^[^\x00-\x1f<>{}\[\]@\\/=;:\"]{1,60}$")


class BookingError(TherabillError):
    """A refused online booking or portal request (the problems say why, by field)."""

    code = "booking-invalid"


def refuse(code: str, loc: str, message: str) -> BookingError:
    """A ``BookingError`` with one problem."""
    return BookingError(message, (Problem(code, loc, message),))


@dataclass(frozen=True, slots=True)
class Contact:
    """A new client's details as typed on the public page, cleaned.

    Attributes:
        first_name: given name.
        last_name: family name.
        email: the address, lower-cased.
        phone: the digits (10 for a US number, or with a leading ``+`` and country code).
    """

    first_name: str
    last_name: str
    email: str
    phone: str


def normal_email(text: str) -> str:
    """An email address as stored and compared: trimmed and lower-cased."""
    return text.strip().lower()


def check_email(text: str, loc: str = "email") -> str:
    """The cleaned address, or ``BookingError`` (``email-invalid``)."""
    email = normal_email(text)
    if len(email) > 254 or not _EMAIL.match(email):
        raise refuse("email-invalid", loc, "give an email address such as name@example.com")
    return email


def _phone(text: str) -> str | None:
    kept = text.strip()
    digits = "".join(ch for ch in kept if ch.isdigit())
    if kept.startswith("+") and 8 <= len(digits) <= 15:
        return "+" + digits
    if len(digits) == 11 and digits.startswith("1"):
        digits = digits[1:]
    return digits if len(digits) == 10 else None


def check_contact(
    *, first_name: str, last_name: str, email: str, phone: str, accepted_policies: bool
) -> Contact:
    """A new client's details, or every problem at once (``BookingError``)."""
    problems: list[Problem] = []
    first, last = " ".join(first_name.split()), " ".join(last_name.split())
    for value, loc, what in ((first, "first_name", "first name"), (last, "last_name", "last name")):
        if not value or not _NAME.match(value):
            problems.append(Problem("name-invalid", loc, f"give your {what} (up to 60 letters)"))
    try:
        clean_email = check_email(email)
    except BookingError as exc:
        problems.extend(exc.problems)
        clean_email = ""
    clean_phone = _phone(phone)
    if clean_phone is None:
        problems.append(Problem("phone-invalid", "phone", "give a phone number, such as 217-555-0100"))
    if not accepted_policies:
        problems.append(
            Problem("policies-not-accepted", "accept_policies", "read and accept the practice's policies")
        )
    if problems:
        raise BookingError("check the highlighted fields", tuple(problems))
    return Contact(first, last, clean_email, clean_phone or "")


def bookable(start: datetime, now: datetime) -> bool:
    """True when a client may choose ``start`` online now (both naive UTC)."""
    return now + MIN_NOTICE <= start <= now + timedelta(days=HORIZON_DAYS)


def change_deadline(start: datetime, window_hours: int | None) -> datetime:
    """Until when a client may cancel or move an appointment starting at ``start`` online."""
    hours = DEFAULT_WINDOW_HOURS if window_hours is None else window_hours
    return start - timedelta(hours=hours)


def client_may_change(start: datetime, now: datetime, window_hours: int | None) -> bool:
    """True while a client may still cancel or move the appointment online."""
    return now < change_deadline(start, window_hours)


def _folded(text: str) -> str:
    plain = unicodedata.normalize("NFKD", text)
    return " ".join("".join(ch for ch in plain if not unicodedata.combining(ch)).casefold().split())


def signature_matches(typed: str, first_name: str, last_name: str) -> bool:
    """True when the typed signature is the client's first and last name (case, accents and
    spacing aside)."""
    return bool(typed.strip()) and _folded(typed) == _folded(f"{first_name} {last_name}")


def when_text(local: datetime) -> str:
    """A local start as emails write it: "Tuesday, December 1 at 10:00 AM"."""
    return f"{local:%A, %B %-d} at {local:%-I:%M %p}"


def policies_digest(text: str) -> str:
    """The SHA-256 of the policies a client accepted (what they read is fixed by it)."""
    return hashlib.sha256(text.encode("utf-8")).hexdigest()
