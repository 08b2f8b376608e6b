"""Claims: coding a visit into a claim, its life cycle, and the claim as the biller reads it.

``code_visit`` is the one way a claim is made: coded by the payer's unit method, scrubbed
with everything the records know, its authorization use and ledger charges written in the
same transaction. Status moves go through ``claim_status.set_status_in``.
"""

from __future__ import annotations

import json
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, Row, and_, func, or_, select

from therabill.adapters.db import mappers
from therabill.adapters.db.repositories import Records, new_id
from therabill.adapters.db.tables import (
    claim_lines,
    claims,
    coverages,
    patients,
    payers,
    practices,
    visits,
)
from therabill.clock import Clock, current_time
from therabill.domain.claim import Claim, build_claim
from therabill.domain.encounter import Encounter
from therabill.domain.errors import NotFoundError, Problem
from therabill.domain.intake import VisitNotBillableError
from therabill.domain.money import D, to_cents
from therabill.domain.records import (
    ClaimStatus,
    ClaimSummary,
)
from therabill.scrubber import ScrubContext, scrub
from therabill.service_layer import intake, ledger
from therabill.service_layer.accounts import Principal
from therabill.service_layer.claim_status import add_status_event_in, set_status_in
from therabill.service_layer.coding import units_of
from therabill.service_layer.coverages import release_authorization_in, use_authorization_in
from therabill.service_layer.encounters import (
    CLOSED_CLAIM_STATUSES,
    build_encounter,
    encounter_document,
    encounter_of_document,
    scrub_context_in,
)
from therabill.service_layer.errors import RecordsError, refuse
from therabill.service_layer.lookup import claim_row_in, patient_in
from therabill.service_layer.paging import Page, page_limit
from therabill.service_layer.uow import UnitOfWork


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
        names = dict(uow.records.patients_by_id(r.patient_id for r in rows))
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
        history = _history_in(uow, claim_id)
    found = claim.findings or []
    if isinstance(found, dict):
        found = found.get("findings", [])
    return ClaimDetail(claim, patient, list(lines), list(found), history)


Scrub = Callable[[Encounter, date], Any]

"""A scrubber: ``(encounter, as_of) -> report`` with ``.has_errors`` and ``.as_dict()``."""


def _scrubbing_with(context: ScrubContext) -> Scrub:
    """The scrubber with everything the records know (``encounters.scrub_context_in``)."""

    def scrubber(encounter: Encounter, day: date) -> Any:
        return scrub(encounter, day, context)

    return scrubber


def _scrub(encounter: Encounter, as_of: date, scrubber: Scrub) -> tuple[dict[str, Any], bool]:
    """The scrubber's report as stored JSON, and whether it has errors."""
    report = scrubber(encounter, as_of)
    return json.loads(json.dumps(report.as_dict(), default=str)), bool(report.has_errors)


def _claim_number(records: Records) -> str:
    for _ in range(20):
        candidate = "TB" + secrets.token_hex(5).upper()
        if records.claim_by_number(candidate) is None:
            return candidate
    raise RuntimeError("could not find a free claim number")  # pragma: no cover - 16^10 space


@dataclass(frozen=True, slots=True)
class CodedClaim:
    """The result of coding a visit.

    Attributes:
        claim_id: the claim's opaque id.
        claim_number: CLM01.
        status: its status (``scrubbed``: every claim is scrubbed as it is made).
        has_errors: whether the scrub found errors (the claim cannot be marked ready).
        findings: the scrub findings as stored.
        total_charge_cents: the claim total.
    """

    claim_id: str
    claim_number: str
    status: str
    has_errors: bool
    findings: Any
    total_charge_cents: int


def code_visit(
    engine: Engine,
    practice_id: str,
    actor: str,
    visit_id: str,
    *,
    as_of: date,
    clock: Clock = current_time,
    scrubber: Scrub | None = None,
) -> CodedClaim:
    """Code and scrub a visit into a claim: units by the payer's method, zero-unit lines left off.

    The claim is stored as ``draft`` and moves to ``scrubbed`` with the findings current at
    that moment, scrubbed with everything the records know (``encounters.scrub_context_in``). The authorization's used
    counts grow by this claim's visit and units, and each line's charge is posted to the
    ledger (owed by the claim's payer) in the same transaction: a claim never exists
    without its charges, and voiding it reverses them.

    The visit is checked against the patient's intake first, in the same transaction: a
    treated visit with an uncleared absolute contraindication raises
    ``VisitNotBillableError`` (code ``visit-not-billable``, one problem
    ``intake-contraindication-uncleared`` per contraindication) and nothing is written; the
    visit and its note stay as they are. With the default scrubber, the intake rules (region
    marked "avoid", precautions, an unsigned intake) run on the intake on file.

    Raises:
        VisitNotBillableError: an uncleared absolute contraindication (clear it first with
            ``intake.record_clearance``).
        RecordsError: the visit already has an open claim, or no coverage to bill.
    """
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        visit = uow.records.get(visits, visit_id, for_update=True)
        open_claims = uow.records.rows(
            claims, claims.c.visit_id == visit_id, claims.c.status.not_in(list(CLOSED_CLAIM_STATUSES))
        )
        if open_claims:
            raise refuse(
                "visit-already-coded", "visit_id", "the visit already has an open claim; void it first"
            )
        check = intake.check_in(uow.records, visit)
        if not check.billable:
            raise VisitNotBillableError(intake.NOT_BILLABLE, check.problems)
        if scrubber is None:
            context = scrub_context_in(uow.records, visit._mapping, intake.on_file(check, expected=False))
            scrubber = _scrubbing_with(context)
        document = encounter_document(uow.records, visit._mapping, exclude_visit=visit_id)
        encounter = encounter_of_document(document)
        if encounter.coverage is None:
            raise refuse("visit-no-coverage", "coverage", "the patient has no active coverage to bill")
        fees_raw = uow.session.execute(select(practices.c.fees).where(practices.c.id == practice_id)).scalar()
        fees = {code: D(str(v)) for code, v in (fees_raw or {}).items()}
        units = units_of(encounter.services, encounter.payer_profile)
        number = _claim_number(uow.records)
        claim = build_claim(encounter, units, claim_id=number, fees=fees)
        cov_row = uow.records.rows(
            coverages,
            coverages.c.patient_id == visit.patient_id,
            coverages.c.sequence == encounter.coverage.sequence,
        )
        coverage_id = visit.coverage_id or (cov_row[0].id if cov_row else None)
        payer_row_id = uow.records.get(coverages, coverage_id).payer_id if coverage_id else None
        claim_id = new_id()
        now = uow.now()
        uow.records.insert(
            claims,
            id=claim_id,
            visit_id=visit_id,
            patient_id=visit.patient_id,
            payer_id=payer_row_id,
            coverage_id=coverage_id,
            claim_number=number,
            payer_claim_control_number=encounter.payer_claim_control_number,
            frequency=encounter.claim_frequency,
            status=ClaimStatus.DRAFT.value,
            date_of_service=encounter.date_of_service,
            total_charge_cents=to_cents(claim.total_charge),
            findings=None,
            has_errors=False,
            coded_document=document,
            created_at=now,
            updated_at=now,
        )
        uow.records.insert_many(
            claim_lines,
            [
                mappers.claim_line_to_row(
                    line, line_row_id=new_id(), claim_id=claim_id, practice_id=practice_id
                )
                for line in claim.lines
            ],
        )
        add_status_event_in(uow, claim_id, ClaimStatus.DRAFT.value, note=f"{len(claim.lines)} lines")
        findings, has_errors = _scrub(encounter, as_of, scrubber)
        status = ClaimStatus.SCRUBBED.value
        uow.records.update(claims, claim_id, status=status, findings=findings, has_errors=has_errors)
        add_status_event_in(uow, claim_id, status, findings=findings, note="scrubbed")
        use_authorization_in(uow, claim_id, coverage_id, claim)
        ledger.claim_charges_in(uow, claim_id)
        uow.records.update(visits, visit_id, status="coded")
        uow.record("claim.create", "claim", claim_id, {"status": status, "lines": len(claim.lines)})
    return CodedClaim(claim_id, number, status, has_errors, findings, to_cents(claim.total_charge))


def mark_ready(
    engine: Engine, practice_id: str, actor: str, claim_id: str, *, clock: Clock = current_time
) -> None:
    """Mark a scrubbed claim ready to send; refused while its scrub has errors."""
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        claim = uow.records.get(claims, claim_id, for_update=True)
        if claim.status == ClaimStatus.DRAFT.value:
            raise refuse("claim-not-scrubbed", "status", "the claim has not been scrubbed")
        if claim.has_errors:
            raise refuse("claim-has-scrub-errors", "findings", "fix the scrub errors and scrub again first")
        set_status_in(uow, claim, ClaimStatus.READY.value)


def set_claim_status(
    engine: Engine,
    practice_id: str,
    actor: str,
    claim_id: str,
    status: str,
    *,
    note: str | None = None,
    payer_claim_control_number: str | None = None,
    clock: Clock = current_time,
) -> None:
    """Move a claim along its life cycle (acknowledgements, adjudication, appeal...)."""
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        claim = uow.records.get(claims, claim_id, for_update=True)
        if status == ClaimStatus.READY.value and claim.has_errors:
            raise refuse("claim-has-scrub-errors", "findings", "fix the scrub errors and scrub again first")
        set_status_in(uow, claim, status, note=note)
        if payer_claim_control_number:
            uow.records.update(claims, claim_id, payer_claim_control_number=payer_claim_control_number)
        if status in (ClaimStatus.VOIDED.value, ClaimStatus.REPLACED.value):
            release_authorization_in(uow, claim_id)
            ledger.reverse_claim_charges_in(uow, claim_id)


def void_claim(
    engine: Engine, practice_id: str, actor: str, claim_id: str, *, clock: Clock = current_time
) -> None:
    """Void a claim; its authorization use is released (with an event in the history)."""
    set_claim_status(engine, practice_id, actor, claim_id, ClaimStatus.VOIDED.value, clock=clock)


def claim_history(engine: Engine, practice_id: str, actor: str, claim_id: str) -> list[dict[str, Any]]:
    """The claim's status events with the findings current at each."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        uow.records.get(claims, claim_id)
        return _history_in(uow, claim_id)


def _history_in(uow: UnitOfWork, claim_id: str) -> list[dict[str, Any]]:
    """The status events of a claim of the unit's practice (found already), oldest first."""
    return [
        {
            "seq": e.seq,
            "status": e.status,
            "at": e.at,
            "actor": e.actor,
            "note": e.note,
            "findings": e.findings,
        }
        for e in uow.records.status_history(claim_id)
    ]


def list_claims(
    engine: Engine, practice_id: str, actor: str, statuses: Sequence[str] = ()
) -> list[ClaimSummary]:
    """The practice's claims, optionally only those in ``statuses``."""
    bad = [s for s in statuses if s not in ClaimStatus.__members__.values()]
    if bad:
        raise RecordsError(
            "unknown claim status", tuple(Problem("claim-status-unknown", "--status", f"{s!r}") for s in bad)
        )
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return uow.records.claims_by_status(statuses)


def claim_record(engine: Engine, practice_id: str, actor: str, claim_id: str) -> Claim:
    """The stored claim as a domain ``Claim`` (lines as billed, encounter rebuilt)."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return claim_in(uow, claim_id)


def claim_in(uow: UnitOfWork, claim_id: str) -> Claim:
    """``claim_record`` inside an open unit of work (e.g. the one that exports the claim).

    The encounter is the one the claim was coded from (``claims.coded_document``): renaming a
    provider or moving a patient later changes none of the claim's documents. Claims coded
    before the snapshot was kept are rebuilt from the records.
    """
    row = uow.records.get(claims, claim_id)
    if row.coded_document is not None:
        encounter = encounter_of_document(dict(row.coded_document))
    else:
        visit = uow.records.get(visits, row.visit_id)
        encounter = build_encounter(uow.records, visit._mapping, exclude_visit=row.visit_id)
    return claim_from(row.claim_number, encounter, uow.records.lines_of(claim_id))


def claim_from(claim_number: str, encounter: Encounter, line_rows: Iterable[Row[Any]]) -> Claim:
    """The domain claim of a stored claim: the encounter it was coded from and its line rows."""
    lines = tuple(mappers.claim_line_to_domain(r) for r in line_rows)
    units = units_of(encounter.services, encounter.payer_profile)
    total = sum((line.charge for line in lines), Decimal("0.00"))
    return Claim(claim_id=claim_number, encounter=encounter, lines=lines, total_charge=total, units=units)


# --- claims by what people call them, pages of them, counts -----------------------------


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


LIST_COLUMNS = (
    claims.c.id,
    claims.c.claim_number,
    claims.c.visit_id,
    claims.c.patient_id,
    claims.c.payer_id,
    claims.c.status,
    claims.c.date_of_service,
    claims.c.total_charge_cents,
    claims.c.has_errors,
    claims.c.batch_id,
)
"""What a list of claims shows or links to. The JSON columns (findings, the coded document, COB)
are left out: decoding them for every row was most of a list's cost."""


def claim_page(
    engine: Engine,
    principal: Principal,
    which: ClaimFilter,
    *,
    after: list[Any] | None = None,
    limit: int = 100,
) -> Page[Row[Any]]:
    """Claims (``LIST_COLUMNS``) newest date of service first (then by claim number), filtered,
    one page after ``after``. A patient or payer that does not exist gives an empty page."""
    size = page_limit(limit)
    with UnitOfWork(engine, principal.practice_id, f"user:{principal.user_id}", read_only=True) as uow:
        query: Any = uow.records.scoped(claims).with_only_columns(*LIST_COLUMNS)
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
