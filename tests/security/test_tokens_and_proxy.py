"""Findings 2 and 3: a token never mints a stronger token and always expires; behind a
trusted proxy the client's own address is throttled, not the proxy's."""

from __future__ import annotations

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from tests.e2e.api.conftest import bearer, csrf_of, token_for
from tests.e2e.api.world import PASSWORD, World
from therabill.adapters.db.auth_tables import api_tokens
from therabill.adapters.db.tables import audit_log
from therabill.entrypoints.app import create_app
from therabill.entrypoints.http.settings import Settings
from therabill.security.permissions import ROLE_PERMISSIONS


def _mint(client: TestClient, token: str, **body: object) -> tuple[int, dict[str, object]]:
    r = client.post("/api/v1/tokens", json={"name": "minted", **body}, headers=bearer(token))
    return r.status_code, r.json()


def test_account_self_token_cannot_mint_the_whole_role(client: TestClient, world: World) -> None:
    weak = token_for(world, "a", "owner", "account.self")
    every = sorted(p.value for p in ROLE_PERMISSIONS["owner"])
    status, body = _mint(client, weak, scopes=every)
    assert status == 422, body
    assert body["error"]["problems"][0]["code"] == "token-scope-exceeds"
    for scope in ("users.manage", "claims.read", "audit.read"):
        status, body = _mint(client, weak, scopes=[scope])
        assert status == 422 and body["error"]["problems"][0]["code"] == "token-scope-exceeds", scope
    # the same scopes (or fewer) are fine
    status, body = _mint(client, weak, scopes=["account.self"])
    assert status == 201, body


def test_narrow_token_mints_only_a_subset(client: TestClient, world: World) -> None:
    two = token_for(world, "a", "biller", "account.self claims.read")
    assert _mint(client, two, scopes=["claims.read"])[0] == 201
    assert _mint(client, two, scopes=["claims.read", "claims.write"])[0] == 422


def test_role_bounds_a_session_too(client: TestClient, world: World) -> None:
    therapist = token_for(world, "a", "therapist", "account.self visits.read")
    assert _mint(client, therapist, scopes=["claims.read"])[0] == 422


def test_token_without_expiry_gets_the_default_and_expires(client: TestClient, world: World) -> None:
    token = token_for(world, "a", "owner", "account.self claims.read")
    status, body = _mint(client, token, scopes=["claims.read"], expires_in_days=None)
    assert status == 201, body
    assert body["expires_at"] is not None
    minted = str(body["token"])
    assert client.get("/api/v1/claims", headers=bearer(minted)).status_code == 200
    world.clock.advance(days=91)
    try:
        assert client.get("/api/v1/claims", headers=bearer(minted)).status_code == 401
    finally:
        world.clock.advance(days=-91)


def test_expiry_beyond_the_maximum_is_refused(client: TestClient, world: World) -> None:
    token = token_for(world, "a", "owner", "account.self claims.read")
    status, body = _mint(client, token, scopes=["claims.read"], expires_in_days=3650)
    assert status == 422 and body["error"]["problems"][0]["code"] == "token-expiry-too-long"


def test_a_row_without_expiry_is_not_a_live_token(client: TestClient, world: World) -> None:
    token = token_for(world, "a", "owner", "account.self")
    with world.engine.begin() as conn:
        conn.execute(api_tokens.update().where(api_tokens.c.prefix == token[:10]).values(expires_at=None))
    assert client.get("/api/v1/me", headers=bearer(token)).status_code == 401


def test_creation_and_use_are_audited(client: TestClient, world: World) -> None:
    token = token_for(world, "a", "owner", "account.self")
    status, body = _mint(client, token, scopes=["account.self"])
    assert status == 201
    world.clock.advance(seconds=61)
    assert client.get("/api/v1/me", headers=bearer(str(body["token"]))).status_code == 200
    with world.engine.connect() as conn:
        actions = {
            r.action
            for r in conn.execute(select(audit_log.c.action).where(audit_log.c.object_id == body["id"]))
        }
    assert {"token.create", "token.use"} <= actions


# --- finding 3: trusted proxies ---------------------------------------------------------


@pytest.fixture
def proxied(world: World) -> TestClient:
    settings = Settings(database_url="sqlite:///unused", trusted_proxies="10.9.0.1")
    app = create_app(settings, engine=world.engine, clock=world.clock)
    return TestClient(app, base_url="http://127.0.0.1", follow_redirects=False, client=("10.9.0.1", 443))


def _login(c: TestClient, username: str, password: str, forwarded: str | None) -> str:
    headers = {"X-Forwarded-For": forwarded} if forwarded else {}
    page = c.get("/login", headers=headers)
    r = c.post(
        "/login",
        data={"username": username, "password": password, "csrf_token": csrf_of(page.text)},
        headers=headers,
    )
    return {303: "ok", 429: "throttled", 401: "invalid"}[r.status_code]


def test_attacker_behind_the_proxy_does_not_lock_out_the_user(proxied: TestClient, world: World) -> None:
    world.clock.advance(minutes=30)  # a fresh throttling window
    user = world.a.usernames["therapist"]
    assert _login(proxied, user, PASSWORD, "198.51.100.7") == "ok"  # the user's usual address
    for _ in range(12):
        _login(proxied, user, "wrong password!!", "203.0.113.66")
    assert _login(proxied, user, "wrong password!!", "203.0.113.66") == "throttled"
    # the real user, from their own address through the same proxy, still logs in
    assert _login(proxied, user, PASSWORD, "198.51.100.7") == "ok"
    # ...while the attacker moving to a fresh address is still capped for this account
    assert _login(proxied, user, "wrong password!!", "203.0.113.67") == "throttled"


def test_many_users_failing_behind_the_proxy_do_not_lock_out_everyone(
    proxied: TestClient, world: World
) -> None:
    world.clock.advance(minutes=30)
    for i in range(110):
        _login(proxied, f"nobody-{i}", "wrong password!!", f"198.18.{i // 200}.{i % 200 + 1}")
    assert _login(proxied, world.a.usernames["front_desk"], PASSWORD, "198.51.100.8") == "ok"


def test_forwarded_header_from_an_untrusted_peer_is_ignored(client: TestClient, world: World) -> None:
    """Without a trusted proxy an attacker cannot rotate X-Forwarded-For to dodge the throttle."""
    world.clock.advance(minutes=30)
    user = world.b.usernames["therapist"]
    results = [_login(client, user, "wrong password!!", f"192.0.2.{i}") for i in range(1, 13)]
    assert results[-1] == "throttled", results


def test_audit_records_the_forwarded_client(proxied: TestClient, world: World) -> None:
    world.clock.advance(minutes=30)
    assert _login(proxied, world.b.usernames["front_desk"], "wrong password!!", "203.0.113.99") == "invalid"
    with world.engine.connect() as conn:
        rows = conn.execute(select(audit_log.c.details).where(audit_log.c.action == "auth.password")).all()
    assert any(r.details.get("ip") == "203.0.113.99" for r in rows)
    assert not any(r.details.get("ip") == "10.9.0.1" for r in rows)


def test_the_owner_sets_the_default_and_the_maximum(client: TestClient, world: World) -> None:
    """Practice b's owner sets 7 / 30 days on the settings page: a token made without an
    expiry then lives 7 days, 31 days is refused, and nothing beyond the installation's
    maximum can be set. Practice a keeps the installation's lifetimes."""
    from tests.e2e.api.conftest import login

    csrf = login(client, world, "b", "owner")
    too_long = client.post(
        "/settings/tokens/policy",
        data={"csrf_token": csrf, "token_default_days": "7", "token_max_days": "9999"},
    )
    assert "token-policy-invalid" in too_long.text
    saved = client.post(
        "/settings/tokens/policy",
        data={"csrf_token": csrf, "token_default_days": "7", "token_max_days": "30"},
    )
    assert "Token lifetimes saved." in saved.text and 'value="30"' in saved.text
    token = token_for(world, "b", "owner", "account.self claims.read")
    status, body = _mint(client, token, scopes=["claims.read"], expires_in_days=31)
    assert status == 422 and body["error"]["problems"][0]["code"] == "token-expiry-too-long"
    status, body = _mint(client, token, scopes=["claims.read"])
    assert status == 201, body
    minted = str(body["token"])
    world.clock.advance(days=8)
    try:
        assert client.get("/api/v1/claims", headers=bearer(minted)).status_code == 401
    finally:
        world.clock.advance(days=-8)
    other = token_for(world, "a", "owner", "account.self claims.read")
    assert _mint(client, other, scopes=["claims.read"], expires_in_days=90)[0] == 201
    with world.engine.connect() as conn:
        actions = list(
            conn.execute(select(audit_log.c.action).where(audit_log.c.action == "token.policy")).scalars()
        )
    assert actions == ["token.policy"]
