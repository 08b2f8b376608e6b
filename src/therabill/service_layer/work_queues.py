"""The biller's work queues: visits to bill, claims to mark ready, claims needing attention by
reason, ready claims by payer (a batch per payer), and the claims worklist in pages.

Reading only, except ``mark_ready_many``, which marks several claims ready through the one
``claims.mark_ready`` (each claim in its own transaction).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import Engine, Integer, String, bindparam, case, func, literal_column, select, true

from therabill.adapters.db.tables import VISITS_TO_BILL, claims, patients, payers, providers, visits
from therabill.domain.errors import NotFoundError, TherabillError
from therabill.domain.records import ClaimStatus
from therabill.service_layer.claims import LIST_COLUMNS, mark_ready
from therabill.service_layer.uow import UnitOfWork

__all__ = [
    "ATTENTION_REASONS",
    "BillingQueues",
    "ClaimsPage",
    "MarkedReady",
    "QUEUE_SHOWN",
    "SECTIONS",
    "QueueCounts",
    "queue_counts_in",
    "ReadyGroup",
    "billing_queues",
    "claims_page",
    "mark_ready_many",
    "ready_claim_ids",
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
QUEUE_SHOWN = PER_PAGE
"""The claims page lists this many of each queue (the oldest; each count is of all)."""


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
        where = [claims.c.practice_id == practice_id]
        if statuses:
            where.append(claims.c.status.in_(list(statuses)))
        if payer_id:
            where.append(claims.c.payer_id == payer_id)
        query = _claim_query(uow).where(*where)
        # Counted on the claims alone (each has its patient: the names are not needed to count).
        total = int(uow.session.execute(select(func.count()).select_from(claims).where(*where)).scalar_one())
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
        claims: its ready claims shown, oldest service first (the first ``count`` or fewer).
        total_cents: the charges of all its ready claims.
        count: how many ready claims it has.
    """

    payer_id: str
    payer_name: str
    claims: list[Any]
    total_cents: int
    count: int


@dataclass(frozen=True, slots=True)
class BillingQueues:
    """What a biller works through, in order. Each list holds the first claims (oldest service
    first) up to the limit, unless the page asked for one section whole; the counts are of all.

    Attributes:
        to_bill: documented visits with services and no claim yet (``patient_name``,
            ``provider_name``), oldest first, at most the limit.
        to_bill_count: all of them.
        to_mark_ready: scrubbed claims without errors (they may be marked ready together).
        to_mark_ready_count: all of them.
        attention: reason in words → claims needing work for it (only reasons with claims).
        attention_counts: reason in words → how many claims need work for it.
        ready: the ready claims, one group per payer.
    """

    to_bill: list[Any]
    to_bill_count: int
    to_mark_ready: list[Any]
    attention: dict[str, list[Any]]
    ready: list[ReadyGroup]
    to_mark_ready_count: int = 0
    attention_counts: dict[str, int] = field(default_factory=dict)

    @property
    def attention_count(self) -> int:
        """Claims needing attention, for every reason."""
        return sum(self.attention_counts.values())

    @property
    def ready_count(self) -> int:
        """Claims ready to send, of every payer."""
        return sum(g.count for g in self.ready)


SECTIONS = ("to-mark-ready", "attention", "ready")
"""The claim sections of the queues that a page may ask for whole (``billing_queues(whole=...)``)."""


def ready_groups(
    rows: Iterable[Any], totals: Mapping[str, tuple[int, int]] | None = None
) -> list[ReadyGroup]:
    """The ready claims among ``rows`` (with ``payer_name``), one group per payer (a batch per
    payer), by payer name; each group keeps the rows' order. ``totals`` (payer id → claims,
    cents) gives each group's figures when ``rows`` holds only the first claims of each."""
    groups: dict[str, list[Any]] = {}
    for c in rows:
        if c.status == ClaimStatus.READY.value:
            groups.setdefault(c.payer_id or "", []).append(c)
    out = []
    for pid, found in sorted(groups.items(), key=lambda kv: kv[1][0].payer_name or ""):
        count, cents = (totals or {}).get(pid) or (len(found), sum(c.total_charge_cents for c in found))
        out.append(ReadyGroup(pid, found[0].payer_name or "No payer", found, cents, count))
    return out


_SECTION_OF_REASON = {reason: f"reason{i}" for i, reason in enumerate(ATTENTION_REASONS)}
_WHOLE = {
    "to-mark-ready": ["mark"],
    "attention": ["errors", *_SECTION_OF_REASON.values()],
    "ready": ["ready"],
}
"""The sections of ``_SECTION`` that a page may ask for whole, by its name in ``SECTIONS``."""


def _text(label: str) -> Any:
    return literal_column(f"'{label}'", String)  # a constant in the SQL (the same in GROUP BY)


# The statements below are built once (the practice, limit and sections are parameters): a
# page sends them without building them again.
_SECTION = case(
    (claims.c.has_errors & claims.c.status.in_(["draft", "scrubbed"]), _text("errors")),
    (claims.c.status == ClaimStatus.SCRUBBED.value, _text("mark")),
    (claims.c.status == ClaimStatus.READY.value, _text("ready")),
    *(
        (claims.c.status.in_(list(statuses)), _text(_SECTION_OF_REASON[reason]))
        for reason, statuses in ATTENTION_REASONS.items()
    ),
    else_=_text("none"),
)
"""Which list of the queues an open claim is in (each claim in one): the section label."""
_OPEN = (claims.c.practice_id == bindparam("practice_id")) & (
    (claims.c.has_errors == true())  # "= true": an index condition
    | claims.c.status.in_(["scrubbed", "ready", *(s for group in ATTENTION_REASONS.values() for s in group)])
)
"""The claims of the practice in a queue: with scrub errors, or in a status a queue lists."""
_SECTION_LABEL = _SECTION.label("section")
_COUNTED = (
    select(
        _SECTION_LABEL,
        claims.c.payer_id,
        func.count().label("n"),
        func.sum(claims.c.total_charge_cents).label("cents"),
    )
    .where(_OPEN)
    .group_by(_SECTION_LABEL, claims.c.payer_id)
)
_NUMBERED = (
    select(
        claims.c.id,
        _SECTION.label("section"),
        func.row_number()
        .over(
            partition_by=[_SECTION, case((claims.c.status == "ready", claims.c.payer_id), else_=None)],
            order_by=[claims.c.date_of_service, claims.c.claim_number],
        )
        .label("n"),
    )
    .where(_OPEN)
    .subquery()
)
_FIRST_OF_EACH = (
    select(
        *LIST_COLUMNS,
        payers.c.name.label("payer_name"),
        (patients.c.last_name + ", " + patients.c.first_name).label("patient_name"),
        _NUMBERED.c.section,
    )
    .select_from(
        claims.join(_NUMBERED, _NUMBERED.c.id == claims.c.id)
        .outerjoin(payers, payers.c.id == claims.c.payer_id)
        .join(patients, patients.c.id == claims.c.patient_id)
    )
    .where(
        claims.c.practice_id == bindparam("practice_id"),
        _NUMBERED.c.section != "none",
        (_NUMBERED.c.n <= bindparam("limit", type_=Integer))
        | _NUMBERED.c.section.in_(bindparam("whole", expanding=True)),
    )
    .order_by(claims.c.date_of_service, claims.c.claim_number)
)
"""The open claims, the first ``limit`` of each section (ready: of each payer) unless the section
is asked ``whole``, oldest service first, with the payer's and patient's names."""
_TO_BILL = (visits.c.practice_id == bindparam("practice_id")) & VISITS_TO_BILL
_TO_BILL_COUNT = select(func.count()).select_from(visits).where(_TO_BILL)
_TO_BILL_ROWS = (
    select(
        visits.c.id,
        visits.c.patient_id,
        visits.c.date_of_service,
        visits.c.status,
        (patients.c.last_name + ", " + patients.c.first_name).label("patient_name"),
        (providers.c.first_name + " " + providers.c.last_name).label("provider_name"),
    )
    .select_from(
        visits.join(patients, patients.c.id == visits.c.patient_id).join(
            providers, providers.c.id == visits.c.provider_id
        )
    )
    .where(_TO_BILL)
    .order_by(visits.c.date_of_service, visits.c.id)
    .limit(bindparam("limit", type_=Integer))
)


def _to_bill(uow: UnitOfWork, limit: int) -> tuple[int, list[Any]]:
    """The count of the visits to bill and the oldest ``limit``, all from ``ix_visits_to_bill``."""
    practice = {"practice_id": uow.records.practice_id}
    count = int(uow.session.execute(_TO_BILL_COUNT, practice).scalar_one())
    if limit <= 0 or not count:
        return count, []
    return count, list(uow.session.execute(_TO_BILL_ROWS, {**practice, "limit": limit}).all())


@dataclass(frozen=True, slots=True)
class QueueCounts:
    """How long the biller's queues are (the dashboard's figures).

    Attributes:
        to_bill: documented visits with services and no claim yet.
        to_mark_ready: scrubbed claims without errors.
        ready: claims ready to send.
    """

    to_bill: int
    to_mark_ready: int
    ready: int


_BY_STATUS = (
    select(claims.c.status, claims.c.has_errors, func.count())
    .where(
        claims.c.practice_id == bindparam("practice_id"),
        claims.c.status.in_([ClaimStatus.SCRUBBED.value, ClaimStatus.READY.value]),
    )
    .group_by(claims.c.status, claims.c.has_errors)
)


def queue_counts_in(uow: UnitOfWork) -> QueueCounts:
    """The queues' counts, read from indexes only (no list is read)."""
    to_bill, _ = _to_bill(uow, 0)
    by_status = uow.session.execute(_BY_STATUS, {"practice_id": uow.records.practice_id}).all()
    marks = sum(
        int(n) for status, errors, n in by_status if status == ClaimStatus.SCRUBBED.value and not errors
    )
    ready = sum(int(n) for status, _errors, n in by_status if status == ClaimStatus.READY.value)
    return QueueCounts(to_bill, marks, ready)


def billing_queues(
    engine: Engine, practice_id: str, actor: str, *, limit: int = PER_PAGE, whole: str = ""
) -> BillingQueues:
    """The visits to bill, the claims to mark ready, those needing attention by reason, and the
    ready claims by payer: every count, and the first ``limit`` of each list (of each reason, of
    each payer), oldest service first; the section ``whole`` (one of ``SECTIONS``) in full."""
    practice = {"practice_id": practice_id}
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        to_bill_count, to_bill = _to_bill(uow, limit)
        counted = list(uow.session.execute(_COUNTED, practice).all())
        rows: list[Any] = []
        if counted and limit > 0:
            wanted = {**practice, "limit": limit, "whole": _WHOLE.get(whole, [])}
            rows = list(uow.session.execute(_FIRST_OF_EACH, wanted).all())
    counts: dict[str, int] = {}
    totals: dict[str, tuple[int, int]] = {}
    for r in counted:
        counts[r.section] = counts.get(r.section, 0) + int(r.n)
        if r.section == "ready":
            totals[r.payer_id or ""] = (int(r.n), int(r.cents or 0))
    attention: dict[str, list[Any]] = {}
    attention_counts: dict[str, int] = {}
    for reason, label in ((SCRUB_ERRORS, "errors"), *_SECTION_OF_REASON.items()):
        if counts.get(label):
            attention[reason] = [c for c in rows if c.section == label]
            attention_counts[reason] = counts[label]
    ready = ready_groups((c for c in rows if c.section == "ready"), totals)
    marks = [c for c in rows if c.section == "mark"]
    return BillingQueues(
        to_bill, to_bill_count, marks, attention, ready, counts.get("mark", 0), attention_counts
    )


def ready_claim_ids(engine: Engine, practice_id: str, actor: str, payer_id: str) -> list[str]:
    """The ids of every ready claim of ``payer_id`` (a batch of the payer), oldest service first."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return list(
            uow.session.execute(
                select(claims.c.id)
                .where(
                    claims.c.practice_id == practice_id,
                    claims.c.status == ClaimStatus.READY.value,
                    claims.c.payer_id == payer_id,
                )
                .order_by(claims.c.date_of_service, claims.c.claim_number)
            ).scalars()
        )


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
