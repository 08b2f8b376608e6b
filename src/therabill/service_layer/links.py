"""Links that need no log-in: signed, expiring and (when the purpose says so) single-use.

One implementation for every such link: confirm or cancel an appointment from a reminder,
a therapist's calendar feed, and whatever the booking page and the client portal send
(a magic log-in link, a booking confirmation). A caller names the purpose, the subject
(an appointment id, a therapist id, a patient id, an email address) and when it expires:

    token = issue_link(engine, practice_id, "appointment-confirm", appointment_id,
                       expires=timedelta(hours=48))
    link = redeem_link(engine, token, "appointment-confirm")   # once; then link-used

How a token is made: ``base64url(payload + mac)`` where the payload packs the practice, the
expiry (UTC seconds), a random 64-bit nonce and the subject, and the mac is the first 128
bits of HMAC-SHA256 over the purpose and the payload with the practice's secret
(``link_keys``, created on first use, 256 random bits). The purpose is signed but not
written in the token, so a confirm link cannot be used as a cancel link. A token carries no
name or other PHI: ids only. Tokens are about 80 characters (they fit in an SMS).

Single use: redeeming inserts the nonce into ``link_redemptions`` (its primary key), in the
caller's transaction when ``redeem_link_in`` is used, so the action a link allows and the
record that it was used commit together or not at all; a second redemption, even at the
same instant from another process, fails on the key and is refused with ``link-used``.
``read_link`` checks a token without using it (the page a link opens shows what will
happen; only its POST redeems, so mail scanners that fetch links use nothing).

Errors (``LinkError``, stable ids): ``link-invalid`` (malformed, tampered, another purpose or
practice, or the practice's key was replaced), ``link-expired``, ``link-used``.
Replacing a practice's key (``replace_link_key``) voids every link it ever signed.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import struct
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError

from therabill.adapters.db.messaging_tables import link_keys, link_redemptions
from therabill.clock import Clock, as_utc, current_time
from therabill.domain.errors import Problem, TherabillError
from therabill.service_layer.uow import UnitOfWork

__all__ = [
    "Link",
    "LinkError",
    "issue_link",
    "issue_link_in",
    "link_practice",
    "read_link",
    "redeem_link",
    "redeem_link_in",
    "replace_link_key",
]

_VERSION = 1
_HEX_PRACTICE = 1
_HEX_SUBJECT = 2
_MAC_BYTES = 16
MAX_LIFETIME = timedelta(days=3660)
"""The longest a link may live (a calendar feed's link; others live hours or days)."""


class LinkError(TherabillError):
    """A link that cannot be used (the problem's code says why)."""

    code = "link-invalid"


def _refuse(code: str, message: str) -> LinkError:
    error = LinkError(message, (Problem(code, "token", message),))
    error.code = code
    return error


@dataclass(frozen=True, slots=True)
class Link:
    """What a valid token says.

    Attributes:
        practice_id: the practice that signed it.
        purpose: what it allows (``appointment-confirm``, ``calendar-feed``...).
        subject_id: what it is about (an appointment, a therapist, a patient, an address).
        expires_at: when it stops working (UTC).
        nonce: its one-time id (hex).
    """

    practice_id: str
    purpose: str
    subject_id: str
    expires_at: datetime
    nonce: str


def _is_hex32(value: str) -> bool:
    return len(value) == 32 and all(c in "0123456789abcdef" for c in value)


def _pack(practice_id: str, subject_id: str, expires: int, nonce: bytes) -> bytes:
    flags = (_HEX_PRACTICE if _is_hex32(practice_id) else 0) | (_HEX_SUBJECT if _is_hex32(subject_id) else 0)
    if flags & _HEX_PRACTICE:
        practice = bytes.fromhex(practice_id)
    else:
        raw = practice_id.encode("utf-8")
        practice = bytes([len(raw)]) + raw
    subject = bytes.fromhex(subject_id) if flags & _HEX_SUBJECT else subject_id.encode("utf-8")
    return bytes([_VERSION, flags]) + practice + struct.pack(">I", expires) + nonce + subject


def _unpack(payload: bytes) -> tuple[str, str, int, bytes]:
    if len(payload) < 2 or payload[0] != _VERSION:
        raise ValueError("version")
    flags, rest = payload[1], payload[2:]
    if flags & _HEX_PRACTICE:
        practice_id, rest = rest[:16].hex(), rest[16:]
    else:
        size = rest[0]
        practice_id, rest = rest[1 : 1 + size].decode("utf-8"), rest[1 + size :]
    if len(rest) < 12:
        raise ValueError("short")
    (expires,) = struct.unpack(">I", rest[:4])
    nonce, subject = rest[4:12], rest[12:]
    subject_id = subject.hex() if flags & _HEX_SUBJECT else subject.decode("utf-8")
    if not subject_id:
        raise ValueError("subject")
    return practice_id, subject_id, expires, nonce


def _mac(secret: str, purpose: str, payload: bytes) -> bytes:
    message = purpose.encode("utf-8") + b"\0" + payload
    return hmac.new(bytes.fromhex(secret), message, hashlib.sha256).digest()[:_MAC_BYTES]


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _split(token: str) -> tuple[bytes, bytes, str, str, int, bytes]:
    """The payload, mac and fields of a token (not yet verified); ``link-invalid`` if malformed."""
    try:
        if not token or len(token) > 400:
            raise ValueError("length")
        raw = _unb64(token)
        payload, mac = raw[:-_MAC_BYTES], raw[-_MAC_BYTES:]
        practice_id, subject_id, expires, nonce = _unpack(payload)
    except (ValueError, IndexError, binascii.Error, UnicodeDecodeError, struct.error):
        raise _refuse("link-invalid", "this link is not valid") from None
    return payload, mac, practice_id, subject_id, expires, nonce


def link_practice(token: str) -> str:
    """The practice a token names (not verified: only to open that practice's unit of work)."""
    return _split(token)[2]


def _check_purpose(purpose: str) -> None:
    if not purpose or len(purpose) > 40 or not purpose.replace("-", "").isalnum():
        raise ValueError(f"a link purpose is 1-40 letters, digits and dashes, not {purpose!r}")


def _key_in(uow: UnitOfWork) -> str | None:
    return uow.session.execute(
        select(link_keys.c.secret).where(link_keys.c.practice_id == uow.practice_id)
    ).scalar()


def issue_link_in(uow: UnitOfWork, purpose: str, subject_id: str, *, expires: datetime | timedelta) -> str:
    """Inside a write unit of work: a signed token for ``purpose`` on ``subject_id``.

    ``expires`` is a moment (aware UTC) or a lifetime from the unit's clock (at most
    ``MAX_LIFETIME``). The practice's key is created on first use.
    """
    _check_purpose(purpose)
    now = as_utc(uow.now())
    until = now + expires if isinstance(expires, timedelta) else expires
    until = as_utc(until)
    if not now < until <= now + MAX_LIFETIME:
        raise ValueError("a link expires after now and within MAX_LIFETIME")
    if not subject_id or len(subject_id.encode("utf-8")) > 200:
        raise ValueError("a link's subject is 1-200 bytes")
    secret = _key_in(uow)
    if secret is None:
        secret = secrets.token_hex(32)
        uow.session.execute(
            link_keys.insert().values(practice_id=uow.practice_id, secret=secret, created_at=now)
        )
    payload = _pack(uow.practice_id, subject_id, int(until.timestamp()), secrets.token_bytes(8))
    return _b64(payload + _mac(secret, purpose, payload))


def issue_link(
    engine: Engine,
    practice_id: str,
    purpose: str,
    subject_id: str,
    *,
    expires: datetime | timedelta,
    actor: str = "system:links",
    clock: Clock = current_time,
) -> str:
    """A signed token for ``purpose`` on ``subject_id``, valid until ``expires``."""
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        return issue_link_in(uow, purpose, subject_id, expires=expires)


def _verify_in(uow: UnitOfWork, token: str, purpose: str) -> Link:
    payload, mac, practice_id, subject_id, expires, nonce = _split(token)
    if practice_id != uow.practice_id:
        raise _refuse("link-invalid", "this link is not valid")
    secret = _key_in(uow)
    if secret is None or not hmac.compare_digest(mac, _mac(secret, purpose, payload)):
        raise _refuse("link-invalid", "this link is not valid")
    expires_at = datetime.fromtimestamp(expires, UTC)
    if as_utc(uow.now()) >= expires_at:
        raise _refuse("link-expired", "this link has expired")
    link = Link(practice_id, purpose, subject_id, expires_at, nonce.hex())
    used = uow.session.execute(
        select(link_redemptions.c.id).where(link_redemptions.c.id == link.nonce)
    ).first()
    if used is not None:
        raise _refuse("link-used", "this link was already used")
    return link


def read_link(engine: Engine, token: str, purpose: str, *, clock: Clock = current_time) -> Link:
    """Check a token without using it: signed by its practice for ``purpose``, not expired, unused."""
    practice_id = link_practice(token)
    try:
        with UnitOfWork(engine, practice_id, "system:links", read_only=True, clock=clock) as uow:
            return _verify_in(uow, token, purpose)
    except LinkError:
        raise
    except TherabillError:  # the practice named in a forged token does not exist
        raise _refuse("link-invalid", "this link is not valid") from None


def redeem_link_in(uow: UnitOfWork, token: str, purpose: str) -> Link:
    """Inside the caller's write unit of work: check the token and mark it used.

    The redemption commits with the caller's change (or not at all). Two redemptions at
    once: the second fails on ``link_redemptions``' key; this raises ``link-used`` when the
    flush finds it, else the caller's commit fails and nothing of it is written.
    """
    link = _verify_in(uow, token, purpose)
    try:
        with uow.session.begin_nested():
            uow.session.execute(
                link_redemptions.insert().values(
                    id=link.nonce,
                    practice_id=uow.practice_id,
                    purpose=purpose,
                    subject_id=link.subject_id[:64],
                    expires_at=link.expires_at,
                    redeemed_at=uow.now(),
                )
            )
    except IntegrityError:
        raise _refuse("link-used", "this link was already used") from None
    uow.record("link.redeem", "link", link.nonce, {"purpose": purpose})
    return link


def redeem_link(engine: Engine, token: str, purpose: str, *, clock: Clock = current_time) -> Link:
    """Check a token and mark it used (single use): ``link-used`` the second time."""
    practice_id = link_practice(token)
    try:
        with UnitOfWork(engine, practice_id, "system:links", clock=clock) as uow:
            return redeem_link_in(uow, token, purpose)
    except LinkError:
        raise
    except IntegrityError:
        raise _refuse("link-used", "this link was already used") from None
    except TherabillError:
        raise _refuse("link-invalid", "this link is not valid") from None


def replace_link_key(engine: Engine, practice_id: str, actor: str, *, clock: Clock = current_time) -> None:
    """Give the practice a new signing key: every link signed before stops working."""
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        uow.session.execute(link_keys.delete().where(link_keys.c.practice_id == practice_id))
        uow.session.execute(
            link_keys.insert().values(
                practice_id=practice_id, secret=secrets.token_hex(32), created_at=uow.now()
            )
        )
        uow.record("link.key.replace", "practice", practice_id)
