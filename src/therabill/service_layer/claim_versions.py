"""The versions of a claim and the claim a person names: reads of the claim lifecycle.

A claim's versions are claim rows linked by ``replaces_claim_id`` (``claim_changes`` makes
them); ``versions`` lists them first to last with what made each (original, edit, correct,
void, re-bill), who, when and why. ``resolve_claim`` accepts a claim's number (CLM01) as well
as its id, as the CLI does.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, Row

from therabill.adapters.db.repositories import Records
from therabill.adapters.db.tables import claims, visits
from therabill.domain import claim_changes as rules
from therabill.domain.errors import NotFoundError, Problem
from therabill.service_layer.uow import UnitOfWork

__all__ = ["ClaimVersion", "chain", "resolve_claim", "resolve_visit", "versions"]

_KINDS = frozenset(k.value for k in rules.ChangeKind)
_SUPERSEDED = frozenset({"replaced", "voided"})


@dataclass(frozen=True, slots=True)
class ClaimVersion:
    """One version of a claim as its history shows it.

    Attributes:
        version: 1 for the first claim of the visit's chain.
        claim_id: opaque id.
        claim_number: CLM01.
        kind: ``original``, ``edit``, ``void``, ``correct`` or ``rebill``.
        frequency: CLM05-3.
        status: its current status.
        total_charge_cents: its total.
        payer_claim_control_number: the payer's number of this version, if any.
        replaces_claim_number: the version it replaced or voided.
        created_at: when it was made.
        created_by: who made it (audit actor).
        reason: why (the note of its first status event).
    """

    version: int
    claim_id: str
    claim_number: str
    kind: str
    frequency: str
    status: str
    total_charge_cents: int
    payer_claim_control_number: str | None
    replaces_claim_number: str | None
    created_at: datetime
    created_by: str
    reason: str | None

    def as_dict(self) -> dict[str, Any]:
        """The public shape."""
        return {**asdict(self), "created_at": self.created_at.isoformat()}


def resolve_claim(engine: Engine, practice_id: str, actor: str, key: str) -> str:
    """The id of the claim named by ``key``: its internal id or its claim number (CLM01).

    Raises:
        NotFoundError: no such claim in the practice.
    """
    text = key.strip()
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        row = uow.records.find(claims, text) or uow.records.claim_by_number(text.upper())
    if row is None:
        raise NotFoundError("no such claim", (Problem("claim-not-found", "claim", f"no claim {text!r}"),))
    return str(row.id)


def resolve_visit(engine: Engine, practice_id: str, actor: str, key: str) -> str:
    """The id of the visit named by ``key``: a visit id, or a claim's id or number (its visit).

    Raises:
        NotFoundError: no such visit or claim in the practice.
    """
    text = key.strip()
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        if uow.records.find(visits, text) is not None:
            return text
    claim_id = resolve_claim(engine, practice_id, actor, text)
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return str(uow.records.get(claims, claim_id).visit_id)


def chain(rec: Records, claim: Row[Any]) -> list[Row[Any]]:
    """The claim's versions, first to last (linked by ``replaces_claim_id``)."""
    of_visit = {r.id: r for r in rec.rows(claims, claims.c.visit_id == claim.visit_id)}
    root = claim
    seen = {root.id}
    while (
        root.replaces_claim_id and root.replaces_claim_id in of_visit and root.replaces_claim_id not in seen
    ):
        root = of_visit[root.replaces_claim_id]
        seen.add(root.id)
    chain = [root]
    by_parent: dict[str, list[Row[Any]]] = {}
    for r in of_visit.values():
        if r.replaces_claim_id:
            by_parent.setdefault(r.replaces_claim_id, []).append(r)
    frontier = [root.id]
    while frontier:
        children = sorted(
            (c for p in frontier for c in by_parent.get(p, [])), key=lambda r: (r.created_at, r.claim_number)
        )
        chain.extend(children)
        frontier = [c.id for c in children]
    return chain


def versions(engine: Engine, practice_id: str, actor: str, claim_id: str) -> list[ClaimVersion]:
    """Every version of the claim's chain with who made it, when and why, first to last.

    Raises:
        NotFoundError: no such claim in the practice.
    """
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        claim = uow.records.get(claims, claim_id)
        found = chain(uow.records, claim)
        numbers = {r.id: r.claim_number for r in found}
        out = []
        for i, r in enumerate(found, start=1):
            events = uow.records.status_history(r.id)
            first = events[0] if events else None
            why = next(  # what made this version (not the note of what later replaced it)
                (
                    e.note
                    for e in events
                    if (e.note or "").split(":")[0] in _KINDS and e.status not in _SUPERSEDED
                ),
                None,
            )
            edited = (why or "").startswith("edit:")
            out.append(
                ClaimVersion(
                    version=i,
                    claim_id=r.id,
                    claim_number=r.claim_number,
                    kind=rules.change_kind(r.frequency, bool(r.replaces_claim_id), edited).value,
                    frequency=r.frequency,
                    status=r.status,
                    total_charge_cents=int(r.total_charge_cents),
                    payer_claim_control_number=r.payer_claim_control_number,
                    replaces_claim_number=numbers.get(r.replaces_claim_id) if r.replaces_claim_id else None,
                    created_at=r.created_at,
                    created_by=first.actor if first is not None else "",
                    reason=why,
                )
            )
    return out
