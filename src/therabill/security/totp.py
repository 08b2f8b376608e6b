"""TOTP (RFC 6238, 30-second steps, 6 digits) with single use of each code (ASVS 6.5.1)."""

from __future__ import annotations

from datetime import UTC, datetime

import pyotp

ISSUER = "therabill"


def new_secret() -> str:
    """A fresh base32 secret (160 bits)."""
    return pyotp.random_base32(32)


def provisioning_uri(secret: str, username: str) -> str:
    """The otpauth:// URI an authenticator app reads."""
    return pyotp.TOTP(secret).provisioning_uri(name=username, issuer_name=ISSUER)


def _counter(at: datetime) -> int:
    return int(at.replace(tzinfo=UTC).timestamp()) // 30


def verify(secret: str, code: str, at: datetime, last_counter: int | None) -> int | None:
    """The time-step counter the code matches (one step of drift allowed), else None.

    A code whose counter is not after ``last_counter`` is refused: each code works once.
    ``at`` is a naive UTC datetime.
    """
    code = code.strip().replace(" ", "")
    if not (code.isdigit() and len(code) == 6):
        return None
    totp = pyotp.TOTP(secret)
    now = _counter(at)
    for counter in (now, now - 1, now + 1):
        if last_counter is not None and counter <= last_counter:
            continue
        if pyotp.utils.strings_equal(totp.generate_otp(counter), code):
            return counter
    return None


def code_at(secret: str, at: datetime) -> str:
    """The code of the given moment (tests and the demo use it)."""
    return pyotp.TOTP(secret).generate_otp(_counter(at))


def qr_svg(uri: str) -> str:
    """The ``otpauth://`` URI as an inline SVG QR code (drawn on the server, no script).

    Error correction M; the SVG has no XML declaration and only presentation attributes, so
    it can be placed in a page under a strict Content-Security-Policy.
    """
    import io

    import segno

    code = segno.make(uri, error="m", micro=False)
    out = io.BytesIO()
    code.save(
        out,
        kind="svg",
        scale=4,
        border=4,
        dark="#000",
        light="#fff",
        xmldecl=False,
        svgns=True,
        nl=False,
        title="TOTP setup code",
    )
    return out.getvalue().decode("ascii")
