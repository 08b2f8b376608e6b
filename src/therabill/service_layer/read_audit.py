"""Reads of one request in one transaction, with their audit rows.

A page or API call that reads PHI calls several use cases (each a unit of work) and then
records the read in the audit log. ``audited_reads`` runs those use cases as one transaction
(``uow.one_transaction``: one connection, one BEGIN, one practice check) and writes the audit
rows noted inside it before it returns, so before the caller answers:

- on PostgreSQL, in the same transaction as the reads; the practice row is locked only at the
  end, for the append, and one commit makes both durable;
- on SQLite, the reads run in a deferred (read) transaction, which never waits for a writer,
  and the audit rows are written right after it in a short write transaction of their own (a
  read transaction that starts writing fails when another writer committed first).

Either way nothing is answered before its audit row is committed. Only for use cases that
read: one that wrote inside the block would, on SQLite, write in the read transaction.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine
from sqlalchemy.orm import Session

from therabill.adapters.db.engine import is_sqlite
from therabill.service_layer import audit
from therabill.service_layer.uow import one_transaction


class ReadLog:
    """The audit events of the reads in an ``audited_reads`` block."""

    def __init__(self, practice_id: str, actor: str) -> None:
        self.practice_id = practice_id
        self.actor = actor
        self.events: list[tuple[audit.AuditEvent, datetime]] = []

    def note(
        self, action: str, object_type: str, object_id: str | None, details: dict[str, Any], at: datetime
    ) -> None:
        """Record a read; its row is written before the block returns."""
        self.events.append((audit.AuditEvent(action[:60], object_type[:40], object_id, details), at))

    def _write(self, conn: Session | Connection) -> None:
        audit.append_many(conn, [(self.practice_id, self.actor, [ev], at) for ev, at in self.events])


@contextmanager
def audited_reads(
    engine: Engine, practice_id: str, actor: str, *, practice_known: bool = False
) -> Iterator[ReadLog]:
    """Run the use cases called in the block as one read, then write its noted audit rows.

    ``practice_known``: the caller read the practice's existence with the actor (a signed-in
    user's role row has a foreign key to it), so the units of work inside do not check it again.
    """
    log = ReadLog(practice_id, actor)
    sqlite = is_sqlite(engine)
    known = (practice_id,) if practice_known else ()
    with one_transaction(engine, savepoints=False, known_practices=known, read_only=True) as session:
        yield log  # on SQLite in a deferred (read) transaction
        if not sqlite and log.events:
            log._write(session)
    if sqlite and log.events:
        with engine.begin() as conn:
            log._write(conn)
