"""A patient's record as a FHIR R4 ``Bundle`` (type ``collection``).

Resources: the ``Patient``; an ``Organization`` for the practice and for each payer;
``Coverage`` per stored coverage; per visit an ``Encounter``, a ``Condition`` per diagnosis
(ICD-10-CM), a ``Procedure`` per service (CPT, with body sites as text) and an
``Observation`` per pain score (LOINC 72514-3, 0-10) and range-of-motion measure (degrees);
a ``Claim`` per claim with its lines; an ``ExplanationOfBenefit`` per claim answered in an
835. The interop service reads the rows (``service_layer.interop.patient_bundle``); this module
only translates them. Resource ids are therabill's opaque ids; references are ``urn:uuid:`` full URLs
inside the Bundle, so the Bundle stands alone. ``validate_bundle`` parses the result with
the R4B models of ``fhir.resources`` (structure, cardinality, value types); it does not
check terminology bindings or profiles such as US Core.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

from therabill.domain.errors import Problem, TherabillError
from therabill.domain.money import from_cents

ICD10 = "http://hl7.org/fhir/sid/icd-10-cm"
CPT = "http://www.ama-assn.org/go/cpt"
LOINC = "http://loinc.org"
UCUM = "http://unitsofmeasure.org"
NPI = "http://hl7.org/fhir/sid/us-npi"
CLAIM_TYPE = "http://terminology.hl7.org/CodeSystem/claim-type"
ACT_CODE = "http://terminology.hl7.org/CodeSystem/v3-ActCode"
OBS_CATEGORY = "http://terminology.hl7.org/CodeSystem/observation-category"
PROCESS_PRIORITY = "http://terminology.hl7.org/CodeSystem/processpriority"
SUBSCRIBER_REL = "http://terminology.hl7.org/CodeSystem/subscriber-relationship"
POS = "https://www.cms.gov/Medicare/Coding/place-of-service-codes/Place_of_Service_Code_Set"
PAIN_LOINC = ("72514-3", "Pain severity - 0-10 verbal numeric rating [Score] - Reported")
ROM_LOINC = ("8340-2", "Range of motion")  # LOINC's generic range of motion term, measured in degrees

_SEX = {"F": "female", "M": "male", "U": "unknown", "X": "other"}
_RELATION = {"self": "self", "spouse": "spouse", "child": "child", "other": "other", "employee": "other"}
_CLOSED = {"voided", "replaced"}


class FhirExportError(TherabillError):
    """The export could not be built or does not validate."""

    code = "fhir-export-invalid"


def _url(rid: str) -> str:
    return f"urn:uuid:{uuid.UUID(hex=rid[:32].ljust(32, '0'))}"


def _ref(rid: str) -> dict[str, str]:
    return {"reference": _url(rid)}


def _money(cents: int) -> dict[str, Any]:
    return {"value": from_cents(cents), "currency": "USD"}


def _iso(value: date | datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime):
        return (value if value.tzinfo else value.replace(tzinfo=UTC)).isoformat()
    return value.isoformat()


def _address(a: Any) -> list[dict[str, Any]]:
    if not a:
        return []
    lines = [x for x in (a.get("line1"), a.get("line2")) if x]
    return [
        {
            "line": lines,
            "city": a.get("city"),
            "state": a.get("state"),
            "postalCode": a.get("zip"),
            "country": "US",
        }
    ]


def _clean(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v not in (None, [], {}, "")}


def _minutes(start: str | None, end: str | None) -> int | None:
    try:
        h1, m1 = (int(x) for x in (start or "").split(":"))
        h2, m2 = (int(x) for x in (end or "").split(":"))
    except ValueError:
        return None
    return (h2 * 60 + m2) - (h1 * 60 + m1) or None


def _item(ln: Any, visit_id: str) -> dict[str, Any]:
    return _clean(
        {
            "sequence": ln.line_number,
            "diagnosisSequence": list(ln.diagnosis_pointers or []),
            "productOrService": {"coding": [{"system": CPT, "code": ln.code}]},
            "modifier": [{"coding": [{"system": CPT, "code": mod}]} for mod in ln.modifiers or []],
            "servicedDate": ln.date_of_service.isoformat(),
            "locationCodeableConcept": (
                {"coding": [{"system": POS, "code": ln.place_of_service}]} if ln.place_of_service else None
            ),
            "quantity": {"value": ln.units},
            "unitPrice": _money(ln.unit_charge_cents),
            "net": _money(ln.charge_cents),
            "encounter": [_ref(visit_id)],
        }
    )


@dataclass(frozen=True, slots=True)
class PatientRecord:
    """The stored rows of one patient's export, read by the interop service.

    Attributes:
        patient: the patient row.
        practice: the practice row.
        coverages: the patient's coverages.
        payers: every payer row by id.
        providers: every provider row by id.
        visits: the visits to export (oldest first), already limited to what may be shown.
        measures: the objective measures of those visits.
        claims: the claims to export (oldest date of service first).
        lines: each claim's service lines, by claim id.
        remittances: the 835 claim results of those claims.
    """

    patient: Any
    practice: Any
    coverages: Sequence[Any]
    payers: Mapping[str, Any]
    providers: Mapping[str, Any]
    visits: Sequence[Any]
    measures: Sequence[Any]
    claims: Sequence[Any]
    lines: Mapping[str, Sequence[Any]]
    remittances: Sequence[Any]


def bundle_of(record: PatientRecord, now: datetime) -> dict[str, Any]:
    """The patient's record as a FHIR R4 Bundle (a JSON-ready dict), created at ``now``."""
    entries: list[dict[str, Any]] = []

    def add(resource: dict[str, Any]) -> None:
        entries.append({"fullUrl": _url(resource["id"]), "resource": _clean(resource)})

    pat = record.patient
    patient_id = pat.id
    practice = record.practice
    covs = record.coverages
    payer_rows = record.payers
    provider_rows = record.providers
    visit_rows = record.visits
    measures = record.measures
    claim_rows = record.claims
    lines_by_claim = record.lines
    eob_rows = record.remittances
    created = _iso(now)

    add(
        {
            "resourceType": "Patient",
            "id": pat.id,
            "identifier": [{"type": {"text": "chart number"}, "value": pat.chart_number}],
            "name": [
                _clean(
                    {
                        "family": pat.last_name,
                        "given": [x for x in (pat.first_name, pat.middle_name) if x],
                        "suffix": [pat.suffix] if pat.suffix else [],
                    }
                )
            ],
            "gender": _SEX.get(pat.sex or "", None),
            "birthDate": _iso(pat.birth_date),
            "address": _address(pat.address),
            "telecom": [
                t
                for t in (
                    {"system": "phone", "value": pat.phone} if pat.phone else None,
                    {"system": "email", "value": pat.email} if pat.email else None,
                )
                if t
            ],
        }
    )
    add(
        {
            "resourceType": "Organization",
            "id": practice.id,
            "identifier": [{"system": NPI, "value": practice.npi}] if practice.npi else [],
            "name": practice.name,
            "address": _address(practice.address),
        }
    )
    used_payers = {c.payer_id for c in covs} | {c.payer_id for c in claim_rows if c.payer_id}
    for pid in sorted(used_payers):
        p = payer_rows[pid]
        add(
            {
                "resourceType": "Organization",
                "id": p.id,
                "identifier": [{"value": p.payer_id}] if p.payer_id else [],
                "name": p.name,
                "address": _address(p.address),
            }
        )
    order = {"primary": 1, "secondary": 2, "tertiary": 3}
    for c in covs:
        add(
            {
                "resourceType": "Coverage",
                "id": c.id,
                "status": "active" if c.active_to is None or c.active_to >= now.date() else "cancelled",
                "subscriberId": c.member_id,
                "beneficiary": _ref(pat.id),
                "relationship": {
                    "coding": [{"system": SUBSCRIBER_REL, "code": _RELATION.get(c.relationship, "other")}]
                },
                "period": _clean({"start": _iso(c.active_from), "end": _iso(c.active_to)}),
                "payor": [_ref(c.payer_id)],
                "class": [{"type": {"text": "group"}, "value": c.group_number}] if c.group_number else [],
                "order": order.get(c.sequence),
            }
        )
    conditions: dict[tuple[str, int], str] = {}
    for v in visit_rows:
        doc = v.encounter_json or {}
        # Visit times are local clock times without a zone; FHIR needs a zone for a time,
        # so the period carries the date and the length carries the minutes.
        length = _minutes(v.start_time, v.end_time)
        prov = provider_rows.get(v.provider_id)
        add(
            {
                "resourceType": "Encounter",
                "id": v.id,
                "status": "finished" if v.status in ("documented", "coded") else "in-progress",
                "class": {"system": ACT_CODE, "code": "AMB", "display": "ambulatory"},
                "subject": _ref(pat.id),
                "period": {"start": v.date_of_service.isoformat(), "end": v.date_of_service.isoformat()},
                "length": {"value": length, "unit": "min", "system": UCUM, "code": "min"} if length else None,
                "participant": [
                    {
                        "individual": {
                            "display": f"{prov.first_name} {prov.last_name}",
                            "identifier": {"system": NPI, "value": prov.npi},
                        }
                        if prov.npi
                        else {"display": f"{prov.first_name} {prov.last_name}"}
                    }
                ]
                if prov
                else [],
                "location": [{"location": {"display": f"place of service {doc.get('place_of_service')}"}}]
                if doc.get("place_of_service")
                else [],
                "serviceProvider": _ref(practice.id),
            }
        )
        for k, dx in enumerate(doc.get("diagnoses") or [], start=1):
            code = dx if isinstance(dx, str) else dx.get("code")
            cid = uuid.uuid5(uuid.NAMESPACE_URL, f"{v.id}/dx/{k}").hex
            conditions[(v.id, k)] = cid
            add(
                {
                    "resourceType": "Condition",
                    "id": cid,
                    "clinicalStatus": {
                        "coding": [
                            {
                                "system": "http://terminology.hl7.org/CodeSystem/condition-clinical",
                                "code": "active",
                            }
                        ]
                    },
                    "category": [
                        {
                            "coding": [
                                {
                                    "system": "http://terminology.hl7.org/CodeSystem/condition-category",
                                    "code": "encounter-diagnosis",
                                }
                            ]
                        }
                    ],
                    "code": {"coding": [{"system": ICD10, "code": code}]},
                    "subject": _ref(pat.id),
                    "encounter": _ref(v.id),
                    "recordedDate": v.date_of_service.isoformat(),
                }
            )
        for k, svc in enumerate(doc.get("services") or [], start=1):
            add(
                {
                    "resourceType": "Procedure",
                    "id": uuid.uuid5(uuid.NAMESPACE_URL, f"{v.id}/svc/{k}").hex,
                    "status": "completed",
                    "code": {"coding": [{"system": CPT, "code": svc["code"]}]},
                    "subject": _ref(pat.id),
                    "encounter": _ref(v.id),
                    "performedDateTime": v.date_of_service.isoformat(),
                    "bodySite": [{"text": region} for region in svc.get("body_regions") or []],
                    "reasonReference": [
                        _ref(conditions[(v.id, p)])
                        for p in svc.get("diagnosis_pointers") or []
                        if (v.id, p) in conditions
                    ],
                    "note": [
                        {
                            "text": f"{svc.get('minutes', 0)} minutes; techniques: {', '.join(svc.get('techniques') or []) or 'not recorded'}"
                        }
                    ],
                }
            )
    for m in measures:
        if m.kind not in ("pain", "rom"):
            continue
        base = {
            "resourceType": "Observation",
            "id": m.id,
            "status": "final",
            "category": [
                {"coding": [{"system": OBS_CATEGORY, "code": "survey" if m.kind == "pain" else "exam"}]}
            ],
            "subject": _ref(pat.id),
            "encounter": _ref(m.visit_id),
            "effectiveDateTime": m.measured_on.isoformat(),
        }
        try:
            number = float(m.value)
        except ValueError:
            number = None
        if m.kind == "pain":
            base["code"] = {
                "coding": [{"system": LOINC, "code": PAIN_LOINC[0], "display": PAIN_LOINC[1]}],
                "text": "pain (0-10)",
            }
            base["valueInteger" if number is not None and number.is_integer() else "valueString"] = (
                int(number) if number is not None and number.is_integer() else m.value
            )
        else:
            base["code"] = {
                "coding": [{"system": LOINC, "code": ROM_LOINC[0], "display": ROM_LOINC[1]}],
                "text": f"range of motion: {m.name}",
            }
            base["bodySite"] = {"text": m.name.split(" ")[0]}
            if number is not None:
                base["valueQuantity"] = {"value": number, "unit": "deg", "system": UCUM, "code": "deg"}
            else:
                base["valueString"] = m.value
        add(base)
    cov_ids = {c.id for c in covs}
    for c in claim_rows:
        cov_ref = c.coverage_id if c.coverage_id in cov_ids else None
        items = [_item(ln, c.visit_id) for ln in lines_by_claim[c.id]]
        dx = [
            {"sequence": k, "diagnosisReference": _ref(cid)}
            for (vid, k), cid in sorted(conditions.items())
            if vid == c.visit_id
        ]
        claim_res = {
            "resourceType": "Claim",
            "id": c.id,
            "identifier": [{"type": {"text": "claim number (CLM01)"}, "value": c.claim_number}],
            "status": "cancelled" if c.status in _CLOSED else "active",
            "type": {"coding": [{"system": CLAIM_TYPE, "code": "professional"}]},
            "use": "claim",
            "patient": _ref(pat.id),
            "billablePeriod": {"start": c.date_of_service.isoformat(), "end": c.date_of_service.isoformat()},
            "created": _iso(c.created_at),
            "insurer": _ref(c.payer_id) if c.payer_id else None,
            "provider": _ref(practice.id),
            "priority": {"coding": [{"system": PROCESS_PRIORITY, "code": "normal"}]},
            "diagnosis": dx,
            "insurance": [{"sequence": 1, "focal": True, "coverage": _ref(cov_ref)}]
            if cov_ref
            else [{"sequence": 1, "focal": True, "coverage": {"display": "self-pay"}}],
            "item": items,
            "total": _money(c.total_charge_cents),
            "extension": [{"url": "https://therabill.invalid/fhir/claim-status", "valueCode": c.status}],
        }
        add(claim_res)
        for e in eob_rows:
            if e.claim_id != c.id:
                continue
            add(
                {
                    "resourceType": "ExplanationOfBenefit",
                    "id": e.id,
                    "identifier": [
                        {
                            "type": {"text": "payer claim control number"},
                            "value": e.payer_claim_control_number,
                        }
                    ]
                    if e.payer_claim_control_number
                    else [],
                    "status": "active",
                    "type": {"coding": [{"system": CLAIM_TYPE, "code": "professional"}]},
                    "use": "claim",
                    "patient": _ref(pat.id),
                    "created": _iso(e.posted_at),
                    "insurer": _ref(c.payer_id) if c.payer_id else {"display": "payer"},
                    "provider": _ref(practice.id),
                    "claim": _ref(c.id),
                    "outcome": "complete"
                    if e.status in ("1", "2", "3", "4", "19", "20", "21")
                    else "partial",
                    "insurance": [{"focal": True, "coverage": _ref(cov_ref)}]
                    if cov_ref
                    else [{"focal": True, "coverage": {"display": "self-pay"}}],
                    "total": [
                        {
                            "category": {
                                "coding": [
                                    {
                                        "system": "http://terminology.hl7.org/CodeSystem/adjudication",
                                        "code": "submitted",
                                    }
                                ]
                            },
                            "amount": _money(e.charge_cents),
                        },
                        {
                            "category": {
                                "coding": [
                                    {
                                        "system": "http://terminology.hl7.org/CodeSystem/adjudication",
                                        "code": "benefit",
                                    }
                                ]
                            },
                            "amount": _money(e.paid_cents),
                        },
                    ],
                    "payment": {"amount": _money(e.paid_cents)},
                }
            )
    return {
        "resourceType": "Bundle",
        "id": uuid.uuid5(uuid.NAMESPACE_URL, f"therabill/{patient_id}/{created}").hex,
        "type": "collection",
        "timestamp": created,
        "entry": entries,
    }


def validate_bundle(bundle: dict[str, Any]) -> Any:
    """Parse ``bundle`` with the R4B ``Bundle`` model (each entry with its resource's model).

    Raises:
        FhirExportError: the structure breaks the R4B models (every error listed).
    """
    from fhir.resources.R4B.bundle import Bundle
    from pydantic import ValidationError

    try:
        return Bundle.model_validate(bundle)
    except ValidationError as exc:
        problems = tuple(
            Problem("fhir-invalid", ".".join(str(x) for x in err["loc"]), err["msg"])
            for err in exc.errors()[:50]
        )
        first = "; ".join(f"{p.loc}: {p.message}" for p in problems[:3])
        raise FhirExportError(
            f"the FHIR Bundle does not validate against the R4B models ({first})", problems
        ) from None
