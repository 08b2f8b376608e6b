"""A request's reads in one transaction with their audit rows (``read_audit.audited_reads``):
the rows are committed when the block returns, the use cases inside share one session and one
practice check, and a read that fails writes no row."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import Engine, event, text

from tests.integration.db.builders import ACTOR, a_practice
from therabill.adapters.db import migrations
from therabill.adapters.db.engine import make_engine
from therabill.domain.errors import NotFoundError
from therabill.service_layer import patients
from therabill.service_layer.audit import verify_chain
from therabill.service_layer.read_audit import audited_reads
from therabill.service_layer.uow import UnitOfWork

AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@contextmanager
def counted(engine: Engine) -> Iterator[dict[str, Any]]:
    """Commits and statements ``engine`` runs inside the block."""
    seen: dict[str, Any] = {"commits": 0, "statements": []}

    def on_commit(_conn: Any) -> None:
        seen["commits"] += 1

    def on_statement(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        seen["statements"].append(statement)

    event.listen(engine, "commit", on_commit)
    event.listen(engine, "before_cursor_execute", on_statement)
    try:
        yield seen
    finally:
        event.remove(engine, "commit", on_commit)
        event.remove(engine, "before_cursor_execute", on_statement)


def _views(engine: Engine, practice_id: str, object_id: str) -> int:
    with engine.connect() as conn:
        return int(
            conn.execute(
                text(
                    "SELECT count(*) FROM audit_log WHERE practice_id = :p AND object_id = :o AND action = 'patient.view'"
                ),
                {"p": practice_id, "o": object_id},
            ).scalar_one()
        )


def test_the_reads_share_one_session_and_their_audit_row_is_committed(engine: Engine) -> None:
    p = a_practice(engine)
    with counted(engine) as seen, audited_reads(engine, p.id, ACTOR) as log:
        first = patients.patient(engine, p.id, ACTOR, p.patient_id)
        second = patients.patient(engine, p.id, ACTOR, p.patient_id)
        log.note("patient.view", "patient", p.patient_id, {"outcome": "ok"}, AT)
    assert first.id == second.id == p.patient_id
    practice_checks = [
        s
        for s in seen["statements"]
        if s.lstrip().startswith("SELECT practices.id") and "FOR UPDATE" not in s
    ]
    assert len(practice_checks) == 1, practice_checks  # each unit of work checked it before
    # PostgreSQL: the reads and the row in one transaction; SQLite: a read, then the row's write.
    assert seen["commits"] == (2 if engine.dialect.name == "sqlite" else 1)
    assert _views(engine, p.id, p.patient_id) == 1
    with UnitOfWork(engine, p.id, ACTOR, read_only=True) as uow:
        assert verify_chain(uow.session, p.id).ok


def test_a_read_that_fails_writes_no_audit_row(engine: Engine) -> None:
    p = a_practice(engine)
    with pytest.raises(NotFoundError), audited_reads(engine, p.id, ACTOR) as log:
        log.note("patient.view", "patient", "missing-patient", {"outcome": "ok"}, AT)
        patients.patient(engine, p.id, ACTOR, "missing-patient")
    assert _views(engine, p.id, "missing-patient") == 0


def test_a_sqlite_read_waits_for_no_writer(tmp_path: Path) -> None:
    """On SQLite the reads run in a deferred transaction: a writer holding the lock does not
    hold them up (only the audit row's own short write waits for it)."""
    engine = make_engine(f"sqlite:///{tmp_path / 'locking.sqlite3'}")
    migrations.upgrade(engine)
    p = a_practice(engine)
    with engine.begin() as writer:
        writer.execute(text("UPDATE practices SET name = name WHERE id = :p"), {"p": p.id})
        with audited_reads(engine, p.id, ACTOR):  # no row noted: nothing to write
            assert patients.patient(engine, p.id, ACTOR, p.patient_id).id == p.patient_id


def test_a_practice_the_caller_vouches_for_is_not_checked_again(engine: Engine) -> None:
    """A signed-in caller's practice was read with the caller: its reads skip the check (and are
    still scoped to it), while the default still checks once."""
    p = a_practice(engine)
    with counted(engine) as seen, audited_reads(engine, p.id, ACTOR, practice_known=True) as log:
        assert patients.patient(engine, p.id, ACTOR, p.patient_id).id == p.patient_id
        log.note("patient.view", "patient", p.patient_id, {"outcome": "ok"}, AT)
    checks = [
        s
        for s in seen["statements"]
        if s.lstrip().startswith("SELECT practices.id") and "FOR UPDATE" not in s  # the append's lock
    ]
    assert not checks, checks
    assert _views(engine, p.id, p.patient_id) == 1
    with pytest.raises(NotFoundError), audited_reads(engine, "no-such-practice", ACTOR) as log:
        patients.patient(engine, "no-such-practice", ACTOR, p.patient_id)
