"""The web app appends a PHI read's audit row on a plain connection (no ORM session): the
chain stays one chain, also when many readers append at once and units of work append too."""

from __future__ import annotations

import threading
from datetime import UTC, datetime

from sqlalchemy import Engine, text

from tests.integration.db.builders import ACTOR, a_practice
from therabill.service_layer.audit import AuditEvent, append, verify_chain
from therabill.service_layer.uow import UnitOfWork

AT = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


def test_readers_appending_on_connections_at_once_keep_one_chain(engine: Engine) -> None:
    p = a_practice(engine)
    start = threading.Barrier(6)
    failures: list[BaseException] = []

    def reader(n: int) -> None:
        start.wait()
        for i in range(5):
            try:
                with engine.begin() as conn:
                    append(
                        conn, p.id, f"user:{n}", [AuditEvent("patient.view", "patient", f"{n}-{i}", {})], AT
                    )
                with UnitOfWork(engine, p.id, ACTOR) as uow:  # a write's events, in its own transaction
                    uow.record("patient.touch", "patient", f"{n}-{i}")
            except BaseException as exc:  # noqa: BLE001 - collected and asserted below
                failures.append(exc)

    threads = [threading.Thread(target=reader, args=(n,)) for n in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert failures == []
    with UnitOfWork(engine, p.id, ACTOR, read_only=True) as uow:
        report = verify_chain(uow.session, p.id)
        count = uow.session.execute(
            text(
                "SELECT count(*) FROM audit_log WHERE practice_id = :p AND action IN ('patient.view', 'patient.touch')"
            ),
            {"p": p.id},
        ).scalar()
    assert count == 60
    assert report.ok, report
