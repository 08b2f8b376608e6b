"""Fixtures of the API and web tests: one world (database, two practices) per test session."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from tests.e2e.api.world import PASSWORD, World, build_world
from therabill.entrypoints.app import create_app
from therabill.entrypoints.http.settings import Settings
from therabill.security import totp
from therabill.security.permissions import Permission, permissions_of
from therabill.service_layer import accounts, api_tokens

ALL_SCOPES = " ".join(p.value for p in Permission)


@pytest.fixture(scope="session")
def world(tmp_path_factory: pytest.TempPathFactory) -> World:
    return build_world(tmp_path_factory.mktemp("web"))


@pytest.fixture(scope="session")
def app(world: World, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    data = tmp_path_factory.mktemp("web-data")  # the app's own data folder (never the user's)
    return create_app(
        Settings(database_url="sqlite:///unused", data_dir=str(data)), engine=world.engine, clock=world.clock
    )


@pytest.fixture
def client(app) -> Iterator[TestClient]:  # type: ignore[no-untyped-def]
    with TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as c:
        yield c


def csrf_of(html: str) -> str:
    found = re.search(r'name="csrf_token" value="([^"]+)"', html)
    assert found, "no CSRF field on the page"
    return found.group(1)


def login(client: TestClient, world: World, practice: str, role: str) -> str:
    """Log a role of practice ``a`` or ``b`` in (with its TOTP code); returns the page CSRF token."""
    pw = getattr(world, practice)
    page = client.get("/login")
    r = client.post(
        "/login",
        data={"username": pw.usernames[role], "password": PASSWORD, "csrf_token": csrf_of(page.text)},
    )
    assert r.status_code == 303, r.text
    if r.headers["location"] == "/login/mfa":
        world.clock.advance(seconds=31)  # a fresh code: each code works once
        mfa = client.get("/login/mfa")
        code = totp.code_at(pw.secrets[role], world.clock())
        r = client.post("/login/mfa", data={"code": code, "csrf_token": csrf_of(mfa.text)})
        assert r.status_code == 303, r.text
    assert r.headers["location"] == "/"
    home = client.get("/account")
    assert home.status_code == 200, home.text
    return csrf_of(home.text)


def token_for(world: World, practice: str, role: str, scopes: str = ALL_SCOPES) -> str:
    """A token of the role with ``scopes``, narrowed to what the role holds (a token never holds more)."""
    pw = getattr(world, practice)
    held = {p.value for p in permissions_of(role)}
    scopes = " ".join(s for s in scopes.split() if s in held)
    with world.engine.begin() as conn:
        user = accounts.Principal(
            user_id=pw.users[role],
            username=pw.usernames[role],
            display_name=role,
            practice_id=pw.practice_id,
            role=role,
        )
        _, token = api_tokens.create_api_token(conn, user, f"test {role}", scopes, world.clock())
    return token


@pytest.fixture(scope="session")
def tokens(world: World) -> dict[tuple[str, str], str]:
    """An all-scopes token of every role in both practices."""
    return {
        (p, r): token_for(world, p, r)
        for p in ("a", "b")
        for r in ("owner", "biller", "therapist", "front_desk")
    }


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}
