"""Coverages, authorizations and eligibility checks of a patient.

An authorization's used counts grow when a claim is coded (``use_authorization_in``) and
shrink when it is voided (``release_authorization_in``), each with an event in its history.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import Engine, Row

from therabill.adapters.db.tables import (
    authorization_events,
    authorizations,
    coverages,
    eligibility_checks,
    patients,
    payers,
)
from therabill.clock import Clock, current_date, current_time
from therabill.domain.claim import Claim
from therabill.domain.errors import Problem
from therabill.domain.records import address_problems
from therabill.service_layer.accounts import Principal, actor_of
from therabill.service_layer.encounters import (
    active_on,
)
from therabill.service_layer.errors import RecordsError, refuse
from therabill.service_layer.lookup import coverage_of_patient_in, patient_in, payer_in
from therabill.service_layer.uow import UnitOfWork, one_transaction

_PROCEDURE_CODE = re.compile(r"[A-Z0-9]{5}")


@dataclass(frozen=True, slots=True)
class CoverageInput:
    """A coverage to register.

    Attributes:
        payer_id: the payer's internal id.
        sequence: ``primary``, ``secondary`` or ``tertiary``.
        member_id: the id on the card.
        group_number: group number.
        plan_name: plan name.
        relationship: patient's relationship to the subscriber.
        subscriber: the subscriber as an encounter-document ``subscriber`` object.
        active_from: first active date.
        active_to: last active date.
        details: further encounter-document coverage fields (``therapy_amounts_used``...).
    """

    payer_id: str
    sequence: str = "primary"
    member_id: str | None = None
    group_number: str | None = None
    plan_name: str | None = None
    relationship: str = "self"
    subscriber: Mapping[str, Any] | None = None
    active_from: date | None = None
    active_to: date | None = None
    details: Mapping[str, Any] | None = None


def insert_coverage_in(uow: UnitOfWork, patient_id: str, cov: CoverageInput) -> str:
    uow.records.get(payers, cov.payer_id)
    if cov.sequence not in ("primary", "secondary", "tertiary"):
        raise refuse("coverage-sequence-invalid", "sequence", f"{cov.sequence!r} is not a coverage sequence")
    return uow.records.insert(
        coverages,
        patient_id=patient_id,
        payer_id=cov.payer_id,
        sequence=cov.sequence,
        member_id=cov.member_id,
        group_number=cov.group_number,
        plan_name=cov.plan_name,
        relationship=cov.relationship,
        subscriber=dict(cov.subscriber) if cov.subscriber else None,
        active_from=cov.active_from,
        active_to=cov.active_to,
        details=dict(cov.details) if cov.details else None,
        created_at=uow.now(),
    )


def add_coverage(engine: Engine, practice_id: str, actor: str, patient_id: str, cov: CoverageInput) -> str:
    """Add a coverage to a patient."""
    with UnitOfWork(engine, practice_id, actor) as uow:
        uow.records.get(patients, patient_id)
        new = insert_coverage_in(uow, patient_id, cov)
        uow.record("coverage.add", "coverage", new, {"sequence": cov.sequence})
    return new


def add_authorization(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    coverage_id: str,
    number: str,
    start_date: date | None,
    end_date: date | None,
    codes: Sequence[str] = (),
    units_pooled: bool = True,
    visits_allowed: int | None = None,
    units_allowed: int | None = None,
    clock: Clock = current_time,
) -> str:
    """Record a prior authorization on a coverage (used counts start at zero).

    Validated before anything is stored: a non-blank number, every procedure code a CPT/HCPCS
    code (five letters or digits; an empty code would block every claim of the coverage),
    no code twice, and a start no later than the end.
    """
    number = number.strip()
    if not number:
        raise refuse("authorization-number-missing", "number", "give the authorization number")
    clean: list[str] = []
    for i, raw in enumerate(codes):
        code = str(raw).strip().upper()
        if not _PROCEDURE_CODE.fullmatch(code):
            raise refuse(
                "authorization-code-invalid",
                f"codes[{i}]",
                "must be a CPT/HCPCS procedure code of five letters or digits, such as 97124",
            )
        if code in clean:
            raise refuse("authorization-code-duplicate", f"codes[{i}]", f"{code} is listed twice")
        clean.append(code)
    if start_date is not None and end_date is not None and end_date < start_date:
        raise refuse("authorization-dates-reversed", "end_date", "must not be before start_date")
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        uow.records.get(coverages, coverage_id)
        new = uow.records.insert(
            authorizations,
            coverage_id=coverage_id,
            number=number,
            start_date=start_date,
            end_date=end_date,
            codes=clean,
            units_pooled=units_pooled,
            visits_allowed=visits_allowed,
            units_allowed=units_allowed,
            visits_used=0,
            units_used=0,
            created_at=uow.now(),
        )
        uow.record("authorization.add", "authorization", new)
    return new


def record_eligibility_check(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    coverage_id: str,
    service_date: date | None,
    active: bool | None,
    source: str,
    result: Mapping[str, Any] | None = None,
    clock: Clock = current_time,
) -> str:
    """Store an eligibility check (a 271 response or a phone call) and stamp the coverage."""
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        uow.records.get(coverages, coverage_id)
        new = uow.records.insert(
            eligibility_checks,
            coverage_id=coverage_id,
            checked_at=uow.now(),
            service_date=service_date,
            active=active,
            source=source,
            result=dict(result) if result else None,
        )
        if active:
            uow.records.update(coverages, coverage_id, eligibility_verified_on=uow.now().date())
        uow.record("eligibility.record", "coverage", coverage_id, {"active": active, "source": source})
    return new


def authorization_status(
    engine: Engine, practice_id: str, actor: str, authorization_id: str
) -> dict[str, Any]:
    """An authorization's allowed and used counts with its history of use and release."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        auth = uow.records.get(authorizations, authorization_id)
        events = uow.records.rows(
            authorization_events,
            authorization_events.c.authorization_id == authorization_id,
            order_by=[authorization_events.c.at],
        )
        return {
            "number": auth.number,
            "visits_allowed": auth.visits_allowed,
            "visits_used": auth.visits_used,
            "units_allowed": auth.units_allowed,
            "units_used": auth.units_used,
            "history": [
                {"kind": e.kind, "claim_id": e.claim_id, "visits": e.visits, "units": e.units, "at": e.at}
                for e in events
            ],
        }


def use_authorization_in(uow: UnitOfWork, claim_id: str, coverage_id: str | None, claim: Claim) -> None:
    if (
        coverage_id is None
        or claim.encounter.coverage is None
        or claim.encounter.coverage.authorization is None
    ):
        return
    number = claim.encounter.coverage.authorization.number
    dos = claim.encounter.date_of_service
    for auth in uow.records.authorizations_of(coverage_id):
        if auth.number != number or not active_on(auth, dos, "start_date", "end_date"):
            continue
        codes = set(auth.codes)
        units = sum(line.units for line in claim.lines if not codes or line.code in codes)
        locked = uow.records.get(authorizations, auth.id, for_update=True)
        uow.records.update(
            authorizations, auth.id, visits_used=locked.visits_used + 1, units_used=locked.units_used + units
        )
        uow.records.insert(
            authorization_events,
            authorization_id=auth.id,
            claim_id=claim_id,
            kind="use",
            visits=1,
            units=units,
            at=uow.now(),
            actor=uow.actor,
        )
        return


def release_authorization_in(uow: UnitOfWork, claim_id: str) -> None:
    events = uow.records.rows(authorization_events, authorization_events.c.claim_id == claim_id)
    net: dict[str, list[int]] = {}
    for ev in events:
        sign = 1 if ev.kind == "use" else -1
        acc = net.setdefault(ev.authorization_id, [0, 0])
        acc[0] += sign * ev.visits
        acc[1] += sign * ev.units
    for auth_id, (n_visits, n_units) in net.items():
        if n_visits <= 0 and n_units <= 0:
            continue
        locked = uow.records.get(authorizations, auth_id, for_update=True)
        uow.records.update(
            authorizations,
            auth_id,
            visits_used=locked.visits_used - n_visits,
            units_used=locked.units_used - n_units,
        )
        uow.records.insert(
            authorization_events,
            authorization_id=auth_id,
            claim_id=claim_id,
            kind="release",
            visits=n_visits,
            units=n_units,
            at=uow.now(),
            actor=uow.actor,
        )


# --- the front desk: coverages as people read and change them ---------------------------


def _actor(principal: Principal) -> str:
    return actor_of(principal)


def _reader(engine: Engine, principal: Principal) -> UnitOfWork:
    return UnitOfWork(engine, principal.practice_id, _actor(principal), read_only=True)


def coverages_of_patient(
    engine: Engine, principal: Principal, patient_key: str
) -> tuple[Row[Any], list[CoverageView]]:
    """The patient (by id or chart number) and their coverages with payer names, primary first.

    Raises:
        NotFoundError: no such patient in the caller's practice.
    """
    with _reader(engine, principal) as uow:
        patient = patient_in(uow, patient_key)
        names = {p.id: p.name for p in uow.records.rows(payers)}
        return patient, [
            CoverageView(c, names.get(c.payer_id, "")) for c in uow.records.coverages_of(patient.id)
        ]


def find_coverage(engine: Engine, principal: Principal, patient_key: str, key: str) -> Row[Any]:
    """A patient's coverage by internal id or by its order (``primary``: the one in force).

    Raises:
        NotFoundError: no such patient, or no such coverage of theirs.
    """
    with _reader(engine, principal) as uow:
        return coverage_of_patient_in(uow, patient_in(uow, patient_key).id, key)


def coverage_record(engine: Engine, principal: Principal, coverage_id: str) -> Row[Any]:
    """One coverage.

    Raises:
        NotFoundError: no such coverage in the caller's practice.
    """
    with _reader(engine, principal) as uow:
        return uow.records.get(coverages, coverage_id)


SEQUENCES = ("primary", "secondary", "tertiary")


RELATIONSHIPS = ("self", "spouse", "child", "employee", "other")


COVERAGE_FIELDS = (
    "sequence",
    "member_id",
    "group_number",
    "plan_name",
    "relationship",
    "subscriber",
    "active_from",
    "active_to",
)


@dataclass(frozen=True, slots=True)
class CoverageView:
    """A coverage with its payer's name (what a person reads)."""

    row: Row[Any]
    payer_name: str


@dataclass(frozen=True, slots=True)
class CoverageChange:
    """A coverage to add, or what replaces one.

    Attributes:
        payer_id: the payer's internal id or its electronic payer id.
        subscriber: the insured (first_name, last_name, birth_date, sex, address) when the
            patient is not the insured; required unless ``relationship`` is ``self``.
    """

    payer_id: str
    sequence: str = "primary"
    member_id: str | None = None
    group_number: str | None = None
    plan_name: str | None = None
    relationship: str = "self"
    subscriber: Mapping[str, Any] | None = None
    active_from: date | None = None
    active_to: date | None = None


def subscriber_problems(
    relationship: str, subscriber: Mapping[str, Any] | None, today: date
) -> list[Problem]:
    """What is wrong with a coverage's subscriber (needed unless the patient is the insured)."""
    out = []
    if relationship not in RELATIONSHIPS:
        out.append(
            Problem(
                "coverage-relationship-invalid", "relationship", f"must be one of {', '.join(RELATIONSHIPS)}"
            )
        )
    if relationship == "self":
        return out
    if not subscriber or not str(subscriber.get("last_name") or "").strip():
        out.append(
            Problem("coverage-subscriber-missing", "subscriber.last_name", "give the insured person's name")
        )
        return out
    if not str(subscriber.get("first_name") or "").strip():
        out.append(
            Problem(
                "coverage-subscriber-missing", "subscriber.first_name", "give the insured person's first name"
            )
        )
    born = subscriber.get("birth_date")
    if born:
        try:
            day = date.fromisoformat(str(born))
        except ValueError:
            out.append(
                Problem(
                    "coverage-subscriber-birth-date", "subscriber.birth_date", "must be a date (YYYY-MM-DD)"
                )
            )
        else:
            if day > today:
                out.append(
                    Problem(
                        "coverage-subscriber-birth-date", "subscriber.birth_date", "must not be in the future"
                    )
                )
    if subscriber.get("sex") not in (None, "", "F", "M", "U"):
        out.append(Problem("coverage-subscriber-sex", "subscriber.sex", "must be F, M or U"))
    out.extend(address_problems(subscriber.get("address"), "subscriber.address"))
    return out


def _coverage_problems(values: Mapping[str, Any], today: date) -> list[Problem]:
    out = []
    if "sequence" in values and values["sequence"] not in SEQUENCES:
        out.append(Problem("coverage-sequence-invalid", "sequence", "must be primary, secondary or tertiary"))
    if "relationship" in values or "subscriber" in values:
        out.extend(subscriber_problems(values.get("relationship", "self"), values.get("subscriber"), today))
    start, end = values.get("active_from"), values.get("active_to")
    if start and end and end < start:
        out.append(Problem("coverage-dates-reversed", "active_to", "must not be before active_from"))
    return out


def _clean_subscriber(relationship: str, subscriber: Mapping[str, Any] | None) -> dict[str, Any] | None:
    if relationship == "self" or not subscriber:
        return None
    out = {k: v for k, v in subscriber.items() if v not in (None, "")}
    out["entity_type"] = "person"
    return out


def _sequence_taken(
    uow: UnitOfWork, patient_id: str, sequence: str, on: date, but: str | None = None
) -> bool:
    for cov in uow.records.coverages_of(patient_id):
        if cov.id != but and cov.sequence == sequence and (cov.active_to is None or cov.active_to >= on):
            return True
    return False


def add_patient_coverage(engine: Engine, principal: Principal, patient_key: str, cov: CoverageChange) -> str:
    """Add a coverage to a patient (by id or chart number) for the caller (``add_coverage_as``)."""
    return add_coverage_as(engine, principal.practice_id, _actor(principal), patient_key, cov)


def add_coverage_as(
    engine: Engine, practice_id: str, actor: str, patient_key: str, cov: CoverageChange
) -> str:
    """Add a coverage to a patient (by id or chart number), with its subscriber; the payer by
    its id or electronic payer id (web, API and CLI).

    Refused (each problem with its field): an order (primary...) an active coverage already
    has, a subscriber missing when the patient is not the insured, reversed dates.
    """
    values = {k: getattr(cov, k) for k in COVERAGE_FIELDS}
    problems = _coverage_problems(values, current_date())
    if problems:
        raise RecordsError("the coverage was not added", tuple(problems))
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        patient = patient_in(uow, patient_key)
        payer = payer_in(uow, cov.payer_id)
        if _sequence_taken(uow, patient.id, cov.sequence, cov.active_from or current_date()):
            raise refuse(
                "coverage-sequence-taken",
                "sequence",
                f"the patient already has an active {cov.sequence} coverage: end or replace it first",
            )
    return add_coverage(
        engine,
        practice_id,
        actor,
        patient.id,
        CoverageInput(
            payer_id=payer.id,
            sequence=cov.sequence,
            member_id=cov.member_id,
            group_number=cov.group_number,
            plan_name=cov.plan_name,
            relationship=cov.relationship,
            subscriber=_clean_subscriber(cov.relationship, cov.subscriber),
            active_from=cov.active_from,
            active_to=cov.active_to,
        ),
    )


def coverage_view(engine: Engine, principal: Principal, coverage_id: str) -> CoverageView:
    """One coverage with its payer's name.

    Raises:
        NotFoundError: no such coverage in the caller's practice.
    """
    with _reader(engine, principal) as uow:
        row = uow.records.get(coverages, coverage_id)
        return CoverageView(row, uow.records.get(payers, row.payer_id).name)


def update_coverage(
    engine: Engine, principal: Principal, coverage_id: str, changes: Mapping[str, Any]
) -> list[str]:
    """Change a coverage's fields; returns the names of those that changed (audited by name).

    Raises:
        NotFoundError: no such coverage.
        RecordsError: a change is not valid; nothing is written.
    """
    unknown = sorted(set(changes) - set(COVERAGE_FIELDS))
    if unknown:
        raise refuse("coverage-field-unknown", unknown[0], "is not a coverage field")
    with UnitOfWork(engine, principal.practice_id, _actor(principal)) as uow:
        old = uow.records.get(coverages, coverage_id)
        merged = {k: getattr(old, k) for k in COVERAGE_FIELDS} | dict(changes)
        if "subscriber" not in changes and merged["relationship"] == "self":
            merged["subscriber"] = None
        problems = _coverage_problems(merged, uow.now().date())
        if problems:
            raise RecordsError("the coverage was not changed", tuple(problems))
        if "sequence" in changes and _sequence_taken(
            uow, old.patient_id, merged["sequence"], uow.now().date(), but=coverage_id
        ):
            raise refuse(
                "coverage-sequence-taken", "sequence", f"another active coverage is {merged['sequence']}"
            )
        merged["subscriber"] = _clean_subscriber(merged["relationship"], merged["subscriber"])
        changed = sorted(k for k in COVERAGE_FIELDS if getattr(old, k) != merged[k])
        if changed:
            uow.records.update(coverages, coverage_id, **{k: merged[k] for k in changed})
            uow.record("coverage.update", "coverage", coverage_id, {"fields": changed})
    return changed


def end_coverage(engine: Engine, principal: Principal, coverage_id: str, last_day: date) -> None:
    """End a coverage on ``last_day`` (it stays on file for the claims made under it).

    Raises:
        NotFoundError: no such coverage.
        RecordsError: the last day is before the coverage began.
    """
    with UnitOfWork(engine, principal.practice_id, _actor(principal)) as uow:
        old = uow.records.get(coverages, coverage_id)
        if old.active_from and last_day < old.active_from:
            raise refuse("coverage-dates-reversed", "active_to", "must not be before the coverage began")
        uow.records.update(coverages, coverage_id, active_to=last_day)
        uow.record("coverage.end", "coverage", coverage_id, {"active_to": last_day.isoformat()})


def replace_coverage(engine: Engine, principal: Principal, coverage_id: str, new: CoverageChange) -> str:
    """Replace a coverage with a new one (a new card): the old one ends the day before the new
    one starts (today when no start is given), the new one takes its order. One transaction.

    Returns:
        the new coverage's id.
    """
    starts = new.active_from or current_date()
    values = {k: getattr(new, k) for k in COVERAGE_FIELDS} | {"active_from": starts}
    problems = _coverage_problems(values, current_date())
    if problems:
        raise RecordsError("the coverage was not replaced", tuple(problems))
    with one_transaction(engine):
        with UnitOfWork(engine, principal.practice_id, _actor(principal)) as uow:
            old = uow.records.get(coverages, coverage_id)
            payer = payer_in(uow, new.payer_id)
            last_day = starts - timedelta(days=1)
            if old.active_from and last_day < old.active_from:
                raise refuse("coverage-dates-reversed", "active_from", "must be after the old coverage began")
            uow.records.update(coverages, coverage_id, active_to=last_day)
            uow.record(
                "coverage.end", "coverage", coverage_id, {"active_to": last_day.isoformat(), "replaced": True}
            )
            patient_id = old.patient_id
        return add_coverage(
            engine,
            principal.practice_id,
            _actor(principal),
            patient_id,
            CoverageInput(
                payer_id=payer.id,
                sequence=new.sequence,
                member_id=new.member_id,
                group_number=new.group_number,
                plan_name=new.plan_name,
                relationship=new.relationship,
                subscriber=_clean_subscriber(new.relationship, new.subscriber),
                active_from=starts,
                active_to=new.active_to,
            ),
        )


def coverages_with_payers(
    engine: Engine, practice_id: str, actor: str, patient_id: str
) -> list[tuple[Row[Any], str]]:
    """A patient's coverages, primary first, each with its payer's name."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        names = {p.id: p.name for p in uow.records.rows(payers)}
        return [(c, names.get(c.payer_id, "")) for c in uow.records.coverages_of(patient_id)]
