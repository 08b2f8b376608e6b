"""Audit events of the web app, written to the practice's hash-chained audit log.

Every PHI read, write and export, every log-in and every denial is recorded through the
records layer's ``therabill.service_layer.audit.append``, inside the caller's transaction.
Details hold ids, counts and outcomes only, never names or other PHI.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from fastapi import Request
from sqlalchemy import Connection

from therabill.entrypoints.http import deps
from therabill.service_layer import audit as audit_log
from therabill.service_layer import read_audit
from therabill.service_layer.accounts import Principal


def actor_of(principal: Principal) -> str:
    """The actor string recorded for a user (``user:<id>``)."""
    return f"user:{principal.user_id}"


def record(
    conn: Connection,
    principal: Principal,
    *,
    action: str,
    object_type: str,
    object_id: str | None,
    at: datetime,
    outcome: str = "ok",
    ip: str = "",
    details: dict[str, Any] | None = None,
) -> None:
    """Append one event to the principal's practice chain, in ``conn``'s transaction."""
    facts: dict[str, Any] = {
        "outcome": outcome,
        "via": "token" if principal.scopes is not None else "session",
    }
    if ip:
        facts["ip"] = ip
    if details:
        facts.update(details)
    audit_log.append(
        conn,
        principal.practice_id,
        actor_of(principal),
        [audit_log.AuditEvent(action[:60], object_type[:40], object_id, facts)],
        at,
    )


def record_for_user(
    conn: Connection,
    *,
    practice_id: str,
    user_id: str,
    action: str,
    at: datetime,
    outcome: str,
    ip: str = "",
) -> None:
    """Append a log-in event for a user who has no principal yet."""
    audit_log.append(
        conn,
        practice_id,
        f"user:{user_id}",
        [audit_log.AuditEvent(action, "user", user_id, {"outcome": outcome, "ip": ip})],
        at,
    )


def audit_event(
    request: Request, principal: Principal, action: str, object_type: str, object_id: str | None
) -> None:
    """Record one PHI read or write of the caller in its own transaction (pages and API)."""
    st = deps.state(request)
    with st.engine.begin() as conn:
        record(
            conn,
            principal,
            action=action,
            object_type=object_type,
            object_id=object_id,
            at=st.now(),
            ip=deps.client_ip(request),
        )


class Reads:
    """The PHI reads of one request (``one_read``)."""

    def __init__(self, request: Request, principal: Principal, log: read_audit.ReadLog) -> None:
        self.request = request
        self.principal = principal
        self.log = log

    def audit(self, action: str, object_type: str, object_id: str | None) -> None:
        """Record a PHI read of the caller: committed before the route answers."""
        st = deps.state(self.request)
        facts = {"outcome": "ok", "via": "token" if self.principal.scopes is not None else "session"}
        ip = deps.client_ip(self.request)
        if ip:
            facts["ip"] = ip
        self.log.note(action, object_type, object_id, facts, st.now())


@contextmanager
def one_read(request: Request, principal: Principal) -> Iterator[Reads]:
    """A read-only route's use cases in one transaction, with its audit rows
    (``service_layer.read_audit.audited_reads``; ``Reads.audit`` notes a row). The caller's
    practice was read with the caller (``deps``), so it is not checked again."""
    engine = deps.state(request).engine
    with read_audit.audited_reads(
        engine, principal.practice_id, actor_of(principal), practice_known=True
    ) as log:
        yield Reads(request, principal, log)
