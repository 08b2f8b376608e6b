"""Eligibility requests: the 270 file of one coverage, recorded as a check awaiting its 271.

``request_270`` builds the inquiry from the practice records (patient, coverage, payer and
the practice as the provider asking), allocates the practice's next interchange control
number, writes the file with the X12 270 writer and stores an eligibility check with source
``270`` (active unknown; its trace number, to match the 271). One transaction: either the
file is produced and the check recorded, or nothing changes.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import Engine, select

from therabill.adapters.db.tables import coverages, eligibility_checks, patients, payers, practices, providers
from therabill.adapters.x12.envelope import EnvelopeSettings
from therabill.adapters.x12.x270_005010X279A1 import write_270
from therabill.clock import Clock, current_time
from therabill.domain.eligibility import THERAPY_INQUIRY_SERVICE_TYPES, EligibilityInquiry, InquiryPerson
from therabill.domain.errors import Problem, TherabillError
from therabill.service_layer.batches import allocate_control_number
from therabill.service_layer.uow import UnitOfWork


class EligibilityRequestError(TherabillError):
    """The 270 cannot be written (the problems name each missing field)."""

    code = "eligibility-270-missing"


@dataclass(frozen=True, slots=True)
class Request270:
    """A produced 270.

    Attributes:
        check_id: the stored check (source ``270``).
        trace_number: TRN02, echoed by the payer's 271.
        control_number: ISA13 of the interchange.
        text: the X12 file.
    """

    check_id: str
    trace_number: str
    control_number: int
    text: str


def _person(row: Any, member_id: str | None) -> InquiryPerson:
    return InquiryPerson(row.last_name, row.first_name, member_id, row.birth_date, row.sex, "self")


def _subscriber(sub: dict[str, Any], member_id: str | None) -> InquiryPerson:
    born = sub.get("birth_date")
    return InquiryPerson(
        str(sub.get("last_name") or ""),
        sub.get("first_name"),
        sub.get("member_id") or member_id,
        date.fromisoformat(born) if isinstance(born, str) and born else None,
        sub.get("sex"),
        "self",
    )


def request_270(
    engine: Engine,
    practice_id: str,
    actor: str,
    coverage_id: str,
    service_date: date,
    *,
    envelope: EnvelopeSettings,
    created: datetime | None = None,
    clock: Clock = current_time,
) -> Request270:
    """Write the 270 of a coverage of the practice (with the practice's envelope settings and
    its next control number, ``batches.practice_envelope``) and record the check."""
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        cov = uow.records.get(coverages, coverage_id)
        patient = uow.records.get(patients, cov.patient_id)
        payer = uow.records.get(payers, cov.payer_id)
        practice = uow.session.execute(select(practices).where(practices.c.id == practice_id)).one()
        problems = []
        if not payer.payer_id:
            problems.append(Problem("eligibility-270-missing", "payer.payer_id", "the payer has no payer id"))
        if not cov.member_id and not (cov.subscriber or {}).get("member_id"):
            problems.append(
                Problem("eligibility-270-missing", "coverage.member_id", "the coverage has no member id")
            )
        if not practice.npi:
            problems.append(Problem("eligibility-270-missing", "practice.npi", "the practice has no NPI"))
        if cov.relationship != "self" and not cov.subscriber:
            problems.append(
                Problem("eligibility-270-missing", "coverage.subscriber", "the subscriber is not recorded")
            )
        if problems:
            raise EligibilityRequestError("the 270 cannot be written", tuple(problems))
        person = practice.entity_type == "person"
        first = last = None
        if person:
            owner = next(iter(uow.records.rows(providers, providers.c.is_billing_entity.is_(True))), None)
            first, last = (owner.first_name, owner.last_name) if owner is not None else (None, practice.name)
        if cov.relationship == "self":
            subscriber, dependent = _person(patient, cov.member_id), None
        else:
            subscriber = _subscriber(dict(cov.subscriber), cov.member_id)
            dependent = InquiryPerson(
                patient.last_name, patient.first_name, None, patient.birth_date, patient.sex, cov.relationship
            )
        trace = secrets.token_hex(8).upper()
        inquiry = EligibilityInquiry(
            trace_number=trace,
            payer_name=payer.name,
            payer_id=payer.payer_id,
            provider_npi=practice.npi,
            provider_last_name=(last if person else practice.name) or "",
            provider_first_name=first,
            provider_is_person=person,
            subscriber=subscriber,
            dependent=dependent,
            service_date=service_date,
            service_types=THERAPY_INQUIRY_SERVICE_TYPES,
        )
        control = allocate_control_number(uow)
        text = write_270([inquiry], envelope, control_number=control, created=created or uow.now())
        check = uow.records.insert(
            eligibility_checks,
            coverage_id=coverage_id,
            checked_at=uow.now(),
            service_date=service_date,
            active=None,
            source="270",
            result={
                "trace_number": trace,
                "control_number": control,
                "service_types": list(THERAPY_INQUIRY_SERVICE_TYPES),
            },
        )
        uow.record("eligibility.270", "coverage", coverage_id, {"check": check, "control_number": control})
    return Request270(check, trace, control, text)


@dataclass(frozen=True, slots=True)
class EligibilityOverview:
    """A patient's coverages, each with its eligibility checks (newest first).

    Attributes:
        patient: the patient.
        coverages: the patient's coverages.
        payers: payer id → payer.
        checks: coverage id → its checks (at most 50, newest first).
    """

    patient: Any
    coverages: list[Any]
    payers: dict[str, Any]
    checks: dict[str, list[Any]]


def eligibility_overview(
    engine: Engine, practice_id: str, actor: str, patient_id: str
) -> EligibilityOverview:
    """What the eligibility page of a patient shows.

    Raises:
        NotFoundError: no such patient in the practice.
    """
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        patient = uow.records.get(patients, patient_id)
        covs = list(uow.records.coverages_of(patient_id))
        payer_rows = {p.id: p for p in uow.records.rows(payers)}
        checks = {
            c.id: list(
                uow.session.execute(
                    uow.records.scoped(eligibility_checks)
                    .where(eligibility_checks.c.coverage_id == c.id)
                    .order_by(eligibility_checks.c.checked_at.desc())
                    .limit(50)
                ).all()
            )
            for c in covs
        }
    return EligibilityOverview(patient, covs, payer_rows, checks)


def coverage(engine: Engine, practice_id: str, actor: str, coverage_id: str) -> Any:
    """One coverage of the practice.

    Raises:
        NotFoundError: no such coverage in the practice.
    """
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return uow.records.get(coverages, coverage_id)
