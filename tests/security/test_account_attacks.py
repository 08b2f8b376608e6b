"""Findings 6, 7, 15 and 16: sessions after a password change, single-use TOTP codes under
concurrency, two owners disabling each other, another practice's provider id in a role change.

The concurrency attacks run on SQLite and on PostgreSQL. To make the race certain rather
than likely, every attacker is held at a barrier just before its write (an engine event on
``UPDATE users``): without row locking all of them have read the old state by then.
"""

from __future__ import annotations

import threading
import uuid
from collections.abc import Callable
from datetime import datetime
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import Engine, event, select

from tests.e2e.api.conftest import csrf_of, login
from tests.e2e.api.world import PASSWORD, World
from tests.integration.db.builders import a_practice
from therabill.adapters.db import migrations
from therabill.adapters.db.auth_tables import user_practice_roles, users
from therabill.security import totp
from therabill.service_layer import accounts, sessions
from therabill.service_layer.accounts import AccountError, SessionPolicy

NOW = datetime(2026, 11, 23, 9, 0, 0)


def _hold_writers(engine: Engine, parties: int) -> None:
    """Hold each ``UPDATE users`` at a barrier until ``parties`` writers got there (or 3 s passed)."""
    barrier = threading.Barrier(parties, timeout=3)

    def before(conn: Any, cursor: Any, statement: str, *args: Any) -> None:
        if statement.lstrip().upper().startswith("UPDATE USERS"):
            try:
                barrier.wait()
            except threading.BrokenBarrierError:
                pass

    event.listen(engine, "before_cursor_execute", before)


def _race(n: int, attack: Callable[[int], object]) -> list[object]:
    results: list[object] = [None] * n

    def run(i: int) -> None:
        try:
            results[i] = attack(i)
        except Exception as exc:  # noqa: BLE001 - the outcome is what is compared
            results[i] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return results


def _user(engine: Engine, practice_id: str, role: str, secret: str | None = None) -> str:
    with engine.begin() as conn:
        return accounts.create_user(
            conn,
            username=f"{role}-{uuid.uuid4().hex[:8]}",
            display_name=role,
            password=PASSWORD,
            practice_id=practice_id,
            role=role,
            now=NOW,
            totp_secret=secret,
        )


def test_one_totp_code_completes_one_login(empty_engine: Engine) -> None:
    migrations.upgrade(empty_engine)
    practice = a_practice(empty_engine)
    secret = totp.new_secret()
    user_id = _user(empty_engine, practice.id, "biller", secret)
    policy = SessionPolicy()
    with empty_engine.begin() as conn:
        pending = [sessions.start_session(conn, user_id, "mfa", NOW, policy) for _ in range(8)]
    code = totp.code_at(secret, NOW)
    _hold_writers(empty_engine, 8)

    def attack(i: int) -> object:
        with empty_engine.begin() as conn:
            return sessions.complete_mfa(conn, pending[i], code, NOW, policy, "192.0.2.1")

    results = _race(8, attack)
    assert not [r for r in results if isinstance(r, Exception) and not _is_lock_error(r)], results
    completed = [r for r in results if isinstance(r, str)]
    assert len(completed) == 1, results


def _is_lock_error(exc: object) -> bool:
    return "could not serialize" in str(exc) or "database is locked" in str(exc)


def test_two_owners_disabling_each_other_leave_an_owner(empty_engine: Engine) -> None:
    migrations.upgrade(empty_engine)
    practice = a_practice(empty_engine)
    owners = [_user(empty_engine, practice.id, "owner"), _user(empty_engine, practice.id, "owner")]
    _hold_writers(empty_engine, 2)

    def attack(i: int) -> object:
        with empty_engine.begin() as conn:
            accounts.set_active(conn, practice.id, owners[1 - i], False, NOW, f"user:{owners[i]}")
        return "disabled"

    results = _race(2, attack)
    with empty_engine.connect() as conn:
        active = conn.execute(
            select(users.c.id)
            .join(user_practice_roles, user_practice_roles.c.user_id == users.c.id)
            .where(user_practice_roles.c.practice_id == practice.id, users.c.active.is_(True))
        ).all()
    assert len(active) == 1, results
    refused = [r for r in results if isinstance(r, AccountError)]
    assert len(refused) == 1 and refused[0].problems[0].code == "account-last-owner", results


# --- finding 6: a password change ends the user's other sessions ------------------------


def test_password_change_ends_other_sessions(app: Any, world: World) -> None:
    with (
        TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as mine,
        TestClient(app, base_url="http://127.0.0.1", follow_redirects=False) as stolen,
    ):
        login(stolen, world, "b", "front_desk")
        csrf = login(mine, world, "b", "front_desk")
        assert stolen.get("/account").status_code == 200
        new = "a brand new passphrase 2026"
        r = mine.post("/account/password", data={"current": PASSWORD, "new": new, "csrf_token": csrf})
        assert r.status_code == 200, r.text
        assert mine.get("/account").status_code == 200  # the session that changed it stays
        assert stolen.get("/account").status_code == 303  # the other one is gone
        csrf = csrf_of(mine.get("/account").text)
        r = mine.post("/account/password", data={"current": new, "new": PASSWORD, "csrf_token": csrf})
        assert r.status_code == 200


# --- finding 16: a role change cannot link another practice's provider ------------------


def test_role_change_refuses_another_practices_provider(client: TestClient, world: World) -> None:
    with world.engine.begin() as conn:
        spare = accounts.create_user(
            conn,
            username=f"spare16-{uuid.uuid4().hex[:6]}",
            display_name="Spare",
            password=PASSWORD,
            practice_id=world.a.practice_id,
            role="front_desk",
            now=world.clock(),
        )
    csrf = login(client, world, "a", "owner")
    r = client.post(
        f"/settings/users/{spare}/role",
        data={"role": "therapist", "provider_id": world.b.provider_id, "csrf_token": csrf},
    )
    assert r.status_code in (404, 422), r.status_code
    with world.engine.connect() as conn:
        row = conn.execute(select(user_practice_roles).where(user_practice_roles.c.user_id == spare)).one()
    assert row.role == "front_desk" and row.provider_id is None
    # the practice's own provider is fine
    r = client.post(
        f"/settings/users/{spare}/role",
        data={"role": "therapist", "provider_id": world.a.provider_id, "csrf_token": csrf},
    )
    assert r.status_code == 303, r.text
