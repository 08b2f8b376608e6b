"""Security core through the app: log-in with MFA, throttling, sessions, CSRF, headers, tokens."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.e2e.api.conftest import bearer, csrf_of, login, token_for
from tests.e2e.api.world import PASSWORD, World
from therabill.entrypoints.http.deps import PUBLIC, route_permissions
from therabill.security import totp

PUBLIC_ROUTES = {
    ("GET", "/login"),
    ("POST", "/login"),
    ("GET", "/login/mfa"),
    ("POST", "/login/mfa"),
    ("GET", "/mfa/enroll"),
    ("POST", "/mfa/enroll"),
    ("POST", "/logout"),
    ("GET", "/healthz"),
    # Online booking and the client portal: open to visitors, or to a signed-in client
    # (their own session, no staff permission).
    ("GET", "/book/{slug}"),
    ("POST", "/book/{slug}"),
    ("GET", "/book/{slug}/sent"),
    ("GET", "/book/confirm/{token}"),
    ("POST", "/book/confirm/{token}"),
    ("GET", "/book/{slug}/signin"),
    ("POST", "/book/{slug}/signin"),
    ("GET", "/book/{slug}/signin/sent"),
    ("GET", "/api/v1/booking/{slug}"),
    ("GET", "/api/v1/booking/{slug}/slots"),
    ("GET", "/portal/link/{token}"),
    ("POST", "/portal/link/{token}"),
    ("POST", "/portal/logout"),
    ("GET", "/portal/signed-out"),
    ("GET", "/portal"),
    ("POST", "/portal/appointments/{appointment_id}/cancel"),
    ("GET", "/portal/appointments/{appointment_id}/move"),
    ("POST", "/portal/appointments/{appointment_id}/move"),
    ("GET", "/portal/intake"),
    ("POST", "/portal/intake"),
    ("GET", "/portal/statement.pdf"),
    ("GET", "/portal/receipts/{payment_id}.pdf"),
    ("GET", "/portal/superbills/{visit_id}.pdf"),
    ("POST", "/portal/messages"),
    # a reminder's confirm / cancel links and a therapist's calendar feed: the signed link
    # is the permission (service_layer.links)
    ("GET", "/r/confirm/{link_id}"),
    ("POST", "/r/confirm/{link_id}"),
    ("GET", "/r/cancel/{link_id}"),
    ("POST", "/r/cancel/{link_id}"),
    ("GET", "/calendar/feed/{feed_id}.ics"),
}


def test_every_route_declares_exactly_one_permission(app) -> None:
    table = route_permissions(app)
    assert len(table) > 20
    missing = [route for route, marks in table.items() if len(marks) != 1]
    assert missing == [], f"routes without exactly one permission: {missing}"
    public = {route for route, marks in table.items() if marks == [PUBLIC]}
    assert public == PUBLIC_ROUTES


def test_a_route_without_permission_is_caught(app) -> None:
    from fastapi import FastAPI

    bare = FastAPI()

    @bare.get("/x")
    def x() -> dict[str, str]:
        return {}

    assert route_permissions(bare) == {("GET", "/x"): []}


def test_every_non_public_route_refuses_anonymous_callers(client: TestClient, app) -> None:
    for (method, path), marks in route_permissions(app).items():
        if marks == [PUBLIC]:
            continue
        url = path.replace("{", "").replace("}", "")
        r = client.request(method, url)
        if path.startswith("/api/"):
            assert r.status_code == 401, (method, path, r.status_code)
            assert r.json()["error"]["code"] == "not-authenticated"
        else:
            assert r.status_code == 303 and r.headers["location"] == "/login", (method, path, r.status_code)


def test_login_with_mfa_then_logout_ends_the_session(client: TestClient, world: World) -> None:
    login(client, world, "a", "owner")
    assert client.get("/").status_code == 200
    cookie = client.cookies.get("tb_session")
    csrf = csrf_of(client.get("/account").text)
    assert client.post("/logout", data={"csrf_token": csrf}).status_code == 303
    client.cookies.set("tb_session", cookie)
    assert client.get("/").status_code == 303


def test_password_alone_is_not_enough_when_mfa_is_enrolled(client: TestClient, world: World) -> None:
    page = client.get("/login")
    r = client.post(
        "/login", data={"username": "biller-pa", "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    )
    assert r.headers["location"] == "/login/mfa"
    assert client.get("/").status_code == 303  # the pending session opens no page
    assert client.get("/api/v1/me").status_code == 401
    mfa = client.get("/login/mfa")
    bad = client.post("/login/mfa", data={"code": "000000", "csrf_token": csrf_of(mfa.text)})
    assert bad.status_code == 401


def test_a_totp_code_works_only_once(client: TestClient, world: World) -> None:
    login(client, world, "a", "biller")
    used = totp.code_at(world.a.secrets["biller"], world.clock())
    other = TestClient(client.app, base_url="http://127.0.0.1", follow_redirects=False)
    page = other.get("/login")
    other.post(
        "/login", data={"username": "biller-pa", "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    )
    mfa = other.get("/login/mfa")
    assert other.post("/login/mfa", data={"code": used, "csrf_token": csrf_of(mfa.text)}).status_code == 401


def test_therapist_logs_in_without_mfa(client: TestClient, world: World) -> None:
    login(client, world, "a", "therapist")
    assert client.get("/api/v1/me").json()["role"] == "therapist"


def test_owner_without_mfa_must_enroll_first(client: TestClient, world: World) -> None:
    from therabill.service_layer import accounts

    with world.engine.begin() as conn:
        accounts.create_user(
            conn,
            username="newowner",
            display_name="New Owner",
            password=PASSWORD,
            practice_id=world.a.practice_id,
            role="owner",
            now=world.clock(),
        )
    page = client.get("/login")
    r = client.post(
        "/login", data={"username": "newowner", "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    )
    assert r.headers["location"] == "/mfa/enroll"
    assert client.get("/").status_code == 303
    enroll = client.get("/mfa/enroll")
    secret = enroll.text.split('id="totp-secret">')[1].split("<")[0]
    code = totp.code_at(secret, world.clock())
    done = client.post("/mfa/enroll", data={"code": code, "csrf_token": csrf_of(enroll.text)})
    assert done.status_code == 303 and done.headers["location"] == "/"
    assert client.get("/").status_code == 200


def test_login_throttling_refuses_even_the_right_password(client: TestClient, world: World) -> None:
    from therabill.service_layer import accounts

    with world.engine.begin() as conn:
        accounts.create_user(
            conn,
            username="victim",
            display_name="Victim",
            password=PASSWORD,
            practice_id=world.a.practice_id,
            role="front_desk",
            now=world.clock(),
        )
    for _ in range(10):
        page = client.get("/login")
        r = client.post(
            "/login",
            data={"username": "victim", "password": "wrong password!", "csrf_token": csrf_of(page.text)},
        )
        assert r.status_code == 401
    page = client.get("/login")
    r = client.post(
        "/login", data={"username": "victim", "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    )
    assert r.status_code == 429
    world.clock.advance(minutes=16)
    page = client.get("/login")
    r = client.post(
        "/login", data={"username": "victim", "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    )
    assert r.status_code == 303


def test_idle_timeout_and_absolute_lifetime(client: TestClient, world: World) -> None:
    login(client, world, "a", "front_desk")
    world.clock.advance(minutes=14)
    assert client.get("/").status_code == 200
    world.clock.advance(minutes=15, seconds=1)
    assert client.get("/").status_code == 303  # idle too long
    login(client, world, "a", "front_desk")
    for _ in range(12 * 6):
        world.clock.advance(minutes=10)
        if client.get("/api/v1/me").status_code != 200:
            break
    else:
        pytest.fail("the session outlived its absolute lifetime")
    assert client.get("/api/v1/me").status_code == 401


def test_login_form_needs_its_csrf_token(client: TestClient) -> None:
    client.get("/login")
    r = client.post("/login", data={"username": "owner-pa", "password": PASSWORD, "csrf_token": "forged"})
    assert r.status_code == 403


def test_every_state_changing_form_needs_the_csrf_token(client: TestClient, world: World) -> None:
    login(client, world, "a", "owner")
    r = client.post("/account/tokens", data={"name": "x", "scopes": "patients.read"})
    assert r.status_code == 403
    r = client.post("/patients/search", data={"q": "doe"})
    assert r.status_code == 403
    csrf = csrf_of(client.get("/account").text)
    r = client.post("/account/tokens", data={"name": "x", "scopes": "patients.read", "csrf_token": csrf})
    assert r.status_code == 200 and "tb_" in r.text


def test_security_headers(client: TestClient, world: World) -> None:
    login(client, world, "a", "owner")
    page = client.get("/")
    assert "default-src 'self'" in page.headers["content-security-policy"]
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store"
    assert page.headers["x-content-type-options"] == "nosniff"
    cookie = page.request.headers.get("cookie", "")
    assert "tb_session" in cookie
    static = client.get("/static/htmx.min.js")
    assert static.status_code == 200 and "no-store" not in static.headers["cache-control"]


def test_session_cookie_is_httponly_and_samesite(world: World, app) -> None:
    c = TestClient(app, base_url="http://127.0.0.1", follow_redirects=False)
    page = c.get("/login")
    r = c.post(
        "/login", data={"username": "therapist-pa", "password": PASSWORD, "csrf_token": csrf_of(page.text)}
    )
    header = r.headers["set-cookie"].lower()
    assert "tb_session=" in header and "httponly" in header and "samesite=strict" in header


def test_api_tokens_scopes_and_revocation(client: TestClient, world: World) -> None:
    narrow = token_for(world, "a", "biller", "coding.use")
    assert client.get("/api/v1/me", headers=bearer(narrow)).status_code == 403
    full = token_for(world, "a", "biller")
    me = client.get("/api/v1/me", headers=bearer(full)).json()
    assert me["role"] == "biller" and "audit.read" not in me["permissions"]
    created = client.post(
        "/api/v1/tokens", json={"name": "ci", "scopes": ["claims.read"]}, headers=bearer(full)
    )
    assert created.status_code == 201
    body = created.json()
    assert body["token"].startswith("tb_") and body["scopes"] == ["claims.read"]
    listed = client.get("/api/v1/tokens", headers=bearer(full)).json()
    assert all("token" not in t for t in listed)
    assert client.delete(f"/api/v1/tokens/{body['id']}", headers=bearer(full)).status_code == 204
    assert client.get("/api/v1/me", headers=bearer(body["token"])).status_code == 401
    other = token_for(world, "b", "biller")
    assert client.delete(f"/api/v1/tokens/{body['id']}", headers=bearer(other)).status_code == 404


def test_write_schemas_refuse_unknown_fields(client: TestClient, world: World) -> None:
    full = token_for(world, "a", "owner")
    r = client.post(
        "/api/v1/tokens",
        json={"name": "x", "scopes": ["claims.read"], "practice_id": world.b.practice_id},
        headers=bearer(full),
    )
    assert r.status_code == 422
    assert r.json()["error"]["problems"][0]["loc"].endswith("practice_id")
    r = client.post("/api/v1/tokens", json={"name": "x", "scopes": ["root"]}, headers=bearer(full))
    assert r.status_code == 422 and r.json()["error"]["problems"][0]["code"] == "token-scope-unknown"


def test_garbage_bearer_tokens_are_refused(client: TestClient) -> None:
    for value in ("Bearer ", "Bearer tb_nope", "Basic abc", "Bearer " + "x" * 5000):
        r = client.get("/api/v1/me", headers={"Authorization": value})
        assert r.status_code == 401 and r.json()["error"]["code"] == "not-authenticated"


def _audit_rows(world: World, action: str) -> list:  # type: ignore[type-arg]
    from sqlalchemy import select

    from therabill.adapters.db.tables import audit_log

    with world.engine.connect() as conn:
        return list(
            conn.execute(
                select(audit_log).where(
                    audit_log.c.practice_id == world.a.practice_id, audit_log.c.action == action
                )
            )
        )


def test_each_phi_read_writes_exactly_one_audit_event(client: TestClient, world: World) -> None:
    token = token_for(world, "a", "biller")
    before = len(_audit_rows(world, "patient.read"))
    r = client.get(f"/api/v1/patients/{world.a.patient_id}", headers=bearer(token))
    assert r.status_code == 200
    rows = _audit_rows(world, "patient.read")
    assert len(rows) == before + 1
    last = rows[-1]
    assert last.object_id == world.a.patient_id and last.actor == f"user:{world.a.users['biller']}"
    assert "Doe" not in str(last.details)  # ids and outcomes only, never names


def test_denials_are_audited(client: TestClient, world: World) -> None:
    token = token_for(world, "a", "front_desk")
    before = len(_audit_rows(world, "deny"))
    assert client.get("/api/v1/claims", headers=bearer(token)).status_code == 403
    rows = _audit_rows(world, "deny")
    assert len(rows) == before + 1 and rows[-1].details["outcome"] == "denied:claims.read"


def test_no_phi_in_addresses_or_error_bodies(client: TestClient, world: World, app) -> None:
    for _, path in route_permissions(app):
        params = re.findall(r"\{(\w+)\}", path)
        # A practice's public short name, an emailed link's token, a package or gift certificate's
        # printed code and a payment's reference carry no PHI.
        assert all(
            p.endswith("_id") or p in ("name", "slug", "token", "code", "payment_ref") for p in params
        ), path

    token = token_for(world, "a", "owner")
    r = client.post("/api/v1/patients/search", json={"name": "DoePA", "bogus": 1}, headers=bearer(token))
    assert r.status_code == 422 and "DoePA" not in r.text
