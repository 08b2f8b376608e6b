"""Practice-records use cases: one function, one transaction, one practice.

Every function takes the engine, the practice id and the actor, opens a ``UnitOfWork`` and
either commits all of its changes (with their audit rows) or none. Ids are opaque; callers
never pass a ``practice_id`` inside a record. Errors are ``TherabillError``s with stable
problem codes (``patient-not-found``, ``claim-status-transition``...).

A visit stores the encounter document it produces (``visits.encounter_json``): the clinical
and coding part (times, place of service, diagnoses, services, documentation, causes,
consents). ``encounter_for_visit`` adds what the practice records know (billing and
rendering provider, patient, coverages with their authorization's used counts, earlier
claims of the same day) and validates the whole through the encounter schema, so X12, PDF
and web layers always get the same ``Encounter`` a JSON document would give.
"""

from __future__ import annotations

import json
import re
import secrets
from collections.abc import Callable, Iterable, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Any

from sqlalchemy import Engine, Row, insert, select

from therabill.adapters.db import mappers
from therabill.adapters.db.repositories import Records, new_id
from therabill.adapters.db.tables import (
    authorization_events,
    authorizations,
    claim_lines,
    claim_status_events,
    claims,
    coverages,
    eligibility_checks,
    goals,
    objective_measures,
    patients,
    payers,
    practices,
    provider_enrollments,
    provider_licenses,
    providers,
    visit_notes,
    visits,
)
from therabill.clock import Clock, current_time
from therabill.domain.claim import Claim, build_claim
from therabill.domain.encounter import Encounter
from therabill.domain.errors import NotFoundError, Problem
from therabill.domain.money import D, MoneyError, to_cents
from therabill.domain.records import (
    ClaimStatus,
    ClaimSummary,
    PatientRecord,
    check_claim_transition,
)
from therabill.scrubber import ScrubContext, scrub
from therabill.service_layer.coding import units_of
from therabill.service_layer.encounters import (
    CLOSED_CLAIM_STATUSES,
    _active_on,
    build_encounter,
    scrub_context_in,
)
from therabill.service_layer.errors import RecordsError, refuse
from therabill.service_layer.uow import UnitOfWork, ambient_session

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


_PROCEDURE_CODE = re.compile(r"[A-Z0-9]{5}")


# -- practice set-up ---------------------------------------------------------------------


def create_practice(
    engine: Engine,
    *,
    name: str,
    slug: str,
    actor: str,
    npi: str | None = None,
    tax_id: str | None = None,
    tax_id_type: str | None = "EIN",
    taxonomy: str | None = None,
    entity_type: str = "organization",
    phone: str | None = None,
    address: Mapping[str, Any] | None = None,
    place_of_service: str | None = "11",
    fees: Mapping[str, str] | None = None,
    clock: Clock = current_time,
) -> str:
    """Create a practice and return its id (``slug`` is its short name for ``--practice``)."""
    from therabill.adapters.db.engine import session_factory
    from therabill.service_layer import audit

    for code, fee in (fees or {}).items():
        try:
            D(str(fee))
        except MoneyError as exc:
            raise refuse("practice-fee-invalid", f"fees.{code}"[:60], str(exc)[:120]) from None
    practice_id = new_id()
    now = clock()
    outer = ambient_session(engine)
    with (
        nullcontext(outer) if outer is not None else session_factory(engine)() as session,
        nullcontext() if outer is not None else session.begin(),
    ):
        if session.execute(select(practices.c.id).where(practices.c.slug == slug)).first():
            raise refuse("practice-exists", "slug", f"a practice {slug!r} already exists")
        session.execute(
            insert(practices).values(
                id=practice_id,
                name=name,
                slug=slug,
                npi=npi,
                tax_id=tax_id,
                tax_id_type=tax_id_type,
                taxonomy=taxonomy,
                entity_type=entity_type,
                phone=phone,
                address=dict(address) if address else None,
                place_of_service=place_of_service,
                fees=dict(fees) if fees else None,
                next_control_number=1,
                created_at=now,
            )
        )
        audit.append(
            session, practice_id, actor, [audit.AuditEvent("practice.create", "practice", practice_id)], now
        )
    return practice_id


def resolve_practice(engine: Engine, key: str | None) -> str:
    """The id of the practice named by ``key`` (slug or id); the only practice when ``None``."""
    from therabill.adapters.db.engine import session_factory

    with session_factory(engine, read_only=True)() as session, session.begin():
        if key:
            query = select(practices.c.id).where((practices.c.slug == key) | (practices.c.id == key))
            found = session.execute(query).scalars().all()
        else:
            found = session.execute(select(practices.c.id)).scalars().all()
    if len(found) == 1:
        return str(found[0])
    if key:
        raise NotFoundError("no such practice", (Problem("practice-not-found", "--practice", f"no {key!r}"),))
    if not found:
        raise NotFoundError(
            "no practice yet", (Problem("practice-not-found", "--practice", "run `therabill demo` first"),)
        )
    raise refuse("practice-ambiguous", "--practice", "several practices exist; name one with --practice")


def add_provider(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    first_name: str,
    last_name: str,
    npi: str | None,
    taxonomy: str | None,
    credential: str | None,
    is_billing_entity: bool = False,
    licenses: Iterable[tuple[str, str, date | None]] = (),
    clock: Clock = current_time,
) -> str:
    """Add a therapist with their state licenses ``(state, number, expires_on)``."""
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        provider_id = uow.records.insert(
            providers,
            first_name=first_name,
            last_name=last_name,
            npi=npi,
            taxonomy=taxonomy,
            credential=credential,
            is_billing_entity=is_billing_entity,
            active=True,
            created_at=uow.now(),
        )
        for state, number, expires in licenses:
            uow.records.insert(
                provider_licenses, provider_id=provider_id, state=state, number=number, expires_on=expires
            )
        uow.record("provider.add", "provider", provider_id)
    return provider_id


def add_payer(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    name: str,
    payer_id: str | None,
    profile: str | None,
    claim_filing_indicator: str | None,
    address: Mapping[str, Any] | None = None,
    clock: Clock = current_time,
) -> str:
    """Add a payer (its electronic id, rule profile, SBR09 value and claims address)."""
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        new = uow.records.insert(
            payers,
            name=name,
            payer_id=payer_id,
            profile=profile,
            claim_filing_indicator=claim_filing_indicator,
            address=dict(address) if address else None,
            created_at=uow.now(),
        )
        uow.record("payer.add", "payer", new)
    return new


def enroll_provider(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    provider_id: str,
    payer_id: str,
    enrolled: bool,
    in_network: bool,
    effective_from: date | None = None,
    effective_to: date | None = None,
    payer_provider_id: str | None = None,
) -> str:
    """Record a provider's enrollment with a payer."""
    with UnitOfWork(engine, practice_id, actor) as uow:
        uow.records.get(providers, provider_id)
        uow.records.get(payers, payer_id)
        new = uow.records.insert(
            provider_enrollments,
            provider_id=provider_id,
            payer_id=payer_id,
            enrolled=enrolled,
            in_network=in_network,
            effective_from=effective_from,
            effective_to=effective_to,
            payer_provider_id=payer_provider_id,
        )
        uow.record("provider.enroll", "provider", provider_id, {"payer": payer_id, "enrolled": enrolled})
    return new


# -- patients and coverage ---------------------------------------------------------------


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


def _insert_coverage(uow: UnitOfWork, patient_id: str, cov: CoverageInput) -> str:
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


def register_patient(
    engine: Engine,
    practice_id: str,
    actor: str,
    *,
    chart_number: str,
    first_name: str,
    last_name: str,
    birth_date: date | None = None,
    sex: str | None = None,
    middle_name: str | None = None,
    address: Mapping[str, Any] | None = None,
    phone: str | None = None,
    email: str | None = None,
    coverages_in: Sequence[CoverageInput] = (),
    clock: Clock = current_time,
) -> str:
    """Register a patient and their coverages; returns the patient's opaque id."""
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        taken = uow.session.execute(
            uow.records.scoped(patients).where(patients.c.chart_number == chart_number)
        ).first()
        if taken:
            raise refuse("patient-chart-number-taken", "chart_number", "that chart number is already in use")
        record = PatientRecord(
            id=new_id(),
            practice_id=practice_id,
            chart_number=chart_number,
            first_name=first_name,
            last_name=last_name,
            birth_date=birth_date,
            sex=sex,
            middle_name=middle_name,
            address_json=json.dumps(dict(address)) if address else None,
            phone=phone,
            email=email,
        )
        patient_id = uow.records.add_patient(record, uow.now())
        for cov in coverages_in:
            _insert_coverage(uow, patient_id, cov)
        uow.record("patient.register", "patient", patient_id, {"coverages": len(coverages_in)})
    return patient_id


def add_coverage(engine: Engine, practice_id: str, actor: str, patient_id: str, cov: CoverageInput) -> str:
    """Add a coverage to a patient."""
    with UnitOfWork(engine, practice_id, actor) as uow:
        uow.records.get(patients, patient_id)
        new = _insert_coverage(uow, patient_id, cov)
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


def patient(engine: Engine, practice_id: str, actor: str, patient_id: str) -> Row[Any]:
    """One patient of the practice.

    Raises:
        NotFoundError: no such patient in the practice.
    """
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return uow.records.get(patients, patient_id)


def payer_names(engine: Engine, practice_id: str, actor: str) -> list[tuple[str, str]]:
    """The practice's payers as (id, name), by name (for choosing one)."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return [(p.id, p.name) for p in sorted(uow.records.rows(payers), key=lambda p: p.name)]


def list_patients(engine: Engine, practice_id: str, actor: str) -> list[PatientRecord]:
    """The practice's patients."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        return uow.records.patients()


# -- visits ------------------------------------------------------------------------------


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
    intake = _intake()
    doc = _visit_document(document)
    with UnitOfWork(engine, practice_id, actor, clock=clock) as uow:
        uow.records.get(patients, patient_id)
        uow.records.get(providers, provider_id)
        doc = intake.document_with_intake_in(uow.records, patient_id, doc)
        if coverage_id is not None:
            cov = uow.records.get(coverages, coverage_id)
            if cov.patient_id != patient_id:
                raise refuse(
                    "coverage-not-patients", "coverage_id", "that coverage belongs to another patient"
                )
        if appointment_id is not None:
            from therabill.service_layer.appointments import complete_for_visit_in

            complete_for_visit_in(uow, appointment_id, patient_id)
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


# -- the encounter of a visit ------------------------------------------------------------


# -- claims ------------------------------------------------------------------------------


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


def _add_status_event(
    uow: UnitOfWork, claim_id: str, status: str, findings: Any = None, note: str | None = None
) -> None:
    seq = len(uow.records.status_history(claim_id)) + 1
    uow.records.insert(
        claim_status_events,
        claim_id=claim_id,
        seq=seq,
        status=status,
        at=uow.now(),
        actor=uow.actor,
        note=note,
        findings=findings,
    )


def _use_authorization(uow: UnitOfWork, claim_id: str, coverage_id: str | None, claim: Claim) -> None:
    if (
        coverage_id is None
        or claim.encounter.coverage is None
        or claim.encounter.coverage.authorization is None
    ):
        return
    number = claim.encounter.coverage.authorization.number
    dos = claim.encounter.date_of_service
    for auth in uow.records.authorizations_of(coverage_id):
        if auth.number != number or not _active_on(auth, dos, "start_date", "end_date"):
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


def _release_authorization(uow: UnitOfWork, claim_id: str) -> None:
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
    visit and its note stay as they are. With the default scrubber, the intake's findings
    (region marked "avoid", precautions, an unsigned intake) are added to the scrub.

    Raises:
        VisitNotBillableError: an uncleared absolute contraindication (clear it first with
            ``intake.record_clearance``).
        RecordsError: the visit already has an open claim, or no coverage to bill.
    """
    from therabill.domain.intake import VisitNotBillableError

    intake = _intake()
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
            context = scrub_context_in(uow.records, visit._mapping, intake.claim_findings(check))
            scrubber = _scrubbing_with(context)
        encounter = build_encounter(uow.records, visit._mapping, exclude_visit=visit_id)
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
        _add_status_event(uow, claim_id, ClaimStatus.DRAFT.value, note=f"{len(claim.lines)} lines")
        findings, has_errors = _scrub(encounter, as_of, scrubber)
        status = ClaimStatus.SCRUBBED.value
        uow.records.update(claims, claim_id, status=status, findings=findings, has_errors=has_errors)
        _add_status_event(uow, claim_id, status, findings=findings, note="scrubbed")
        _use_authorization(uow, claim_id, coverage_id, claim)
        _ledger().claim_charges_in(uow, claim_id)
        uow.records.update(visits, visit_id, status="coded")
        uow.record("claim.create", "claim", claim_id, {"status": status, "lines": len(claim.lines)})
    return CodedClaim(claim_id, number, status, has_errors, findings, to_cents(claim.total_charge))


def _intake() -> Any:
    """The intake service (imported here: it imports this module for ``code_visit``)."""
    from therabill.service_layer import intake

    return intake


def _ledger() -> Any:
    """The ledger service (imported here: it imports this module for claim statuses)."""
    from therabill.service_layer import ledger

    return ledger


def _set_status(
    uow: UnitOfWork, claim: Row[Any], new_status: str, *, findings: Any = None, note: str | None = None
) -> None:
    nxt = check_claim_transition(claim.status, new_status)
    uow.records.update(claims, claim.id, status=nxt.value, updated_at=uow.now())
    _add_status_event(
        uow, claim.id, nxt.value, findings=findings if findings is not None else claim.findings, note=note
    )
    uow.record("claim.status", "claim", claim.id, {"from": claim.status, "to": nxt.value})


def set_status_in(uow: UnitOfWork, claim: Row[Any], new_status: str, *, note: str | None = None) -> None:
    """Move a claim inside an open unit of work (used by remittance posting and acknowledgments).

    Raises ``TransitionError`` when the life cycle does not allow the move.
    """
    _set_status(uow, claim, new_status, note=note)


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
        _set_status(uow, claim, ClaimStatus.READY.value)


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
        _set_status(uow, claim, status, note=note)
        if payer_claim_control_number:
            uow.records.update(claims, claim_id, payer_claim_control_number=payer_claim_control_number)
        if status == ClaimStatus.VOIDED.value:
            _release_authorization(uow, claim_id)
            _ledger().reverse_claim_charges_in(uow, claim_id)


def void_claim(
    engine: Engine, practice_id: str, actor: str, claim_id: str, *, clock: Clock = current_time
) -> None:
    """Void a claim; its authorization use is released (with an event in the history)."""
    set_claim_status(engine, practice_id, actor, claim_id, ClaimStatus.VOIDED.value, clock=clock)


def claim_history(engine: Engine, practice_id: str, actor: str, claim_id: str) -> list[dict[str, Any]]:
    """The claim's status events with the findings current at each."""
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        uow.records.get(claims, claim_id)
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
    """``claim_record`` inside an open unit of work (e.g. the one that exports the claim)."""
    row = uow.records.get(claims, claim_id)
    visit = uow.records.get(visits, row.visit_id)
    encounter = build_encounter(uow.records, visit._mapping, exclude_visit=row.visit_id)
    lines = tuple(mappers.claim_line_to_domain(r) for r in uow.records.lines_of(claim_id))
    units = units_of(encounter.services, encounter.payer_profile)
    total = sum((line.charge for line in lines), Decimal("0.00"))
    return Claim(claim_id=row.claim_number, encounter=encounter, lines=lines, total_charge=total, units=units)


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
