"""Intake use cases: the versioned health history, the visit check, clearance and billing.

Every function takes the engine, the practice id and the actor and runs in one
``UnitOfWork`` (one transaction, audit rows included). Ids are opaque.

* ``record_intake`` stores a new version (the old ones stay); ``sign_intake`` adds the
  reviewing therapist's signature to a version; ``current_intake`` and ``intake_history``
  read them.
* ``check_visit_intake`` checks a stored visit against the current intake and the
  contraindication table; ``check_document`` does the same for an unsaved visit document.
* ``record_clearance`` records that an absolute contraindication was cleared for a visit.
* ``can_bill_visit`` says whether a visit may be marked billable and get a claim: a treated
  visit with an uncleared absolute contraindication may not. ``claims.code_visit`` (and so
  every path that creates a claim: web, API, CLI) enforces it through ``check_in`` in its
  own transaction and raises ``VisitNotBillableError`` (``visit-not-billable``). The visit
  note is never blocked.
* ``on_file`` gives the scrubber's intake rules the visit's check (``ScrubContext.intake``);
  ``scrub_context_for_visit`` is everything the scrubber needs beyond a stored visit's
  encounter (enrollments, licences, the intake); ``claims.code_visit`` scrubs every claim
  with the same context.
* ``visit_document_with_intake`` fills a visit document's ``consent`` (and ``onset_date`` and
  ``related_causes`` when the visit has none) from the current intake;
  ``visits.record_visit`` does the same through ``document_with_intake_in``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine, func, select

from therabill.adapters.db.intake_tables import intake_versions, visit_clearances
from therabill.adapters.db.repositories import Records
from therabill.adapters.db.tables import patients, visits
from therabill.clock import Clock, current_time
from therabill.domain.errors import NotFoundError, Problem
from therabill.domain.intake import (
    Clearance,
    ContraindicationCheck,
    ContraindicationTable,
    IntakeError,
    IntakeVersion,
    VisitFacts,
    billing_problems,
    check_visit,
    claim_fields,
    intake_from_dict,
    intake_to_dict,
)
from therabill.refdata.catalog import body_regions
from therabill.refdata.contraindications import default_contraindications
from therabill.scrubber import IntakeOnFile, ScrubContext
from therabill.service_layer.accounts import Principal
from therabill.service_layer.encounters import scrub_context_in
from therabill.service_layer.uow import UnitOfWork
from therabill.service_layer.visibility import may_see_visit

__all__ = [
    "BillingGate",
    "VisitCheck",
    "can_bill_visit",
    "check_document",
    "check_in",
    "document_with_intake_in",
    "check_visit_intake",
    "current_intake",
    "facts_of_document",
    "intake_history",
    "record_clearance",
    "record_intake",
    "scrub_context_for_visit",
    "on_file",
    "sign_intake",
    "visit_document_with_intake",
]


def _refuse(code: str, loc: str, message: str) -> IntakeError:
    return IntakeError(message, (Problem(code, loc, message),))


def _version_of(row: Any) -> IntakeVersion:
    return IntakeVersion(
        id=row.id,
        patient_id=row.patient_id,
        version=row.version,
        record=intake_from_dict(row.content),
        created_by=row.created_by,
        created_at=row.created_at,
        signed_by=row.signed_by,
        signed_at=row.signed_at,
    )


def _history(rec: Records, patient_id: str) -> list[IntakeVersion]:
    rows = rec.rows(
        intake_versions,
        intake_versions.c.patient_id == patient_id,
        order_by=[intake_versions.c.version.desc()],
    )
    return [_version_of(r) for r in rows]


def _current(rec: Records, patient_id: str) -> IntakeVersion | None:
    row = rec.session.execute(
        rec.scoped(intake_versions)
        .where(intake_versions.c.patient_id == patient_id)
        .order_by(intake_versions.c.version.desc())
        .limit(1)
    ).first()
    return _version_of(row) if row is not None else None


# -- the health history ----------------------------------------------------------------------


def record_intake(
    engine: Engine,
    practice_id: str,
    actor: str,
    patient_id: str,
    content: Mapping[str, Any],
    *,
    clock: Clock = current_time,
) -> IntakeVersion:
    """Store a new version of the patient's health history (the previous ones stay).

    Raises:
        IntakeError: the document has problems (every one listed, by field).
        NotFoundError: no such patient in this practice.
    """
    record = intake_from_dict(content, regions=body_regions())
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        uow.records.get(patients, patient_id)
        last = uow.session.execute(
            select(func.max(intake_versions.c.version)).where(
                intake_versions.c.practice_id == practice_id, intake_versions.c.patient_id == patient_id
            )
        ).scalar()
        version = int(last or 0) + 1
        now = uow.now()
        new = uow.records.insert(
            intake_versions,
            patient_id=patient_id,
            version=version,
            content=intake_to_dict(record),
            signed_by=None,
            signed_at=None,
            created_by=actor,
            created_at=now,
        )
        uow.record("intake.record", "patient", patient_id, {"version": version})
    return IntakeVersion(new, patient_id, version, record, actor, now)


def sign_intake(
    engine: Engine,
    practice_id: str,
    actor: str,
    patient_id: str,
    version: int | None = None,
    *,
    clock: Clock = current_time,
) -> IntakeVersion:
    """The reviewing therapist (``actor``) signs a version (default: the current one).

    Raises:
        IntakeError: no intake, no such version, or the version is already signed.
    """
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        uow.records.get(patients, patient_id)
        query = uow.records.scoped(intake_versions).where(intake_versions.c.patient_id == patient_id)
        if version is None:
            query = query.order_by(intake_versions.c.version.desc()).limit(1)
        else:
            query = query.where(intake_versions.c.version == version)
        row = uow.session.execute(query.with_for_update()).first()
        if row is None:
            raise _refuse("intake-not-found", "version", "the patient has no such intake version")
        if row.signed_by is not None:
            raise _refuse("intake-already-signed", "version", f"version {row.version} is already signed")
        now = uow.now()
        uow.records.update(intake_versions, row.id, signed_by=actor, signed_at=now)
        uow.record("intake.sign", "patient", patient_id, {"version": row.version})
        signed = uow.records.get(intake_versions, row.id)
    return _version_of(signed)


def current_intake(engine: Engine, practice_id: str, actor: str, patient_id: str) -> IntakeVersion | None:
    """The patient's newest intake version, or ``None``."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        uow.records.get(patients, patient_id)
        return _current(uow.records, patient_id)


def intake_history(engine: Engine, practice_id: str, actor: str, patient_id: str) -> list[IntakeVersion]:
    """Every intake version of the patient, newest first."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        uow.records.get(patients, patient_id)
        return _history(uow.records, patient_id)


# -- the visit check -------------------------------------------------------------------------


def facts_of_document(
    document: Mapping[str, Any], date_of_service: date, reported: Sequence[str] = ()
) -> VisitFacts:
    """What the check needs from a visit document: regions per line, and whether it was treated.

    A visit is treated when a service line has minutes or units; a note without services
    ("not treated: fever, rescheduled") is not.
    """
    services = [s for s in document.get("services") or [] if isinstance(s, Mapping)]
    lines = tuple(tuple(str(r) for r in s.get("body_regions") or () if isinstance(r, str)) for s in services)

    def positive(value: Any) -> bool:
        return isinstance(value, int | float) and not isinstance(value, bool) and value > 0

    treated = any(positive(s.get("minutes")) or positive(s.get("units")) for s in services)
    return VisitFacts(date_of_service, lines, tuple(reported), treated)


@dataclass(frozen=True, slots=True)
class VisitCheck:
    """A visit's intake check with its clearances.

    Attributes:
        visit_id: the visit (``None`` for an unsaved document).
        facts: what was checked.
        check: the results.
        clearances: clearances recorded for the visit.
        problems: why the visit cannot be billed (empty: it can).
    """

    visit_id: str | None
    facts: VisitFacts
    check: ContraindicationCheck
    clearances: tuple[Clearance, ...]
    problems: tuple[Problem, ...]

    @property
    def billable(self) -> bool:
        """True when nothing in the intake blocks billing."""
        return not self.problems

    def as_dict(self) -> dict[str, Any]:
        """The JSON shape (CLI, API, pages)."""
        cleared = {c.rule_id: c for c in self.clearances}
        data = self.check.as_dict()
        for r in data["results"]:
            c = cleared.get(r["rule_id"]) if r["kind"] == "absolute" else None
            r["cleared"] = (
                None if c is None else {"by": c.cleared_by, "at": str(c.cleared_at), "document": c.document}
            )
        data.update(
            {
                "visit_id": self.visit_id,
                "treated": self.facts.treated,
                "billable": self.billable,
                "conflicts": [{"line": i, "region": r} for i, r in self.check.conflicts],
                "problems": [{"code": p.code, "loc": p.loc, "message": p.message} for p in self.problems],
            }
        )
        return data


def _clearances(rec: Records, visit_id: str) -> tuple[Clearance, ...]:
    rows = rec.rows(
        visit_clearances, visit_clearances.c.visit_id == visit_id, order_by=[visit_clearances.c.cleared_at]
    )
    return tuple(
        Clearance(r.visit_id, r.rule_id, r.cleared_by, r.cleared_at, r.document, r.note) for r in rows
    )


def _check(
    rec: Records,
    patient_id: str,
    facts: VisitFacts,
    visit_id: str | None,
    table: ContraindicationTable | None,
) -> VisitCheck:
    current = _current(rec, patient_id)
    check = check_visit(
        current.record if current else None,
        facts,
        table or default_contraindications(),
        intake_version=current.version if current else None,
        intake_signed=bool(current and current.signed),
    )
    clearances = _clearances(rec, visit_id) if visit_id else ()
    return VisitCheck(visit_id, facts, check, clearances, billing_problems(check, clearances, facts))


def check_visit_intake(
    engine: Engine,
    practice_id: str,
    actor: str,
    visit_id: str,
    *,
    reported: Sequence[str] = (),
    table: ContraindicationTable | None = None,
    viewer: Principal | None = None,
) -> VisitCheck:
    """Check a stored visit against the patient's current intake (before treating, or later).

    Args:
        reported: what the client reports on the day (``fever``...), checked too.
        table: a practice's own contraindication table (default: the shipped one).
        viewer: the caller; a visit they may not see (another therapist's) is ``NotFoundError``.
    """
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        visit = uow.records.get(visits, visit_id)
        if viewer is not None and not may_see_visit(viewer, visit.provider_id):
            raise NotFoundError("no such visit", (Problem("not-found", "visit_id", "no such visit"),))
        facts = facts_of_document(visit.encounter_json or {}, visit.date_of_service, reported)
        return _check(uow.records, visit.patient_id, facts, visit_id, table)


def check_in(
    rec: Records,
    visit: Any,
    *,
    reported: Sequence[str] = (),
    table: ContraindicationTable | None = None,
) -> VisitCheck:
    """``check_visit_intake`` inside an open unit of work (``visit`` is the stored visit row).

    ``claims.code_visit`` calls it in its own transaction, so the gate and the claim see the
    same intake and clearances.
    """
    facts = facts_of_document(visit.encounter_json or {}, visit.date_of_service, reported)
    return _check(rec, visit.patient_id, facts, visit.id, table)


def check_document(
    engine: Engine,
    practice_id: str,
    actor: str,
    patient_id: str,
    document: Mapping[str, Any],
    date_of_service: date,
    *,
    reported: Sequence[str] = (),
    table: ContraindicationTable | None = None,
) -> VisitCheck:
    """Check an unsaved visit document (the visit form's live panel) against the intake."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        uow.records.get(patients, patient_id)
        return _check(
            uow.records, patient_id, facts_of_document(document, date_of_service, reported), None, table
        )


def record_clearance(
    engine: Engine,
    practice_id: str,
    actor: str,
    visit_id: str,
    rule_id: str,
    document: str,
    *,
    note: str | None = None,
    reported: Sequence[str] = (),
    clock: Clock = current_time,
) -> Clearance:
    """Record that an absolute contraindication of the visit was cleared (by ``actor``).

    Raises:
        IntakeError: no document named, the rule is not an absolute result of this visit's
            check, or it was already cleared.
    """
    text = (document or "").strip()
    if not text:
        raise _refuse("intake-clearance-document-missing", "document", "name the document that clears it")
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        visit = uow.records.get(visits, visit_id, for_update=True)
        facts = facts_of_document(visit.encounter_json or {}, visit.date_of_service, reported)
        result = _check(uow.records, visit.patient_id, facts, visit_id, None)
        if rule_id not in {r.rule_id for r in result.check.absolute}:
            raise _refuse(
                "intake-clearance-not-needed",
                "rule_id",
                f"{rule_id!r} is not an absolute contraindication of this visit",
            )
        if rule_id in {c.rule_id for c in result.clearances}:
            raise _refuse(
                "intake-already-cleared", "rule_id", f"{rule_id!r} is already cleared for this visit"
            )
        now = uow.now()
        uow.records.insert(
            visit_clearances,
            visit_id=visit_id,
            rule_id=rule_id,
            intake_version=result.check.intake_version,
            document=text[:2000],
            note=note,
            cleared_by=actor,
            cleared_at=now,
        )
        uow.record("intake.clear", "visit", visit_id, {"rule_id": rule_id})
    return Clearance(visit_id, rule_id, actor, now, text[:2000], note)


# -- billing ---------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BillingGate:
    """Whether a visit may be marked billable and get a claim.

    Attributes:
        allowed: True when nothing blocks it.
        problems: why not (``intake-contraindication-uncleared`` per uncleared result).
    """

    allowed: bool
    problems: tuple[Problem, ...]


def can_bill_visit(
    engine: Engine, practice_id: str, actor: str, visit_id: str, *, reported: Sequence[str] = ()
) -> BillingGate:
    """A treated visit with an uncleared absolute contraindication may not be billed."""
    result = check_visit_intake(engine, practice_id, actor, visit_id, reported=reported)
    return BillingGate(result.billable, result.problems)


def on_file(result: VisitCheck, *, expected: bool = True) -> IntakeOnFile:
    """The intake check of a visit as the scrubber's intake rules read it
    (``ScrubContext.intake``: ``intake-missing``, ``intake-unsigned``,
    ``intake-contraindication-absolute``, ``intake-region-avoid``, ``intake-precaution``).

    Args:
        expected: report a missing intake (the visit form and ``scrub_context_for_visit``
            do; a claim does not, so a practice that keeps no intake is not warned on every
            claim).
    """
    return IntakeOnFile(
        result.check, frozenset(c.rule_id for c in result.clearances), result.facts.treated, expected
    )


NOT_BILLABLE = "the visit cannot be billed until its absolute contraindication is cleared"
"""The message of ``VisitNotBillableError`` (code ``visit-not-billable``)."""


def scrub_context_for_visit(engine: Engine, practice_id: str, actor: str, visit_id: str) -> ScrubContext:
    """Everything the scrubber needs beyond a stored visit's encounter: the rendering
    provider's enrollments and licences and the intake checked for the visit
    (``intake-missing`` too)."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        visit = uow.records.get(visits, visit_id)
        return scrub_context_in(uow.records, visit._mapping, on_file(check_in(uow.records, visit)))


# -- claim fields ----------------------------------------------------------------------------


def _with_intake(current: IntakeVersion | None, document: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(document)
    if current is None:
        return out
    consent, onset, causes = claim_fields(current.record)
    if "consent" not in out:
        out["consent"] = {
            "release_of_information": consent.release_of_information,
            "benefits_assigned": consent.benefits_assigned,
            "signature_date": consent.signature_date.isoformat() if consent.signature_date else None,
        }
    if not out.get("onset_date") and onset is not None:
        out["onset_date"] = onset.isoformat()
    if not out.get("related_causes") and causes.any:
        out["related_causes"] = json.loads(
            json.dumps(
                {
                    "employment": causes.employment,
                    "auto_accident": causes.auto_accident,
                    "auto_accident_state": causes.auto_accident_state,
                    "other_accident": causes.other_accident,
                    "accident_date": causes.accident_date,
                    "property_casualty_claim_number": causes.property_casualty_claim_number,
                },
                default=str,
            )
        )
    return out


def document_with_intake_in(rec: Records, patient_id: str, document: Mapping[str, Any]) -> dict[str, Any]:
    """``visit_document_with_intake`` inside an open unit of work (``visits.record_visit``)."""
    return _with_intake(_current(rec, patient_id), document)


def visit_document_with_intake(
    engine: Engine, practice_id: str, actor: str, patient_id: str, document: Mapping[str, Any]
) -> dict[str, Any]:
    """The visit document with ``consent`` from the current intake, and its onset and causes
    where the document has none (CLM08/CLM09, boxes 12/13; DTP*431, CLM11, box 10).

    A document that already has a ``consent`` keeps it.
    """
    return _with_intake(current_intake(engine, practice_id, actor, patient_id), document)
