"""The append-only audit log, chained by hashes.

Each row stores the hash of the practice's previous row (``prev_hash``) and its own hash
over its content and ``prev_hash``, so changing, removing or reordering any row breaks the
chain from there on; ``verify_chain`` finds the first broken row. The database refuses
UPDATE and DELETE on the table (triggers in migration ``0001_records``). Rows are appended
by the unit of work at commit, inside the same transaction as the change they record, and by
short transactions of their own (page views); either way the practice row is locked first,
so sequence numbers never collide.
"""

from __future__ import annotations

import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from sqlalchemy import Connection, bindparam, func, select
from sqlalchemy.orm import Session

from therabill.adapters.db import bulk
from therabill.adapters.db.tables import audit_log, practices

GENESIS = "0" * 64
"""``prev_hash`` of a practice's first audit row."""


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """One thing to record.

    Attributes:
        action: what happened, e.g. ``patient.register`` or ``claim.status``.
        object_type: the kind of record touched (``patient``, ``claim``...).
        object_id: the record's opaque id.
        details: small JSON-able facts (statuses, counts); never names or other PHI.
    """

    action: str
    object_type: str
    object_id: str | None
    details: Mapping[str, Any] | None = None


@dataclass(frozen=True, slots=True)
class ChainReport:
    """The result of verifying one practice's chain.

    Attributes:
        rows: rows checked.
        ok: True when every row's hash and link are right.
        first_bad_seq: sequence number of the first bad row, if any.
        reason: why that row is bad.
    """

    rows: int
    ok: bool
    first_bad_seq: int | None = None
    reason: str | None = None


_CANONICAL = json.JSONEncoder(sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)
"""The canonical JSON of a row's content, made once (``json.dumps`` with these options makes an
encoder per call; every audit row is hashed)."""


@lru_cache(maxsize=16)
def _utc_text(at: datetime) -> str:
    if at.tzinfo is not None:
        at = at.astimezone(UTC).replace(tzinfo=None)
    return at.strftime("%Y-%m-%dT%H:%M:%S.%f")


def row_hash(
    *,
    practice_id: str,
    seq: int,
    at: datetime,
    actor: str,
    action: str,
    object_type: str,
    object_id: str | None,
    details: Mapping[str, Any] | None,
    prev_hash: str,
) -> str:
    """The SHA-256 of a row's content and the previous row's hash (canonical JSON)."""
    content = {
        "practice_id": practice_id,
        "seq": seq,
        "at": _utc_text(at),
        "actor": actor,
        "action": action,
        "object_type": object_type,
        "object_id": object_id,
        "details": details,
        "prev_hash": prev_hash,
    }
    text = _CANONICAL.encode(content)
    return hashlib.sha256(text.encode("ascii")).hexdigest()


_LOCK_PRACTICE = select(practices.c.id).where(practices.c.id == bindparam("practice_id")).with_for_update()
_HEAD = (
    select(audit_log.c.seq, audit_log.c.hash)
    .where(audit_log.c.practice_id == bindparam("practice_id"))
    .order_by(audit_log.c.seq.desc())
    .limit(1)
)
_INSERT = audit_log.insert()
"""The append's statements, built once: a statement object keeps its cache key, so running it
again costs no statement building or key generation (an append is on every PHI read)."""


def append(
    session: Session | Connection, practice_id: str, actor: str, events: list[AuditEvent], at: datetime
) -> None:
    """Append ``events`` to the practice's chain (under the practice row's lock)."""
    append_many(session, [(practice_id, actor, events, at)])


def append_many(
    session: Session | Connection, batches: list[tuple[str, str, list[AuditEvent], datetime]]
) -> None:
    """Append several use cases' events ``(practice, actor, events, at)`` in order, in one insert.

    ``session`` is the unit of work's session or a plain connection in a transaction (a page
    view's audit row, which needs no ORM session).
    """
    heads: dict[str, tuple[int, str]] = {}
    rows = []
    bind = session.get_bind() if isinstance(session, Session) else session
    # The chain head is read and extended under the practice row's lock (PostgreSQL; SQLite
    # writes one transaction at a time), taken in id order so two appenders cannot deadlock.
    # A unit of work already holds it; a short transaction of its own (a page view) takes it here.
    if bind.dialect.name == "postgresql":
        for practice_id in sorted({b[0] for b in batches if b[2]}):
            session.execute(_LOCK_PRACTICE, {"practice_id": practice_id})
    for practice_id, actor, events, at in batches:
        if not events:
            continue
        if practice_id not in heads:
            last = session.execute(_HEAD, {"practice_id": practice_id}).first()
            heads[practice_id] = (last.seq, last.hash) if last else (0, GENESIS)
        seq, prev = heads[practice_id]
        for ev in events:
            seq += 1
            details = dict(ev.details) if ev.details is not None else None
            digest = row_hash(
                practice_id=practice_id,
                seq=seq,
                at=at,
                actor=actor,
                action=ev.action,
                object_type=ev.object_type,
                object_id=ev.object_id,
                details=details,
                prev_hash=prev,
            )
            rows.append(
                {
                    "id": secrets.token_hex(16),
                    "practice_id": practice_id,
                    "seq": seq,
                    "at": at,
                    "actor": actor,
                    "action": ev.action,
                    "object_type": ev.object_type,
                    "object_id": ev.object_id,
                    "details": details,
                    "prev_hash": prev,
                    "hash": digest,
                }
            )
            prev = digest
        heads[practice_id] = (seq, prev)
    if len(rows) > 1 and bind.dialect.name == "postgresql":  # one COPY, however many
        bulk.insert_rows(session, audit_log, rows)
    elif rows:
        session.execute(_INSERT, rows)


def verify_chain(session: Session, practice_id: str) -> ChainReport:
    """Recompute the practice's chain; report the first row whose link or hash is wrong."""
    prev = GENESIS
    expected_seq = 0
    count = 0
    result = session.execute(
        select(audit_log).where(audit_log.c.practice_id == practice_id).order_by(audit_log.c.seq)
    )
    for row in result:
        count += 1
        expected_seq += 1
        if row.seq != expected_seq:
            return ChainReport(count, False, row.seq, f"sequence gap: expected {expected_seq}")
        if row.prev_hash != prev:
            return ChainReport(count, False, row.seq, "prev_hash does not match the previous row")
        digest = row_hash(
            practice_id=row.practice_id,
            seq=row.seq,
            at=row.at,
            actor=row.actor,
            action=row.action,
            object_type=row.object_type,
            object_id=row.object_id,
            details=row.details,
            prev_hash=row.prev_hash,
        )
        if digest != row.hash:
            return ChainReport(count, False, row.seq, "content does not match its hash")
        prev = row.hash
    return ChainReport(count, True)


def chain_heads(session: Session) -> dict[str, tuple[int, str]]:
    """Every practice's chain head: practice id -> (last sequence number, its hash)."""
    last = (
        select(audit_log.c.practice_id, func.max(audit_log.c.seq).label("seq"))
        .group_by(audit_log.c.practice_id)
        .subquery()
    )
    rows = session.execute(
        select(audit_log.c.practice_id, audit_log.c.seq, audit_log.c.hash).join(
            last, (last.c.practice_id == audit_log.c.practice_id) & (last.c.seq == audit_log.c.seq)
        )
    )
    return {r.practice_id: (int(r.seq), r.hash) for r in rows}


@dataclass(frozen=True, slots=True)
class AnchorFinding:
    """A practice whose chain no longer reaches its anchored head.

    Attributes:
        practice_id: the practice.
        reason: ``rows-removed`` (fewer rows than anchored, or none), ``rewritten`` (the row at
            the anchored sequence has another hash: rows changed and the chain recomputed).
        anchored_seq: the anchored sequence number.
        found_seq: the practice's last sequence number now (0 when it has no rows).
    """

    practice_id: str
    reason: str
    anchored_seq: int
    found_seq: int


def compare_with_anchor(session: Session, anchored: Mapping[str, tuple[int, str]]) -> list[AnchorFinding]:
    """Compare the chains with their anchored heads: every anchored row must still be there, unchanged.

    A chain may have grown since the anchor (new rows after the anchored one are fine, and
    ``verify_chain`` checks their links); it may never be shorter, and the row at the
    anchored sequence number must carry the anchored hash.
    """
    heads = chain_heads(session)
    findings = []
    for practice_id, (seq, digest) in sorted(anchored.items()):
        found_seq = heads.get(practice_id, (0, GENESIS))[0]
        if found_seq < seq:
            findings.append(AnchorFinding(practice_id, "rows-removed", seq, found_seq))
            continue
        if seq == 0:
            continue
        at_anchor = session.execute(
            select(audit_log.c.hash).where(audit_log.c.practice_id == practice_id, audit_log.c.seq == seq)
        ).scalar()
        if at_anchor != digest:
            findings.append(AnchorFinding(practice_id, "rewritten", seq, found_seq))
    return findings
