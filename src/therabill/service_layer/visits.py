"""Visits: what a visit's claim would be, before it is saved (the live panel of the visit form).

``preview_visit`` builds the encounter of an unsaved visit from the records exactly as a
claim would be built (``encounters.build_encounter``) and scrubs it with everything the
records know (``encounters.scrub_context_in``: enrollments, licences, the intake on file),
so the panel beside the form says what the claim will say; ``check_stored_visit`` does the
same for a saved visit.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Engine

from therabill.adapters.db.repositories import new_id
from therabill.adapters.db.tables import (
    claims,
    coverages,
    goals,
    objective_measures,
    patients,
    providers,
    visit_notes,
    visits,
)
from therabill.clock import Clock, current_time
from therabill.domain.encounter import Encounter
from therabill.domain.errors import NotFoundError, Problem
from therabill.domain.timing import UnitsResult
from therabill.schemas.encounter import DocumentError, parse_encounter_obj
from therabill.scrubber import ScrubContext, scrub
from therabill.service_layer import appointments, cases, intake
from therabill.service_layer.accounts import Principal
from therabill.service_layer.coding import units_of
from therabill.service_layer.encounters import (
    build_encounter,
    scrub_context_in,
)
from therabill.service_layer.errors import RecordsError, refuse
from therabill.service_layer.lookup import patient_in
from therabill.service_layer.uow import UnitOfWork
from therabill.service_layer.visibility import may_see_visit, restricted_to_provider

__all__ = [
    "Preview",
    "check_stored_visit",
    "may_document_for",
    "preview_visit",
    "scrub_findings_of",
    "visit_parties",
    "visits_of_patient",
    "visits_of_patient_in",
]


@dataclass(frozen=True)
class Preview:
    """What the panel beside the form shows.

    Attributes:
        units: the units result (None when the document is not valid).
        findings: scrubber findings as dicts (empty without a scrubber).
        problems: schema problems of the form's document.
        scrubbed: whether the scrubber ran.
        intake: the visit checked against the client's intake (``VisitCheck.as_dict()``),
            ``None`` when not checked (no stored patient).
    """

    units: UnitsResult | None
    findings: list[dict[str, Any]]
    problems: tuple[Problem, ...]
    scrubbed: bool
    intake: dict[str, Any] | None = None


def scrub_findings_of(
    encounter: Encounter, as_of: date, context: ScrubContext | None = None
) -> list[dict[str, Any]]:
    """The scrubber's findings of an encounter as dicts."""
    return [f.as_dict() for f in scrub(encounter, as_of, context).findings]


def preview_visit(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    patient_id: str,
    provider_id: str,
    coverage_id: str | None,
    date_of_service: date,
    document: dict[str, Any],
    as_of: date,
) -> Preview:
    """Units and findings of an unsaved visit, built with the records' patient, coverage,
    provider enrollments and licences, checked against the client's intake: the same
    scrub a claim of the visit would get."""

    visit = {
        "id": "preview",
        "patient_id": patient_id,
        "provider_id": provider_id,
        "coverage_id": coverage_id,
        "date_of_service": date_of_service,
        "encounter_json": document,
    }
    check = intake.check_document(engine, practice_id, actor, patient_id, document, date_of_service)
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return _preview(uow, visit, None, check, as_of, _units_only(document))


def _units_only(document: dict[str, Any], payer_profile: str | None = None) -> UnitsResult | None:
    lines = [
        s for s in document.get("services", []) if isinstance(s.get("minutes"), int) and s["minutes"] >= 0
    ]
    if not lines:
        return None
    try:
        full: dict[str, Any] = {
            "encounter_id": "preview",
            "date_of_service": "2000-01-01",
            "services": [{"code": s["code"], "minutes": s["minutes"]} for s in lines],
        }
        if payer_profile:
            full["coverage"] = {"payer_profile": payer_profile}
        encounter = parse_encounter_obj(full)
        return units_of(encounter.services, payer_profile)
    except Exception:  # noqa: BLE001 - a preview never fails the page
        return None


def check_stored_visit(engine: Engine, practice_id: str, actor: str, visit_id: str, as_of: date) -> Preview:
    """Units and findings of a saved visit: the scrub its claim gets, with the intake check."""
    check = intake.check_visit_intake(engine, practice_id, actor, visit_id)
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        visit = uow.records.get(visits, visit_id)
        return _preview(uow, visit._mapping, visit_id, check, as_of, None)


def _preview(
    uow: UnitOfWork,
    visit: Any,
    exclude_visit: str | None,
    check: Any,
    as_of: date,
    units_if_invalid: UnitsResult | None,
) -> Preview:
    """The encounter of ``visit`` scrubbed with the records' context and the intake check;
    when it does not make an encounter, its problems (and ``units_if_invalid``)."""
    try:
        encounter = build_encounter(uow.records, visit, exclude_visit=exclude_visit)
    except (DocumentError, RecordsError) as exc:
        return Preview(units_if_invalid, [], tuple(exc.problems), False, check.as_dict())
    context = scrub_context_in(uow.records, visit, intake.on_file(check))
    units = units_of(encounter.services, encounter.payer_profile)
    return Preview(units, scrub_findings_of(encounter, as_of, context), (), True, check.as_dict())


@dataclass(frozen=True, slots=True)
class VisitForm:
    """What the visit form needs: the patient, their coverages and the active providers."""

    patient: Any
    coverages: list[Any]
    providers: list[Any]


def visit_form(engine: Engine, practice_id: str, actor: str, patient_id: str) -> VisitForm:
    """The patient, coverages and active providers for documenting a visit.

    Raises:
        NotFoundError: no such patient in the practice.
    """
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        patient = uow.records.get(patients, patient_id)
        covs = list(uow.records.coverages_of(patient_id))
        provs = uow.records.rows(providers, providers.c.active.is_(True))
    return VisitForm(patient, covs, list(provs))


def visible_visit(engine: Engine, principal: Principal, visit_id: str) -> Any:
    """A visit the caller may see (a therapist only their own).

    Raises:
        NotFoundError: no such visit in the caller's practice, or another therapist's.
    """
    with UnitOfWork(engine, principal.practice_id, f"user:{principal.user_id}", read_only=True) as uow:
        visit = uow.records.get(visits, visit_id)
    if not may_see_visit(principal, visit.provider_id):
        raise NotFoundError("no such visit", (Problem("not-found", "visit", "no such visit"),))
    return visit


@dataclass(frozen=True, slots=True)
class VisitRecord:
    """A visit's page: its patient, its claims and its latest note version."""

    patient: Any
    claims: list[Any]
    note_version: Any


def visit_record(engine: Engine, practice_id: str, actor: str, visit: Any) -> VisitRecord:
    """The patient, claims and latest note version of a visit (already checked visible)."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        patient = uow.records.get(patients, visit.patient_id)
        vclaims = uow.records.rows(claims, claims.c.visit_id == visit.id)
        version = uow.records.latest_note_version(visit.id)
    return VisitRecord(patient, list(vclaims), version)


VISIT_DOCUMENT_KEYS = frozenset(
    {
        "start_time",
        "end_time",
        "place_of_service",
        "claim_frequency",
        "payer_claim_control_number",
        "service_facility",
        "referring_provider",
        "related_causes",
        "onset_date",
        "accept_assignment",
        "provider_signature_on_file",
        "patient_amount_paid",
        "consent",
        "diagnoses",
        "services",
        "documentation",
        "plan_of_care",
    }
)

"""The parts of an encounter document a visit stores; the rest comes from the records."""


def _visit_document(document: Mapping[str, Any]) -> dict[str, Any]:
    unknown = sorted(set(document) - VISIT_DOCUMENT_KEYS)
    if unknown:
        raise RecordsError(
            "the visit document has fields a visit does not store",
            tuple(
                Problem("visit-field-unknown", k, "not part of a visit (comes from the records)")
                for k in unknown
            ),
        )
    loaded: dict[str, Any] = json.loads(json.dumps(dict(document), default=str))
    return loaded


def _clinical_rows(uow: UnitOfWork, visit_id: str, patient_id: str, dos: date, documentation: Any) -> None:
    if not documentation:
        return
    for g in documentation.get("goals") or []:
        uow.records.insert(
            goals,
            patient_id=patient_id,
            visit_id=visit_id,
            description=g["description"],
            baseline=g.get("baseline"),
            target=g.get("target"),
            target_date=date.fromisoformat(g["target_date"]) if g.get("target_date") else None,
            status="open",
            created_at=uow.now(),
        )
    objective = documentation.get("objective") or {}
    measures: list[tuple[str, str, str, str | None]] = []
    if objective.get("pain_scale") is not None:
        measures.append(("pain", "pain_scale", str(objective["pain_scale"]), "0-10"))
    measures.extend(
        ("rom", f"{r['joint']} {r['motion']}", str(r["degrees"]), "deg")
        for r in objective.get("range_of_motion") or []
    )
    measures.extend(
        ("strength", s["muscle_group"], s["grade"], None) for s in objective.get("strength") or []
    )
    measures.extend(
        ("functional", f["name"], f["value"], f.get("unit")) for f in objective.get("functional_tests") or []
    )
    uow.records.insert_many(
        objective_measures,
        [
            {
                "id": new_id(),
                "practice_id": uow.practice_id,
                "visit_id": visit_id,
                "patient_id": patient_id,
                "measured_on": dos,
                "kind": kind,
                "name": name[:80],
                "value": value[:40],
                "unit": unit,
            }
            for kind, name, value, unit in measures
        ],
    )


def record_visit(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    patient_id: str,
    provider_id: str,
    date_of_service: date,
    document: Mapping[str, Any],
    appointment_id: str | None = None,
    coverage_id: str | None = None,
    clock: Clock = current_time,
) -> str:
    """Record a visit: its documentation and services (the visit part of an encounter document).

    The whole encounter (with the records' patient, providers and coverage) is validated
    through the encounter schema before anything is stored; an attended appointment is
    marked completed; the note becomes version 1; goals and objective measures are kept
    as rows for progress over time. A document without ``consent`` takes it from the
    patient's current intake (signature on file: CLM08/CLM09, boxes 12/13), and its onset
    date and related causes when it has none. The intake never blocks the note.
    """
    doc = _visit_document(document)
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        uow.records.get(patients, patient_id)
        uow.records.get(providers, provider_id)
        doc = intake.document_with_intake_in(
            uow.records, patient_id, cases.document_with_case_in(uow.records, patient_id, doc)
        )
        if coverage_id is not None:
            cov = uow.records.get(coverages, coverage_id)
            if cov.patient_id != patient_id:
                raise refuse(
                    "coverage-not-patients", "coverage_id", "that coverage belongs to another patient"
                )
        if appointment_id is not None:
            appointments.complete_for_visit_in(uow, appointment_id, patient_id)
        visit_id = new_id()
        row = {
            "id": visit_id,
            "patient_id": patient_id,
            "provider_id": provider_id,
            "coverage_id": coverage_id,
            "date_of_service": date_of_service,
            "start_time": doc.get("start_time"),
            "end_time": doc.get("end_time"),
            "encounter_json": doc,
        }
        build_encounter(uow.records, row, exclude_visit=visit_id)  # validates, raises DocumentError
        uow.records.insert(
            visits,
            **row,
            appointment_id=appointment_id,
            status="documented" if doc.get("documentation") else "open",
            created_at=uow.now(),
        )
        if doc.get("documentation"):
            uow.records.insert(
                visit_notes,
                visit_id=visit_id,
                version=1,
                content=doc["documentation"],
                created_by=actor,
                created_at=uow.now(),
            )
        _clinical_rows(uow, visit_id, patient_id, date_of_service, doc.get("documentation"))
        uow.record("visit.record", "visit", visit_id, {"services": len(doc.get("services") or [])})
    return visit_id


def edit_note(
    engine: Engine,
    practice_id: str,
    actor: str,
    visit_id: str,
    documentation: Mapping[str, Any],
    *,
    clock: Clock = current_time,
) -> int:
    """Save an edited note as a new version (old versions stay); returns the new version."""
    content = json.loads(json.dumps(dict(documentation), default=str))
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        visit = uow.records.get(visits, visit_id, for_update=True)
        doc = dict(visit.encounter_json)
        doc["documentation"] = content
        build_encounter(uow.records, dict(visit._mapping, encounter_json=doc), exclude_visit=visit_id)
        version = uow.records.latest_note_version(visit_id) + 1
        uow.records.insert(
            visit_notes,
            visit_id=visit_id,
            version=version,
            content=content,
            created_by=actor,
            created_at=uow.now(),
        )
        uow.records.update(
            visits,
            visit_id,
            encounter_json=doc,
            status="documented" if visit.status == "open" else visit.status,
        )
        uow.record("note.edit", "visit", visit_id, {"version": version})
    return version


def note_versions(engine: Engine, practice_id: str, actor: str, visit_id: str) -> list[dict[str, Any]]:
    """Every version of a visit's note, oldest first."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        uow.records.get(visits, visit_id)
        found = uow.records.rows(
            visit_notes, visit_notes.c.visit_id == visit_id, order_by=[visit_notes.c.version]
        )
        return [
            {
                "version": r.version,
                "content": r.content,
                "created_by": r.created_by,
                "created_at": r.created_at,
            }
            for r in found
        ]


# --- visits as callers read them ---------------------------------------------------------


def _actor(principal: Principal) -> str:
    return f"user:{principal.user_id}"


def visits_of_patient(engine: Engine, principal: Principal, patient_key: str) -> list[Any]:
    """The visits of a patient (by id or chart number) the caller may see, oldest first
    (a therapist sees their own visits only).

    Raises:
        NotFoundError: no such patient in the caller's practice.
    """
    with UnitOfWork(engine, principal.practice_id, _actor(principal), read_only=True) as uow:
        return visits_of_patient_in(uow, principal, patient_key)


def visits_of_patient_in(uow: UnitOfWork, principal: Principal, patient_key: str) -> list[Any]:
    """``visits_of_patient`` in an open unit of work."""
    patient = patient_in(uow, patient_key)
    rows = uow.records.rows(visits, visits.c.patient_id == patient.id, order_by=[visits.c.date_of_service])
    return [r for r in rows if may_see_visit(principal, r.provider_id)]


def may_document_for(principal: Principal, provider_id: str) -> bool:
    """Whether the caller may document a visit rendered by ``provider_id`` (a therapist only
    their own visits)."""
    return not restricted_to_provider(principal) or (
        principal.provider_id is not None and provider_id == principal.provider_id
    )


def visit_parties(engine: Engine, principal: Principal, patient_key: str, provider_id: str) -> str:
    """The internal id of the patient (by id or chart number) a new visit is for, after
    checking the patient and the provider exist in the caller's practice.

    Raises:
        NotFoundError: no such patient or provider.
        RecordsError: a therapist documenting another provider's visit (``visit-not-own``).
    """
    with UnitOfWork(engine, principal.practice_id, _actor(principal), read_only=True) as uow:
        patient = patient_in(uow, patient_key)
        uow.records.get(providers, provider_id)
    if not may_document_for(principal, provider_id):
        raise RecordsError(
            "therapists document their own visits",
            (Problem("visit-not-own", "provider_id", "therapists document their own visits"),),
        )
    return str(patient.id)
