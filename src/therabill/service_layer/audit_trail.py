"""The audit log as its readers see it: a page of events with the chain's check, and the export."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from sqlalchemy import Engine, select

from therabill.adapters.db.tables import audit_log
from therabill.service_layer.audit import ChainReport, verify_chain
from therabill.service_layer.uow import UnitOfWork

__all__ = ["all_events", "page"]


def page(
    engine: Engine, practice_id: str, actor: str, *, before: int = 0, limit: int = 200
) -> tuple[list[Any], ChainReport]:
    """The newest ``limit`` events (before sequence number ``before`` when given) and a check
    of the practice's whole hash chain."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        query = select(audit_log).where(audit_log.c.practice_id == practice_id)
        if before > 0:
            query = query.where(audit_log.c.seq < before)
        rows = list(uow.session.execute(query.order_by(audit_log.c.seq.desc()).limit(limit)).all())
        return rows, verify_chain(uow.session, practice_id)


def all_events(engine: Engine, practice_id: str, actor: str) -> Iterator[Any]:
    """Every event of the practice, oldest first (for the export)."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        yield from uow.session.execute(
            select(audit_log).where(audit_log.c.practice_id == practice_id).order_by(audit_log.c.seq)
        )
