"""Encounters: the one assembler from stored records to the encounter document.

``build_encounter`` turns a stored visit into the encounter document (our public input
format) with what the practice records know: billing and rendering provider, patient,
coverages with their authorization as used before this visit, prior claims of the day.
``scrub_context_in`` gives the scrubber everything the records know beyond the document:
the rendering provider's enrollments and licences, the intake's findings and the practice's
own payer profiles, so that every rule documented in ``docs/rules.md`` can fire on a stored
claim. Claims, the visit form's live check and documents all use these two.
"""

from __future__ import annotations

import json
from datetime import date, datetime, time
from typing import Any

from sqlalchemy import Engine, Row, select

from therabill.adapters.db.intake_tables import intake_versions
from therabill.adapters.db.repositories import Records
from therabill.adapters.db.tables import (
    authorization_events,
    claims,
    coverages,
    patients,
    payers,
    practices,
    provider_enrollments,
    provider_licenses,
    providers,
    visits,
)
from therabill.domain.encounter import Encounter
from therabill.domain.records import ClaimStatus
from therabill.schemas.encounter import DocumentError, parse_encounter
from therabill.scrubber import ScrubContext
from therabill.scrubber.context import AssignmentOnFile, Enrollment, IntakeOnFile, License
from therabill.service_layer.errors import RecordsError
from therabill.service_layer.uow import UnitOfWork

__all__ = [
    "CLOSED_CLAIM_STATUSES",
    "assignment_on_file",
    "build_encounter",
    "encounter_document",
    "encounter_for_visit",
    "encounter_of_document",
    "scrub_context_in",
]

CLOSED_CLAIM_STATUSES = frozenset({ClaimStatus.VOIDED.value, ClaimStatus.REPLACED.value})
"""A claim in one of these statuses no longer stands for its visit."""


def _iso(value: Any) -> Any:
    if isinstance(value, (date, datetime, time)):
        return value.isoformat()
    return value


def active_on(row: Row[Any], dos: date, start: str, end: str) -> bool:
    """Whether ``row`` is in force on ``dos`` (its ``start`` and ``end`` columns, either may be open)."""
    lo, hi = getattr(row, start), getattr(row, end)
    return (lo is None or lo <= dos) and (hi is None or dos <= hi)


def _authorization_doc(records: Records, auth: Row[Any], exclude_visit: str | None) -> dict[str, Any]:
    visits_used, units_used = auth.visits_used, auth.units_used
    if exclude_visit is not None:
        own_claims = select(claims.c.id).where(
            claims.c.practice_id == records.practice_id, claims.c.visit_id == exclude_visit
        )
        for ev in records.rows(
            authorization_events,
            authorization_events.c.authorization_id == auth.id,
            authorization_events.c.claim_id.in_(own_claims),
        ):
            sign = -1 if ev.kind == "use" else 1
            visits_used += sign * ev.visits
            units_used += sign * ev.units
    return {
        "number": auth.number,
        "start_date": _iso(auth.start_date),
        "end_date": _iso(auth.end_date),
        "codes": list(auth.codes),
        "units_pooled": bool(auth.units_pooled),
        "visits_allowed": auth.visits_allowed,
        "visits_used": max(visits_used, 0),
        "units_allowed": auth.units_allowed,
        "units_used": max(units_used, 0),
    }


def _coverage_doc(records: Records, cov: Row[Any], dos: date, exclude_visit: str | None) -> dict[str, Any]:
    payer = records.get(payers, cov.payer_id)
    auth = next(
        (a for a in records.authorizations_of(cov.id) if active_on(a, dos, "start_date", "end_date")), None
    )
    doc: dict[str, Any] = dict(cov.details or {})
    doc.update(
        {
            "sequence": cov.sequence,
            "payer_id": payer.payer_id,
            "payer_name": payer.name,
            "payer_address": payer.address,
            "payer_profile": payer.profile,
            "claim_filing_indicator": payer.claim_filing_indicator,
            "member_id": cov.member_id,
            "group_number": cov.group_number,
            "plan_name": cov.plan_name,
            "relationship_to_subscriber": cov.relationship,
            "subscriber": cov.subscriber,
            "eligibility_verified_on": _iso(cov.eligibility_verified_on),
            "authorization": None if auth is None else _authorization_doc(records, auth, exclude_visit),
            "referral_number": cov.referral_number,
        }
    )
    return doc


def _billing_provider(records: Records) -> dict[str, Any]:
    p = records.session.execute(select(practices).where(practices.c.id == records.practice_id)).one()
    doc: dict[str, Any] = {
        "entity_type": p.entity_type,
        "organization_name": p.name if p.entity_type == "organization" else None,
        "npi": p.npi,
        "tax_id": p.tax_id,
        "tax_id_type": p.tax_id_type,
        "taxonomy": p.taxonomy,
        "phone": p.phone,
        "address": p.address,
    }
    if p.entity_type == "person":
        person = next(iter(records.rows(providers, providers.c.is_billing_entity.is_(True))), None)
        if person is not None:
            doc.update(first_name=person.first_name, last_name=person.last_name)
    return doc


def _rendering_provider(records: Records, provider_id: str, state: str | None) -> dict[str, Any]:
    prov = records.get(providers, provider_id)
    licenses = records.rows(provider_licenses, provider_licenses.c.provider_id == provider_id)
    lic = next((x for x in licenses if x.state == state), licenses[0] if licenses else None)
    return {
        "first_name": prov.first_name,
        "last_name": prov.last_name,
        "npi": prov.npi,
        "taxonomy": prov.taxonomy,
        "credential": prov.credential,
        "license_number": lic.number if lic else None,
        "license_state": lic.state if lic else None,
    }


def _prior_claims(
    records: Records, patient_id: str, dos: date, exclude_visit: str | None
) -> list[dict[str, Any]]:
    found = records.rows(
        claims,
        claims.c.patient_id == patient_id,
        claims.c.date_of_service == dos,
        claims.c.status.not_in(list(CLOSED_CLAIM_STATUSES)),
        *([claims.c.visit_id != exclude_visit] if exclude_visit else []),
        order_by=[claims.c.created_at],
    )
    out: list[dict[str, Any]] = []
    for claim in found:
        visit = records.get(visits, claim.visit_id)
        npi = records.get(providers, visit.provider_id).npi
        out.extend(
            {
                "claim_id": claim.claim_number,
                "date_of_service": _iso(line.date_of_service),
                "code": line.code,
                "modifiers": list(line.modifiers),
                "units": line.units,
                "minutes": line.minutes,
                "rendering_npi": npi,
            }
            for line in records.lines_of(claim.id)
        )
    return out


def build_encounter(records: Records, visit: Any, *, exclude_visit: str | None) -> Encounter:
    """The encounter of a stored visit with what the records know today, validated."""
    return encounter_of_document(encounter_document(records, visit, exclude_visit=exclude_visit))


def encounter_of_document(doc: dict[str, Any]) -> Encounter:
    """A stored encounter document (a visit's, or a claim's as coded) validated as an encounter."""
    try:
        return parse_encounter(json.dumps(doc, default=str))
    except DocumentError as exc:
        raise RecordsError("the visit does not make a valid encounter", tuple(exc.problems)) from None


def encounter_document(records: Records, visit: Any, *, exclude_visit: str | None) -> dict[str, Any]:
    """The whole encounter document of a stored visit: its own part plus what the records know
    (practice, providers, patient, coverages, prior claims of the day), as JSON values."""
    dos: date = visit["date_of_service"]
    patient = records.get(patients, visit["patient_id"])
    all_covs = [c for c in records.coverages_of(patient.id) if active_on(c, dos, "active_from", "active_to")]
    chosen = None
    if visit.get("coverage_id"):
        chosen = next((c for c in all_covs if c.id == visit["coverage_id"]), None)
        if chosen is None:
            chosen = records.get(coverages, visit["coverage_id"])
    elif all_covs:
        chosen = all_covs[0]
    billing = _billing_provider(records)
    practice_state = (billing.get("address") or {}).get("state")
    doc: dict[str, Any] = dict(visit["encounter_json"])
    doc.update(
        {
            "encounter_id": visit["id"],
            "date_of_service": dos.isoformat(),
            "billing_provider": billing,
            "rendering_provider": _rendering_provider(records, visit["provider_id"], practice_state),
            "patient": {
                "patient_id": patient.chart_number,
                "first_name": patient.first_name,
                "middle_name": patient.middle_name,
                "last_name": patient.last_name,
                "suffix": patient.suffix,
                "birth_date": _iso(patient.birth_date),
                "sex": patient.sex,
                "address": patient.address,
            },
            "coverage": None if chosen is None else _coverage_doc(records, chosen, dos, exclude_visit),
            "other_coverages": [
                _coverage_doc(records, c, dos, exclude_visit)
                for c in all_covs
                if chosen is None or c.id != chosen.id
            ],
            "prior_claims": _prior_claims(records, patient.id, dos, exclude_visit),
        }
    )
    practice = records.session.execute(
        select(practices.c.place_of_service, practices.c.accept_assignment).where(
            practices.c.id == records.practice_id
        )
    ).one()
    if doc.get("place_of_service") is None:
        doc["place_of_service"] = practice.place_of_service
    # CLM06 / box 31 and CLM07 / box 27 come from the records unless the visit's document says.
    if doc.get("accept_assignment") is None:
        doc["accept_assignment"] = bool(practice.accept_assignment)
    if doc.get("provider_signature_on_file") is None:
        doc["provider_signature_on_file"] = bool(
            records.get(providers, visit["provider_id"]).signature_on_file
        )
    loaded: dict[str, Any] = json.loads(json.dumps(doc, default=str))
    return loaded


def encounter_for_visit(engine: Engine, practice_id: str, actor: str, visit_id: str) -> Encounter:
    """The encounter of a stored visit, rebuilt from the records (for X12, PDF and web).

    Authorization used counts are those billed before this visit's claims.
    """
    with UnitOfWork(engine, practice_id, actor, read_only=True) as uow:
        visit = uow.records.get(visits, visit_id)
        return build_encounter(uow.records, visit._mapping, exclude_visit=visit_id)


def scrub_context_in(
    records: Records, visit: Any, intake: IntakeOnFile | None = None, profile_dirs: tuple[str, ...] = ()
) -> ScrubContext:
    """What the scrubber needs beyond the encounter, from the records: the rendering
    provider's payer enrollments and state licences, the assignment and signature records,
    and the client's intake checked for the visit (``intake.on_file``)."""
    provider = records.get(providers, visit["provider_id"])
    enrollments = tuple(
        Enrollment(
            npi=provider.npi,
            payer_id=payer.payer_id,
            enrolled=bool(row.enrolled),
            effective_from=row.effective_from,
            effective_to=row.effective_to,
        )
        for row in records.rows(provider_enrollments, provider_enrollments.c.provider_id == provider.id)
        for payer in [records.get(payers, row.payer_id)]
        if provider.npi and payer.payer_id
    )
    licenses = tuple(
        License(npi=provider.npi, state=row.state, expires=row.expires_on)
        for row in records.rows(provider_licenses, provider_licenses.c.provider_id == provider.id)
        if provider.npi and row.expires_on is not None
    )
    return ScrubContext(
        enrollments=enrollments,
        licenses=licenses,
        intake=intake,
        profile_dirs=profile_dirs,
        assignment=assignment_on_file(records, visit),
    )


def assignment_on_file(records: Records, visit: Any) -> AssignmentOnFile:
    """What the records say about assignment and signatures for a visit: the practice's
    setting, the rendering provider's signature on file, and the patient's assignment of
    benefits in their newest intake consent (``None`` without an intake)."""
    accepts = records.session.execute(
        select(practices.c.accept_assignment).where(practices.c.id == records.practice_id)
    ).scalar_one()
    provider = records.get(providers, visit["provider_id"])
    newest = records.session.execute(
        records.scoped(intake_versions)
        .where(intake_versions.c.patient_id == visit["patient_id"])
        .order_by(intake_versions.c.version.desc())
        .limit(1)
    ).first()
    assigned: bool | None = None
    if newest is not None:
        consent = ((newest.content or {}).get("consents") or {}).get("assignment_of_benefits") or {}
        assigned = bool(consent.get("given"))
    return AssignmentOnFile(bool(accepts), bool(provider.signature_on_file), assigned)
