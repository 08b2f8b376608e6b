"""Claims as the biller reads them: the worklist and one claim with its lines and history.

(The claim use cases that write, ``code_visit``, ``mark_ready``, ``set_claim_status``, still
live in ``records.py``; they move here next.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, func

from therabill.adapters.db.tables import claim_lines, claims, patients
from therabill.service_layer.records import claim_history
from therabill.service_layer.uow import UnitOfWork

__all__ = ["ClaimDetail", "Worklist", "claim_detail", "worklist"]


@dataclass(frozen=True, slots=True)
class Worklist:
    """Claims in the statuses asked for, newest first, with their patients.

    Attributes:
        claims: the claims (at most the limit).
        patients: patient id → patient, for the names.
        ready_count: claims ready to batch, in any case.
    """

    claims: list[Any]
    patients: dict[str, Any]
    ready_count: int


def worklist(
    engine: Engine, practice_id: str, actor: str, statuses: Sequence[str] = (), *, limit: int = 500
) -> Worklist:
    """The practice's claims in ``statuses`` (every claim when empty), newest first."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        query = uow.records.scoped(claims).order_by(claims.c.date_of_service.desc(), claims.c.claim_number)
        if statuses:
            query = query.where(claims.c.status.in_(list(statuses)))
        rows = list(uow.session.execute(query.limit(limit)).all())
        names = {p.id: p for p in uow.records.patients()}
        ready = uow.session.execute(
            uow.records.scoped(claims).with_only_columns(func.count()).where(claims.c.status == "ready")
        ).scalar_one()
    return Worklist(rows, names, int(ready))


@dataclass(frozen=True, slots=True)
class ClaimDetail:
    """One claim as its page shows it.

    Attributes:
        claim: the claim.
        patient: its patient.
        lines: its lines, in order.
        findings: the scrubber's findings current now.
        history: its status events with the findings at each.
    """

    claim: Any
    patient: Any
    lines: list[Any]
    findings: list[dict[str, Any]]
    history: list[dict[str, Any]]


def claim_detail(engine: Engine, practice_id: str, actor: str, claim_id: str) -> ClaimDetail:
    """A claim with its patient, lines, findings and history.

    Raises:
        NotFoundError: no such claim in the practice.
    """
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        claim = uow.records.get(claims, claim_id)
        patient = uow.records.get(patients, claim.patient_id)
        lines = uow.records.rows(
            claim_lines, claim_lines.c.claim_id == claim_id, order_by=[claim_lines.c.line_number]
        )
    found = claim.findings or []
    if isinstance(found, dict):
        found = found.get("findings", [])
    return ClaimDetail(
        claim, patient, list(lines), list(found), claim_history(engine, practice_id, actor, claim_id)
    )
