"""The dashboard: what a practice should do next, for the person looking."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, bindparam, exists, func, select, true

from therabill.adapters.db.ledger_tables import remittances
from therabill.adapters.db.tables import appointments, authorizations, claims, coverages, patients, visits
from therabill.domain.records import authorization_running_out
from therabill.service_layer import work_queues
from therabill.service_layer.claims import LIST_COLUMNS
from therabill.service_layer.uow import UnitOfWork

__all__ = [
    "ATTENTION_SHOWN",
    "ATTENTION_STATUSES",
    "AuthorizationLeft",
    "Dashboard",
    "authorizations_running_out_in",
    "dashboard",
]

ATTENTION_STATUSES = ("batch_rejected", "clearinghouse_rejected", "payer_rejected", "denied", "partly_paid")
"""Claim statuses that need a biller's work (besides scrub errors)."""
ATTENTION_SHOWN = 15
"""The claims needing attention the dashboard lists (the oldest; the claims page has them all)."""


@dataclass(frozen=True, slots=True)
class Dashboard:
    """What the dashboard shows.

    Attributes:
        patients: patient id → the patient's names (``first_name``, ``last_name``).
        undocumented: checked-in or completed appointments up to today with no visit note.
        running_out: authorizations in force that are about to run out.
        attention: claims with scrub errors or in a status that needs work (billing roles), the
            oldest ``ATTENTION_SHOWN`` of them.
        paid_this_week_cents: remittance payments received in the last seven days (billing roles).
        to_bill: documented visits with services and no claim (billing roles).
        to_mark_ready: scrubbed claims without errors (billing roles).
        ready: claims ready to send (billing roles).
        attention_count: all the claims needing attention (billing roles).
    """

    patients: dict[str, Any]
    undocumented: list[Any]
    running_out: list[Any]
    attention: list[Any] = field(default_factory=list)
    paid_this_week_cents: int = 0
    to_bill: int = 0
    to_mark_ready: int = 0
    ready: int = 0
    attention_count: int = 0


@dataclass(frozen=True, slots=True)
class AuthorizationLeft:
    """An authorization in force that is about to run out, and what is left of it.

    Attributes:
        id: the authorization's id.
        patient_id: whose it is (through its coverage).
        number: the payer's authorization number.
        visits_allowed / visits_used, units_allowed / units_used: its counts.
        end_date: its last day.
    """

    id: str
    patient_id: str
    number: str | None
    visits_allowed: int | None
    visits_used: int
    units_allowed: int | None
    units_used: int
    end_date: date | None


def authorizations_running_out_in(uow: UnitOfWork, day: date) -> list[AuthorizationLeft]:
    """The authorizations that are about to run out on ``day`` (``domain.records.
    authorization_running_out``: few visits or units left, or the end date near)."""
    found = [
        a
        for a in uow.records.rows(authorizations)
        if authorization_running_out(
            day=day,
            end_date=a.end_date,
            visits_allowed=a.visits_allowed,
            visits_used=a.visits_used,
            units_allowed=a.units_allowed,
            units_used=a.units_used,
        )
    ]
    # Only the coverages of those authorizations, not every coverage of the practice.
    wanted = sorted({a.coverage_id for a in found})
    owner = (
        {c.id: c.patient_id for c in uow.records.rows(coverages, coverages.c.id.in_(wanted))}
        if wanted
        else {}
    )
    return [
        AuthorizationLeft(
            a.id,
            owner[a.coverage_id],
            a.number,
            a.visits_allowed,
            a.visits_used,
            a.units_allowed,
            a.units_used,
            a.end_date,
        )  # fmt: skip
        for a in found
        if a.coverage_id in owner
    ]


# Built once (the practice and the days are parameters): a request sends them without building
# them again. The visit of an appointment is looked up per appointment (an index seek each), not
# every visit of the practice read into memory.
_UNDOCUMENTED = select(appointments).where(
    appointments.c.practice_id == bindparam("practice_id"),
    appointments.c.start < bindparam("end", type_=appointments.c.start.type),
    appointments.c.status.in_(["arrived", "completed"]),
    ~exists().where(
        visits.c.practice_id == bindparam("practice_id"), visits.c.appointment_id == appointments.c.id
    ),
)
_WANTS_ATTENTION = (claims.c.practice_id == bindparam("practice_id")) & (
    (claims.c.has_errors == true()) | claims.c.status.in_(ATTENTION_STATUSES)
)
_ATTENTION = (
    select(*LIST_COLUMNS)  # not the findings or coded document JSON
    .where(_WANTS_ATTENTION)
    .order_by(claims.c.date_of_service, claims.c.claim_number)
    .limit(ATTENTION_SHOWN)
)
_ATTENTION_COUNT = select(func.count()).select_from(claims).where(_WANTS_ATTENTION)
_PAID = select(func.coalesce(func.sum(remittances.c.payment_cents), 0)).where(
    remittances.c.practice_id == bindparam("practice_id"),
    remittances.c.received_at >= bindparam("since", type_=remittances.c.received_at.type),
)
_NAMES = select(patients.c.id, patients.c.first_name, patients.c.last_name).where(
    patients.c.practice_id == bindparam("practice_id"), patients.c.id.in_(bindparam("ids", expanding=True))
)


def dashboard(engine: Engine, practice_id: str, actor: str, *, day: date, billing: bool) -> Dashboard:
    """The dashboard of ``day``; the money and claims parts only when ``billing``."""
    start = datetime.combine(day, datetime.min.time())
    practice = {"practice_id": practice_id}
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        run = uow.session.execute
        undocumented = list(run(_UNDOCUMENTED, {**practice, "end": start + timedelta(days=1)}))
        running_out = authorizations_running_out_in(uow, day)
        if not billing:
            return Dashboard(_patients_of(uow, undocumented, running_out), undocumented, running_out)
        attention = list(run(_ATTENTION, practice).all())
        attention_count = (
            len(attention)
            if len(attention) < ATTENTION_SHOWN
            else int(run(_ATTENTION_COUNT, practice).scalar_one())
        )
        paid = run(_PAID, {**practice, "since": start - timedelta(days=6)}).scalar_one()
        names = _patients_of(uow, undocumented, running_out, attention)
        counts = work_queues.queue_counts_in(uow)
    return Dashboard(
        names,
        undocumented,
        running_out,
        attention,
        int(paid),
        to_bill=counts.to_bill,
        to_mark_ready=counts.to_mark_ready,
        ready=counts.ready,
        attention_count=attention_count,
    )


def _patients_of(uow: UnitOfWork, *groups: list[Any]) -> dict[str, Any]:
    """The names of the patients the rows of ``groups`` name (patient id → row with ``first_name``
    and ``last_name``), not the whole practice."""
    wanted = sorted({r.patient_id for rows in groups for r in rows if r.patient_id})
    if not wanted:
        return {}
    found = uow.session.execute(_NAMES, {"practice_id": uow.records.practice_id, "ids": wanted})
    return {r.id: r for r in found}
