"""The caller of a request (``sessions.caller``), on both engines.

* A live browser session or API token gives its principal from one read statement: on SQLite
  no ``BEGIN``/``COMMIT`` is sent around it (``one_read_statement``; the driver is in
  autocommit mode, so the statement is its own transaction) and nothing is written.
* Its last use is written only when ``TOUCH_EVERY`` old, in a write transaction of its own
  (and a token's use is audited then).
* Unknown, revoked and ended credentials give no principal.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Engine, event, func, select, update

from therabill.adapters.db.auth_tables import api_tokens, sessions
from therabill.adapters.db.engine import is_sqlite, one_read_statement
from therabill.adapters.db.tables import audit_log
from therabill.security.permissions import Permission
from therabill.security.tokens import digest
from therabill.service_layer import accounts
from therabill.service_layer import api_tokens as tokens_svc
from therabill.service_layer import sessions as sessions_svc
from therabill.service_layer.accounts import TOUCH_EVERY, Principal, SessionPolicy

from .builders import a_practice

AT = datetime(2026, 3, 2, 15, 30)
POLICY = SessionPolicy()


@pytest.fixture
def sent(engine: Engine) -> Iterator[list[str]]:
    """The statements sent to the database while the test runs (first word, upper case)."""
    seen: list[str] = []

    def note(conn: Any, cursor: Any, statement: str, *_: Any) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    event.listen(engine, "before_cursor_execute", note)
    yield seen
    event.remove(engine, "before_cursor_execute", note)


def _user(engine: Engine) -> tuple[str, str, str]:
    """A practice's owner with a live session and an API token: (practice, session, token)."""
    p = a_practice(engine)
    with engine.begin() as conn:
        user_id = accounts.create_user(
            conn,
            username=f"owner-{p.id[:8]}",
            display_name="Olive Owner",
            password="a long enough pass phrase 42",
            practice_id=p.id,
            role="owner",
            now=AT,
        )
        session = sessions_svc.start_session(conn, user_id, "full", AT, POLICY)
        principal = Principal(user_id, f"owner-{p.id[:8]}", "Olive Owner", p.id, "owner")
        _, token = tokens_svc.create_api_token(conn, principal, "reports", Permission.CLAIMS_READ.value, AT)
    return p.id, session, token


def test_a_live_session_is_read_with_one_statement_and_nothing_written(
    engine: Engine, sent: list[str]
) -> None:
    practice_id, session, _ = _user(engine)
    sent.clear()
    found = sessions_svc.caller(engine, session, AT + timedelta(seconds=5), POLICY, bearer=False)
    assert found is not None and found.practice_id == practice_id and found.role == "owner"
    assert sent == ["SELECT"]  # no BEGIN or write (PostgreSQL's BEGIN is the driver's own)


def test_a_stale_session_is_marked_used_in_a_transaction_of_its_own(engine: Engine, sent: list[str]) -> None:
    _, session, _ = _user(engine)
    later = AT + TOUCH_EVERY + timedelta(seconds=1)
    sent.clear()
    found = sessions_svc.caller(engine, session, later, POLICY, bearer=False)
    assert found is not None
    assert "UPDATE" in sent
    if is_sqlite(engine):
        assert sent[:2] == ["SELECT", "BEGIN"]  # the read alone, then BEGIN IMMEDIATE for the write
    with engine.connect() as conn:
        seen = conn.execute(
            select(sessions.c.last_seen_at).where(sessions.c.token_hash == found.session_hash)
        )
        assert seen.scalar_one() == later


def test_an_api_token_is_read_alone_and_its_use_written_and_audited_when_stale(
    engine: Engine, sent: list[str]
) -> None:
    practice_id, _, token = _user(engine)
    uses = (
        select(func.count())
        .select_from(audit_log)
        .where(audit_log.c.practice_id == practice_id, audit_log.c.action == "token.use")
    )
    first = AT + timedelta(seconds=5)
    assert sessions_svc.caller(engine, token, first, POLICY, bearer=True) is not None  # first use: written
    with engine.connect() as conn:
        assert conn.execute(uses).scalar_one() == 1
    sent.clear()
    found = sessions_svc.caller(engine, token, first + timedelta(seconds=5), POLICY, bearer=True)
    assert found is not None and found.scopes is not None and found.practice_id == practice_id
    assert sent == ["SELECT"]
    later = first + TOUCH_EVERY
    assert sessions_svc.caller(engine, token, later, POLICY, bearer=True) is not None
    with engine.connect() as conn:
        assert conn.execute(uses).scalar_one() == 2
        assert (
            conn.execute(
                select(api_tokens.c.last_used_at).where(api_tokens.c.token_hash == digest(token))
            ).scalar_one()
            == later
        )


def test_unknown_revoked_and_mismatched_credentials_give_no_caller(engine: Engine) -> None:
    _, session, token = _user(engine)
    at = AT + timedelta(seconds=5)
    assert sessions_svc.caller(engine, "not-a-session", at, POLICY, bearer=False) is None
    assert sessions_svc.caller(engine, session, at, POLICY, bearer=True) is None  # a cookie is not a token
    assert sessions_svc.caller(engine, token, at, POLICY, bearer=False) is None
    with engine.begin() as conn:
        sessions_svc.end_session(conn, session)
        conn.execute(update(api_tokens).where(api_tokens.c.revoked_at.is_(None)).values(revoked_at=AT))
    assert sessions_svc.caller(engine, session, at, POLICY, bearer=False) is None
    assert sessions_svc.caller(engine, token, at, POLICY, bearer=True) is None


def test_one_read_statement_leaves_no_transaction_open(engine: Engine) -> None:
    with one_read_statement(engine) as conn:
        assert conn.execute(select(func.count()).select_from(sessions)).scalar_one() >= 0
    with one_read_statement(engine) as conn:  # the pooled connection comes back clean
        assert conn.execute(select(1)).scalar_one() == 1
    with engine.begin() as conn:  # and a write transaction still starts (BEGIN IMMEDIATE on SQLite)
        conn.execute(select(1))
