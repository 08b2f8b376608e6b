"""The encounter document at the boundary: pydantic v2 models, JSON Schema and parsing.

The models check types, formats and signs only (``spec/encounter.md``): no count limits and
no code lists. A document that breaks them is refused as a whole with every problem listed
by its path (``services[1].minutes: must be >= 0``); a valid one becomes the frozen domain
``Encounter``. Paths use 0-based list indexes, as JSON tools do.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from datetime import date, time
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
)

from therabill.domain import encounter as dom
from therabill.domain.errors import Problem

_DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_TIME_RE = re.compile(r"^\d{2}:\d{2}$")
_MONEY_RE = re.compile(r"^\d{1,10}(\.\d{1,2})?$")


def _iso_date(value: Any) -> Any:
    if isinstance(value, str):
        if not _DATE_RE.match(value):
            raise ValueError("must be a date as YYYY-MM-DD")
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise ValueError("must be a real date as YYYY-MM-DD") from None
    return value


def _clock_time(value: Any) -> Any:
    if isinstance(value, str):
        if not _TIME_RE.match(value):
            raise ValueError("must be a clock time as HH:MM (24 h)")
        hours, minutes = int(value[:2]), int(value[3:])
        if hours > 23 or minutes > 59:
            raise ValueError("must be a clock time as HH:MM (24 h)")
        return time(hours, minutes)
    return value


def _money(value: str) -> Decimal:
    if not _MONEY_RE.match(value):
        raise ValueError('must be a non-negative decimal string such as "35.00"')
    return Decimal(value).quantize(Decimal("0.01"))


def _digits_only(value: str) -> str:
    return value.replace("-", "").strip()


MAX_COUNT = 100_000
"""The largest count (minutes, units, visits) a document may give."""

IsoDate = Annotated[date, BeforeValidator(_iso_date)]
ClockTime = Annotated[time, BeforeValidator(_clock_time)]
Money = Annotated[str, AfterValidator(_money)]
NonNegInt = Annotated[int, Field(ge=0, le=MAX_COUNT)]
Code = Annotated[str, Field(min_length=1)]
DigitsId = Annotated[str, AfterValidator(_digits_only)]


class _Model(BaseModel):
    model_config = ConfigDict(strict=True, extra="forbid", frozen=True)


class AddressIn(_Model):
    """A postal address; ``zip`` is 5 or 9 digits (a hyphen is dropped)."""

    line1: str
    line2: str | None = None
    city: str
    state: str
    zip: DigitsId


class BillingProviderIn(_Model):
    """The billing provider (organization or sole-proprietor person)."""

    entity_type: Literal["organization", "person"] = "organization"
    organization_name: str | None = None
    first_name: str | None = None
    last_name: str | None = None
    npi: str | None = None
    tax_id: DigitsId | None = None
    tax_id_type: Literal["EIN", "SSN"] | None = None
    taxonomy: str | None = None
    phone: DigitsId | None = None
    address: AddressIn | None = None
    pay_to_address: AddressIn | None = None


class ServiceFacilityIn(_Model):
    """Where the visit took place, when it is not the billing address."""

    name: str
    address: AddressIn | None = None
    npi: str | None = None


class RenderingProviderIn(_Model):
    """The treating therapist."""

    first_name: str
    last_name: str
    npi: str | None = None
    taxonomy: str | None = None
    credential: str | None = None
    license_number: str | None = None
    license_state: str | None = None


class ReferringProviderIn(_Model):
    """Referring (DN), ordering (DK) or supervising (DQ) provider."""

    qualifier: Literal["DN", "DK", "DQ"] = "DN"
    first_name: str
    last_name: str
    npi: str | None = None


class PatientIn(_Model):
    """The patient."""

    patient_id: str
    first_name: str
    middle_name: str | None = None
    last_name: str
    suffix: str | None = None
    birth_date: IsoDate | None = None
    sex: Literal["F", "M", "U"] | None = None
    address: AddressIn | None = None


class SubscriberIn(_Model):
    """The insured person, or the employer for workers' comp."""

    entity_type: Literal["person", "organization"] = "person"
    first_name: str | None = None
    last_name: str
    birth_date: IsoDate | None = None
    sex: Literal["F", "M", "U"] | None = None
    address: AddressIn | None = None
    member_id: str | None = None


class AuthorizationIn(_Model):
    """A prior authorization; ``*_used`` count what was billed before this claim."""

    number: str
    start_date: IsoDate | None = None
    end_date: IsoDate | None = None
    codes: list[Code] = []
    units_pooled: bool = True
    visits_allowed: NonNegInt | None = None
    visits_used: NonNegInt = 0
    units_allowed: NonNegInt | None = None
    units_used: NonNegInt = 0


class TherapyAmountsIn(_Model):
    """Medicare therapy dollars already applied this calendar year."""

    pt_slp: Money = "0.00"
    ot: Money = "0.00"
    as_of: IsoDate | None = None


class AdjustmentIn(_Model):
    """A claim adjustment (group and reason code, amount)."""

    group: str
    reason: str
    amount: Annotated[str, AfterValidator(lambda v: _signed_money(v))]


def _signed_money(value: str) -> Decimal:
    text = value[1:] if value.startswith("-") else value
    amount = _money(text)
    return -amount if value.startswith("-") else amount


class PriorPaymentIn(_Model):
    """What another payer paid and adjusted, for a secondary claim."""

    paid_amount: Money
    adjudication_date: IsoDate | None = None
    adjustments: list[AdjustmentIn] = []
    payer_claim_control_number: str | None = None
    remaining_patient_liability: Money | None = None


class LinePriorPaymentIn(_Model):
    """How another payer adjudicated one service line, for a secondary claim."""

    paid_amount: Money
    adjudication_date: IsoDate | None = None
    adjustments: list[AdjustmentIn] = []


class AttachmentIn(_Model):
    """Paperwork sent for the claim (PWK01 report type, PWK02 transmission, PWK06)."""

    report_type: Code
    transmission: Code
    control_number: str | None = None


class CoverageIn(_Model):
    """An insurance policy."""

    sequence: Literal["primary", "secondary", "tertiary"] = "primary"
    payer_id: str | None = None
    payer_name: str | None = None
    payer_address: AddressIn | None = None
    payer_profile: str | None = None
    claim_filing_indicator: str | None = None
    member_id: str | None = None
    group_number: str | None = None
    plan_name: str | None = None
    relationship_to_subscriber: Literal["self", "spouse", "child", "employee", "other"] = "self"
    subscriber: SubscriberIn | None = None
    eligibility_verified_on: IsoDate | None = None
    authorization: AuthorizationIn | None = None
    referral_number: str | None = None
    therapy_amounts_used: TherapyAmountsIn | None = None
    prior_payment: PriorPaymentIn | None = None
    medicare_secondary_payer_type: str | None = None


class RelatedCausesIn(_Model):
    """Employment and accident relation (box 10, CLM11)."""

    employment: bool = False
    auto_accident: bool = False
    auto_accident_state: str | None = None
    other_accident: bool = False
    accident_date: IsoDate | None = None
    property_casualty_claim_number: str | None = None
    employer_name: str | None = Field(default=None, max_length=60)


class ConsentIn(_Model):
    """The client's release of information and assignment of benefits."""

    release_of_information: bool = False
    benefits_assigned: bool = False
    signature_date: IsoDate | None = None


class ServiceIn(_Model):
    """One service line."""

    code: Code
    minutes: NonNegInt = 0
    modifiers: list[str] = []
    diagnosis_pointers: list[Annotated[int, Field(ge=1)]] = []
    body_regions: list[str] = []
    techniques: list[str] = []
    unit_charge: Money | None = None
    units: NonNegInt | None = None
    prior_payment: LinePriorPaymentIn | None = None


class RangeOfMotionIn(_Model):
    """A range-of-motion measure in degrees."""

    joint: str
    motion: str
    degrees: int


class StrengthIn(_Model):
    """A manual muscle test grade such as ``4/5``."""

    muscle_group: str
    grade: str


class FunctionalTestIn(_Model):
    """A functional test or outcome measure."""

    name: str
    value: str
    unit: str | None = None


class ObjectiveIn(_Model):
    """Objective measures."""

    pain_scale: Annotated[int, Field(ge=0, le=10)] | None = None
    range_of_motion: list[RangeOfMotionIn] = []
    strength: list[StrengthIn] = []
    functional_tests: list[FunctionalTestIn] = []


class GoalIn(_Model):
    """A measurable goal."""

    description: str
    baseline: str | None = None
    target: str | None = None
    target_date: IsoDate | None = None


class DocumentationIn(_Model):
    """The SOAP note and the rest of the clinical record."""

    subjective: str | None = None
    objective: ObjectiveIn = ObjectiveIn()
    assessment: str | None = None
    plan: str | None = None
    medical_necessity: str | None = None
    goals: list[GoalIn] = []
    pre_session_assessment: str | None = None
    post_session_advice: str | None = None
    client_feedback: str | None = None
    changes_since_last_visit: str | None = None


class PlanOfCareIn(_Model):
    """The plan of care and its certification dates."""

    certified_from: IsoDate | None = None
    certified_through: IsoDate | None = None
    treatment_days_since_progress_report: NonNegInt | None = None
    certification_signed_on: IsoDate | None = None
    frequency_per_week: Annotated[int, Field(ge=1, le=14)] | None = None
    duration_weeks: Annotated[int, Field(ge=1, le=104)] | None = None


class PriorClaimLineIn(_Model):
    """An earlier claim line of the same patient."""

    claim_id: str
    date_of_service: IsoDate
    code: Code
    modifiers: list[str] = []
    units: NonNegInt = 1
    minutes: NonNegInt | None = None
    rendering_npi: str | None = None
    billing_npi: str | None = None
    allowed_amount: Money | None = None


class OrderOnFileIn(_Model):
    """A prescription, referral or letter of medical necessity on file, with its dates."""

    kind: Literal["prescription", "referral", "letter_of_medical_necessity"]
    issued_on: IsoDate | None = None
    expires_on: IsoDate | None = None
    provider_npi: str | None = None


class EncounterDocument(_Model):
    """The encounter document: one visit of one patient (``spec/encounter.md``)."""

    model_config = ConfigDict(
        strict=True,
        extra="forbid",
        frozen=True,
        title="Encounter",
        json_schema_extra={"$id": "https://therabill.org/schemas/encounter.json"},
    )

    encounter_id: Annotated[str, Field(min_length=1)]
    date_of_service: IsoDate
    start_time: ClockTime | None = None
    end_time: ClockTime | None = None
    place_of_service: str | None = None
    claim_frequency: str = "1"
    payer_claim_control_number: str | None = None
    billing_provider: BillingProviderIn | None = None
    service_facility: ServiceFacilityIn | None = None
    rendering_provider: RenderingProviderIn | None = None
    referring_provider: ReferringProviderIn | None = None
    patient: PatientIn | None = None
    coverage: CoverageIn | None = None
    other_coverages: list[CoverageIn] = []
    related_causes: RelatedCausesIn = RelatedCausesIn()
    onset_date: IsoDate | None = None
    accept_assignment: bool | None = None
    provider_signature_on_file: bool | None = None
    patient_amount_paid: Money | None = None
    consent: ConsentIn | None = None
    diagnoses: list[Code] = []
    services: list[ServiceIn] = []
    documentation: DocumentationIn | None = None
    plan_of_care: PlanOfCareIn | None = None
    prior_claims: list[PriorClaimLineIn] = []
    attachments: list[AttachmentIn] = []
    claim_note: str | None = None
    orders_on_file: list[OrderOnFileIn] = []


class UnitsServiceIn(BaseModel):
    """A service line as the units calculator needs it."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    code: Code
    minutes: NonNegInt = 0
    units: NonNegInt | None = None


class UnitsCoverageIn(BaseModel):
    """The coverage fields the units calculator needs."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True)

    payer_profile: str | None = None


class UnitsDocument(BaseModel):
    """The partial document the units calculator accepts: services and the payer profile."""

    model_config = ConfigDict(strict=True, extra="ignore", frozen=True, title="UnitsRequest")

    services: list[UnitsServiceIn]
    coverage: UnitsCoverageIn | None = None


class DocumentError(ValueError):
    """A document that is not JSON or breaks the schema; ``problems`` lists them all."""

    def __init__(self, problems: Iterable[Problem]) -> None:
        self.problems: tuple[Problem, ...] = tuple(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


_MESSAGES = {
    "greater_than_equal": "must be >= {ge}",
    "less_than_equal": "must be <= {le}",
    "missing": "is required",
    "extra_forbidden": "is not a field of this document",
    "int_type": "must be a whole number",
    "bool_type": "must be true or false",
    "string_type": "must be a string",
    "list_type": "must be a list",
    "model_type": "must be an object",
    "model_attributes_type": "must be an object",
    "dict_type": "must be an object",
    "date_from_datetime_parsing": "must be a date as YYYY-MM-DD",
    "date_parsing": "must be a real date as YYYY-MM-DD",
    "date_from_datetime_inexact": "must be a date as YYYY-MM-DD",
    "date_type": "must be a date as YYYY-MM-DD",
    "time_type": "must be a clock time as HH:MM (24 h)",
    "literal_error": "must be one of {expected}",
    "string_too_short": "must not be empty",
    "int_from_float": "must be a whole number",
    "json_invalid": "is not valid JSON: {error}",
}


def format_loc(loc: Iterable[str | int]) -> str:
    """Format a location tuple as ``services[1].minutes``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else part
    return out or "(document)"


def _problem(err: Any) -> Problem:
    kind = err["type"]
    loc = tuple(p for p in err["loc"] if not (isinstance(p, str) and p.startswith("function-")))
    template = _MESSAGES.get(kind)
    ctx = err.get("ctx") or {}
    if kind == "value_error":
        message = str(ctx.get("error", err["msg"]))
    elif template is not None:
        try:
            message = template.format(**ctx)
        except (KeyError, IndexError):
            message = err["msg"]
    else:
        message = err["msg"]
    return Problem(code=f"schema-{kind.replace('_', '-')}", loc=format_loc(loc), message=message)


def _validate(model: type[BaseModel], text: str | bytes) -> BaseModel:
    try:
        return model.model_validate_json(text)
    except ValidationError as exc:
        raise DocumentError(_problem(e) for e in exc.errors()) from None


def load_json_text(text: str | bytes) -> Any:
    """Parse JSON text, turning a syntax error into a ``DocumentError``."""
    try:
        return json.loads(text)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise DocumentError(
            [Problem(code="schema-json-invalid", loc="(document)", message=f"is not valid JSON: {exc}")]
        ) from None


def parse_encounter(text: str | bytes) -> dom.Encounter:
    """Validate an encounter document given as JSON text and return the domain record."""
    doc = _validate(EncounterDocument, text)
    assert isinstance(doc, EncounterDocument)
    return to_domain(doc)


def parse_encounter_obj(obj: Any) -> dom.Encounter:
    """Validate an already-decoded JSON value (as the API receives it)."""
    return parse_encounter(json.dumps(obj))


def parse_encounters(text: str | bytes) -> list[dom.Encounter]:
    """Validate a document holding one encounter object or a list of them."""
    data = load_json_text(text)
    if isinstance(data, list):
        out: list[dom.Encounter] = []
        problems: list[Problem] = []
        for i, item in enumerate(data):
            try:
                out.append(parse_encounter_obj(item))
            except DocumentError as exc:
                problems.extend(
                    Problem(p.code, f"[{i}]" + ("" if p.loc == "(document)" else "." + p.loc), p.message)
                    for p in exc.problems
                )
        if problems:
            raise DocumentError(problems)
        return out
    return [parse_encounter_obj(data)]


def parse_units_request(text: str | bytes) -> UnitsDocument:
    """Validate the partial document of the units calculator."""
    doc = _validate(UnitsDocument, text)
    assert isinstance(doc, UnitsDocument)
    return doc


def encounter_json_schema() -> dict[str, Any]:
    """The JSON Schema of the encounter document."""
    schema = EncounterDocument.model_json_schema(mode="validation")
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    return schema


# --- boundary model -> domain record -------------------------------------------------


def _address(a: AddressIn | None) -> dom.Address | None:
    if a is None:
        return None
    return dom.Address(line1=a.line1, line2=a.line2, city=a.city, state=a.state, zip=a.zip)


def _dec(value: Any) -> Decimal | None:
    return value if value is None else Decimal(value)


def _coverage(c: CoverageIn) -> dom.Coverage:
    sub = c.subscriber
    auth = c.authorization
    amounts = c.therapy_amounts_used
    prior = c.prior_payment
    return dom.Coverage(
        sequence=c.sequence,
        payer_id=c.payer_id,
        payer_name=c.payer_name,
        payer_address=_address(c.payer_address),
        payer_profile=c.payer_profile,
        claim_filing_indicator=c.claim_filing_indicator,
        member_id=c.member_id,
        group_number=c.group_number,
        plan_name=c.plan_name,
        relationship_to_subscriber=c.relationship_to_subscriber,
        subscriber=None
        if sub is None
        else dom.Subscriber(
            first_name=sub.first_name,
            last_name=sub.last_name,
            birth_date=sub.birth_date,
            sex=sub.sex,
            address=_address(sub.address),
            member_id=sub.member_id,
            entity_type=sub.entity_type,
        ),
        eligibility_verified_on=c.eligibility_verified_on,
        authorization=None
        if auth is None
        else dom.Authorization(
            number=auth.number,
            start_date=auth.start_date,
            end_date=auth.end_date,
            codes=tuple(auth.codes),
            units_pooled=auth.units_pooled,
            visits_allowed=auth.visits_allowed,
            visits_used=auth.visits_used,
            units_allowed=auth.units_allowed,
            units_used=auth.units_used,
        ),
        referral_number=c.referral_number,
        therapy_amounts_used=None
        if amounts is None
        else dom.TherapyAmounts(pt_slp=Decimal(amounts.pt_slp), ot=Decimal(amounts.ot), as_of=amounts.as_of),
        prior_payment=None
        if prior is None
        else dom.PriorPayment(
            paid_amount=Decimal(prior.paid_amount),
            adjudication_date=prior.adjudication_date,
            adjustments=tuple((a.group, a.reason, Decimal(a.amount)) for a in prior.adjustments),
            payer_claim_control_number=prior.payer_claim_control_number,
            remaining_patient_liability=None
            if prior.remaining_patient_liability is None
            else Decimal(prior.remaining_patient_liability),
        ),
        medicare_secondary_payer_type=c.medicare_secondary_payer_type,
    )


def _adjustments(items: list[AdjustmentIn]) -> tuple[tuple[str, str, Decimal], ...]:
    return tuple((a.group, a.reason, Decimal(a.amount)) for a in items)


def _line_prior(p: LinePriorPaymentIn | None) -> dom.LinePriorPayment | None:
    if p is None:
        return None
    return dom.LinePriorPayment(
        paid_amount=Decimal(p.paid_amount),
        adjudication_date=p.adjudication_date,
        adjustments=_adjustments(p.adjustments),
    )


def _documentation(d: DocumentationIn | None) -> dom.Documentation | None:
    if d is None:
        return None
    o = d.objective
    return dom.Documentation(
        subjective=d.subjective,
        objective=dom.Objective(
            pain_scale=o.pain_scale,
            range_of_motion=tuple(
                dom.RangeOfMotion(joint=r.joint, motion=r.motion, degrees=r.degrees)
                for r in o.range_of_motion
            ),
            strength=tuple(dom.Strength(muscle_group=s.muscle_group, grade=s.grade) for s in o.strength),
            functional_tests=tuple(
                dom.FunctionalTest(name=f.name, value=f.value, unit=f.unit) for f in o.functional_tests
            ),
        ),
        assessment=d.assessment,
        plan=d.plan,
        medical_necessity=d.medical_necessity,
        goals=tuple(
            dom.Goal(
                description=g.description,
                baseline=g.baseline,
                target=g.target,
                target_date=g.target_date,
            )
            for g in d.goals
        ),
        pre_session_assessment=d.pre_session_assessment,
        post_session_advice=d.post_session_advice,
        client_feedback=d.client_feedback,
        changes_since_last_visit=d.changes_since_last_visit,
    )


def to_domain(doc: EncounterDocument) -> dom.Encounter:
    """Build the frozen domain ``Encounter`` from a validated document."""
    bp = doc.billing_provider
    rp = doc.rendering_provider
    ref = doc.referring_provider
    pt = doc.patient
    sf = doc.service_facility
    rc = doc.related_causes
    consent = doc.consent
    poc = doc.plan_of_care
    return dom.Encounter(
        encounter_id=doc.encounter_id,
        date_of_service=doc.date_of_service,
        start_time=doc.start_time,
        end_time=doc.end_time,
        place_of_service=doc.place_of_service,
        claim_frequency=doc.claim_frequency,
        payer_claim_control_number=doc.payer_claim_control_number,
        billing_provider=None
        if bp is None
        else dom.BillingProvider(
            entity_type=bp.entity_type,
            organization_name=bp.organization_name,
            first_name=bp.first_name,
            last_name=bp.last_name,
            npi=bp.npi,
            tax_id=bp.tax_id,
            tax_id_type=bp.tax_id_type,
            taxonomy=bp.taxonomy,
            phone=bp.phone,
            address=_address(bp.address),
            pay_to_address=_address(bp.pay_to_address),
        ),
        service_facility=None
        if sf is None
        else dom.ServiceFacility(name=sf.name, address=_address(sf.address), npi=sf.npi),
        rendering_provider=None
        if rp is None
        else dom.RenderingProvider(
            first_name=rp.first_name,
            last_name=rp.last_name,
            npi=rp.npi,
            taxonomy=rp.taxonomy,
            credential=rp.credential,
            license_number=rp.license_number,
            license_state=rp.license_state,
        ),
        referring_provider=None
        if ref is None
        else dom.ReferringProvider(
            qualifier=ref.qualifier, first_name=ref.first_name, last_name=ref.last_name, npi=ref.npi
        ),
        patient=None
        if pt is None
        else dom.Patient(
            patient_id=pt.patient_id,
            first_name=pt.first_name,
            middle_name=pt.middle_name,
            last_name=pt.last_name,
            suffix=pt.suffix,
            birth_date=pt.birth_date,
            sex=pt.sex,
            address=_address(pt.address),
        ),
        coverage=None if doc.coverage is None else _coverage(doc.coverage),
        other_coverages=tuple(_coverage(c) for c in doc.other_coverages),
        related_causes=dom.RelatedCauses(
            employment=rc.employment,
            auto_accident=rc.auto_accident,
            auto_accident_state=rc.auto_accident_state,
            other_accident=rc.other_accident,
            accident_date=rc.accident_date,
            property_casualty_claim_number=rc.property_casualty_claim_number,
            employer_name=rc.employer_name,
        ),
        onset_date=doc.onset_date,
        accept_assignment=doc.accept_assignment,
        provider_signature_on_file=doc.provider_signature_on_file,
        patient_amount_paid=_dec(doc.patient_amount_paid),
        consent=None
        if consent is None
        else dom.Consent(
            release_of_information=consent.release_of_information,
            benefits_assigned=consent.benefits_assigned,
            signature_date=consent.signature_date,
        ),
        diagnoses=tuple(doc.diagnoses),
        services=tuple(
            dom.Service(
                code=s.code,
                minutes=s.minutes,
                modifiers=tuple(s.modifiers),
                diagnosis_pointers=tuple(s.diagnosis_pointers),
                body_regions=tuple(s.body_regions),
                techniques=tuple(s.techniques),
                unit_charge=_dec(s.unit_charge),
                units=s.units,
                prior_payment=_line_prior(s.prior_payment),
            )
            for s in doc.services
        ),
        documentation=_documentation(doc.documentation),
        plan_of_care=None
        if poc is None
        else dom.PlanOfCare(
            certified_from=poc.certified_from,
            certified_through=poc.certified_through,
            treatment_days_since_progress_report=poc.treatment_days_since_progress_report,
            certification_signed_on=poc.certification_signed_on,
            frequency_per_week=poc.frequency_per_week,
            duration_weeks=poc.duration_weeks,
        ),
        prior_claims=tuple(
            dom.PriorClaimLine(
                claim_id=p.claim_id,
                date_of_service=p.date_of_service,
                code=p.code,
                modifiers=tuple(p.modifiers),
                units=p.units,
                minutes=p.minutes,
                rendering_npi=p.rendering_npi,
                billing_npi=p.billing_npi,
                allowed_amount=_dec(p.allowed_amount),
            )
            for p in doc.prior_claims
        ),
        attachments=tuple(
            dom.Attachment(
                report_type=a.report_type, transmission=a.transmission, control_number=a.control_number
            )
            for a in doc.attachments
        ),
        claim_note=doc.claim_note,
        orders_on_file=tuple(
            dom.OrderOnFile(
                kind=o.kind, issued_on=o.issued_on, expires_on=o.expires_on, provider_npi=o.provider_npi
            )
            for o in doc.orders_on_file
        ),
    )
