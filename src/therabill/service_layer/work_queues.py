"""The biller's work queues: visits to bill, claims to mark ready, claims needing attention by
reason, ready claims by payer (a batch per payer), and the claims worklist in pages.

Reading only, except ``mark_ready_many``, which marks several claims ready through the one
``claims.mark_ready`` (each claim in its own transaction).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, exists, func, select, true

from therabill.adapters.db.tables import claims, patients, payers, providers, visits
from therabill.domain.errors import NotFoundError, TherabillError
from therabill.domain.records import ClaimStatus
from therabill.service_layer.claims import LIST_COLUMNS, mark_ready
from therabill.service_layer.uow import UnitOfWork

__all__ = [
    "ATTENTION_REASONS",
    "BillingQueues",
    "ClaimsPage",
    "MarkedReady",
    "ReadyGroup",
    "billing_queues",
    "claims_page",
    "mark_ready_many",
    "ready_groups",
]


ATTENTION_REASONS: dict[str, tuple[str, ...]] = {
    "Rejected: correct and send again": ("batch_rejected", "clearinghouse_rejected", "payer_rejected"),
    "Denied: appeal, correct or bill the patient": ("denied",),
    "Partly paid: review the adjustments": ("partly_paid",),
}
"""Why a claim needs a biller, in words, and the statuses that mean it (scrub errors come first)."""
SCRUB_ERRORS = "Scrub errors: fix the visit or the claim"
PER_PAGE = 50


@dataclass(frozen=True, slots=True)
class ClaimsPage:
    """One page of the claims worklist.

    Attributes:
        claims: the claims of the page (``LIST_COLUMNS``), each with ``payer_name`` and
            ``patient_name``.
        total: claims matching the filters (on every page).
        page: this page, from 1.
        pages: how many pages there are (at least 1).
        ready_count: claims ready to batch, in any case.
    """

    claims: list[Any]
    total: int
    page: int
    pages: int
    ready_count: int


def _claim_query(uow: UnitOfWork) -> Any:
    return (
        uow.records.scoped(claims)
        .outerjoin(payers, payers.c.id == claims.c.payer_id)
        .join(patients, patients.c.id == claims.c.patient_id)
        .with_only_columns(
            *LIST_COLUMNS,
            payers.c.name.label("payer_name"),
            (patients.c.last_name + ", " + patients.c.first_name).label("patient_name"),
        )
    )


def claims_page(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    statuses: Sequence[str] = (),
    payer_id: str | None = None,
    page: int = 1,
    per_page: int = PER_PAGE,
) -> ClaimsPage:
    """The claims in ``statuses`` (all when empty) of ``payer_id`` (any when ``None``), newest
    first, one page of ``per_page``."""
    page = max(1, page)
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        query = _claim_query(uow)
        if statuses:
            query = query.where(claims.c.status.in_(list(statuses)))
        if payer_id:
            query = query.where(claims.c.payer_id == payer_id)
        total = int(uow.session.execute(select(func.count()).select_from(query.subquery())).scalar_one())
        pages = max(1, -(-total // per_page))
        page = min(page, pages)
        rows = list(
            uow.session.execute(
                query.order_by(claims.c.date_of_service.desc(), claims.c.claim_number)
                .offset((page - 1) * per_page)
                .limit(per_page)
            ).all()
        )
        ready = uow.session.execute(
            uow.records.scoped(claims).with_only_columns(func.count()).where(claims.c.status == "ready")
        ).scalar_one()
    return ClaimsPage(rows, total, page, pages, int(ready))


@dataclass(frozen=True, slots=True)
class ReadyGroup:
    """The ready claims of one payer (a batch per payer).

    Attributes:
        payer_id: our id of the payer (``""``: no payer on the claims).
        payer_name: its name.
        claims: its ready claims, oldest service first.
        total_cents: their charges.
    """

    payer_id: str
    payer_name: str
    claims: list[Any]
    total_cents: int


@dataclass(frozen=True, slots=True)
class BillingQueues:
    """What a biller works through, in order.

    Attributes:
        to_bill: documented visits with services and no claim yet (``patient_name``,
            ``provider_name``), oldest first, at most the limit.
        to_bill_count: all of them.
        to_mark_ready: scrubbed claims without errors (they may be marked ready together).
        attention: reason in words → claims needing work for it (only reasons with claims).
        ready: the ready claims, one group per payer.
    """

    to_bill: list[Any]
    to_bill_count: int
    to_mark_ready: list[Any]
    attention: dict[str, list[Any]]
    ready: list[ReadyGroup]


def ready_groups(rows: Iterable[Any]) -> list[ReadyGroup]:
    """The ready claims among ``rows`` (with ``payer_name``), one group per payer (a batch per
    payer), by payer name; each group keeps the rows' order."""
    groups: dict[str, list[Any]] = {}
    for c in rows:
        if c.status == ClaimStatus.READY.value:
            groups.setdefault(c.payer_id or "", []).append(c)
    return [
        ReadyGroup(pid, found[0].payer_name or "No payer", found, sum(c.total_charge_cents for c in found))
        for pid, found in sorted(groups.items(), key=lambda kv: kv[1][0].payer_name or "")
    ]


def _treated(encounter: Any) -> bool:
    services = (encounter or {}).get("services") or []
    return any((s.get("minutes") or 0) > 0 or s.get("units") for s in services)


def billing_queues(engine: Engine, practice_id: str, actor: str, *, limit: int = PER_PAGE) -> BillingQueues:
    """The visits to bill, the claims to mark ready, those needing attention by reason, and the
    ready claims by payer."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        # A claim of the visit is looked up per visit (NOT EXISTS: an anti-join), not a NOT IN
        # list of every claim of the practice.
        billed = exists().where(claims.c.practice_id == practice_id, claims.c.visit_id == visits.c.id)
        candidates = (
            uow.records.scoped(visits)
            .join(patients, patients.c.id == visits.c.patient_id)
            .join(providers, providers.c.id == visits.c.provider_id)
            .where(~billed, visits.c.status != "open")
        )
        # Counted per distinct services text (visits of the same shape are judged once), not
        # one decoded document per visit.
        services = visits.c.encounter_json["services"].as_string()
        to_bill_count = sum(
            int(n)
            for text, n in uow.session.execute(
                candidates.with_only_columns(services, func.count()).group_by(services)
            )
            if _treated({"services": json.loads(text) if text else None})
        )
        to_bill: list[Any] = []
        if limit > 0:  # the oldest first, read in order until the page is full
            stream = uow.session.execute(
                candidates.with_only_columns(
                    visits.c.id,
                    visits.c.patient_id,
                    visits.c.date_of_service,
                    visits.c.status,
                    visits.c.encounter_json,
                    (patients.c.last_name + ", " + patients.c.first_name).label("patient_name"),
                    (providers.c.first_name + " " + providers.c.last_name).label("provider_name"),
                ).order_by(visits.c.date_of_service, visits.c.id),
                execution_options={"yield_per": max(limit, 100)},
            )
            for v in stream:
                if _treated(v.encounter_json):
                    to_bill.append(v)
                    if len(to_bill) >= limit:
                        break
            stream.close()
        open_rows = list(
            uow.session.execute(
                _claim_query(uow)
                .where(
                    (claims.c.has_errors == true())  # "= true": an index condition
                    | claims.c.status.in_(
                        ["scrubbed", "ready", *(s for group in ATTENTION_REASONS.values() for s in group)]
                    )
                )
                .order_by(claims.c.date_of_service, claims.c.claim_number)
            ).all()
        )
    attention: dict[str, list[Any]] = {}
    errors = [c for c in open_rows if c.has_errors and c.status in ("draft", "scrubbed")]
    if errors:
        attention[SCRUB_ERRORS] = errors
    for reason, statuses in ATTENTION_REASONS.items():
        found = [c for c in open_rows if c.status in statuses]
        if found:
            attention[reason] = found
    ready = ready_groups(open_rows)
    marks = [c for c in open_rows if c.status == ClaimStatus.SCRUBBED.value and not c.has_errors]
    return BillingQueues(to_bill, to_bill_count, marks, attention, ready)


@dataclass(frozen=True, slots=True)
class MarkedReady:
    """What marking several claims ready did.

    Attributes:
        marked: claim ids now ready.
        refused: (claim id, why) of those left as they were.
    """

    marked: list[str]
    refused: list[tuple[str, str]]


def mark_ready_many(engine: Engine, practice_id: str, actor: str, claim_ids: Sequence[str]) -> MarkedReady:
    """Mark each claim ready (each in its own transaction, by ``mark_ready``): a claim with scrub
    errors, not scrubbed, or not of the practice is refused and the others still move."""
    marked: list[str] = []
    refused: list[tuple[str, str]] = []
    for claim_id in dict.fromkeys(claim_ids):
        try:
            mark_ready(engine, practice_id, actor, claim_id)
        except NotFoundError:
            refused.append((claim_id, "no such claim"))
        except TherabillError as exc:
            refused.append((claim_id, str(exc)))
        else:
            marked.append(claim_id)
    return MarkedReady(marked, refused)
