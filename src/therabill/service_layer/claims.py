"""Claims as the biller reads them: the worklist and one claim with its lines and history.

(The claim use cases that write, ``code_visit``, ``mark_ready``, ``set_claim_status``, still
live in ``records.py``; they move here next.)
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine, Row, and_, func, or_, select

from therabill.adapters.db.tables import claim_lines, claims, patients, payers
from therabill.domain.errors import NotFoundError, Problem
from therabill.service_layer.accounts import Principal
from therabill.service_layer.paging import Page, page_limit
from therabill.service_layer.patients import patient_in
from therabill.service_layer.records import claim_history
from therabill.service_layer.uow import UnitOfWork

__all__ = [
    "ClaimDetail",
    "ClaimFilter",
    "Worklist",
    "claim_detail",
    "claim_row_in",
    "claim_page",
    "claims_by_status",
    "find_claim",
    "worklist",
]


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
    """A claim (by internal id or claim number) with its patient, lines, findings and history.

    Raises:
        NotFoundError: no such claim in the practice.
    """
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        claim = claim_row_in(uow, claim_id)
        claim_id = claim.id
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


# --- claims by what people call them, pages of them, counts -----------------------------


def claim_row_in(uow: UnitOfWork, key: str) -> Row[Any]:
    """The claim whose internal id or claim number (CLM01) is ``key``, in the unit's practice.

    Raises:
        NotFoundError: no such claim in the practice.
    """
    key = key.strip()
    row = uow.records.find(claims, key) or uow.records.claim_by_number(key)
    if row is None:
        raise NotFoundError("no such claim", (Problem("claim-not-found", "claim", "no such claim"),))
    return row


def find_claim(engine: Engine, practice_id: str, actor: str, key: str) -> Row[Any]:
    """A claim by internal id or claim number.

    Raises:
        NotFoundError: no such claim in the practice.
    """
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return claim_row_in(uow, key)


@dataclass(frozen=True, slots=True)
class ClaimFilter:
    """Which claims a list shows.

    Attributes:
        patient: the patient's internal id or chart number.
        payer: the payer's internal id or its electronic payer id.
        statuses: claim statuses (any when empty).
        date_from: first date of service.
        date_to: last date of service.
    """

    patient: str | None = None
    payer: str | None = None
    statuses: Sequence[str] = ()
    date_from: date | None = None
    date_to: date | None = None


def claim_page(
    engine: Engine,
    principal: Principal,
    which: ClaimFilter,
    *,
    after: list[Any] | None = None,
    limit: int = 100,
) -> Page[Row[Any]]:
    """Claims newest date of service first (then by claim number), filtered, one page after
    ``after``. A patient or payer that does not exist gives an empty page."""
    size = page_limit(limit)
    with UnitOfWork(engine, principal.practice_id, f"user:{principal.user_id}", read_only=True) as uow:
        query = uow.records.scoped(claims)
        if which.patient:
            try:
                query = query.where(claims.c.patient_id == patient_in(uow, which.patient).id)
            except NotFoundError:
                return Page([], None)
        if which.payer:
            ids = [
                p.id
                for p in uow.records.rows(
                    payers, or_(payers.c.id == which.payer, payers.c.payer_id == which.payer)
                )
            ]
            query = query.where(claims.c.payer_id.in_(ids))
        if which.statuses:
            query = query.where(claims.c.status.in_(list(which.statuses)))
        if which.date_from:
            query = query.where(claims.c.date_of_service >= which.date_from)
        if which.date_to:
            query = query.where(claims.c.date_of_service <= which.date_to)
        if after:
            last_day, last_number = date.fromisoformat(str(after[0])), str(after[1])
            query = query.where(
                or_(
                    claims.c.date_of_service < last_day,
                    and_(claims.c.date_of_service == last_day, claims.c.claim_number > last_number),
                )
            )
        query = query.order_by(claims.c.date_of_service.desc(), claims.c.claim_number).limit(size + 1)
        rows = list(uow.session.execute(query).all())
    more = len(rows) > size
    rows = rows[:size]
    return Page(rows, [rows[-1].date_of_service.isoformat(), rows[-1].claim_number] if more else None)


def claims_by_status(engine: Engine, practice_id: str, actor: str) -> list[tuple[str, int, int]]:
    """``(status, claims, total charge in cents)`` of every status that has claims."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        rows = uow.session.execute(
            select(claims.c.status, func.count(), func.coalesce(func.sum(claims.c.total_charge_cents), 0))
            .where(claims.c.practice_id == practice_id)
            .group_by(claims.c.status)
            .order_by(claims.c.status)
        ).all()
    return [(str(s), int(n), int(t)) for s, n, t in rows]
