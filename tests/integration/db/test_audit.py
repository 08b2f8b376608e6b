"""The audit chain: every use case leaves a row; any change to a row breaks the chain."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import Engine, text
from sqlalchemy.orm import Session

from tests.integration.db.builders import ACTOR, a_practice, a_visit
from therabill.service_layer.audit import AuditEvent, append, verify_chain
from therabill.service_layer.uow import UnitOfWork


def _drop_guard(conn, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    if engine.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE audit_log DISABLE TRIGGER audit_log_append_only"))
    else:
        conn.execute(text("DROP TRIGGER audit_log_no_update"))


def _restore_guard(conn, engine: Engine) -> None:  # type: ignore[no-untyped-def]
    if engine.dialect.name == "postgresql":
        conn.execute(text("ALTER TABLE audit_log ENABLE TRIGGER audit_log_append_only"))
    else:
        conn.execute(
            text(
                "CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log "
                "BEGIN SELECT RAISE(ABORT, 'audit_log is append-only'); END"
            )
        )


def test_chain_verifies_and_detects_tampering(engine: Engine) -> None:
    p = a_practice(engine)
    a_visit(p)
    with UnitOfWork(engine, p.id, ACTOR, read_only=True) as uow:
        report = verify_chain(uow.session, p.id)
        actions = [
            r[0]
            for r in uow.session.execute(
                text("SELECT action FROM audit_log WHERE practice_id = :p ORDER BY seq"), {"p": p.id}
            )
        ]
    assert report.ok and report.rows == len(actions) == 6
    assert actions[0] == "practice.create" and actions[-1] == "visit.record"
    # Someone with raw database access bypasses the guard and edits one row.
    with engine.begin() as conn:
        _drop_guard(conn, engine)
        conn.execute(
            text("UPDATE audit_log SET actor = 'os:mallory' WHERE practice_id = :p AND seq = 3"), {"p": p.id}
        )
        _restore_guard(conn, engine)
    with UnitOfWork(engine, p.id, ACTOR, read_only=True) as uow:
        report = verify_chain(uow.session, p.id)
    assert not report.ok and report.first_bad_seq == 3


def test_events_appended_outside_a_unit_of_work_at_once_keep_one_chain(engine: Engine) -> None:
    """The web app records each PHI read in a short transaction of its own; many at once
    (several workers, PostgreSQL) must each get the next sequence number, none lost."""
    p = a_practice(engine)
    at = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)
    start = threading.Barrier(8)
    failures: list[BaseException] = []

    def reader(n: int) -> None:
        start.wait()
        for i in range(5):
            try:
                with engine.begin() as conn:
                    session = Session(bind=conn)
                    append(
                        session,
                        p.id,
                        f"user:{n}",
                        [AuditEvent("patient.view", "patient", f"{n}-{i}", {})],
                        at,
                    )
                    session.close()
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                failures.append(exc)

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert failures == []
    with UnitOfWork(engine, p.id, ACTOR, read_only=True) as uow:
        report = verify_chain(uow.session, p.id)
        views = uow.session.execute(
            text("SELECT count(*) FROM audit_log WHERE practice_id = :p AND action = 'patient.view'"),
            {"p": p.id},
        ).scalar()
    assert views == 40
    assert report.ok
