"""Log-in throttling without lock-out, failed and throttled log-ins in the audit log, and the
QR code of MFA enrollment (ASVS 6.3.1, 16.3.1; goal table row A4)."""

from __future__ import annotations

import logging
import re
from datetime import datetime, timedelta

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.e2e.api.conftest import csrf_of
from tests.e2e.api.world import PASSWORD, World
from therabill.adapters.db.auth_tables import login_attempts
from therabill.adapters.db.tables import audit_log
from therabill.security import totp
from therabill.service_layer import accounts, sessions
from therabill.service_layer.accounts import SessionPolicy

POLICY = SessionPolicy(max_failures_per_user=3, max_failures_per_ip=5, window_minutes=15)
T0 = datetime(2027, 3, 1, 8, 0, 0)  # away from the other tests' attempts


def _user(world: World, name: str) -> str:
    with world.engine.begin() as conn:
        return accounts.create_user(
            conn,
            username=name,
            display_name=name,
            password=PASSWORD,
            practice_id=world.a.practice_id,
            role="front_desk",
            now=T0,
        )


def _try(world: World, name: str, password: str, ip: str, at: datetime) -> tuple[str | None, str]:
    with world.engine.begin() as conn:
        return sessions.check_password(conn, name, password, ip, at, POLICY)


def test_a_guesser_elsewhere_cannot_lock_the_user_out(world: World) -> None:
    _user(world, "throttle-me")
    home, attacker, new_device = "10.1.0.1", "10.6.6.6", "10.1.0.9"
    assert _try(world, "throttle-me", PASSWORD, home, T0)[1] == "ok"  # home becomes a known address
    for i in range(3):
        assert _try(
            world, "throttle-me", "wrong guess!!", attacker, T0 + timedelta(minutes=1, seconds=i)
        ) == (
            None,
            "invalid",
        )
    # The guesser is stopped, even with the right password...
    assert _try(world, "throttle-me", PASSWORD, attacker, T0 + timedelta(minutes=2))[1] == "throttled"
    # ...and may keep trying: refused attempts are not guesses and do not extend the window.
    for minute in range(3, 15):
        assert (
            _try(world, "throttle-me", "wrong guess!!", attacker, T0 + timedelta(minutes=minute))[1]
            == "throttled"
        )
    # The user, from the usual address, is not locked out.
    assert _try(world, "throttle-me", PASSWORD, home, T0 + timedelta(minutes=5))[1] == "ok"
    # From an address never used before, the account-wide cap applies during the window.
    assert _try(world, "throttle-me", PASSWORD, new_device, T0 + timedelta(minutes=5))[1] == "throttled"
    # The window slides: 15 minutes after the last guess everything is open again.
    later = T0 + timedelta(minutes=16, seconds=3)
    assert _try(world, "throttle-me", PASSWORD, new_device, later)[1] == "ok"
    assert _try(world, "throttle-me", PASSWORD, attacker, later)[1] == "ok"
    with world.engine.connect() as conn:
        failures = conn.execute(
            select(login_attempts.c.id).where(
                login_attempts.c.username == "throttle-me", login_attempts.c.success.is_(False)
            )
        ).all()
    assert len(failures) == 3  # only real guesses are counted


def test_one_address_spraying_many_accounts_is_capped(world: World) -> None:
    names = [f"spray-{i}" for i in range(6)]
    at = T0 + timedelta(hours=2)
    for name in names[:5]:
        assert _try(world, name, "not the password", "10.9.9.9", at)[1] == "invalid"
    assert _try(world, names[5], "not the password", "10.9.9.9", at)[1] == "throttled"
    with world.engine.connect() as conn:
        reason = sessions.throttle_reason(conn, names[5], "10.9.9.9", at, POLICY)
    assert reason == "address"
    with world.engine.connect() as conn:
        assert sessions.throttle_reason(conn, names[5], "10.9.9.8", at, POLICY) is None


def test_failed_and_throttled_logins_are_in_the_audit_chain_without_the_password(
    world: World, caplog: pytest.LogCaptureFixture
) -> None:
    user_id = _user(world, "audited-login")
    at = T0 + timedelta(hours=4)
    secret_guess = "Sup3r-secret-guess!"
    for i in range(3):
        _try(world, "audited-login", secret_guess, "10.2.2.2", at + timedelta(seconds=i))
    _try(world, "audited-login", PASSWORD, "10.2.2.2", at + timedelta(seconds=9))
    with world.engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.action, audit_log.c.details, audit_log.c.actor)
            .where(audit_log.c.object_id == user_id, audit_log.c.action == "auth.password")
            .order_by(audit_log.c.seq)
        ).all()
    outcomes = [(r.details["outcome"], r.details["reason"]) for r in rows]
    assert outcomes == [("failed", "wrong-password")] * 3 + [("throttled", "pair")]
    assert all(r.details["ip"] == "10.2.2.2" and r.actor == "anonymous" for r in rows)
    assert secret_guess not in str([r.details for r in rows])
    # An unknown username: there are two practices here, so it goes to the application log
    # (never the name itself, which may be a mistyped password).
    with caplog.at_level(logging.WARNING, logger="therabill.auth"):
        _try(world, secret_guess, "x" * 12, "10.2.2.3", at)
    assert "unknown username" in caplog.text and secret_guess not in caplog.text


def test_wrong_totp_codes_are_throttled_and_audited(client: TestClient, world: World) -> None:
    # The app's policy: 10 per username and address per 15 minutes.
    page = client.get("/login")
    r = client.post(
        "/login", data={"username": "owner-pb", "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    )
    assert r.headers["location"] == "/login/mfa"
    mfa = client.get("/login/mfa")
    try:
        statuses = [
            client.post("/login/mfa", data={"code": "000000", "csrf_token": csrf_of(mfa.text)}).status_code
            for _ in range(11)
        ]
        first = statuses.index(429)
        assert set(statuses[:first]) == {401} and first <= 10 and set(statuses[first:]) == {429}
        # Even the right code is refused until the window passes.
        right = totp.code_at(world.b.secrets["owner"], world.clock())
        assert (
            client.post("/login/mfa", data={"code": right, "csrf_token": csrf_of(mfa.text)}).status_code
            == 429
        )
        with world.engine.connect() as conn:
            outcomes = [
                r.details["outcome"]
                for r in conn.execute(
                    select(audit_log.c.details).where(
                        audit_log.c.object_id == world.b.users["owner"], audit_log.c.action == "auth.mfa"
                    )
                )
            ]
        assert outcomes.count("failed") >= first and "throttled" in outcomes
    finally:
        world.clock.advance(minutes=16)  # the other tests log this owner in again


def test_enrollment_page_shows_a_qr_code_of_the_setup_link(client: TestClient, world: World) -> None:
    with world.engine.begin() as conn:
        accounts.create_user(
            conn,
            username="qr-owner",
            display_name="QR Owner",
            password=PASSWORD,
            practice_id=world.a.practice_id,
            role="owner",
            now=world.clock(),
        )
    page = client.get("/login")
    client.post(
        "/login", data={"username": "qr-owner", "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    )
    enroll = client.get("/mfa/enroll")
    assert enroll.status_code == 200
    secret = re.search(r'id="totp-secret">([A-Z2-7]+)<', enroll.text)
    assert secret is not None
    uri = totp.provisioning_uri(secret.group(1), "qr-owner")
    assert totp.qr_svg(uri) in enroll.text  # the SVG of exactly this secret's link
    svg = re.search(r"<svg[^>]*>.*?</svg>", enroll.text, re.S)
    assert svg is not None and "<path" in svg.group(0) and "<script" not in svg.group(0)
    assert "style=" not in svg.group(0)  # nothing the Content-Security-Policy would block
